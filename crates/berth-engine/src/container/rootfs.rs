//! The container's root filesystem: the image's layers as read-only overlay lowerdirs under
//! the container's own upperdir, mounted at `containers/<id>/merged`. Mounted with the new
//! mount API, one `lowerdir+` per layer: the classic option string of mount(2) runs out of
//! room near 200 layers, this does not.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount, unmount,
    FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, UnmountFlags,
};

use crate::{Engine, EngineError, Result};

/// The directories of one container's layer.
pub struct Rootfs {
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
    /// Lowerdirs, top first (overlay's order).
    pub lowers: Vec<PathBuf>,
    /// Mount with overlay's `volatile`: the unmount skips syncing the whole filesystem the
    /// upperdir is on. For containers whose layer is deleted when they end (`--rm`); after
    /// a crash such a mount would be refused, but nobody would mount it again.
    pub volatile: bool,
}

impl Engine {
    pub(crate) fn rootfs(&self, c: &berth_store::Container) -> Result<Rootfs> {
        let dir = self.store().container_dir(&c.id);
        // The init layer sits right above the image: the mount points berth itself needs,
        // so they never show up in the container's own layer (`diff`, `commit`). It is the
        // same for every container, so they share one (a container made before it was
        // shared keeps its own): a container then costs a dozen fewer directories to make
        // and to remove.
        let own = dir.join("init");
        let init = if own.is_dir() {
            own
        } else {
            self.store().root().join("init")
        };
        let mut lowers: Vec<PathBuf> = vec![init];
        lowers.extend(
            self.store()
                .layer_stack(c.top_layer.as_ref())?
                .iter()
                .rev()
                .map(|l| self.store().layer_diff(&l.chain_id)),
        );
        Ok(Rootfs {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            lowers,
            volatile: false,
        })
    }
}

impl Rootfs {
    /// Creates the container's own directories (nothing is copied from the image).
    pub fn create_dirs(&self) -> Result<()> {
        for d in [&self.upper, &self.work, &self.merged] {
            fs::create_dir_all(d).map_err(EngineError::io(format!("creating {}", d.display())))?;
        }
        if let Some(init) = self.lowers.first() {
            make_init_layer(init)?;
        }
        Ok(())
    }

    pub fn is_mounted(&self) -> bool {
        is_mount_point(&self.merged)
    }

    /// Mounts the overlay at `merged` (a no-op when it is mounted already).
    pub fn mount(&self) -> Result<()> {
        if self.is_mounted() {
            return Ok(());
        }
        self.create_dirs()?;
        overlay(
            &self.lowers,
            Some((&self.upper, &self.work)),
            &self.merged,
            self.volatile,
        )
        .map_err(EngineError::io(format!(
            "mounting the rootfs at {}",
            self.merged.display()
        )))
    }

    /// Unmounts `merged` (lazily, so a process still inside does not block cleanup).
    pub fn unmount(&self) -> Result<()> {
        if !self.is_mounted() {
            return Ok(());
        }
        match unmount(&self.merged, UnmountFlags::DETACH) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOENT => Ok(()),
            Err(e) => Err(EngineError::io(format!(
                "unmounting {}",
                self.merged.display()
            ))(e.into())),
        }
    }
}

