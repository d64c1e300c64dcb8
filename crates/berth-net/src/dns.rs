//! The DNS server of a user network: on the network's gateway address, port 53 (UDP and TCP),
//! it answers A queries for the names of the network's containers — container name, short
//! ID and `--network-alias` aliases — reading the database on each query (a local SQLite read
//! costs microseconds, and nothing can go stale), says NXDOMAIN for unknown single-label
//! names, and forwards everything else to the asking container's `--dns` servers or the
//! host's resolvers (SERVFAIL if none answers).
//!
//! It runs in a process of its own, `berth __dns NETWORK`, whose main is [`serve`]; the
//! engine starts one for each network [`crate::Networks::dns_servers_needed`] lists. It stops
//! when the last container leaves the network (teardown signals it) or the network goes.
//! The wire format is hickory-proto's.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use berth_store::rusqlite::params;
use berth_store::Store;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::error::{os, NetError, Result};
use crate::files::ResolvConf;
use crate::model::{Endpoint, Network, DEFAULT_NETWORK};
use crate::networks::{endpoints_where, Networks};
use crate::{db, helpers};

const TTL: u32 = 600;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the server checks that its network still exists.
const WATCH: Duration = Duration::from_secs(5);

/// Names a container answers to on a network: its name, aliases and short ID.
pub fn names_of(e: &Endpoint) -> Vec<String> {
    let mut names = vec![e.container_name.clone()];
    names.extend(e.aliases.iter().cloned());
    names.push(e.container_id.chars().take(12).collect());
    names
}

/// Main of `berth __dns NETWORK`. Returns Ok only when there is nothing to serve: another
/// server already has the network, or the network is gone. `ready` is called once the
/// sockets are bound (or right away when returning Ok).
pub fn serve(store: &Store, network: &str, ready: impl FnOnce()) -> Result<()> {
    let nets = Networks::open(store)?;
    let net = nets.get(network)?;
    if db::read(store, |tx| helpers::running(tx, helpers::DNS, &net.id))?.is_some() {
        ready();
        return Ok(());
    }
    let addr = SocketAddr::V4(SocketAddrV4::new(net.gateway, 53));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(os("starting DNS runtime"))?;
    rt.block_on(async {
        let bind_err = |e: std::io::Error| NetError::Dns(format!("binding {addr}: {e}"));
        let udp = Arc::new(UdpSocket::bind(addr).await.map_err(bind_err)?);
        let tcp = TcpListener::bind(addr).await.map_err(bind_err)?;
        db::write(store, |tx| helpers::record_self(tx, helpers::DNS, &net.id))?;
        ready();
        let server = Server {
            store,
            net: &net,
            host_upstreams: ResolvConf::host().nameservers,
        };
        tokio::select! {
            r = server.udp_loop(udp) => r,
            r = server.tcp_loop(tcp) => r,
            r = server.watch() => r,
        }
    })
}

struct Server<'a> {
    store: &'a Store,
    net: &'a Network,
    host_upstreams: Vec<String>,
}

/// What to do with a query.
enum Answer {
    Reply(Vec<u8>),
    Forward(Vec<SocketAddr>),
}

