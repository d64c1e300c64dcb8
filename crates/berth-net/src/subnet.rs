//! IPv4 subnets in CIDR form, and the host routes a new network must not overlap.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::str::FromStr;

use rustix::fs::{flock, FlockOperation};

use crate::error::{IoContext, NetError, Result};

/// Host-wide state of berth-net, gone with a reboot like the bridges it is about.
const LOCK_DIR: &str = "/run/berth-net";

/// An IPv4 network: its base address (host bits zero) and prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subnet {
    base: Ipv4Addr,
    prefix: u8,
}

impl Subnet {
    /// A subnet from an address and prefix; host bits must be zero, as Docker demands.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Subnet> {
        if prefix > 32 {
            return Err(NetError::InvalidSubnet(format!("{addr}/{prefix}")));
        }
        let s = Subnet { base: addr, prefix };
        if s.network() != addr {
            return Err(NetError::InvalidSubnet(format!(
                "{addr}/{prefix}: it should be {}/{prefix}",
                s.network()
            )));
        }
        Ok(s)
    }

    fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// The network address (host bits cleared).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) & self.mask())
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) | !self.mask())
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The first usable host address, the gateway when none is given.
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()).wrapping_add(1))
    }

    /// Every address a container may get: all but the network and broadcast addresses.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.network()).saturating_add(1);
        let last = u32::from(self.broadcast()).saturating_sub(1);
        (first..=last).map(Ipv4Addr::from)
    }
}

impl FromStr for Subnet {
    type Err = NetError;
    fn from_str(s: &str) -> Result<Subnet> {
        let bad = || NetError::InvalidSubnet(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Subnet::new(addr, prefix)
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// The destinations of the host's IPv4 routes (main table), default routes excepted: a new
/// network on any of them would shadow or be shadowed by the host's own routing.
pub fn host_routes() -> Vec<Subnet> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<Subnet> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Fields are the kernel's u32s (network byte order in memory) printed in hex:
            // Iface Destination Gateway Flags ... Mask
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let prefix = mask.count_ones() as u8;
            if prefix == 0 {
                return None;
            }
            Subnet::new(Ipv4Addr::from(dest.to_ne_bytes()), prefix).ok()
        })
        .collect()
}

/// Held while a network created without `--subnet` picks its subnet and brings its bridge
/// up. Stores do not see each other's databases; the host's routes are what they share, and
/// a route appears only with the bridge, so two stores picking at once would take the same
/// subnet without this host-wide lock.
pub(crate) fn pick_lock() -> Result<File> {
    let dir = Path::new(LOCK_DIR);
    fs::create_dir_all(dir).ctx("creating", dir)?;
    let path = dir.join("subnet-pick.lock");
    let f = File::create(&path).ctx("opening", &path)?;
    flock(&f, FlockOperation::LockExclusive)
        .map_err(io::Error::from)
        .ctx("locking", &path)?;
    Ok(f)
}

/// Candidates for a network created without `--subnet`, in order: /24s in 10.89.0.0–10.99.255.0
/// (the default bridge has 10.88.0.0/16), as Podman picks them.
pub fn candidates() -> impl Iterator<Item = Subnet> {
    (89u8..=99).flat_map(|b| {
        (0u8..=255).map(move |c| Subnet {
            base: Ipv4Addr::new(10, b, c, 0),
            prefix: 24,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks_host_bits() {
        let s: Subnet = "10.88.0.0/16".parse().unwrap();
        assert_eq!(s.first_host(), Ipv4Addr::new(10, 88, 0, 1));
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 88, 255, 255));
        assert!(s.contains(Ipv4Addr::new(10, 88, 3, 4)));
        assert!(!s.contains(Ipv4Addr::new(10, 89, 0, 1)));
        let err = "10.88.0.1/16".parse::<Subnet>().unwrap_err().to_string();
        assert!(err.contains("it should be 10.88.0.0/16"), "{err}");
        assert!("10.88.0.0".parse::<Subnet>().is_err());
        assert!("10.88.0.0/33".parse::<Subnet>().is_err());
    }

    #[test]
    fn overlap_both_ways() {
        let a: Subnet = "10.88.0.0/16".parse().unwrap();
        let b: Subnet = "10.88.5.0/24".parse().unwrap();
        let c: Subnet = "10.89.0.0/24".parse().unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn hosts_skip_network_and_broadcast() {
        let s: Subnet = "192.168.1.0/30".parse().unwrap();
        let h: Vec<_> = s.hosts().collect();
        assert_eq!(
            h,
            vec![Ipv4Addr::new(192, 168, 1, 1), Ipv4Addr::new(192, 168, 1, 2)]
        );
    }

    #[test]
    fn reads_proc_net_route() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(
            parse_proc_route(text),
            vec!["192.0.2.0/24".parse::<Subnet>().unwrap()]
        );
    }
}
