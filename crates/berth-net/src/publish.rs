//! Choosing host ports for `-p`/`-P`: a port is taken if another berth container has it (the
//! database) or anything else on the host listens on it (a bind test), checked before
//! anything is set up so a refusal leaves nothing behind.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use berth_store::rusqlite::{params, Transaction};
use rand::Rng;

use crate::error::{NetError, Result};
use crate::model::PublishedPort;
use crate::ports::{PortMapping, Proto};

/// Whether another container of this store holds `ip:port/proto` (a wildcard address
/// clashes with every address).
fn taken_in_db(tx: &Transaction, ip: Ipv4Addr, port: u16, proto: Proto) -> Result<bool> {
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM net_ports WHERE host_port = ?1 AND proto = ?2 \
         AND (host_ip = ?3 OR host_ip = '0.0.0.0' OR ?3 = '0.0.0.0')",
        params![port, proto.as_str(), ip.to_string()],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Whether the host lets us bind `ip:port/proto` right now.
fn bindable(ip: Ipv4Addr, port: u16, proto: Proto) -> bool {
    let addr = SocketAddrV4::new(ip, port);
    match proto {
        Proto::Tcp => TcpListener::bind(addr).is_ok(),
        Proto::Udp => UdpSocket::bind(addr).is_ok(),
        // No SCTP sockets in std; the kernel will say at DNAT time.
        Proto::Sctp => true,
    }
}

fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .filter(|(a, b)| a <= b)
        .unwrap_or((32768, 60999))
}

/// Allocates host ports for `mappings` to `container_ip`, recording them in `tx`.
pub(crate) fn allocate(
    tx: &Transaction,
    container_id: &str,
    container_ip: Ipv4Addr,
    mappings: &[PortMapping],
) -> Result<Vec<PublishedPort>> {
    let mut out = Vec::new();
    for m in mappings {
        let ip = m.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let proto = m.container.proto;
        let free = |port: u16| -> Result<bool> {
            Ok(!taken_in_db(tx, ip, port, proto)? && bindable(ip, port, proto))
        };
        let port = match m.host_ports {
            Some((first, last)) => {
                let mut found = None;
                for p in first..=last {
                    if free(p)? {
                        found = Some(p);
                        break;
                    }
                }
                found.ok_or_else(|| {
                    let shown = if first == last {
                        first.to_string()
                    } else {
                        format!("{first}-{last}")
                    };
                    NetError::PortAllocated(format!("{ip}:{shown}"))
                })?
            }
            None => {
                // A random start spreads concurrent allocations of separate stores apart.
                let (lo, hi) = ephemeral_range();
                let span = u32::from(hi - lo) + 1;
                let start = rand::thread_rng().gen_range(0..span);
                let mut found = None;
                for i in 0..span {
                    let p = lo + ((start + i) % span) as u16;
                    if free(p)? {
                        found = Some(p);
                        break;
                    }
                }
                found.ok_or_else(|| NetError::PortAllocated(format!("{ip}:{lo}-{hi}")))?
            }
        };
        let published = PublishedPort {
            container_id: container_id.to_string(),
            host_ip: ip,
            host_port: port,
            proto,
            container_ip,
            container_port: m.container.port,
        };
        tx.execute(
            "INSERT INTO net_ports (container_id, host_ip, host_port, proto, container_ip, \
             container_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                published.container_id,
                published.host_ip.to_string(),
                published.host_port,
                published.proto.as_str(),
                published.container_ip.to_string(),
                published.container_port,
            ],
        )?;
        out.push(published);
    }
    Ok(out)
}

/// Published ports of a container.
pub(crate) fn of_container(tx: &Transaction, container_id: &str) -> Result<Vec<PublishedPort>> {
    let mut stmt = tx.prepare(&format!(
        "{} WHERE container_id = ?1 ORDER BY container_port, proto",
        PublishedPort::SELECT
    ))?;
    let ports = stmt
        .query_map(params![container_id], PublishedPort::from_row)?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(ports)
}
