//! `berth logs` from the json-file log: running and stopped containers, -f, -t, --tail,
//! --since, --until, and the log file in Docker's format.

mod common;

use common::{eventually, Berth, DEADLINE};

/// A container that printed `line1`..`line5` on stdout and is still running.
fn talker(b: &Berth) -> String {
    b.busybox("busybox");
    let id = b.detach(&[
        "--name",
        "tt",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; done; exec sleep 1000",
    ]);
    assert!(eventually(DEADLINE, || b
        .run_t(&["logs", "tt"])
        .stdout
        .ends_with("line5\n")));
    id
}

#[test]
fn logs_of_running_and_stopped_containers_keep_their_streams() {
    let b = Berth::new();
    b.busybox("busybox");
    b.run_t(&[
        "run",
        "--name",
        "two",
        "busybox",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2",
    ])
    .ok();
    let out = b.run_t(&["logs", "two"]);
    assert_eq!(out.ok(), "to-out\n");
    assert_eq!(out.stderr, "to-err\n");

    talker(&b);
    assert_eq!(
        b.run_t(&["logs", "tt"]).ok(),
        "line1\nline2\nline3\nline4\nline5\n"
    );
    b.run_t(&["stop", "-t", "0", "tt"]).ok();
    assert_eq!(
        b.run_t(&["logs", "tt"]).ok(),
        "line1\nline2\nline3\nline4\nline5\n"
    );

    let err = b.run_t(&["logs", "nosuch"]).fails(1).to_string();
    assert!(err.contains("No such container: nosuch"), "{err}");
}

#[test]
fn the_log_file_is_dockers_json_file() {
    let b = Berth::new();
    b.busybox("busybox");
    b.run_t(&[
        "run",
        "--name",
        "jj",
        "busybox",
        "sh",
        "-c",
        "echo out; echo err >&2",
    ])
    .ok();
    let path = b.field("jj", "{{.LogPath}}");
    let text = std::fs::read_to_string(&path).expect("log file");
    let mut seen = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object a line");
        let time = v["time"].as_str().expect("time");
        assert!(time.ends_with('Z') && time.contains('T'), "{line}");
        seen.push((
            v["stream"].as_str().expect("stream").to_string(),
            v["log"].as_str().expect("log").to_string(),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("stderr".to_string(), "err\n".to_string()),
            ("stdout".to_string(), "out\n".to_string())
        ]
    );
}

#[test]
fn tail_and_timestamps() {
    let b = Berth::new();
    talker(&b);
    assert_eq!(
        b.run_t(&["logs", "--tail", "2", "tt"]).ok(),
        "line4\nline5\n"
    );
    assert_eq!(b.run_t(&["logs", "-n", "0", "tt"]).ok(), "");
    assert_eq!(
        b.run_t(&["logs", "--tail", "all", "tt"])
            .ok()
            .lines()
            .count(),
        5
    );
    let out = b.run_t(&["logs", "-t", "--tail", "1", "tt"]);
    let line = out.ok().trim_end();
    let (time, text) = line.split_once(' ').expect("a timestamp, then the line");
    assert_eq!(text, "line5");
    // RFC 3339 with nanoseconds, in UTC: 2024-01-02T03:04:05.123456789Z.
    assert_eq!(time.len(), 30, "{time}");
    assert!(
        time.ends_with('Z') && time.as_bytes()[10] == b'T' && time.as_bytes()[19] == b'.',
        "{time}"
    );
}

#[test]
fn since_and_until_select_by_time() {
    let b = Berth::new();
    talker(&b);
    assert_eq!(
        b.run_t(&["logs", "--since", "1h", "tt"])
            .ok()
            .lines()
            .count(),
        5
    );
    assert_eq!(b.run_t(&["logs", "--until", "1h", "tt"]).ok(), "");
    // An absolute time after every line and one before all of them.
    let out = b.run_t(&["logs", "-t", "tt"]);
    let times: Vec<String> = out
        .ok()
        .lines()
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
        .collect();
    let last = times.last().expect("a line").clone();
    assert_eq!(
        b.run_t(&["logs", "--since", "2100-01-01T00:00:00Z", "tt"])
            .ok(),
        ""
    );
    assert_eq!(
        b.run_t(&["logs", "--until", "2000-01-01T00:00:00Z", "tt"])
            .ok(),
        ""
    );
    assert_eq!(
        b.run_t(&["logs", "--since", "2000-01-01T00:00:00Z", "tt"])
            .ok()
            .lines()
            .count(),
        5
    );
    // --since is inclusive of a line's own time.
    let out = b.run_t(&["logs", "--since", &last, "tt"]);
    assert!(out.ok().ends_with("line5\n"), "{out:?}");
    let err = b.run_t(&["logs", "--since", "yesterday-ish", "tt"]).stderr;
    assert!(!err.is_empty());
}

#[test]
fn follow_streams_new_lines_and_ends_with_the_container() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "--name",
        "ff",
        "busybox",
        "sh",
        "-c",
        "echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second; while [ ! -e /tmp/end ]; do sleep 0.05; done; echo last",
    ]);
    let mut follow = b.spawn(&["logs", "-f", "ff"]);
    assert!(
        follow.stdout_has("first\n", DEADLINE),
        "{:?}",
        follow.output()
    );
    b.run_t(&["exec", "ff", "touch", "/tmp/go"]).ok();
    assert!(
        follow.stdout_has("second\n", DEADLINE),
        "{:?}",
        follow.output()
    );
    assert!(follow.running(), "logs -f ended while the container runs");
    b.run_t(&["exec", "ff", "touch", "/tmp/end"]).ok();
    let out = follow.finish();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "first\nsecond\nlast\n");

    // -f on a stopped container prints what there is and returns.
    let out = b.run_t(&["logs", "-f", "ff"]);
    assert_eq!(out.ok(), "first\nsecond\nlast\n");
}

#[test]
fn a_terminal_containers_log_holds_what_the_terminal_wrote() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&[
        "-t",
        "--name",
        "tty",
        "busybox",
        "sh",
        "-c",
        "echo a; echo b",
    ]);
    b.run_t(&["wait", "tty"]).ok();
    // The terminal turns each newline into CR LF, and all of it is "stdout".
    let out = b.run_t(&["logs", "tty"]);
    assert_eq!(out.ok(), "a\r\nb\r\n");
    assert_eq!(out.stderr, "");
}
