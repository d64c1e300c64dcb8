use std::fs;
use std::os::unix::fs::symlink;

use super::*;

fn context(files: &[(&str, &str)], ignore: &str) -> (tempfile::TempDir, Context) {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    let ctx = Context::new(
        dir.path(),
        IgnoreRules::parse(ignore).unwrap(),
        ChecksumCache::in_memory(),
    );
    (dir, ctx)
}

fn names(sel: &[Selected]) -> Vec<String> {
    sel.iter()
        .flat_map(|s| {
            s.entries
                .iter()
                .map(move |e| join(&s.path, &e.rel).to_string())
        })
        .collect()
}

fn none() -> IgnoreRules {
    IgnoreRules::default()
}

#[test]
fn dockerignore_hides_files_and_exceptions_come_back() {
    let (_d, ctx) = context(
        &[
            ("app.js", "1"),
            ("logs/a.log", "2"),
            ("logs/keep.log", "3"),
            ("deep/x/y.md", "4"),
        ],
        "logs\n!logs/keep.log\n**/*.md\n",
    );
    let all = ctx.select(".", &none()).unwrap();
    assert_eq!(names(&all), ["app.js", "deep", "deep/x", "logs/keep.log"]);
}

#[test]
fn wildcards_match_per_element_and_sorted() {
    let (_d, ctx) = context(
        &[
            ("b.json", "1"),
            ("a.json", "2"),
            ("c.txt", "3"),
            ("sub/d.json", "4"),
        ],
        "",
    );
    let sel = ctx.select("*.json", &none()).unwrap();
    let paths: Vec<&str> = sel.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, ["a.json", "b.json"]);
    assert!(matches!(
        ctx.select("*.none", &none()),
        Err(ContextError::NoMatch)
    ));
    assert!(matches!(
        ctx.select("missing", &none()),
        Err(ContextError::NotFound(p)) if p == "missing"
    ));
}

#[test]
fn paths_and_symlinks_stay_inside_the_context() {
    let (d, ctx) = context(&[("real/file", "inside")], "");
    symlink("/etc", d.path().join("abs")).unwrap();
    symlink("../../real", d.path().join("up")).unwrap();
    // `/etc` from inside the context is the context's own (missing) etc.
    assert!(ctx.select("abs/passwd", &none()).is_err());
    let sel = ctx.select("up/file", &none()).unwrap();
    assert_eq!(fs::read_to_string(&sel[0].host).unwrap(), "inside");
    let sel = ctx.select("../../real/file", &none()).unwrap();
    assert_eq!(sel[0].path, "real/file");
}

#[test]
fn digest_follows_content_and_mode_not_time() {
    let (d, ctx) = context(&[("a", "one"), ("dir/b", "two")], "");
    let first = ctx.digest(&ctx.select(".", &none()).unwrap()).unwrap();
    let file = d.path().join("dir/b");
    let f = fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    drop(f);
    let same = ctx.digest(&ctx.select(".", &none()).unwrap()).unwrap();
    assert_eq!(first, same, "a new mtime is not a new content");
    fs::write(&file, "TWO").unwrap();
    let changed = ctx.digest(&ctx.select(".", &none()).unwrap()).unwrap();
    assert_ne!(first, changed);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let chmodded = ctx.digest(&ctx.select(".", &none()).unwrap()).unwrap();
    assert_ne!(changed, chmodded);
}

#[test]
fn copy_excludes_apply_below_the_source() {
    let (_d, ctx) = context(&[("src/a.c", "1"), ("src/a.md", "2")], "");
    let excludes = IgnoreRules::from_patterns(&["*.md"]).unwrap();
    let sel = ctx.select("src", &excludes).unwrap();
    assert_eq!(names(&sel), ["src/a.c"]);
}
