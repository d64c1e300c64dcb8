//! Reaching the directory an entry goes into, creating missing ones on the way, without ever
//! passing through a symlink.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::dirfd;
use crate::whiteout::OPAQUE_XATTR;

/// Why a directory could not be reached; the index is the component that failed.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// That component is a symlink.
    Symlink(usize),
    /// That component exists but is not a directory.
    NotDir(usize),
    /// That component does not exist (only when not creating).
    Missing(usize),
    /// A system call failed.
    Io(&'static str, Errno),
}

/// Opens directories below a root. Tars list entries directory by directory, so the last directory
/// reached is kept open and usually serves the next entry too.
pub(crate) struct Parents {
    root: Rc<OwnedFd>,
    last: Option<(Vec<Vec<u8>>, Rc<OwnedFd>)>,
    /// Replace a whiteout device met on the way by an opaque directory (overlay layer form).
    whiteouts: bool,
}

impl Parents {
    pub(crate) fn new(root: OwnedFd, whiteouts: bool) -> Self {
        Self {
            root: Rc::new(root),
            last: None,
            whiteouts,
        }
    }

    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The directory at `parts`, creating missing ones (mode 0755, owned by us, as Docker does).
    pub(crate) fn dir(&mut self, parts: &[Vec<u8>]) -> Result<Rc<OwnedFd>, WalkError> {
        if parts.is_empty() {
            return Ok(Rc::clone(&self.root));
        }
        if let Some((path, fd)) = &self.last {
            if path.as_slice() == parts {
                return Ok(Rc::clone(fd));
            }
        }
        let fd = Rc::new(self.walk(parts, true)?);
        self.last = Some((parts.to_vec(), Rc::clone(&fd)));
        Ok(fd)
    }

    /// The existing directory at `parts`, creating nothing.
    pub(crate) fn existing(&self, parts: &[Vec<u8>]) -> Result<OwnedFd, WalkError> {
        self.walk(parts, false)
    }

    /// Forgets a kept directory that lies at or below `parts`, which is about to be removed.
    pub(crate) fn forget_below(&mut self, parts: &[Vec<u8>]) {
        if let Some((path, _)) = &self.last {
            if path.starts_with(parts) {
                self.last = None;
            }
        }
    }

    fn walk(&self, parts: &[Vec<u8>], create: bool) -> Result<OwnedFd, WalkError> {
        if let Some(fd) = self.open_beneath(parts) {
            return Ok(fd);
        }
        let mut cur: Option<OwnedFd> = None;
        for (i, part) in parts.iter().enumerate() {
            let base = cur.as_ref().map_or(self.root.as_fd(), |fd| fd.as_fd());
            let next = match dirfd::open_child_dir(base, part) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if create => make_dir(base, part)?,
                Err(Errno::NOENT) => return Err(WalkError::Missing(i)),
                Err(Errno::LOOP | Errno::NOTDIR) => self.not_a_dir(base, part, i, create)?,
                Err(e) => return Err(WalkError::Io("opening", e)),
            };
            cur = Some(next);
        }
        match cur {
            Some(fd) => Ok(fd),
            None => dirfd::reopen_dir(self.root.as_fd()).map_err(|e| WalkError::Io("opening", e)),
        }
    }

    /// The whole path in one `openat2` that refuses symlinks and `..` outright; `None` sends the
    /// caller to the component walk, which creates what is missing and names what is wrong (and
    /// also serves kernels older than 5.6).
    fn open_beneath(&self, parts: &[Vec<u8>]) -> Option<OwnedFd> {
        if parts.is_empty() {
            return None;
        }
        let path = parts.join(&b'/');
        rfs::openat2(
            self.root.as_fd(),
            path.as_slice(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::BENEATH
                | ResolveFlags::NO_SYMLINKS
                | ResolveFlags::NO_MAGICLINKS
                | ResolveFlags::NO_XDEV,
        )
        .ok()
    }

    /// A component that exists but could not be opened as a directory.
    fn not_a_dir(
        &self,
        base: BorrowedFd<'_>,
        part: &[u8],
        i: usize,
        create: bool,
    ) -> Result<OwnedFd, WalkError> {
        let st = dirfd::lstat_at(base, part).map_err(|e| WalkError::Io("inspecting", e))?;
        match st {
            Some(st) if st.kind == rfs::FileType::Symlink => Err(WalkError::Symlink(i)),
            // A layer that deletes a directory of the layers below and then puts files in a new
            // one at the same place: the new directory must not show the old one's content.
            Some(st) if create && self.whiteouts && st.is_whiteout() => {
                rfs::unlinkat(base, part, rfs::AtFlags::empty())
                    .map_err(|e| WalkError::Io("removing", e))?;
                let fd = make_dir(base, part)?;
                dirfd::set_xattr_fd(fd.as_fd(), OPAQUE_XATTR.as_bytes(), b"y")
                    .map_err(|e| WalkError::Io("marking opaque", e))?;
                Ok(fd)
            }
            _ => Err(WalkError::NotDir(i)),
        }
    }
}

/// Creates an implied parent directory: 0755 whatever the umask, owned by the caller (root).
fn make_dir(base: BorrowedFd<'_>, part: &[u8]) -> Result<OwnedFd, WalkError> {
    rfs::mkdirat(base, part, Mode::from_raw_mode(0o755))
        .map_err(|e| WalkError::Io("creating", e))?;
    let fd = dirfd::open_child_dir(base, part).map_err(|e| WalkError::Io("opening", e))?;
    dirfd::chmod_fd(fd.as_fd(), 0o755).map_err(|e| WalkError::Io("setting the mode of", e))?;
    Ok(fd)
}
