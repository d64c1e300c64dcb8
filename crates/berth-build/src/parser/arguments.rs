//! How each instruction's argument text becomes the node's argument list.
//!
//! No quote removal and no variable expansion happen here: arguments stay as written, except
//! JSON arrays, whose strings are decoded.

use super::split::is_separator;

/// Which way an instruction's arguments are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// `RUN`, `CMD`, `ENTRYPOINT`, `SHELL`: a JSON array of strings, else the whole text.
    JsonOrString,
    /// `ADD`, `COPY`, `VOLUME`: a JSON array of strings, else whitespace-separated words.
    JsonOrWords,
    /// `FROM`, `EXPOSE`: whitespace-separated words.
    Words,
    /// `ARG`: quote-aware words.
    QuotedWords,
    /// `ENV`, `LABEL`: `name value sep` triples.
    NameValues(&'static str),
    /// `HEALTHCHECK`: a type word, then like `CMD`.
    Healthcheck,
    /// `MAINTAINER`, `USER`, `WORKDIR`, `STOPSIGNAL`: the whole text.
    String,
    /// `ONBUILD`: a nested instruction, handled by the caller.
    SubInstruction,
    /// An unknown keyword: its arguments are ignored (instruction parsing rejects it).
    Ignored,
}

pub(super) fn shape_of(keyword: &str) -> Shape {
    match keyword {
        "run" | "cmd" | "entrypoint" | "shell" => Shape::JsonOrString,
        "add" | "copy" | "volume" => Shape::JsonOrWords,
        "from" | "expose" => Shape::Words,
        "arg" => Shape::QuotedWords,
        "env" => Shape::NameValues("ENV"),
        "label" => Shape::NameValues("LABEL"),
        "healthcheck" => Shape::Healthcheck,
        "maintainer" | "user" | "workdir" | "stopsignal" => Shape::String,
        "onbuild" => Shape::SubInstruction,
        _ => Shape::Ignored,
    }
}

/// The arguments of one instruction, and whether they came from a JSON array.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Arguments {
    pub(super) args: Vec<String>,
    pub(super) json: bool,
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// Splits `rest` (already trimmed) the way `shape` says. `SubInstruction` is the caller's.
pub(super) fn split_arguments(shape: Shape, rest: &str, escape: char) -> Result<Arguments, String> {
    let plain = |args| Arguments { args, json: false };
    match shape {
        Shape::JsonOrString => {
            if rest.is_empty() {
                return Ok(Arguments::default());
            }
            Ok(json_array(rest)?.unwrap_or_else(|| plain(vec![rest.to_string()])))
        }
        Shape::JsonOrWords => Ok(json_array(rest)?.unwrap_or_else(|| plain(words(rest)))),
        Shape::Words => Ok(plain(words(rest))),
        Shape::QuotedWords => Ok(plain(quoted_words(rest, escape))),
        Shape::NameValues(keyword) => name_values(rest, keyword, escape).map(plain),
        Shape::Healthcheck => healthcheck(rest),
        Shape::String if rest.is_empty() => Ok(Arguments::default()),
        Shape::String => Ok(plain(vec![rest.to_string()])),
        // BuildKit keeps one empty argument for unknown keywords; the dump shows `(foo "")`.
        Shape::Ignored | Shape::SubInstruction => Ok(plain(vec![String::new()])),
    }
}