/// Docker's init layer: the files and directories the runtime mounts over, present (and
/// empty) below the container's layer so that mounting them creates nothing in it. Built
/// under a name of its own and renamed into place, so a layer at `dir` is always whole,
/// also when several containers of a new store are created at once.
fn make_init_layer(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // Unique per process and call: build stages may create containers on several threads.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.with_file_name(format!(
        ".{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let io = |what: &str| EngineError::io(format!("creating the init layer ({what})"));
    // What a crashed process of the same pid may have left.
    let _ = fs::remove_dir_all(&tmp);
    let built = (|| {
        for d in ["dev/pts", "dev/shm", "dev/mqueue", "proc", "sys", "etc"] {
            fs::create_dir_all(tmp.join(d)).map_err(io(d))?;
        }
        for f in [
            "etc/hosts",
            "etc/hostname",
            "etc/resolv.conf",
            "dev/console",
            ".dockerenv",
        ] {
            fs::write(tmp.join(f), b"").map_err(io(f))?;
        }
        std::os::unix::fs::symlink("/proc/mounts", tmp.join("etc/mtab")).map_err(io("etc/mtab"))
    })();
    let placed = built.and_then(|()| fs::rename(&tmp, dir).map_err(io("rename")));
    match placed {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            // Another process put its own in place first: the same layer.
            if dir.is_dir() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Mounts an overlay of `lowers` (top first), with an optional upper/work pair, at `target`;
/// `volatile` as [`Rootfs::volatile`].
pub(crate) fn overlay(
    lowers: &[PathBuf],
    upper: Option<(&Path, &Path)>,
    target: &Path,
    volatile: bool,
) -> io::Result<()> {
    let fs_fd = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for l in lowers {
        fsconfig_set_string(&fs_fd, "lowerdir+", l)?;
    }
    if let Some((u, w)) = upper {
        fsconfig_set_string(&fs_fd, "upperdir", u)?;
        fsconfig_set_string(&fs_fd, "workdir", w)?;
        if volatile {
            fsconfig_set_flag(&fs_fd, "volatile")?;
        }
    }
    fsconfig_create(&fs_fd)?;
    let mnt = fsmount(
        &fs_fd,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::empty(),
    )?;
    move_mount(
        &mnt,
        "",
        CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )?;
    Ok(())
}

/// Whether `path` is the root of a mount.
pub(crate) fn is_mount_point(path: &Path) -> bool {
    // statx answers at once (Linux 5.8 and later); /proc/self/mountinfo costs with every
    // mount of the host, one per running container at least.
    use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags};
    if let Ok(st) = statx(
        rustix::fs::CWD,
        path,
        AtFlags::empty(),
        StatxFlags::BASIC_STATS,
    ) {
        if st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT) {
            return st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT);
        }
    }
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let Ok(canon) = fs::canonicalize(path) else {
        return false;
    };
    let want = canon.to_string_lossy();
    mountinfo.lines().any(|l| {
        l.split(' ')
            .nth(4)
            .map(unescape_mountinfo)
            .is_some_and(|mp| mp == want)
    })
}

/// Mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Held while a container's rootfs is being mounted or used by a short-lived command
/// (`cp`, `export` of a stopped container), so a `start` in between does not mount it twice.
pub(crate) struct MountLock {
    _file: fs::File,
}

impl Engine {
    pub(crate) fn lock_mount(&self, id: &str) -> Result<MountLock> {
        let path = self.store().container_dir(id).join("mount.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(EngineError::io(format!("opening {}", path.display())))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| EngineError::io("locking the container's rootfs")(e.into()))?;
        Ok(MountLock { _file: file })
    }

    /// Runs `f` with the container's merged rootfs: the live mount of a running container,
    /// or a temporary mount of a stopped one (unmounted again afterwards).
    pub fn with_rootfs<T>(
        &self,
        c: &berth_store::Container,
        f: impl FnOnce(&Path) -> Result<T>,
    ) -> Result<T> {
        let rootfs = self.rootfs(c)?;
        let _lock = self.lock_mount(&c.id)?;
        if rootfs.is_mounted() {
            return f(&rootfs.merged);
        }
        rootfs.mount()?;
        let out = f(&rootfs.merged);
        // A container started meanwhile waited for our lock and mounts its own afterwards.
        rootfs.unmount()?;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_told_from_plain_directories() {
        assert!(is_mount_point(Path::new("/proc")));
        assert!(!is_mount_point(Path::new("/proc/self/fd")));
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mount_point(dir.path()));
        assert!(!is_mount_point(&dir.path().join("missing")));
    }

    /// Many containers of a new store may be created at once, on threads of one process
    /// (build stages) and in several processes: each sees one whole init layer.
    #[test]
    fn the_shared_init_layer_is_made_once_and_whole() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let init = tmp.path().join("init");
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..8).map(|_| s.spawn(|| make_init_layer(&init))).collect();
            for w in workers {
                w.join().expect("no panic").expect("made or found");
            }
        });
        for d in ["dev/pts", "dev/shm", "dev/mqueue", "proc", "sys", "etc"] {
            assert!(init.join(d).is_dir(), "{d}");
        }
        for f in [
            "etc/hosts",
            "etc/hostname",
            "etc/resolv.conf",
            "dev/console",
            ".dockerenv",
        ] {
            assert_eq!(fs::read(init.join(f)).expect(f), b"", "{f}");
        }
        assert_eq!(
            fs::read_link(init.join("etc/mtab")).expect("mtab"),
            Path::new("/proc/mounts")
        );
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["init"], "nothing half-made is left");
    }
}
