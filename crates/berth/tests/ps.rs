//! `berth ps`: Docker's columns and statuses, and its flags, filters and templates.

mod common;

use common::{cells, is_hex64, Berth};

/// Docker's words for a duration: "Less than a second", "1 second", "3 seconds",
/// "About a minute", "5 minutes".
fn is_duration(s: &str) -> bool {
    if s == "Less than a second" || s == "About a minute" || s == "1 second" {
        return true;
    }
    match s.split_once(' ') {
        Some((n, unit)) => {
            n.parse::<u32>().is_ok_and(|n| n > 1) && (unit == "seconds" || unit == "minutes")
        }
        None => false,
    }
}

fn is_up(s: &str) -> bool {
    let s = s.strip_suffix(" (Paused)").unwrap_or(s);
    s.strip_prefix("Up ").is_some_and(is_duration)
}

/// "Exited (CODE) DURATION ago" with the code given.
fn is_exited(s: &str, code: i32) -> bool {
    s.strip_prefix(&format!("Exited ({code}) "))
        .and_then(|r| r.strip_suffix(" ago"))
        .is_some_and(is_duration)
}

/// Three containers: `made` (created), `up` (running, label tier=web), `done` (exited 3,
/// label tier=db), created in that order; their IDs.
fn three(b: &Berth) -> (String, String, String) {
    b.busybox("busybox");
    let made = b
        .run_t(&["create", "--name", "made", "busybox", "true"])
        .ok()
        .trim()
        .to_string();
    let up = b.detach(&["--name", "up", "-l", "tier=web", "busybox", "sleep", "1000"]);
    let done = b.run_t(&[
        "run", "-d", "--name", "done", "-l", "tier=db", "busybox", "sh", "-c", "exit 3",
    ]);
    let done = done.ok().trim().to_string();
    b.run_t(&["wait", "done"]).ok();
    (made, up, done)
}

