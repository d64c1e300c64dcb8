//! `cp`: files between a container and the host, as `docker cp` copies them.
//!
//! Two layers, as in Docker: the daemon's three calls on a container path — [`ContainerFs::stat`],
//! [`ContainerFs::archive`] and [`ContainerFs::extract`] (what `berth serve` exposes as
//! `HEAD`/`GET`/`PUT /containers/{id}/archive`) — and the client's rules on top of them
//! ([`Engine::copy_from_container`], [`Engine::copy_to_container`]): trailing `/` and `/.`,
//! existing or missing destinations, `-L`, `-a`, `-` for a tar stream.
//!
//! Every container path is resolved by the kernel inside the container's root
//! (`RESOLVE_IN_ROOT`), with the container's volumes and binds mounted where it sees them, so
//! a symlink in the container never leads to the host; tar content from the container is
//! unpacked on the host by `berth_archive`, which never writes outside the destination.

mod from;
mod host;
mod inside;
mod overwrite;
mod paths;
mod place;
mod resolve;
mod to;
mod view;

use std::io::{Read, Write};

use serde::Serialize;

use crate::EngineError;

pub use view::ContainerFs;

/// What went wrong in a copy: a refusal of the client's side of `docker cp` (Docker's CLI prints
/// those as they are), or an answer of the daemon's side (printed after `Error response from
/// daemon: `).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Client(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<berth_store::StoreError> for CopyError {
    fn from(e: berth_store::StoreError) -> Self {
        CopyError::Engine(e.into())
    }
}

/// Docker's `ContainerPathStat`: what is at a container path (the last element not followed).
/// Serializes as the Docker API sends it (`X-Docker-Container-Path-Stat`), the mode in Go's
/// encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// `st_mode`: file type and permission bits ([`PathStat::go_mode`] gives Docker's encoding).
    pub mode: u32,
    /// RFC 3339 with nanoseconds.
    pub mtime: String,
    /// For a symlink: the container path it leads to, resolved inside the container.
    pub link_target: String,
}

impl Serialize for PathStat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PathStat", 5)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("size", &self.size)?;
        st.serialize_field("mode", &self.go_mode())?;
        st.serialize_field("mtime", &self.mtime)?;
        st.serialize_field("linkTarget", &self.link_target)?;
        st.end()
    }
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }

    /// Character or block device.
    pub fn is_device(&self) -> bool {
        matches!(self.mode & libc::S_IFMT, libc::S_IFCHR | libc::S_IFBLK)
    }

    /// The mode as Go's `os.FileMode` bits, as the Docker API sends it.
    pub fn go_mode(&self) -> u32 {
        let kind = match self.mode & libc::S_IFMT {
            libc::S_IFDIR => 1 << 31,
            libc::S_IFLNK => 1 << 27,
            libc::S_IFBLK => 1 << 26,
            libc::S_IFIFO => 1 << 25,
            libc::S_IFSOCK => 1 << 24,
            libc::S_IFCHR => (1 << 26) | (1 << 21),
            _ => 0,
        };
        let special = [
            (libc::S_ISUID, 1 << 23),
            (libc::S_ISGID, 1 << 22),
            (libc::S_ISVTX, 1 << 20),
        ]
        .iter()
        .filter(|(bit, _)| self.mode & bit != 0)
        .fold(0, |acc, (_, go)| acc | go);
        kind | special | (self.mode & 0o777)
    }
}

/// How a tar is unpacked into a container (`PUT /containers/{id}/archive`).
#[derive(Clone, Debug, Default)]
pub struct ExtractOptions {
    /// Refuse to replace a directory by a non-directory or the reverse (`docker cp` always asks).
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the owners recorded in the tar; otherwise everything belongs to root.
    pub copy_uid_gid: bool,
}

/// `docker cp` flags.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    /// `-L`: copy what a symlink source leads to, not the link.
    pub follow_link: bool,
    /// `-a`: keep owners (otherwise: root in the container, the caller on the host).
    pub archive: bool,
}

/// Where `cp CONTAINER:SRC DEST` writes.
pub enum CopyDest<'a> {
    /// `-`: a tar stream.
    Stream(&'a mut (dyn Write + Send)),
    /// A host path, relative to the current directory or absolute.
    Host(&'a str),
}

/// What `cp SRC CONTAINER:DEST` reads.
pub enum CopySource<'a> {
    /// `-`: a tar stream (plain or compressed), unpacked into a directory.
    Stream(&'a mut (dyn Read + Send)),
    /// A host path, relative to the current directory or absolute.
    Host(&'a str),
}

/// What a copy moved: bytes of regular files.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Copied {
    pub size: u64,
}

/// An archive error with its cause: `berth_archive`'s messages name the file, the cause says why.
fn archive_error_text(e: &berth_archive::ArchiveError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&go_reason_text(&s.to_string()));
        source = s.source();
    }
    text
}

/// Go's wording of a system error: lower case, no `(os error N)`.
fn go_reason(e: &std::io::Error) -> String {
    go_reason_text(&e.to_string())
}

fn go_reason_text(s: &str) -> String {
    let s = match s.find(" (os error ") {
        Some(i) => &s[..i],
        None => s,
    };
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_sent_in_gos_encoding() {
        let stat = |mode| PathStat {
            name: String::new(),
            size: 0,
            mode,
            mtime: String::new(),
            link_target: String::new(),
        };
        assert_eq!(stat(libc::S_IFDIR | 0o755).go_mode(), (1 << 31) | 0o755);
        assert_eq!(stat(libc::S_IFLNK | 0o777).go_mode(), (1 << 27) | 0o777);
        assert_eq!(
            stat(libc::S_IFREG | libc::S_ISUID | 0o4755).go_mode(),
            (1 << 23) | 0o755
        );
        let json = serde_json::to_value(stat(libc::S_IFDIR | 0o700)).unwrap();
        let want = serde_json::json!({
            "name": "", "size": 0, "mode": (1u32 << 31) | 0o700, "mtime": "", "linkTarget": ""
        });
        assert_eq!(json, want);
    }

    #[test]
    fn system_errors_read_as_go_writes_them() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(go_reason(&e), "no such file or directory");
    }
}
