use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::error::LexReason;

fn env() -> HashMap<String, String> {
    [
        ("FILE", "archive.tar.gz"),
        ("PATHS", "/usr/local/bin:/usr/bin:/bin"),
        ("EMPTY", ""),
        ("NAME", "berth"),
        ("SPACED", "a  b"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn word(input: &str) -> String {
    ShellLex::new('\\')
        .process_word(input, &env())
        .unwrap_or_else(|err| panic!("{input:?}: {err}"))
}

fn reason(input: &str) -> LexReason {
    match ShellLex::new('\\').process_word(input, &env()) {
        Ok(got) => panic!("{input:?} should fail, got {got:?}"),
        Err(err) => err.reason,
    }
}

#[test]
fn defaults_and_alternatives_tell_empty_from_unset() {
    assert_eq!(word("${EMPTY-x}"), "");
    assert_eq!(word("${EMPTY:-x}"), "x");
    assert_eq!(word("${UNSET-x}"), "x");
    assert_eq!(word("${EMPTY+x}"), "x");
    assert_eq!(word("${EMPTY:+x}"), "");
    assert_eq!(word("${UNSET+x}"), "");
    assert_eq!(word("${NAME:+[$NAME]}"), "[berth]");
}

#[test]
fn nested_defaults_expand_inside_out() {
    assert_eq!(word("${A:-${B:-${NAME}}}"), "berth");
    assert_eq!(word("${A:-\"quoted ${NAME}\"}"), "quoted berth");
}

#[test]
fn required_variables_fail_with_their_message() {
    assert_eq!(
        reason("${UNSET?please set it}"),
        LexReason::Required {
            name: "UNSET".into(),
            message: "please set it".into()
        }
    );
    assert_eq!(
        reason("${EMPTY:?}"),
        LexReason::Required {
            name: "EMPTY".into(),
            message: "is not allowed to be empty".into()
        }
    );
    assert_eq!(word("${EMPTY?}"), "");
    let err = ShellLex::new('\\')
        .process_word("${UNSET:?}", &env())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to process \"${UNSET:?}\": UNSET: is not allowed to be unset"
    );
}

#[test]
fn assignment_forms_are_errors() {
    assert_eq!(
        reason("${X:=v}"),
        LexReason::UnsupportedModifier(":=".into())
    );
    assert_eq!(reason("${X=v}"), LexReason::UnsupportedModifier("=".into()));
    assert_eq!(reason("${X"), LexReason::MissingBrace);
    assert_eq!(reason("${}"), LexReason::BadSubstitution);
}

#[test]
fn prefix_removal_shortest_and_longest() {
    assert_eq!(word("${FILE#*.}"), "tar.gz");
    assert_eq!(word("${FILE##*.}"), "gz");
    assert_eq!(word("${PATHS#*:}"), "/usr/bin:/bin");
    assert_eq!(word("${PATHS##*:}"), "/bin");
    assert_eq!(word("${FILE#nomatch}"), "archive.tar.gz");
    assert_eq!(word("${FILE#arch?ve}"), ".tar.gz");
}

#[test]
fn suffix_removal_shortest_and_longest() {
    assert_eq!(word("${FILE%.*}"), "archive.tar");
    assert_eq!(word("${FILE%%.*}"), "archive");
    assert_eq!(word("${PATHS%:*}"), "/usr/local/bin:/usr/bin");
    assert_eq!(word("${PATHS%%:*}"), "/usr/local/bin");
    assert_eq!(word("${UNSET%.*}"), "");
}

#[test]
fn colon_with_pattern_operator_is_unsupported() {
    assert_eq!(
        reason("${FILE:#x}"),
        LexReason::UnsupportedModifier(":#".into())
    );
}

#[test]
fn escaped_wildcards_in_patterns_are_literal() {
    let env: HashMap<String, String> = [("V".to_string(), "a*b*c".to_string())].into();
    let lex = ShellLex::new('\\');
    assert_eq!(lex.process_word(r"${V#*\*}", &env).unwrap(), "b*c");
    assert_eq!(lex.process_word(r"${V%\**}", &env).unwrap(), "a*b");
    assert!(matches!(
        lex.process_word(r"${V#\x}", &env).unwrap_err().reason,
        LexReason::InvalidPatternEscape { .. }
    ));
}

#[test]
fn replacement_first_and_all() {
    assert_eq!(word("${PATHS/:/ }"), "/usr/local/bin /usr/bin:/bin");
    assert_eq!(word("${PATHS//:/ }"), "/usr/local/bin /usr/bin /bin");
    assert_eq!(word("${NAME/e*/E}"), "bE");
    assert_eq!(word("${NAME/?/B}"), "Berth");
    assert_eq!(word("${NAME/x/y}"), "berth");
    assert_eq!(word(r"${PATHS//\//|}"), "|usr|local|bin:|usr|bin:|bin");
    assert_eq!(reason("${NAME/x}"), LexReason::MissingSlash);
}

#[test]
fn special_and_positional_parameters_are_empty() {
    for input in [
        "$1", "$#", "$@", "$*", "$!", "$$", "$-", "$?", "$0", "${10}",
    ] {
        assert_eq!(word(&format!("<{input}>")), "<>", "{input}");
    }
}

#[test]
fn quoted_expansion_is_one_word_unquoted_is_split() {
    let lex = ShellLex::new('\\');
    assert_eq!(
        lex.process_words("x $SPACED \"$SPACED\"", &env()).unwrap(),
        ["x", "a", "b", "a  b"]
    );
}

#[test]
fn backtick_escape_leaves_backslash_alone() {
    let lex = ShellLex::new('`');
    let env = env();
    assert_eq!(
        lex.process_word(r"C:\dir `$NAME", &env).unwrap(),
        r"C:\dir $NAME"
    );
    assert_eq!(lex.process_word("a` b", &env).unwrap(), "a b");
    assert_eq!(lex.process_words("a` b c", &env).unwrap(), ["a b", "c"]);
}

#[test]
fn matches_report_used_and_missing_variables() {
    let lex = ShellLex::new('\\');
    let processed = lex
        .process_word_with_matches("$NAME ${MISSING:-x} '$QUOTED' ${EMPTY}", &env())
        .unwrap();
    assert_eq!(processed.result, "berth x $QUOTED ");
    assert_eq!(
        processed.matched,
        BTreeSet::from(["EMPTY".to_string(), "NAME".to_string()])
    );
    assert_eq!(processed.unmatched, BTreeSet::from(["MISSING".to_string()]));
}

#[test]
fn skip_unset_env_keeps_references_to_unset_variables() {
    let lex = ShellLex::new('\\').with_skip_unset_env(true);
    assert_eq!(
        lex.process_word("$NAME $NOPE ${NOPE} ${NOPE:-d}", &env())
            .unwrap(),
        "berth $NOPE ${NOPE} ${NOPE:-d}"
    );
}

#[test]
fn raw_quotes_and_escapes_keep_the_source_text() {
    let lex = ShellLex::new('\\')
        .with_raw_quotes(true)
        .with_raw_escapes(true);
    assert_eq!(
        lex.process_words(r#"RUN <<'EOF' a\ b "c d""#, &()).unwrap(),
        ["RUN", "<<'EOF'", r"a\ b", r#""c d""#]
    );
    // The blanks after `<<` stay in the word: `<< EOF` is one heredoc word.
    assert_eq!(
        lex.process_words("<<  EOF x", &()).unwrap(),
        ["<<  EOF", "x"]
    );
}

#[test]
fn skip_process_quotes_keeps_quotes_as_content() {
    let lex = ShellLex::new('\\').with_skip_process_quotes(true);
    assert_eq!(
        lex.process_word("echo \"$NAME\" '$NAME'", &env()).unwrap(),
        "echo \"berth\" 'berth'"
    );
}