/// A JSON array of strings, `None` when `rest` is not valid JSON (the shell form then applies),
/// an error when it is valid JSON with a non-string element.
fn json_array(rest: &str) -> Result<Option<Arguments>, String> {
    let text = rest.trim_start();
    if !text.starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(text) else {
        return Ok(None);
    };
    let args = values
        .into_iter()
        .map(|value| match value {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(NOT_STRING_ARRAY.to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Arguments { args, json: true }))
}

/// Splits on runs of `[\t\v\f\r ]`.
fn words(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split(is_separator)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits on whitespace outside quotes; quotes and escapes stay in the words (the lexer
/// removes them later).
pub(super) fn quoted_words(rest: &str, escape: char) -> Vec<String> {
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    // A word made only of quotes (`""`) is still a word.
    let mut blank_ok = false;
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let is_last = i + 1 == chars.len();
        match quote {
            None if ch.is_whitespace() => {
                if in_word && (blank_ok || !word.is_empty()) {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                in_word = false;
                blank_ok = false;
            }
            None => {
                in_word = true;
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape && !is_last {
                    // Escaped chars, quotes included, are taken as they are.
                    word.push(ch);
                    i += 1;
                    word.push(chars[i]);
                } else if ch != escape {
                    word.push(ch);
                }
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                // Single quotes cannot escape anything.
                if ch == escape && q != '\'' {
                    if is_last {
                        quote = None;
                    } else {
                        word.push(ch);
                        i += 1;
                        word.push(chars[i]);
                    }
                } else {
                    word.push(ch);
                }
            }
        }
        i += 1;
    }
    if (in_word || quote.is_some()) && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// `ENV`/`LABEL` arguments as `name value sep` triples: `KEY name rest of line` (legacy,
/// `sep` empty) or `KEY a=b c=d` (`sep` is `=`).
fn name_values(rest: &str, keyword: &str, escape: char) -> Result<Vec<String>, String> {
    let words = quoted_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let Some((name, value)) = rest
            .split_once(is_separator)
            .map(|(name, value)| (name, value.trim_start_matches(is_separator)))
        else {
            return Err(format!("{keyword} must have two arguments"));
        };
        return Ok(vec![name.to_string(), value.to_string(), String::new()]);
    }
    let mut args = Vec::with_capacity(words.len() * 3);
    for word in &words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                super::dump::go_quote(word)
            ));
        };
        args.extend([name.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(args)
}

/// `HEALTHCHECK <type> <command>`: the type word, then the command like `CMD`'s.
fn healthcheck(rest: &str) -> Result<Arguments, String> {
    if rest.is_empty() {
        return Ok(Arguments::default());
    }
    let (kind, command) = rest
        .split_once(char::is_whitespace)
        .map_or((rest, ""), |(kind, command)| (kind, command.trim_start()));
    let mut arguments = split_arguments(Shape::JsonOrString, command, '\\')?;
    arguments.args.insert(0, kind.to_string());
    Ok(arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_keep_quotes_and_escapes() {
        assert_eq!(
            quoted_words(r#"abc="123 456" def 'x y'z a\ b"#, '\\'),
            [r#"abc="123 456""#, "def", "'x y'z", r"a\ b"]
        );
        assert_eq!(quoted_words(r#"a="" """#, '\\'), [r#"a="""#, r#""""#]);
        assert_eq!(quoted_words("trailing\\", '\\'), ["trailing"]);
    }

    #[test]
    fn legacy_env_takes_rest_of_line() {
        assert_eq!(
            name_values("NAME  a b  c", "ENV", '\\').unwrap(),
            ["NAME", "a b  c", ""]
        );
        assert_eq!(
            name_values("PATH", "ENV", '\\').unwrap_err(),
            "ENV must have two arguments"
        );
    }

    #[test]
    fn key_value_form_requires_equals_in_every_word() {
        assert_eq!(
            name_values("a=1 b", "LABEL", '\\').unwrap_err(),
            "Syntax error - can't find = in \"b\". Must be of the form: name=value"
        );
    }

    #[test]
    fn non_string_json_element_is_an_error_invalid_json_is_shell_form() {
        assert_eq!(
            split_arguments(Shape::JsonOrString, r#"["a", 1]"#, '\\').unwrap_err(),
            NOT_STRING_ARRAY
        );
        let shell = split_arguments(Shape::JsonOrString, "['a']", '\\').unwrap();
        assert_eq!(shell.args, ["['a']"]);
        assert!(!shell.json);
    }

    #[test]
    fn healthcheck_type_then_command() {
        let parsed = split_arguments(Shape::Healthcheck, r#"CMD ["a", "b"]"#, '\\').unwrap();
        assert_eq!(parsed.args, ["CMD", "a", "b"]);
        assert!(parsed.json);
    }
}
