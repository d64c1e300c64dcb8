//! The userland proxy: forwards a container's published ports from the host's sockets to the
//! container. Needed for connections to 127.0.0.1 (DNAT of loopback would need
//! `route_localnet`, a change of the host's routing) and on hosts without netfilter; it also
//! holds each published port bound, so nothing else on the host can take it meanwhile.
//!
//! It runs in a process of its own, `berth __proxy CONTAINER-ID`, whose main is
//! [`serve_container`]; the engine starts it after [`crate::Networks::setup_container`] says
//! `proxy_needed`, and [`crate::Networks::teardown_container`] stops it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use berth_store::Store;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Mutex;

use crate::error::{os, NetError, Result};
use crate::model::PublishedPort;
use crate::networks::Networks;
use crate::ports::Proto;
use crate::{db, helpers, publish};

/// A UDP flow without traffic for this long is forgotten (Docker's proxy uses the same).
const UDP_IDLE: Duration = Duration::from_secs(90);
const COPY_BUF: usize = 64 * 1024;

/// Main of `berth __proxy ID`: serves the published ports of container `id`, recorded as its
/// proxy so teardown can stop it. `ready` is called once every port is bound.
pub fn serve_container(store: &Store, id: &str, ready: impl FnOnce()) -> Result<Infallible> {
    let nets = Networks::open(store)?;
    let ports = db::read(nets.store, |tx| publish::of_container(tx, id))?;
    serve(&ports, || {
        let _ = db::write(store, |tx| helpers::record_self(tx, helpers::PROXY, id));
        ready();
    })
}

/// Binds every host port of `bindings`, calls `ready`, then forwards forever.
pub fn serve(bindings: &[PublishedPort], ready: impl FnOnce()) -> Result<Infallible> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(os("starting proxy runtime"))?;
    rt.block_on(async move {
        let mut tasks = tokio::task::JoinSet::new();
        for b in bindings {
            let host = SocketAddr::V4(SocketAddrV4::new(b.host_ip, b.host_port));
            let target = SocketAddr::V4(SocketAddrV4::new(b.container_ip, b.container_port));
            let taken = || NetError::PortAllocated(format!("{}:{}", b.host_ip, b.host_port));
            match b.proto {
                Proto::Tcp => {
                    let l = TcpListener::bind(host).await.map_err(|_| taken())?;
                    tasks.spawn(tcp(l, target));
                }
                Proto::Udp => {
                    let s = UdpSocket::bind(host).await.map_err(|_| taken())?;
                    tasks.spawn(udp(Arc::new(s), target));
                }
                Proto::Sctp => {
                    tracing::warn!(
                        port = b.host_port,
                        "the userland proxy does not forward sctp"
                    );
                }
            }
        }
        ready();
        // The loops never end; if every one did (no bindings), idle until killed.
        while tasks.join_next().await.is_some() {}
        std::future::pending::<Result<Infallible>>().await
    })
}

async fn tcp(listener: TcpListener, target: SocketAddr) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off, keep serving.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(async move {
            if let Ok(mut upstream) = TcpStream::connect(target).await {
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                // 64 KiB buffers: with tokio's default 8 KiB, bulk transfers spent most of
                // their time in syscalls (measured about 1.5x slower on 1 MiB responses).
                let _ = tokio::io::copy_bidirectional_with_sizes(
                    &mut client,
                    &mut upstream,
                    COPY_BUF,
                    COPY_BUF,
                )
                .await;
            }
        });
    }
}

async fn udp(host: Arc<UdpSocket>, target: SocketAddr) {
    // One upstream socket per client address, so replies find their way back.
    let flows: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = host.recv_from(&mut buf).await else {
            continue;
        };
        let existing = flows.lock().await.get(&client).cloned();
        let upstream = match existing {
            Some(u) => u,
            None => {
                let Ok(u) = UdpSocket::bind("0.0.0.0:0").await else {
                    continue;
                };
                if u.connect(target).await.is_err() {
                    continue;
                }
                let u = Arc::new(u);
                flows.lock().await.insert(client, u.clone());
                tokio::spawn(udp_replies(host.clone(), u.clone(), client, flows.clone()));
                u
            }
        };
        let _ = upstream.send(&buf[..n]).await;
    }
}

async fn udp_replies(
    host: Arc<UdpSocket>,
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    flows: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>,
) {
    let mut buf = vec![0u8; 65536];
    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, upstream.recv(&mut buf)).await {
        let _ = host.send_to(&buf[..n], client).await;
    }
    flows.lock().await.remove(&client);
}
