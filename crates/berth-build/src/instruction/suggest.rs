//! "did you mean ...?" hints for misspelt instructions, flags and options.

/// Appends ` (did you mean <option>?)` to `message` when an option is within edit distance 2
/// of `value` (and `value` is not itself an option). Case-insensitive matching returns the
/// option in the case `value` was written in, if that was all upper or all lower case.
pub(super) fn with_suggestion(
    message: String,
    value: &str,
    options: &[&str],
    case_sensitive: bool,
) -> String {
    let fold = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let wanted = fold(value);
    let mut best: Option<(usize, String)> = None;
    for option in options {
        let option = fold(option);
        if option == wanted {
            return message;
        }
        let distance = strsim::levenshtein(&wanted, &option);
        if distance < 3 && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, option));
        }
    }
    let Some((_, option)) = best else {
        return message;
    };
    let option = if case_sensitive || value != value.to_uppercase() {
        option
    } else {
        option.to_uppercase()
    };
    format!("{message} (did you mean {option}?)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_option_in_the_callers_case() {
        let options = ["RUN", "FROM", "COPY"];
        assert_eq!(
            with_suggestion("unknown instruction: RUNN".into(), "RUNN", &options, false),
            "unknown instruction: RUNN (did you mean RUN?)"
        );
        assert_eq!(
            with_suggestion("x".into(), "cpy", &options, false),
            "x (did you mean copy?)"
        );
    }

    #[test]
    fn no_suggestion_when_far_or_exact() {
        assert_eq!(with_suggestion("x".into(), "HEALTH", &["RUN"], false), "x");
        assert_eq!(with_suggestion("x".into(), "run", &["RUN"], false), "x");
    }
}
