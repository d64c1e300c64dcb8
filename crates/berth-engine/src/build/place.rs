//! Writing files into a step's mounted filesystem without ever leaving it: paths are resolved
//! by the kernel with `RESOLVE_IN_ROOT` (the mount is `/`, for `..` and absolute symlinks too),
//! and entries are created relative to open directory descriptors, never following a symlink
//! at the last element.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{
    self as rfs, AtFlags, Gid, Mode, OFlags, ResolveFlags, Stat, Timespec, Timestamps, Uid,
};
use rustix::io::Errno;

use super::error::BuildError;

/// Owner of new entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };
}

fn errno(what: &str, path: &str) -> impl FnOnce(Errno) -> BuildError {
    let message = format!("{what} {path}");
    move |e| BuildError::new(format!("{message}: {}", std::io::Error::from(e)))
}

/// The root of a mounted step filesystem.
pub(crate) struct Root {
    fd: OwnedFd,
    host: PathBuf,
}

impl Root {
    pub(crate) fn open(host: &Path) -> Result<Root, BuildError> {
        let fd = rfs::open(
            host,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno("opening", &host.display().to_string()))?;
        Ok(Root {
            fd,
            host: host.to_path_buf(),
        })
    }

    /// Opens `path` inside the root, following symlinks as the container would.
    fn open_in(&self, path: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        loop {
            match rfs::openat2(
                &self.fd,
                rel,
                flags | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Err(Errno::AGAIN) => continue,
                other => return other,
            }
        }
    }

    /// What is at `path` (symlinks followed inside the root); `None` when nothing is.
    pub(crate) fn stat(&self, path: &str) -> Option<Stat> {
        let fd = self.open_in(path, OFlags::PATH).ok()?;
        rfs::fstat(&fd).ok()
    }

    /// The bytes of a file inside the root (`/etc/passwd`), if it is there.
    pub(crate) fn read(&self, path: &str) -> Option<Vec<u8>> {
        let fd = self.open_in(path, OFlags::RDONLY).ok()?;
        let mut out = Vec::new();
        File::from(fd).read_to_end(&mut out).ok()?;
        Some(out)
    }

    /// Opens the directory `path`, creating what is missing (owned by `owner`, mode 0755).
    pub(crate) fn mkdir_all(&self, path: &str, owner: Owner) -> Result<OwnedFd, BuildError> {
        match self.open_in(path, OFlags::DIRECTORY | OFlags::RDONLY) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(errno("opening", path)(e)),
        }
        let mut dir = self
            .open_in("/", OFlags::DIRECTORY | OFlags::RDONLY)
            .map_err(errno("opening", "/"))?;
        let mut walked = String::new();
        for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
            walked.push('/');
            walked.push_str(part);
            if part == ".." {
                dir = self
                    .open_in(&walked, OFlags::DIRECTORY | OFlags::RDONLY)
                    .map_err(errno("opening", &walked))?;
                continue;
            }
            dir = self.dir_in(dir.as_fd(), part, &walked, owner)?;
        }
        Ok(dir)
    }

    /// Opens (or creates) the directory `name` in `dir`; a symlink there is followed inside
    /// the root, as `walked` (its path from the root) names it.
    pub(crate) fn dir_in(
        &self,
        dir: BorrowedFd<'_>,
        name: &str,
        walked: &str,
        owner: Owner,
    ) -> Result<OwnedFd, BuildError> {
        match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
            Ok(()) => {
                set_owner_at(dir, name, owner).map_err(errno("changing the owner of", walked))?;
            }
            Err(Errno::EXIST) => {}
            Err(e) => return Err(errno("creating", walked)(e)),
        }
        match rfs::openat(
            dir,
            name,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(fd),
            Err(Errno::LOOP) | Err(Errno::NOTDIR) => {
                // A symlink (or a file): the container would follow a symlink, inside itself.
                let fd = self
                    .open_in(walked, OFlags::DIRECTORY | OFlags::RDONLY)
                    .map_err(|_| {
                        BuildError::new(format!(
                            "cannot copy to {walked}: it exists and is not a directory"
                        ))
                    })?;
                Ok(fd)
            }
            Err(e) => Err(errno("opening", walked)(e)),
        }
    }

    /// The host path of the mount (for diagnostics).
    #[allow(dead_code)]
    pub(crate) fn host(&self) -> &Path {
        &self.host
    }
}

