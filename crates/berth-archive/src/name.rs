//! Member names of a tar, cleaned into paths relative to the directory they are unpacked into.
//!
//! Docker (moby `pkg/archive`) cleans every member name with Go's `filepath.Clean` and joins it to
//! the destination, so a leading `/` is simply dropped (`/etc/passwd` lands in `etc/passwd`) and a
//! relative name whose `..` climbs above the root is refused as a breakout. We do the same, with one
//! difference: Go's `Clean` silently clamps `..` at the root of an absolute name (`/../etc` becomes
//! `/etc`); such names only come from broken or hostile tars, so we refuse them too.

/// Longest cleaned name we accept, Linux's `PATH_MAX`. Docker works on full host paths and fails on
/// longer ones anyway; the limit also bounds how deep a hostile tar can nest directories.
const MAX_NAME: usize = 4096;

/// A path below a root directory: only normal components, never `.`, `..` or empty ones.
/// The empty path is the root itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RelPath {
    parts: Vec<Vec<u8>>,
}

/// Why a member name could not be cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameError {
    /// A `..` climbs above the root.
    Escapes,
    /// The name holds a NUL byte, which no file name can.
    Nul,
    /// The name is longer than `PATH_MAX`.
    TooLong,
}

impl NameError {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Escapes => "path escapes the layer root",
            Self::Nul => "name contains a NUL byte",
            Self::TooLong => "name is longer than 4096 bytes",
        }
    }
}

impl RelPath {
    /// Cleans a member name as written in a tar.
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, NameError> {
        if raw.contains(&0) {
            return Err(NameError::Nul);
        }
        let mut parts: Vec<Vec<u8>> = Vec::new();
        for part in raw.split(|b| *b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if parts.pop().is_none() {
                        return Err(NameError::Escapes);
                    }
                }
                _ => parts.push(part.to_vec()),
            }
        }
        let path = Self { parts };
        if path.len_bytes() > MAX_NAME {
            return Err(NameError::TooLong);
        }
        Ok(path)
    }

    /// Splits a path read from a directory walk (`a/b/c`, always clean).
    pub(crate) fn from_clean(path: &[u8]) -> Self {
        Self {
            parts: path
                .split(|b| *b == b'/')
                .filter(|p| !p.is_empty())
                .map(<[u8]>::to_vec)
                .collect(),
        }
    }

    pub(crate) fn parts(&self) -> &[Vec<u8>] {
        &self.parts
    }

    /// The parent directory's components and the last name, or `None` for the root.
    pub(crate) fn split_last(&self) -> Option<(&[Vec<u8>], &[u8])> {
        self.parts
            .split_last()
            .map(|(last, parent)| (parent, last.as_slice()))
    }

    /// `a/b/c`, without leading or trailing slash.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.parts.join(&b'/')
    }

    fn len_bytes(&self) -> usize {
        self.parts.iter().map(|p| p.len() + 1).sum()
    }
}

/// Shows the first `n` components of a path, for error messages.
pub(crate) fn show_prefix(parts: &[Vec<u8>], n: usize) -> String {
    String::from_utf8_lossy(&parts[..n.min(parts.len())].join(&b'/')).into_owned()
}

/// Whether a symlink in directory `link_dir` pointing at `target` stays inside the root when its
/// target is resolved lexically from that directory, as Docker checks it.
///
/// Absolute targets (`/bin/busybox`) are normal in images and always allowed: they are resolved
/// inside the container's root when it runs. Our own code never follows a symlink while writing,
/// so this check keeps broken links out of layers rather than guarding our own writes.
pub(crate) fn symlink_stays_inside(link_dir: &[Vec<u8>], target: &[u8]) -> bool {
    if target.starts_with(b"/") {
        return true;
    }
    let mut depth = link_dir.len();
    for part in target.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => depth += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Result<String, NameError> {
        RelPath::parse(raw.as_bytes()).map(|p| String::from_utf8(p.to_bytes()).unwrap())
    }

    #[test]
    fn names_are_cleaned_like_docker() {
        assert_eq!(clean("./a").unwrap(), "a");
        assert_eq!(clean("a//b/").unwrap(), "a/b");
        assert_eq!(clean("/etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(clean("a/./b/../c").unwrap(), "a/c");
        assert_eq!(clean("./").unwrap(), "");
        assert_eq!(clean("a/..").unwrap(), "");
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        assert_eq!(clean("../etc/passwd"), Err(NameError::Escapes));
        assert_eq!(clean("a/../../b"), Err(NameError::Escapes));
        assert_eq!(clean("/../etc"), Err(NameError::Escapes));
        assert_eq!(clean(".."), Err(NameError::Escapes));
    }

    #[test]
    fn nul_and_overlong_names_are_refused() {
        assert_eq!(RelPath::parse(b"a\0b"), Err(NameError::Nul));
        let long = "d/".repeat(2100);
        assert_eq!(clean(&long), Err(NameError::TooLong));
    }

    #[test]
    fn symlink_targets_are_checked_from_the_link_directory() {
        let dir = RelPath::parse(b"a/b").unwrap();
        assert!(symlink_stays_inside(dir.parts(), b"../../x"));
        assert!(!symlink_stays_inside(dir.parts(), b"../../../x"));
        assert!(!symlink_stays_inside(dir.parts(), b"x/../../../../y"));
        assert!(symlink_stays_inside(dir.parts(), b"/bin/busybox"));
        assert!(symlink_stays_inside(&[], b"./x/./y"));
        assert!(!symlink_stays_inside(&[], b".."));
    }
}
