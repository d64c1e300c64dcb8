//! Docker's path rules for `cp`, on paths as text: cleaning that keeps a trailing `/` or `/.`
//! (they mean "a directory" and "its content"), and splitting into directory and last name.

/// Go's `filepath.Clean`: `..` and `.` resolved lexically, no doubled or trailing `/`.
pub(crate) fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `cleaned` with the trailing `/.` or `/` of `original` put back (Docker's
/// `PreserveTrailingDotOrSeparator`).
pub(crate) fn keep_trailing(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_string();
    if !names_current_dir(&out) && names_current_dir(original) {
        if !out.ends_with('/') {
            out.push('/');
        }
        out.push('.');
    }
    if !out.ends_with('/') && original.ends_with('/') {
        out.push('/');
    }
    out
}

/// A container path as Docker reads it: relative to the container's `/`, cleaned, trailing
/// `/` or `/.` kept.
pub(crate) fn container_abs(path: &str) -> String {
    keep_trailing(&clean(&format!("/{path}")), path)
}

/// Whether the path claims to be a directory: it ends with `/` or `/.`.
pub(crate) fn asserts_directory(path: &str) -> bool {
    path.ends_with('/') || names_current_dir(path)
}

/// The last element is `.`.
fn names_current_dir(path: &str) -> bool {
    base(path) == "."
}

/// Go's `filepath.Base`: the last element, trailing slashes ignored; `/` for the root.
pub(crate) fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `filepath.Dir`: everything but the last element, cleaned.
pub(crate) fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

/// Docker's `SplitPathDirEntry`: directory and last name of the cleaned path, a final `.` kept
/// as the name (`/a/b/.` is `/a/b` and `.`).
pub(crate) fn split_dir_entry(path: &str) -> (String, String) {
    let mut cleaned = clean(path);
    if names_current_dir(path) {
        cleaned.push_str("/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// Go's `filepath.Split`: up to and including the last `/`, and the rest (empty after a
/// trailing `/`).
pub(crate) fn split_last_slash(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    }
}

/// Joins a possibly relative symlink target to the directory of the link (`filepath.Join`).
pub(crate) fn join_link(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let (parent, _) = split_dir_entry(link);
    clean(&format!("{parent}/{target}"))
}

/// Docker's `GetRebaseName`: the resolved path with the original's trailing `/` or `/.`, and
/// the name the copy must keep when resolving changed the last element.
pub(crate) fn rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
    let mut resolved = resolved.to_string();
    if names_current_dir(path) && !names_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if path.ends_with('/') && !resolved.ends_with('/') {
        resolved.push('/');
    }
    let rebase = (base(path) != base(&resolved)).then(|| base(path));
    (resolved, rebase)
}

/// The name a directory's archive starts with when its content goes straight into an
/// existing directory: `.` and `/` mean "the content only".
pub(crate) fn entry_name(base: &str) -> String {
    match base {
        "." | "/" => String::new(),
        b => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_keeps_what_the_user_meant() {
        assert_eq!(clean("/a//b/../c/."), "/a/c");
        assert_eq!(clean("a/../../b"), "../b");
        assert_eq!(clean("/.."), "/");
        assert_eq!(container_abs("etc/"), "/etc/");
        assert_eq!(container_abs("/etc/."), "/etc/.");
        assert_eq!(container_abs("/etc/./"), "/etc/./");
        assert_eq!(container_abs(""), "/.");
        assert_eq!(container_abs("../../etc/passwd"), "/etc/passwd");
    }

    #[test]
    fn paths_split_as_docker_splits_them() {
        assert_eq!(split_dir_entry("/a/b/."), ("/a/b".into(), ".".into()));
        assert_eq!(split_dir_entry("/a/b/"), ("/a".into(), "b".into()));
        assert_eq!(split_dir_entry("/"), ("/".into(), "/".into()));
        assert_eq!(split_last_slash("/a/b/"), ("/a/b/", ""));
        assert_eq!(split_last_slash("/a/b"), ("/a/", "b"));
        assert!(asserts_directory("/x/") && asserts_directory("/x/.") && !asserts_directory("/x"));
    }

    #[test]
    fn link_targets_and_rebase_names() {
        assert_eq!(join_link("/a/link", "../etc"), "/etc");
        assert_eq!(join_link("/a/link", "/etc"), "/etc");
        assert_eq!(
            rebase_name("/a/link", "/etc"),
            ("/etc".into(), Some("link".into()))
        );
        assert_eq!(rebase_name("/a/link/.", "/etc"), ("/etc/.".into(), None));
        assert_eq!(rebase_name("/a/etc", "/etc"), ("/etc".into(), None));
    }
}
