//! Where the default network lives. The store at /var/lib/berth has Docker's picture: bridge
//! `berth0` on 10.88.0.0/16. Any other store (a second installation, every test's temporary
//! store) shares the host with it, so it gets a bridge and a subnet of its own — otherwise two
//! stores would both hand out 10.88.0.2 on one bridge. Those subnets are /24s of 10.210.0.0/16,
//! recorded host-wide under /run/berth-net/default-subnets (one file per subnet, naming its
//! store), so concurrent stores never pick the same one; a record whose store is gone is
//! reused.

use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};
use sha2::{Digest, Sha256};

use crate::error::{IoContext, NetError, Result};
use crate::model::{DEFAULT_BRIDGE, DEFAULT_SUBNET};
use crate::subnet::{self, Subnet};
use crate::{link, nft};

const DEFAULT_ROOT: &str = "/var/lib/berth";
const REGISTRY: &str = "/run/berth-net/default-subnets";

/// The bridge name and subnet of the default network of the store at `root`.
pub(crate) fn for_store(root: &Path) -> Result<(String, Subnet)> {
    if root == Path::new(DEFAULT_ROOT) {
        return Ok((DEFAULT_BRIDGE.to_string(), DEFAULT_SUBNET.parse()?));
    }
    Ok((bridge_name(root), registered_subnet(root)?))
}

fn bridge_name(root: &Path) -> String {
    let hash = hex::encode(Sha256::digest(root.as_os_str().as_encoded_bytes()));
    // IFNAMSIZ allows 15 characters.
    format!("berth{}", &hash[..10])
}

fn registered_subnet(root: &Path) -> Result<Subnet> {
    let dir = Path::new(REGISTRY);
    fs::create_dir_all(dir).ctx("creating", dir)?;
    let lock = File::create(dir.join(".lock")).ctx("opening", dir.join(".lock"))?;
    flock(&lock, FlockOperation::LockExclusive)
        .map_err(io::Error::from)
        .ctx("locking", dir)?;
    let me = root.display().to_string();
    let mut taken = Vec::new();
    for e in fs::read_dir(dir).ctx("reading", dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(base) = name.parse::<Ipv4Addr>() else {
            continue;
        };
        let owner = fs::read_to_string(e.path()).unwrap_or_default();
        let subnet = Subnet::new(base, 24)?;
        if owner == me {
            return Ok(subnet);
        }
        if !Path::new(&owner).exists() {
            // The store was deleted without tearing anything down (a test's temporary
            // store, a crashed run): its bridge and rules would stay on the host forever and
            // its subnet would clash with the next store that gets it.
            forget_store(Path::new(&owner));
            let _ = fs::remove_file(e.path());
            continue;
        }
        taken.push(subnet);
    }
    let routes = subnet::host_routes();
    let chosen = (0u8..=255)
        .filter_map(|c| Subnet::new(Ipv4Addr::new(10, 210, c, 0), 24).ok())
        .find(|c| !taken.iter().any(|t| t.overlaps(c)) && !routes.iter().any(|r| r.overlaps(c)))
        .ok_or(NetError::NoFreeSubnet)?;
    let file = dir.join(chosen.network().to_string());
    fs::write(&file, &me).ctx("writing", &file)?;
    Ok(chosen)
}

/// Takes the default bridge and the nftables table of the vanished store at `root` off the
/// host. Best effort: what cannot be removed now is tried again by the next registration.
fn forget_store(root: &Path) {
    let _ = link::delete_link(&bridge_name(root));
    if nft::available() {
        let _ = nft::remove_table(&nft::table_name(root));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_store_has_dockers_picture() {
        let (bridge, subnet) = for_store(Path::new(DEFAULT_ROOT)).unwrap();
        assert_eq!(bridge, "berth0");
        assert_eq!(subnet.to_string(), "10.88.0.0/16");
    }
}
