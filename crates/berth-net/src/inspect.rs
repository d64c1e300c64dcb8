//! The JSON shapes Docker gives networks and a container's network settings, field names and
//! order as `docker inspect` prints them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Endpoint, Network};

/// `docker network inspect` of one network.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInspect {
    pub name: String,
    pub id: String,
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub config_from: ConfigFrom,
    pub config_only: bool,
    pub containers: BTreeMap<String, NetworkContainer>,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    pub driver: String,
    pub options: Option<BTreeMap<String, String>>,
    pub config: Vec<IpamConfig>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    pub subnet: String,
    pub gateway: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigFrom {
    pub network: String,
}

/// One container in `network inspect`'s `Containers`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl NetworkInspect {
    pub fn new(n: &Network, endpoints: &[Endpoint]) -> NetworkInspect {
        NetworkInspect {
            name: n.name.clone(),
            id: n.id.clone(),
            created: n.created.clone(),
            scope: "local".into(),
            driver: n.driver.clone(),
            enable_ipv6: false,
            ipam: Ipam {
                driver: "default".into(),
                options: if n.is_default() {
                    None
                } else {
                    Some(BTreeMap::new())
                },
                config: vec![IpamConfig {
                    subnet: n.subnet.to_string(),
                    gateway: n.gateway.to_string(),
                }],
            },
            internal: n.internal,
            attachable: false,
            ingress: false,
            config_from: ConfigFrom {
                network: String::new(),
            },
            config_only: false,
            containers: endpoints
                .iter()
                .map(|e| {
                    (
                        e.container_id.clone(),
                        NetworkContainer {
                            name: e.container_name.clone(),
                            endpoint_id: e.endpoint_id.clone(),
                            mac_address: e.mac.clone(),
                            ipv4_address: format!("{}/{}", e.ip, e.prefix_len),
                            ipv6_address: String::new(),
                        },
                    )
                })
                .collect(),
            options: n.options.clone(),
            labels: n.labels.clone(),
        }
    }
}

/// A container's `NetworkSettings.Networks.<name>` (Docker's EndpointSettings).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<serde_json::Value>,
    pub links: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
    pub mac_address: String,
    pub driver_opts: Option<BTreeMap<String, String>>,
    pub gw_priority: i64,
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    pub global_ipv6_prefix_len: u8,
    #[serde(rename = "DNSNames")]
    pub dns_names: Option<Vec<String>>,
}

impl EndpointSettings {
    pub fn new(e: &Endpoint, gateway: &str) -> EndpointSettings {
        let user_network = e.network_name != crate::model::DEFAULT_NETWORK;
        EndpointSettings {
            ipam_config: None,
            links: None,
            aliases: (user_network && !e.aliases.is_empty()).then(|| e.aliases.clone()),
            mac_address: e.mac.clone(),
            driver_opts: None,
            gw_priority: 0,
            network_id: e.network_id.clone(),
            endpoint_id: e.endpoint_id.clone(),
            gateway: gateway.to_string(),
            ip_address: e.ip.to_string(),
            ip_prefix_len: e.prefix_len,
            ipv6_gateway: String::new(),
            global_ipv6_address: String::new(),
            global_ipv6_prefix_len: 0,
            dns_names: user_network.then(|| crate::dns::names_of(e)),
        }
    }
}

impl EndpointSettings {
    /// The entry of `host` or `none`, which give a container no address of its own: Docker
    /// lists it all the same, with the network's ID once the container has started and an
    /// endpoint ID while it runs.
    pub fn unaddressed(network_id: String, endpoint_id: String) -> EndpointSettings {
        EndpointSettings {
            ipam_config: None,
            links: None,
            aliases: None,
            mac_address: String::new(),
            driver_opts: None,
            gw_priority: 0,
            network_id,
            endpoint_id,
            gateway: String::new(),
            ip_address: String::new(),
            ip_prefix_len: 0,
            ipv6_gateway: String::new(),
            global_ipv6_address: String::new(),
            global_ipv6_prefix_len: 0,
            dns_names: None,
        }
    }
}

/// `NetworkSettings.Networks` of a container: its endpoints by network name.
pub fn container_networks(endpoints: &[Endpoint]) -> BTreeMap<String, EndpointSettings> {
    endpoints
        .iter()
        .map(|e| {
            // Internal networks give no default route, so no gateway is shown.
            let gw = e.gateway.map(|g| g.to_string()).unwrap_or_default();
            (e.network_name.clone(), EndpointSettings::new(e, &gw))
        })
        .collect()
}
