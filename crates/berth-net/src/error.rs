//! Errors of berth-net. Their Display strings are what the user reads after
//! `Error response from daemon: `, so they follow Docker's wording where scripts match on it.

use std::io;
use std::path::PathBuf;

use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("network {0} not found")]
    NetworkNotFound(String),
    #[error("network with name {0} already exists")]
    NetworkExists(String),
    #[error("{0} is a pre-defined network and cannot be removed")]
    Predefined(String),
    #[error("error while removing network: network {name} id {id} has active endpoints")]
    NetworkInUse { name: String, id: String },
    #[error("invalid subnet {0}")]
    InvalidSubnet(String),
    #[error("invalid gateway {gateway}: not in subnet {subnet}")]
    GatewayOutsideSubnet { gateway: String, subnet: String },
    #[error("Pool overlaps with other one on this address space")]
    PoolOverlap,
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )]
    NoFreeSubnet,
    #[error("no available IPv4 addresses on this network's address pools: {network} ({id})")]
    AddressesExhausted { network: String, id: String },
    #[error("Address already in use")]
    AddressInUse,
    #[error("requested address {ip} is not in subnet {subnet}")]
    AddressOutsideSubnet { ip: String, subnet: String },
    #[error("endpoint with name {container} already exists in network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    #[error("network-scoped alias is supported only for containers in user defined networks")]
    AliasOnDefaultNetwork,
    #[error("Bind for {0} failed: port is already allocated")]
    PortAllocated(String),
    #[error("{0}")]
    InvalidPortSpec(String),
    #[error("invalid argument {value:?} for \"{flag}\" flag: {reason}")]
    InvalidArgument {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("netlink: {context}: {message}")]
    Netlink {
        context: String,
        message: String,
        errno: Option<i32>,
    },
    #[error("nft: {0}")]
    Nft(String),
    #[error("dns: {0}")]
    Dns(String),
    #[error("{context} {}: {source}", path.display())]
    Io {
        context: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{context}: {source}")]
    Os { context: String, source: io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("metadata database: {0}")]
    Db(#[from] berth_store::rusqlite::Error),
    #[error("metadata database: bad JSON: {0}")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Attaches what was being done and to which path to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| NetError::Io {
            context,
            path: path.into(),
            source,
        })
    }
}

/// Attaches what was being done to an OS error that has no path.
pub(crate) fn os(context: impl Into<String>) -> impl FnOnce(io::Error) -> NetError {
    let context = context.into();
    move |source| NetError::Os { context, source }
}