impl Server<'_> {
    async fn udp_loop(&self, sock: Arc<UdpSocket>) -> Result<()> {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, client)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            let query = buf[..n].to_vec();
            match self.answer(&query, client.ip()) {
                Some(Answer::Reply(r)) => {
                    let _ = sock.send_to(&r, client).await;
                }
                Some(Answer::Forward(upstreams)) => {
                    let sock = sock.clone();
                    tokio::spawn(async move {
                        let r = forward(&query, &upstreams).await;
                        let _ = sock.send_to(&r, client).await;
                    });
                }
                None => {}
            }
        }
    }

    async fn tcp_loop(&self, listener: TcpListener) -> Result<()> {
        loop {
            let Ok((stream, client)) = listener.accept().await else {
                continue;
            };
            // Answers need the database, so connections are served here, one at a time; TCP
            // is the rare fallback for truncated answers.
            let _ =
                tokio::time::timeout(Duration::from_secs(10), self.tcp_conn(stream, client.ip()))
                    .await;
        }
    }

    async fn tcp_conn(&self, mut stream: TcpStream, client: IpAddr) -> std::io::Result<()> {
        loop {
            let len = stream.read_u16().await? as usize;
            let mut query = vec![0u8; len];
            stream.read_exact(&mut query).await?;
            let reply = match self.answer(&query, client) {
                Some(Answer::Reply(r)) => r,
                Some(Answer::Forward(up)) => forward(&query, &up).await,
                None => return Ok(()),
            };
            stream.write_u16(reply.len() as u16).await?;
            stream.write_all(&reply).await?;
        }
    }

    async fn watch(&self) -> Result<()> {
        loop {
            tokio::time::sleep(WATCH).await;
            let exists: i64 = db::read(self.store, |tx| {
                Ok(tx.query_row(
                    "SELECT count(*) FROM net_networks WHERE id = ?1",
                    params![self.net.id],
                    |r| r.get(0),
                )?)
            })?;
            if exists == 0 {
                return Ok(());
            }
        }
    }

    fn answer(&self, query: &[u8], client: IpAddr) -> Option<Answer> {
        let Ok(req) = Message::from_vec(query) else {
            // Answer FORMERR if at least the ID can be read.
            let id = u16::from_be_bytes([*query.first()?, *query.get(1)?]);
            return Message::error_msg(id, OpCode::Query, ResponseCode::FormErr)
                .to_vec()
                .ok()
                .map(Answer::Reply);
        };
        if req.metadata.message_type != MessageType::Query {
            return None;
        }
        let reply = |code: ResponseCode, ips: &[Ipv4Addr]| {
            let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
            resp.metadata.recursion_desired = req.metadata.recursion_desired;
            resp.metadata.recursion_available = true;
            resp.metadata.authoritative = true;
            resp.metadata.response_code = code;
            resp.add_queries(req.queries.clone());
            if let Some(q) = req.queries.first() {
                for ip in ips {
                    resp.add_answer(Record::from_rdata(q.name().clone(), TTL, RData::A(A(*ip))));
                }
            }
            resp.to_vec().ok().map(Answer::Reply)
        };
        let Some(q) = req.queries.first() else {
            return reply(ResponseCode::FormErr, &[]);
        };
        if req.metadata.op_code != OpCode::Query || req.queries.len() != 1 {
            return reply(ResponseCode::NotImp, &[]);
        }
        let name = q
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ips = match self.lookup(&name, client) {
            Ok(ips) => ips,
            Err(e) => {
                tracing::warn!("dns lookup of {name}: {e}");
                return reply(ResponseCode::ServFail, &[]);
            }
        };
        if !ips.is_empty() {
            // A known name: A records; for other types (AAAA) an empty NOERROR, so the
            // resolver does not ask the world about a container.
            let ips = if q.query_type() == RecordType::A {
                ips
            } else {
                Vec::new()
            };
            return reply(ResponseCode::NoError, &ips);
        }
        if !name.contains('.') {
            return reply(ResponseCode::NXDomain, &[]);
        }
        let upstreams = self.upstreams(client);
        if upstreams.is_empty() {
            return reply(ResponseCode::ServFail, &[]);
        }
        Some(Answer::Forward(upstreams))
    }

    /// Addresses of the containers answering to `name` (also as `name.<network>`) on the
    /// user networks the asking container is on, as Docker's resolver answers for every
    /// network of a container: a container connected to a second network asks the server of
    /// its first one. Containers of this network come first.
    fn lookup(&self, name: &str, client: IpAddr) -> Result<Vec<Ipv4Addr>> {
        let eps = db::read(self.store, |tx| {
            let mut stmt = tx.prepare(&format!(
                "{} WHERE e.network_id = ?1 OR (n.name != ?3 AND e.network_id IN \
                 (SELECT x.network_id FROM net_endpoints x JOIN net_endpoints y \
                  ON y.container_id = x.container_id WHERE y.network_id = ?1 AND y.ip = ?2)) \
                 ORDER BY e.network_id != ?1, e.rowid",
                Endpoint::SELECT
            ))?;
            let eps = stmt
                .query_map(
                    params![self.net.id, client.to_string(), DEFAULT_NETWORK],
                    Endpoint::from_row,
                )?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(eps)
        })?;
        let matching = |e: &&Endpoint| {
            let suffix = format!(".{}", e.network_name.to_ascii_lowercase());
            let bare = name.strip_suffix(&suffix).unwrap_or(name);
            names_of(e)
                .iter()
                .any(|n| n.to_ascii_lowercase() == name || n.to_ascii_lowercase() == bare)
        };
        let found: Vec<&Endpoint> = eps.iter().filter(matching).collect();
        // A name known on this network hides the same name on the client's other networks.
        let here: Vec<Ipv4Addr> = found
            .iter()
            .filter(|e| e.network_id == self.net.id)
            .map(|e| e.ip)
            .collect();
        if !here.is_empty() {
            return Ok(here);
        }
        Ok(found.iter().map(|e| e.ip).collect())
    }

    /// Where to forward a query from `client`: its container's `--dns` servers, else the host's.
    fn upstreams(&self, client: IpAddr) -> Vec<SocketAddr> {
        let own: Vec<String> = db::read(self.store, |tx| {
            endpoints_where(tx, "e.network_id = ?1", &self.net.id)
        })
        .unwrap_or_default()
        .into_iter()
        .find(|e| IpAddr::V4(e.ip) == client)
        .map(|e| e.dns_servers)
        .unwrap_or_default();
        let list = if own.is_empty() {
            &self.host_upstreams
        } else {
            &own
        };
        list.iter()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            // Never back to ourselves.
            .filter(|ip| *ip != IpAddr::V4(self.net.gateway))
            .map(|ip| SocketAddr::new(ip, 53))
            .collect()
    }
}

/// Asks each upstream in turn; SERVFAIL (with the query's ID) if none answers.
async fn forward(query: &[u8], upstreams: &[SocketAddr]) -> Vec<u8> {
    for up in upstreams {
        let bind: SocketAddr = if up.is_ipv4() {
            SocketAddr::from(([0u8; 4], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let Ok(sock) = UdpSocket::bind(bind).await else {
            continue;
        };
        if sock.connect(up).await.is_err() || sock.send(query).await.is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        // Only a reply carrying our query's ID counts.
        let deadline = tokio::time::Instant::now() + UPSTREAM_TIMEOUT;
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            if n >= 2 && query.len() >= 2 && buf[..2] == query[..2] {
                buf.truncate(n);
                return buf;
            }
        }
    }
    let id = match query {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let mut m = Message::error_msg(id, OpCode::Query, ResponseCode::ServFail);
    if let Ok(req) = Message::from_vec(query) {
        m.metadata.recursion_desired = req.metadata.recursion_desired;
        m.metadata.recursion_available = true;
        m.add_queries(req.queries);
    }
    m.to_vec().unwrap_or_default()
}
