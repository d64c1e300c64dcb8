//! A container's network, through berth-net: its namespace, veths, addresses, published
//! ports, /etc/hosts and resolv.conf, and the DNS server and userland proxy processes.

use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use berth_net::{
    parse_add_host, parse_publish, ContainerNetRequest, ContainerPort, DnsConfig, NetworkMode,
    Networks, DEFAULT_NETWORK,
};
use berth_runtime::spec::NamespaceMode;
use berth_store::Container;
use serde_json::Value;

use super::config::Stored;
use crate::{Engine, EngineError, Result};

/// The network mode of a container: Docker's words, and several networks joined by commas
/// after `network connect`.
pub fn network_mode(value: &str) -> NetworkMode {
    if value.contains(',') {
        return NetworkMode::Networks(
            value
                .split(',')
                .filter(|n| !n.is_empty())
                .map(berth_net::NetworkAttach::new)
                .collect(),
        );
    }
    NetworkMode::parse(value)
}

pub(crate) fn net_error(e: berth_net::NetError) -> EngineError {
    EngineError::Other(e.to_string())
}

impl Engine {
    pub fn networks(&self) -> Result<Networks<'_>> {
        Networks::open(self.store()).map_err(net_error)
    }

    /// Checks `-p`, `--add-host` and the network mode when the container is created, so a
    /// bad value fails `create`, not a later `start`.
    pub(crate) fn check_network_config(&self, stored: &Stored) -> Result<()> {
        for p in &stored.publish {
            parse_publish(p).map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        }
        for h in stored.host_config.extra_hosts.iter().flatten() {
            parse_add_host(h).map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        }
        // Docker's daemon refuses aliases unless a user network takes them, rather than
        // letting them vanish.
        let mut user_network = false;
        match network_mode(&stored.host_config.network_mode) {
            NetworkMode::Networks(nets) => {
                let n = self.networks()?;
                for a in nets {
                    let net = n.get(&a.network).map_err(|_| {
                        EngineError::NotFound(format!("network {} not found", a.network))
                    })?;
                    user_network |= !net.is_default();
                }
            }
            NetworkMode::Container(other) => {
                self.store().resolve_container(&other)?;
                // The hostname is the other container's (see `default_hostname`).
                if !stored.config.hostname.is_empty() {
                    return Err(EngineError::InvalidArgument(
                        "conflicting options: hostname and the network mode".into(),
                    ));
                }
            }
            NetworkMode::None | NetworkMode::Host => {}
        }
        if !stored.aliases.is_empty() && !user_network {
            return Err(EngineError::InvalidArgument(
                berth_net::NetError::AliasOnDefaultNetwork.to_string(),
            ));
        }
        Ok(())
    }

    /// The hostname of a container created without `--hostname`, as Docker picks it: the
    /// host's with `--network host`, the other container's with `container:NAME` (they share
    /// its network identity), the first 12 digits of its ID otherwise.
    pub(crate) fn default_hostname(&self, stored: &Stored, id: &str) -> Result<String> {
        Ok(match network_mode(&stored.host_config.network_mode) {
            NetworkMode::Host => rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
            NetworkMode::Container(other) => {
                let o = self.store().resolve_container(&other)?;
                Stored::parse(&o.config).config.hostname
            }
            NetworkMode::None | NetworkMode::Networks(_) => id[..12].to_string(),
        })
    }

    /// Sets up the container's network before its start; returns the namespace it joins.
    /// `made`: a network namespace made ahead ([`berth_net::new_netns`]), which a container on
    /// networks gets (others drop it). On error nothing is left behind.
    pub(crate) fn setup_network(
        &self,
        c: &Container,
        stored: &Stored,
        made: Option<std::os::fd::OwnedFd>,
    ) -> Result<NamespaceMode> {
        let nets = self.networks()?;
        // Addresses and ports of containers that are gone, or whose monitor died, are taken
        // back first. Any other container may be starting right now in another process (its
        // record says created or exited until its monitor runs): its endpoint is left alone.
        let alive = |id: &str| match self.store().container(id) {
            Ok(Some(c)) => {
                !(c.state.status.is_live()
                    && c.state.monitor_pid != 0
                    && !super::state::monitor_alive(c.state.monitor_pid, c.state.monitor_start))
            }
            Ok(None) => false,
            // Unsure: keep it.
            Err(_) => true,
        };
        let _ = nets.reclaim(&alive);
        let mode = match network_mode(&stored.host_config.network_mode) {
            NetworkMode::Networks(mut attach) => {
                // Aliases only exist on user networks (Docker refuses them on `bridge`).
                for a in attach.iter_mut().filter(|a| a.network != DEFAULT_NETWORK) {
                    a.aliases.extend(stored.aliases.iter().cloned());
                }
                NetworkMode::Networks(attach)
            }
            other => other,
        };
        let (ns_mode, netns) = match &mode {
            NetworkMode::Host => (NamespaceMode::Host, None),
            NetworkMode::Container(other) => {
                let o = self.container(other)?;
                if !o.state.status.is_live() || o.state.pid == 0 {
                    return Err(EngineError::Conflict(format!(
                        "cannot join network of a non running container: {other}"
                    )));
                }
                let path = std::path::PathBuf::from(format!("/proc/{}/ns/net", o.state.pid));
                // It shares the other container's files too.
                for f in ["hostname", "hosts", "resolv.conf"] {
                    let _ = fs::copy(
                        self.store().container_dir(&o.id).join(f),
                        self.store().container_dir(&c.id).join(f),
                    );
                }
                return Ok(NamespaceMode::Join(path));
            }
            // Only `lo`: the runtime makes the namespace with the container, as for any other
            // namespace; nothing has to exist (or be removed) outside it.
            NetworkMode::None => (NamespaceMode::Private, None),
            NetworkMode::Networks(_) => {
                let p = nets.pin_netns(&c.id, made).map_err(net_error)?;
                (NamespaceMode::Join(p.clone()), Some(p))
            }
        };
        let exposed: Vec<ContainerPort> = stored
            .config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| k.parse().ok())
            .collect();
        let mut publish = Vec::new();
        for p in &stored.publish {
            publish
                .extend(parse_publish(p).map_err(|e| EngineError::InvalidArgument(e.to_string()))?);
        }
        let add_hosts = stored
            .host_config
            .extra_hosts
            .iter()
            .flatten()
            .map(|h| parse_add_host(h).map_err(|e| EngineError::InvalidArgument(e.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let req = ContainerNetRequest {
            id: c.id.clone(),
            name: c.name.clone(),
            hostname: stored.config.hostname.clone(),
            mode,
            publish,
            publish_all: stored.host_config.publish_all_ports,
            exposed,
            dns: DnsConfig {
                servers: stored.host_config.dns.clone(),
                search: stored.host_config.dns_search.clone(),
                options: stored.host_config.dns_options.clone(),
            },
            add_hosts,
            netns: netns.clone().unwrap_or_default(),
        };
        let set = nets.setup_container(&req);
        let net = match set {
            Ok(n) => n,
            Err(e) => {
                let _ = nets.remove_netns(&c.id);
                return Err(match e {
                    berth_net::NetError::PortAllocated(_) => EngineError::Conflict(e.to_string()),
                    other => net_error(other),
                });
            }
        };
        let result = (|| {
            let dir = self.store().container_dir(&c.id);
            for (name, content) in [
                ("hosts", &net.hosts),
                ("resolv.conf", &net.resolv_conf),
                ("hostname", &net.hostname),
            ] {
                if let Some(text) = content {
                    fs::write(dir.join(name), text)
                        .map_err(EngineError::io(format!("writing {name}")))?;
                }
            }
            for n in &net.dns_to_start {
                self.spawn_helper("__dns", &n.id)?;
            }
            if net.proxy_needed {
                self.spawn_helper("__proxy", &c.id)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.teardown_network(&c.id, &stored.host_config.network_mode);
            return Err(e);
        }
        Ok(ns_mode)
    }

    /// [`Engine::teardown_network`] but the veth pairs, whose host ends are returned: the
    /// namespace is unpinned first, so they normally go with it, and deleting one explicitly
    /// waits for an RCU barrier (about 10 ms), which an `--rm` run need not wait for.
    pub(crate) fn teardown_network_but_links(&self, id: &str, network_mode: &str) -> Vec<String> {
        let Ok(nets) = self.networks() else {
            return Vec::new();
        };
        match self::network_mode(network_mode) {
            NetworkMode::Networks(_) => {
                let _ = nets.remove_netns(id);
                nets.teardown_container_but_links(id).0
            }
            NetworkMode::None => {
                let _ = nets.remove_netns(id);
                Vec::new()
            }
            NetworkMode::Host | NetworkMode::Container(_) => Vec::new(),
        }
    }

    /// Undoes `setup_network` (idempotent). `network_mode` is the container's
    /// (`HostConfig.NetworkMode`): only networks have addresses, veths and ports to give back.
    pub(crate) fn teardown_network(&self, id: &str, network_mode: &str) {
        let Ok(nets) = self.networks() else {
            return;
        };
        match self::network_mode(network_mode) {
            NetworkMode::Networks(_) => {
                let _ = nets.teardown_container(id);
                let _ = nets.remove_netns(id);
            }
            // A namespace pinned by an older berth for a `none` container, if any.
            NetworkMode::None => {
                let _ = nets.remove_netns(id);
            }
            NetworkMode::Host | NetworkMode::Container(_) => {}
        }
    }

    /// Starts `berth HIDDEN ARG` as a detached helper and waits until it says it is ready.
    fn spawn_helper(&self, hidden: &str, arg: &str) -> Result<()> {
        let exe = std::env::current_exe().map_err(EngineError::io("finding the berth binary"))?;
        let (mut read, write) = std::io::pipe().map_err(EngineError::io("creating a pipe"))?;
        let write_fd = write.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .arg(hidden)
            .arg(arg)
            .arg("--ready-fd")
            .arg("3")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only dup2 between fork and exec, on an fd this process owns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(write_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(EngineError::io(format!("starting {hidden}")))?;
        drop(write);
        // The helper forks itself away at once.
        let _ = child.wait();
        let mut byte = [0u8; 1];
        match read.read(&mut byte) {
            Ok(1) => Ok(()),
            _ => Err(EngineError::Other(format!(
                "the {} for {arg} did not start",
                if hidden == "__dns" {
                    "DNS server"
                } else {
                    "port proxy"
                }
            ))),
        }
    }

    /// `NetworkSettings` of inspect.
    pub(crate) fn network_settings_value(&self, c: &Container, stored: &Stored) -> Value {
        let nets = self.networks().ok();
        let endpoints = nets
            .as_ref()
            .and_then(|n| n.endpoints_of_container(&c.id).ok())
            .unwrap_or_default();
        let published = nets
            .as_ref()
            .and_then(|n| n.published_ports(&c.id).ok())
            .unwrap_or_default();
        let exposed: Vec<ContainerPort> = stored
            .config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| k.parse().ok())
            .collect();
        let mut networks = berth_net::container_networks(&endpoints);
        if let Some((name, entry)) = self.builtin_endpoint(c, stored) {
            networks.insert(name.to_string(), entry);
        }
        let first = networks.values().next().cloned();
        let ports = if c.state.status.is_live() {
            serde_json::to_value(berth_net::network_settings_ports(&exposed, &published))
                .unwrap_or(Value::Null)
        } else {
            Value::Object(Default::default())
        };
        let pick = |f: &str| {
            first
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok())
                .and_then(|v| v.get(f).cloned())
                .unwrap_or(Value::from(""))
        };
        serde_json::json!({
            "Bridge": "",
            "SandboxID": "",
            "SandboxKey": if c.state.status.is_live() { berth_net::netns_path(self.runroot(), &c.id).display().to_string() } else { String::new() },
            "Ports": ports,
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "SecondaryIPAddresses": Value::Null,
            "SecondaryIPv6Addresses": Value::Null,
            "EndpointID": pick("EndpointID"),
            "Gateway": pick("Gateway"),
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": pick("IPAddress"),
            "IPPrefixLen": first.as_ref().and_then(|e| serde_json::to_value(e).ok()).and_then(|v| v.get("IPPrefixLen").cloned()).unwrap_or(Value::from(0)),
            "IPv6Gateway": "",
            "MacAddress": pick("MacAddress"),
            "Networks": networks,
        })
    }

    /// The `host` or `none` entry of `NetworkSettings.Networks` for a container in that
    /// mode (a `container:NAME` one has none, as in Docker).
    fn builtin_endpoint(
        &self,
        c: &Container,
        stored: &Stored,
    ) -> Option<(&'static str, berth_net::EndpointSettings)> {
        let name = match network_mode(&stored.host_config.network_mode) {
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
            NetworkMode::Container(_) | NetworkMode::Networks(_) => return None,
        };
        let started = !c.state.started_at.is_empty() && !c.state.started_at.starts_with("0001");
        let network_id = if started {
            crate::network::builtin_network_id(self.root(), name)
        } else {
            String::new()
        };
        let endpoint_id = if c.state.status.is_live() {
            berth_store::Digest::of(format!("{}/{name}", c.id).as_bytes())
                .hex()
                .to_string()
        } else {
            String::new()
        };
        Some((
            name,
            berth_net::EndpointSettings::unaddressed(network_id, endpoint_id),
        ))
    }

    /// The PORTS column of `ps` for a running container.
    pub fn ports_text(&self, c: &Container, stored: &Stored) -> String {
        if !c.state.status.is_live() {
            return String::new();
        }
        let exposed: Vec<ContainerPort> = stored
            .config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| k.parse().ok())
            .collect();
        let published = self
            .networks()
            .ok()
            .and_then(|n| n.published_ports(&c.id).ok())
            .unwrap_or_default();
        berth_net::ports_column(&exposed, &published)
    }

    /// `port CONTAINER [PRIVATE_PORT[/PROTO]]`: `80/tcp -> 0.0.0.0:8080` lines.
    pub fn port_lines(&self, name: &str, filter: Option<&str>) -> Result<Vec<String>> {
        let c = self.container(name)?;
        let mut published = self.networks()?.published_ports(&c.id).map_err(net_error)?;
        if let Some(f) = filter {
            let want: ContainerPort = f
                .parse()
                .map_err(|_| EngineError::InvalidArgument(format!("Invalid port: {f}")))?;
            published.retain(|p| p.container_port == want.port && p.proto == want.proto);
            if published.is_empty() {
                return Err(EngineError::NotFound(format!(
                    "No public port '{}' published for {}",
                    f, c.name
                )));
            }
        }
        Ok(berth_net::port_lines(&published))
    }
}
