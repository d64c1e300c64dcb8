//! Where a copy lands, by Docker's rules (`PrepareArchiveCopy`): into an existing directory
//! under the source's own name; over an existing file under the file's name; as a new file or
//! directory named by the destination; and the refusals in between.

use super::paths::{asserts_directory, entry_name, split_dir_entry};

/// One side of a copy, as both sides of `docker cp` describe it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CopyInfo {
    pub path: String,
    pub exists: bool,
    pub is_dir: bool,
    /// The name the source keeps when a followed symlink changed its last element.
    pub rebase: Option<String>,
}

/// Extract into `dir`, the source archived under `name` (empty: its content only).
#[derive(Debug, PartialEq)]
pub(crate) struct Placement {
    pub dir: String,
    pub name: String,
}

/// Docker's refusals, worded as Docker words them.
pub(crate) const CANNOT_COPY_DIR: &str = "cannot copy directory";
pub(crate) const NO_SUCH_DIRECTORY: &str = "no such directory";

pub(crate) fn place(src: &CopyInfo, dst: &CopyInfo) -> Result<Placement, &'static str> {
    let (dst_dir, dst_base) = split_dir_entry(&dst.path);
    let (_, src_base) = split_dir_entry(&src.path);
    let src_name = src.rebase.clone().unwrap_or(src_base);
    if dst.exists && dst.is_dir {
        return Ok(Placement {
            dir: dst.path.clone(),
            name: entry_name(&src_name),
        });
    }
    if dst.exists && src.is_dir {
        return Err(CANNOT_COPY_DIR);
    }
    if !dst.exists && !src.is_dir && asserts_directory(&dst.path) {
        return Err(NO_SUCH_DIRECTORY);
    }
    // A file over a file, a new directory, or a new file: all take the destination's name.
    Ok(Placement {
        dir: dst_dir,
        name: entry_name(&dst_base),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo {
            path: path.into(),
            exists,
            is_dir,
            rebase: None,
        }
    }

    fn at(dir: &str, name: &str) -> Result<Placement, &'static str> {
        Ok(Placement {
            dir: dir.into(),
            name: name.into(),
        })
    }

    #[test]
    fn a_file_goes_into_a_directory_over_a_file_or_to_a_new_name() {
        let file = info("/src/f", true, false);
        assert_eq!(place(&file, &info("/d", true, true)), at("/d", "f"));
        assert_eq!(place(&file, &info("/d/g", true, false)), at("/d", "g"));
        assert_eq!(place(&file, &info("/d/new", false, false)), at("/d", "new"));
        assert_eq!(
            place(&file, &info("/d/new/", false, false)),
            Err(NO_SUCH_DIRECTORY)
        );
    }

    #[test]
    fn a_directory_goes_into_a_directory_or_becomes_a_new_one() {
        let dir = info("/src/dir", true, true);
        assert_eq!(place(&dir, &info("/d", true, true)), at("/d", "dir"));
        assert_eq!(place(&dir, &info("/d/new", false, false)), at("/d", "new"));
        assert_eq!(place(&dir, &info("/d/new/", false, false)), at("/d", "new"));
        assert_eq!(
            place(&dir, &info("/d/file", true, false)),
            Err(CANNOT_COPY_DIR)
        );
        let content = info("/src/dir/.", true, true);
        assert_eq!(place(&content, &info("/d", true, true)), at("/d", ""));
        assert_eq!(
            place(&content, &info("/d/new", false, false)),
            at("/d", "new")
        );
    }

    #[test]
    fn a_followed_link_keeps_the_name_of_the_link() {
        let mut linked = info("/etc", true, true);
        linked.rebase = Some("link".into());
        assert_eq!(place(&linked, &info("/d", true, true)), at("/d", "link"));
    }
}