fn set_owner_at(dir: BorrowedFd<'_>, name: &str, owner: Owner) -> Result<(), Errno> {
    rfs::chownat(
        dir,
        name,
        Some(Uid::from_raw(owner.uid)),
        Some(Gid::from_raw(owner.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
}

/// Removes what is at `name` in `dir` unless it is a directory; refuses to replace one.
fn make_room(dir: BorrowedFd<'_>, name: &str, shown: &str) -> Result<(), BuildError> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Err(BuildError::new(format!(
            "cannot replace directory {shown} with a file"
        ))),
        Ok(_) => rfs::unlinkat(dir, name, AtFlags::empty()).map_err(errno("replacing", shown)),
        Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(errno("reading", shown)(e)),
    }
}

/// Metadata a new entry gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub mode: u32,
    pub owner: Owner,
    /// Seconds and nanoseconds; `None` keeps the time of creation.
    pub mtime: Option<(i64, i64)>,
}

/// Writes a regular file `name` in `dir` with `content`. Generic, not `dyn Read`, so that a
/// `File` source is copied by the kernel (`copy_file_range`), never through our buffers.
pub(crate) fn write_file<R: Read>(
    dir: BorrowedFd<'_>,
    name: &str,
    shown: &str,
    content: &mut R,
    meta: Meta,
) -> Result<(), BuildError> {
    make_room(dir, name, shown)?;
    let fd = rfs::openat(
        dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(errno("creating", shown))?;
    let mut file = File::from(fd);
    std::io::copy(content, &mut file)
        .map_err(|e| BuildError::new(format!("writing {shown}: {e}")))?;
    // Owner first: chown clears setuid and setgid bits.
    rfs::fchown(
        &file,
        Some(Uid::from_raw(meta.owner.uid)),
        Some(Gid::from_raw(meta.owner.gid)),
    )
    .map_err(errno("changing the owner of", shown))?;
    rfs::fchmod(&file, Mode::from_raw_mode(meta.mode & 0o7777))
        .map_err(errno("changing the mode of", shown))?;
    if let Some((sec, nsec)) = meta.mtime {
        let t = Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        };
        rfs::futimens(
            &file,
            &Timestamps {
                last_access: t,
                last_modification: t,
            },
        )
        .map_err(errno("setting the time of", shown))?;
    }
    Ok(())
}

/// Makes a symlink `name` in `dir`.
pub(crate) fn write_symlink(
    dir: BorrowedFd<'_>,
    name: &str,
    shown: &str,
    target: &str,
    owner: Owner,
) -> Result<(), BuildError> {
    make_room(dir, name, shown)?;
    rfs::symlinkat(target, dir, name).map_err(errno("creating", shown))?;
    set_owner_at(dir, name, owner).map_err(errno("changing the owner of", shown))
}

/// Opens or makes the directory `name` in `dir`; a new one gets `meta`, an existing one is
/// left as it is (Docker keeps the owners of directories that were there).
pub(crate) fn write_dir(
    root: &Root,
    dir: BorrowedFd<'_>,
    name: &str,
    shown: &str,
    meta: Meta,
) -> Result<OwnedFd, BuildError> {
    let created = match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o755)) {
        Ok(()) => true,
        Err(Errno::EXIST) => false,
        Err(e) => return Err(errno("creating", shown)(e)),
    };
    let fd = root.dir_in(dir, name, shown, meta.owner)?;
    if created {
        rfs::fchown(
            &fd,
            Some(Uid::from_raw(meta.owner.uid)),
            Some(Gid::from_raw(meta.owner.gid)),
        )
        .map_err(errno("changing the owner of", shown))?;
        rfs::fchmod(&fd, Mode::from_raw_mode(meta.mode & 0o7777))
            .map_err(errno("changing the mode of", shown))?;
    }
    Ok(fd)
}

/// Whether a stat is of a directory.
pub(crate) fn is_dir(st: &Stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}
