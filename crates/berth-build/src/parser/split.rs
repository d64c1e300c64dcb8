//! Splitting an instruction's text into keyword, `--flags` and the rest.

/// BuildKit's `[\t\v\f\r ]+`: what separates the keyword and whitespace-delimited arguments.
pub(super) fn is_separator(ch: char) -> bool {
    matches!(ch, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// An instruction's text taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split<'a> {
    /// The keyword as written.
    pub(super) keyword: &'a str,
    pub(super) flags: Vec<String>,
    /// Everything after the flags, trimmed.
    pub(super) rest: &'a str,
}

pub(super) fn split_command(line: &str, escape: char) -> Split<'_> {
    let line = line.trim();
    let Some(end) = line.find(is_separator) else {
        return Split {
            keyword: line,
            flags: Vec::new(),
            rest: "",
        };
    };
    let (rest, flags) = extract_flags(line[end..].trim_start_matches(is_separator), escape);
    Split {
        keyword: &line[..end],
        flags,
        rest: rest.trim(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Blank,
    Word,
    Quoted(char),
}

/// Takes the leading words that start with `--` off `line`: quotes are removed from them and
/// the escape char escapes the next char. A bare `--` ends the flags and is dropped. Returns
/// the text after the flags and the flags.
fn extract_flags(line: &str, escape: char) -> (&str, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut phase = Phase::Blank;
    let mut word = String::new();
    // A quoted empty string (`--x=""`) still makes a word.
    let mut blank_ok = false;
    let mut i = 0;
    while i < chars.len() {
        let (offset, ch) = chars[i];
        let is_last = i + 1 == chars.len();
        match phase {
            Phase::Blank => {
                if ch.is_whitespace() {
                    i += 1;
                    continue;
                }
                if ch != '-' || is_last || chars[i + 1].1 != '-' {
                    return (&line[offset..], flags);
                }
                phase = Phase::Word;
                continue;
            }
            Phase::Word if ch.is_whitespace() => {
                if word == "--" {
                    return (&line[offset..], flags);
                }
                if blank_ok || !word.is_empty() {
                    flags.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                phase = Phase::Blank;
            }
            Phase::Word if ch == '\'' || ch == '"' => {
                blank_ok = true;
                phase = Phase::Quoted(ch);
            }
            Phase::Quoted(quote) if ch == quote => phase = Phase::Word,
            Phase::Word | Phase::Quoted(_) => {
                if ch == escape {
                    if is_last {
                        // A trailing escape escapes nothing.
                        if let Phase::Quoted(_) = phase {
                            phase = Phase::Word;
                        }
                    } else {
                        i += 1;
                        word.push(chars[i].1);
                    }
                } else {
                    word.push(ch);
                }
            }
        }
        i += 1;
    }
    if phase != Phase::Blank && word != "--" && (blank_ok || !word.is_empty()) {
        flags.push(word);
    }
    ("", flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> (String, Vec<String>, String) {
        let s = split_command(line, '\\');
        (s.keyword.to_string(), s.flags, s.rest.to_string())
    }

    #[test]
    fn keyword_flags_and_rest() {
        assert_eq!(
            split("  COPY --from=a --chown=\"me you\" src dst  "),
            (
                "COPY".into(),
                vec!["--from=a".into(), "--chown=me you".into()],
                "src dst".into()
            )
        );
    }

    #[test]
    fn double_dash_ends_flags() {
        assert_eq!(
            split("COPY --x -- --not-a-flag /d"),
            ("COPY".into(), vec!["--x".into()], "--not-a-flag /d".into())
        );
        assert_eq!(split("CMD --"), ("CMD".into(), vec![], "".into()));
    }

    #[test]
    fn single_dash_word_is_an_argument() {
        assert_eq!(split("RUN -x --y"), ("RUN".into(), vec![], "-x --y".into()));
    }

    #[test]
    fn quoted_empty_flag_value_is_kept() {
        assert_eq!(split("RUN --a=\"\"").1, vec!["--a=".to_string()]);
    }

    #[test]
    fn keyword_alone() {
        assert_eq!(
            split("HEALTHCHECK"),
            ("HEALTHCHECK".into(), vec![], "".into())
        );
    }
}
