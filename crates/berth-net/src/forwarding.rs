//! IPv4 forwarding, a host-wide switch shared by every berth store on the machine. berth turns
//! it on only while some store has a container on a non-internal network (each such store
//! leaves a marker file), keeps the old value, and puts it back when the last marker goes.
//! While berth is the one who turned it on, a small nftables table forwards nothing but
//! traffic of berth's bridges, so the host routes nothing else, as before.
//!
//! The state lives in /run/berth-net: host-wide like the switch itself, and like it gone
//! after a reboot.

use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, Result};
use crate::nft;

const STATE_DIR: &str = "/run/berth-net";
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

fn read_forward() -> Result<String> {
    Ok(fs::read_to_string(IP_FORWARD)
        .ctx("reading", IP_FORWARD)?
        .trim()
        .to_string())
}

fn write_forward(value: &str) -> Result<()> {
    fs::write(IP_FORWARD, value).ctx("writing", IP_FORWARD)
}

/// Records whether the store `store_key` (at `root`) needs forwarding and makes the host
/// match all stores' needs.
pub(crate) fn sync(store_key: &str, root: &Path, needed: bool) -> Result<()> {
    let dir = Path::new(STATE_DIR);
    let markers = dir.join("needed");
    fs::create_dir_all(&markers).ctx("creating", &markers)?;
    let lock = File::create(dir.join("lock")).ctx("opening", dir.join("lock"))?;
    flock(&lock, FlockOperation::LockExclusive)
        .map_err(io::Error::from)
        .ctx("locking", dir)?;

    let marker = markers.join(store_key);
    let owner = root.as_os_str().as_encoded_bytes();
    // Called for every container start and stop: with the marker in place (the common case)
    // nothing is written, and the other stores' markers, which hundreds of test stores may
    // have left, are only looked through when this store registers or leaves.
    let registered = fs::read(&marker).is_ok_and(|m| m == owner);
    if needed && !registered {
        // The marker names its store, so one whose store was deleted can be told apart.
        fs::write(&marker, owner).ctx("writing", &marker)?;
        sweep_gone_stores(&markers);
    } else if !needed {
        if marker.exists() {
            fs::remove_file(&marker).ctx("removing", &marker)?;
        }
        sweep_gone_stores(&markers);
    }
    let anyone = needed
        || fs::read_dir(&markers)
            .ctx("reading", &markers)?
            .next()
            .is_some();
    let saved: PathBuf = dir.join("ip_forward.saved");
    if anyone {
        if saved.exists() {
            // Switched on by berth earlier, guard in place: only repair a value changed
            // behind our back.
            if read_forward()? != "1" {
                nft::apply_forward_guard(true)?;
                write_forward("1")?;
            }
            return Ok(());
        }
        let current = read_forward()?;
        if current == "1" {
            return Ok(());
        }
        fs::write(&saved, &current).ctx("writing", &saved)?;
        // Guard first, so nothing else is forwarded even for a moment.
        nft::apply_forward_guard(true)?;
        write_forward("1")?;
    } else if saved.exists() {
        let old = fs::read_to_string(&saved).ctx("reading", &saved)?;
        write_forward(old.trim())?;
        nft::apply_forward_guard(false)?;
        fs::remove_file(&saved).ctx("removing", &saved)?;
    }
    Ok(())
}

/// Removes the markers of stores that were deleted without tearing their networks down (a
/// test's temporary store): they would keep forwarding on for good. A marker without a path
/// (written by an older berth) is left alone; its store rewrites it on its next change.
fn sweep_gone_stores(markers: &Path) {
    let Ok(entries) = fs::read_dir(markers) else {
        return;
    };
    for e in entries.flatten() {
        let owner = fs::read(e.path()).unwrap_or_default();
        if owner.is_empty() {
            continue;
        }
        let root = PathBuf::from(std::ffi::OsString::from_vec(owner));
        if !root.exists() {
            let _ = fs::remove_file(e.path());
        }
    }
}
