//! Unix socket paths longer than `sun_path` allows (108 bytes): a store under a deep
//! `--runroot` puts the monitor's socket past it. Such a path is reached through
//! `/proc/self/fd/N/`, N an `O_PATH` descriptor of its directory, which is always short.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use rustix::fs::{open, Mode, OFlags};

/// The longest path used as it is (`sun_path` holds 108 bytes with the terminating NUL).
const MAX_DIRECT: usize = 100;

/// A short name for `path`, valid while the returned descriptor is open.
fn short(path: &Path) -> io::Result<(Option<OwnedFd>, PathBuf)> {
    if path.as_os_str().len() <= MAX_DIRECT {
        return Ok((None, path.to_path_buf()));
    }
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "socket path has no file name")
    })?;
    let fd = open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let short = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())).join(name);
    Ok((Some(fd), short))
}

pub fn bind(path: &Path) -> io::Result<UnixListener> {
    let (_dir, p) = short(path)?;
    UnixListener::bind(p)
}

pub fn connect(path: &Path) -> io::Result<UnixStream> {
    let (_dir, p) = short(path)?;
    UnixStream::connect(p)
}

/// A console socket path another process (the OCI runtime) can connect to: the given one
/// when short enough, else a fresh one in the temporary directory.
pub fn console_path(preferred: &Path) -> PathBuf {
    if preferred.as_os_str().len() <= MAX_DIRECT {
        return preferred.to_path_buf();
    }
    // The pid and the time make the name unique among concurrent starts and execs.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("berth-console-{}-{nanos}.sock", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_bind_and_connect() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        let path = deep.join("monitor.sock");
        assert!(path.as_os_str().len() > 108);
        let listener = bind(&path).unwrap();
        assert!(path.exists(), "the socket is at its real path");
        let _client = connect(&path).unwrap();
        let _ = listener.accept().unwrap();
    }
}
