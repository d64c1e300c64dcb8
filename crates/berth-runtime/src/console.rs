//! The console socket: how a runtime hands over the master side of a container's pty
//! (runc's protocol, which libcontainer follows). Listen before `create`, receive after.

use std::io::IoSliceMut;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use rustix::termios::{tcsetwinsize, Winsize};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    pub fn bind(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let listener = UnixListener::bind(&path)
            .map_err(|e| Error::io(format!("binding console socket {}", path.display()), e))?;
        Ok(Self { listener, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts the runtime's connection and takes the pty master it sends. The runtime
    /// connects and sends during `create`, so this returns at once after a successful one.
    pub fn receive_master(&self) -> Result<OwnedFd> {
        let (stream, _) = self
            .listener
            .accept()
            .map_err(|e| Error::io("accepting on the console socket", e))?;
        // runc sends the pty's name as the message body; it is not needed.
        let mut name = [0u8; 4096];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        recvmsg(
            stream.as_fd(),
            &mut [IoSliceMut::new(&mut name)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )
        .map_err(|e| Error::io("receiving the pty master", e.into()))?;
        control
            .drain()
            .find_map(|message| match message {
                RecvAncillaryMessage::ScmRights(mut fds) => fds.next(),
                _ => None,
            })
            .ok_or_else(|| Error::Runtime {
                action: "create",
                message: "the runtime sent no pty over the console socket".into(),
            })
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sets a pty's window size. Needed at start because libcontainer ignores the spec's
/// `consoleSize`, and again on every resize from the client.
pub fn set_window_size(pty: impl AsFd, rows: u16, cols: u16) -> Result<()> {
    let size = Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(pty, size).map_err(|e| Error::io("setting the pty size", e.into()))
}