#[test]
fn the_table_has_dockers_columns_and_statuses() {
    let b = Berth::new();
    let (made, up, done) = three(&b);
    let out = b.run_t(&["ps", "-a"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "CONTAINER ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{text}"
    );
    assert_eq!(lines.len(), 4, "{text}");
    // Newest first.
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| cells(l)).collect();
    assert_eq!(rows[0][0], &done[..12]);
    assert_eq!(rows[1][0], &up[..12]);
    assert_eq!(rows[2][0], &made[..12]);
    assert_eq!(rows[0][1], "busybox");
    assert_eq!(rows[0][2], r#""sh -c 'exit 3'""#);
    assert_eq!(rows[1][2], r#""sleep 1000""#);
    assert!(rows[0][3].ends_with(" ago"), "{text}");
    assert!(is_exited(rows[0][4], 3), "{text}");
    assert!(is_up(rows[1][4]), "{text}");
    assert_eq!(rows[2][4], "Created", "{text}");
    assert_eq!(rows[0].last(), Some(&"done"));
    assert_eq!(rows[1].last(), Some(&"up"));
    assert_eq!(rows[2].last(), Some(&"made"));

    // Without -a only running containers.
    let out = b.run_t(&["ps"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert_eq!(cells(lines[1]).last(), Some(&"up"));

    // A long command is cut with an ellipsis unless --no-trunc.
    b.run_t(&[
        "create",
        "--name",
        "long",
        "busybox",
        "sh",
        "-c",
        "echo a fairly long command line here",
    ])
    .ok();
    let out = b.run_t(&[
        "ps",
        "-a",
        "--filter",
        "name=long",
        "--format",
        "{{.Command}}",
    ]);
    // Docker's cut: 19 characters and an ellipsis, then the quotes.
    assert_eq!(out.ok(), "\"sh -c 'echo a fairl…\"\n");
    let out = b.run_t(&[
        "ps",
        "-a",
        "--no-trunc",
        "--filter",
        "name=long",
        "--format",
        "{{.ID}} {{.Command}}",
    ]);
    let (id, cmd) = out
        .ok()
        .trim()
        .split_once(' ')
        .map(|(a, c)| (a.to_string(), c.to_string()))
        .expect("two fields");
    assert!(is_hex64(&id), "{out:?}");
    assert_eq!(cmd, "\"sh -c 'echo a fairly long command line here'\"");
}

#[test]
fn a_paused_container_says_so() {
    let b = Berth::new();
    b.busybox("busybox");
    b.detach(&["--name", "pp", "busybox", "sleep", "1000"]);
    b.run_t(&["pause", "pp"]).ok();
    let out = b.run_t(&["ps", "--format", "{{.Status}}|{{.State}}"]);
    let text = out.ok().trim().to_string();
    let (status, state) = text.split_once('|').expect("two fields");
    assert!(status.ends_with(" (Paused)") && is_up(status), "{text}");
    assert_eq!(state, "paused");
}

#[test]
fn quiet_latest_last_and_size() {
    let b = Berth::new();
    let (made, up, done) = three(&b);
    let q = b.run_t(&["ps", "-aq"]);
    assert_eq!(
        q.ok(),
        format!("{}\n{}\n{}\n", &done[..12], &up[..12], &made[..12])
    );
    let q = b.run_t(&["ps", "-q", "--no-trunc"]);
    assert_eq!(q.ok(), format!("{up}\n"));
    assert_eq!(b.run_t(&["ps", "-lq"]).ok(), format!("{}\n", &done[..12]));
    assert_eq!(
        b.run_t(&["ps", "-n", "2", "-q"]).ok(),
        format!("{}\n{}\n", &done[..12], &up[..12])
    );

    // -s adds SIZE: the container layer, then the image's as "virtual".
    b.run_t(&["exec", "up", "sh", "-c", "head -c 100000 /dev/zero > /big"])
        .ok();
    let out = b.run_t(&["ps", "-s"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(cells(lines[0]).last(), Some(&"SIZE"), "{text}");
    let size = *cells(lines[1]).last().expect("size cell");
    assert!(
        size.starts_with("100kB (virtual ") || size.starts_with("100."),
        "{text}"
    );
    assert!(size.contains("(virtual "), "{text}");
}

#[test]
fn filters_select_by_status_name_label_ancestor_and_id() {
    let b = Berth::new();
    let (made, up, done) = three(&b);
    let names = |filter: &[&str]| -> Vec<String> {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filter {
            args.extend(["--filter", f]);
        }
        b.run_t(&args).ok().lines().map(str::to_string).collect()
    };
    assert_eq!(names(&["status=exited"]), ["done"]);
    assert_eq!(names(&["status=running"]), ["up"]);
    assert_eq!(names(&["status=created"]), ["made"]);
    // Names match as substrings.
    assert_eq!(names(&["name=ad"]), ["made"]);
    assert_eq!(names(&["label=tier"]), ["done", "up"]);
    assert_eq!(names(&["label=tier=web"]), ["up"]);
    // Different filters all apply.
    assert_eq!(names(&["label=tier", "status=exited"]), ["done"]);
    assert_eq!(names(&["ancestor=busybox"]), ["done", "up", "made"]);
    b.tiny("other", Some("other"));
    assert!(names(&["ancestor=other"]).is_empty());
    assert_eq!(names(&[&format!("id={}", &up[..6])]), ["up"]);
    assert_eq!(names(&[&format!("id={made}")]), ["made"]);
    assert_eq!(names(&["exited=3"]), ["done"]);
    assert!(names(&["exited=0"]).is_empty());
    assert_eq!(names(&["before=done"]), ["up", "made"]);
    assert_eq!(names(&["since=made"]), ["done", "up"]);
    b.run_t(&["pause", "up"]).ok();
    assert_eq!(names(&["status=paused"]), ["up"]);
    assert!(names(&["status=running"]).is_empty());
    let _ = done;
    let err = b.run_t(&["ps", "--filter", "colour=red"]).stderr;
    assert!(err.contains("invalid filter 'colour'"), "{err}");
}

#[test]
fn format_templates_and_tables() {
    let b = Berth::new();
    let (_, up, _) = three(&b);
    let out = b.run_t(&[
        "ps",
        "--format",
        "{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Labels}}\t{{.State}}",
    ]);
    assert_eq!(
        out.ok(),
        format!("{}\tup\tbusybox\ttier=web\trunning\n", &up[..12])
    );
    let out = b.run_t(&["ps", "-a", "--format", "table {{.Names}}\t{{.Status}}"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(cells(lines[0]), ["NAMES", "STATUS"], "{text}");
    assert_eq!(lines.len(), 4, "{text}");
    let json = b.run_t(&["ps", "--format", "{{json .}}"]);
    let v: serde_json::Value = serde_json::from_str(json.ok().trim()).expect("one JSON object");
    assert_eq!(v["Names"], "up");
    assert_eq!(v["State"], "running");
}

#[test]
fn format_label_picks_one_label() {
    let b = Berth::new();
    three(&b);
    let out = b.run_t(&["ps", "--format", r#"{{.Label "tier"}}"#]);
    assert_eq!(out.ok(), "web\n");
}

#[test]
fn two_values_of_one_filter_are_alternatives() {
    let b = Berth::new();
    three(&b);
    let out = b.run_t(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        "status=created",
        "--filter",
        "status=exited",
    ]);
    assert_eq!(out.ok(), "done\nmade\n");
    let out = b.run_t(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        "name=made",
        "--filter",
        "name=done",
    ]);
    assert_eq!(out.ok(), "done\nmade\n");
}
