//! Validation of an instruction's `--flag` words against the flags it accepts.

use std::collections::BTreeMap;

use super::suggest::with_suggestion;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=x`, at most once.
    String,
    /// `--exclude=x`, repeatable.
    Strings,
}

/// The flags given to one instruction, checked.
#[derive(Debug, Default)]
pub(super) struct Flags {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Flags {
    /// Checks `given` (the node's flags) against `accepted`. Errors in BuildKit's words:
    /// unknown flags (with a suggestion), repeated single-value flags, missing values, and
    /// non-boolean values of boolean flags. A `--` word ends the flags.
    pub(super) fn parse(
        given: &[String],
        accepted: &[(&'static str, Kind)],
    ) -> Result<Self, String> {
        let mut flags = Flags::default();
        for word in given {
            if word == "--" {
                break;
            }
            let Some(body) = word.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {word}"));
            };
            let (name, value) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let Some(&(name, kind)) = accepted.iter().find(|(n, _)| *n == name) else {
                let names: Vec<&str> = accepted.iter().map(|(n, _)| *n).collect();
                return Err(with_suggestion(
                    format!("unknown flag: --{name}"),
                    name,
                    &names,
                    true,
                ));
            };
            let values = flags.values.entry(name).or_default();
            if kind != Kind::Strings && !values.is_empty() {
                return Err(format!("duplicate flag specified: --{name}"));
            }
            let value = match (kind, value) {
                (Kind::Bool, None) => "true".to_string(),
                (Kind::Bool, Some("")) | (Kind::String | Kind::Strings, None) => {
                    return Err(format!("missing a value on flag: --{name}"))
                }
                (Kind::Bool, Some(value)) => match value.to_lowercase().as_str() {
                    "true" => "true".to_string(),
                    "false" => "false".to_string(),
                    _ => {
                        return Err(format!(
                            "expecting boolean value for flag --{name}, not: {value}"
                        ))
                    }
                },
                (_, Some(value)) => value.to_string(),
            };
            values.push(value);
        }
        Ok(flags)
    }

    /// A string flag's value, `None` when the flag was not given.
    pub(super) fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last()).cloned()
    }

    /// A boolean flag's value, `None` when the flag was not given.
    pub(super) fn bool(&self, name: &str) -> Option<bool> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(|v| v == "true")
    }

    /// Every value of a repeatable flag, in order.
    pub(super) fn strings(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCEPTED: &[(&str, Kind)] = &[
        ("from", Kind::String),
        ("link", Kind::Bool),
        ("exclude", Kind::Strings),
    ];

    fn parse(given: &[&str]) -> Result<Flags, String> {
        let given: Vec<String> = given.iter().map(|s| s.to_string()).collect();
        Flags::parse(&given, ACCEPTED)
    }

    #[test]
    fn values_by_kind() {
        let flags = parse(&["--from=a", "--link", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(flags.string("from").as_deref(), Some("a"));
        assert_eq!(flags.bool("link"), Some(true));
        assert_eq!(flags.strings("exclude"), ["x", "y"]);
        let flags = parse(&["--link=FALSE"]).unwrap();
        assert_eq!(flags.bool("link"), Some(false));
        assert_eq!(flags.string("from"), None);
    }

    #[test]
    fn errors_in_buildkit_words() {
        assert_eq!(
            parse(&["--form=a"]).unwrap_err(),
            "unknown flag: --form (did you mean from?)"
        );
        assert_eq!(
            parse(&["--from=a", "--from=b"]).unwrap_err(),
            "duplicate flag specified: --from"
        );
        assert_eq!(
            parse(&["--from"]).unwrap_err(),
            "missing a value on flag: --from"
        );
        assert_eq!(
            parse(&["--link="]).unwrap_err(),
            "missing a value on flag: --link"
        );
        assert_eq!(
            parse(&["--link=yes"]).unwrap_err(),
            "expecting boolean value for flag --link, not: yes"
        );
    }
}
