//! Acceptance: BuildKit's Dockerfile parser corpus (`shared/corpus/dockerfile-parser`), read
//! in place. See that directory's README.md for what each part checks.

use std::fs;
use std::path::{Path, PathBuf};

use berth_build::parser::parse_bytes;

fn corpus_dir() -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/dockerfile-parser");
    assert!(
        dir.is_dir(),
        "corpus directory {} is missing",
        dir.display()
    );
    dir
}

/// The case directories under `sub`, sorted by name.
fn cases(sub: &str) -> Vec<PathBuf> {
    let dir = corpus_dir().join(sub);
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn name(case: &Path) -> String {
    case.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn positive_cases_dump_exactly_to_result() {
    let cases = cases("testfiles");
    assert!(
        cases.len() >= 30,
        "only {} positive cases found",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let dockerfile = fs::read(case.join("Dockerfile")).expect("case Dockerfile");
        let expected = fs::read_to_string(case.join("result")).expect("case result");
        match parse_bytes(&dockerfile) {
            Ok(parsed) => {
                let dump = parsed.dump() + "\n";
                if dump != expected {
                    failures.push(format!(
                        "{}: dump differs\n--- expected\n{expected}--- got\n{dump}",
                        name(case)
                    ));
                }
            }
            Err(err) => failures.push(format!("{}: parse failed: {err}", name(case))),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn negative_cases_fail_to_parse() {
    let cases = cases("testfiles-negative");
    assert!(
        cases.len() >= 4,
        "only {} negative cases found",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let dockerfile = fs::read(case.join("Dockerfile")).expect("case Dockerfile");
        if let Ok(parsed) = parse_bytes(&dockerfile) {
            failures.push(format!("{}: parsed, dump:\n{}", name(case), parsed.dump()));
        }
    }
    assert!(
        failures.is_empty(),
        "negative cases that parsed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn negative_cases_fail_with_buildkit_messages() {
    let expect = [
        ("empty_dockerfile", "file with no instructions"),
        ("only_comments", "file with no instructions"),
        ("env_no_value", "ENV must have two arguments"),
        (
            "shykes-nested-json",
            "when using JSON array syntax, arrays must be comprised of strings only",
        ),
    ];
    for (case, message) in expect {
        let path = corpus_dir()
            .join("testfiles-negative")
            .join(case)
            .join("Dockerfile");
        let dockerfile = fs::read(&path).expect("case Dockerfile");
        let err = parse_bytes(&dockerfile).expect_err(case);
        assert_eq!(err.message, message, "{case}");
    }
}

#[test]
fn testfile_line_ranges() {
    let path = corpus_dir().join("testfile-line/Dockerfile");
    let parsed = parse_bytes(&fs::read(path).expect("testfile-line")).expect("parses");
    let ranges: Vec<(usize, usize)> = parsed
        .nodes
        .iter()
        .map(|node| (node.start_line, node.end_line))
        .collect();
    assert_eq!(ranges, [(5, 5), (11, 12), (17, 31)]);
    assert_eq!((parsed.start_line(), parsed.end_line()), (5, 31));
}
