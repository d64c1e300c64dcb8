//! `lo` of a network namespace the embedded runtime made for a container: up, as runc and
//! Docker leave it (libcontainer leaves it down). Done from a short-lived thread that
//! joins the namespace, so the calling process never changes namespace.
//!
//! Also a container's network namespace made ahead of its start ([`new_netns`]), with `lo`
//! up, by a monitor that has time to spare while the CLI prepares the container.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::net::{AddressFamily, SocketType};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType, UnshareFlags};

/// Brings `lo` up in the network namespace of process `pid`.
pub(crate) fn bring_up(pid: i32) -> io::Result<()> {
    let ns = File::open(format!("/proc/{pid}/ns/net"))?;
    std::thread::scope(|s| {
        s.spawn(|| -> io::Result<()> {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))?;
            let socket = rustix::net::socket(AddressFamily::INET, SocketType::DGRAM, None)?;
            set_up(socket.as_raw_fd())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the loopback thread panicked")))
    })
}

/// A new network namespace with `lo` up, held by the returned fd: made by a short-lived
/// thread (unsharing moves only the calling thread), so the caller stays where it is and is
/// single-threaded again on return.
pub(crate) fn new_netns() -> io::Result<OwnedFd> {
    std::thread::scope(|s| {
        s.spawn(|| -> io::Result<OwnedFd> {
            // SAFETY: unsharing the network namespace leaves the fd table shared, which is
            // what the safety contract is about (UnshareFlags::FILES).
            unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNET) }?;
            let socket = rustix::net::socket(AddressFamily::INET, SocketType::DGRAM, None)?;
            set_up(socket.as_raw_fd())?;
            Ok(File::open("/proc/thread-self/ns/net")?.into())
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the network namespace thread panicked")))
    })
}

fn set_up(socket: i32) -> io::Result<()> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write `req`, which lives across both
    // calls; `socket` is an open socket owned by the caller.
    unsafe {
        if libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket, libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
