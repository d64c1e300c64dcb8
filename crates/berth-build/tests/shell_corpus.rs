//! Acceptance: BuildKit's shell-lexer corpus (`shared/corpus/dockerfile-shell-lex`), read in
//! place. See that directory's README.md for the file formats.

use std::path::PathBuf;

use berth_build::shell::ShellLex;

fn corpus_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/dockerfile-shell-lex")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("corpus file {} is missing: {err}", path.display()))
}

#[test]
fn env_var_test_cases_expand_as_buildkit_does() {
    let text = corpus_file("envVarTest");
    let env: Vec<String> = ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let lex = ShellLex::new('\\');
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        assert_eq!(fields.len(), 3, "line {} is malformed: {line:?}", index + 1);
        let (platform, input, expected) = (fields[0], fields[1], fields[2]);
        if platform == "W" {
            continue;
        }
        checked += 1;
        let outcome = lex.process_word(input, &env);
        let ok = match (&outcome, expected) {
            (Err(_), "error") => true,
            (Ok(got), expected) => expected != "error" && got == expected,
            (Err(_), _) => false,
        };
        if !ok {
            failures.push(format!(
                "line {}: {input:?} expected {expected:?}, got {outcome:?}",
                index + 1
            ));
        }
    }
    assert!(checked > 200, "only {checked} cases found");
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}

#[test]
fn words_test_cases_split_as_buildkit_does() {
    let text = corpus_file("wordsTest");
    let lex = ShellLex::new('\\');
    let mut env: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (index, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(assignment) = line.strip_prefix("ENV ") {
            env.push(assignment.trim_start_matches(' ').to_string());
            continue;
        }
        let (input, expected) = line
            .split_once('|')
            .unwrap_or_else(|| panic!("line {} has no '|': {line:?}", index + 1));
        let input = input.trim();
        let expected: Vec<&str> = expected.trim_start_matches(' ').split(',').collect();
        checked += 1;
        let got = match lex.process_words(input, &env) {
            Ok(words) => words,
            Err(_) => vec!["error".to_string()],
        };
        if got != expected {
            failures.push(format!(
                "line {}: {input:?} expected {expected:?}, got {got:?}",
                index + 1
            ));
        }
    }
    assert!(checked > 20, "only {checked} cases found");
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
}
