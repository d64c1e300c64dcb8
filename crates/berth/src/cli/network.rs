//! `network create|ls|inspect|rm|prune|connect|disconnect`, `port`, and the hidden DNS
//! server and port proxy processes.

use std::os::fd::{FromRawFd, OwnedFd};

use berth_engine::net::{NetworkCreate, NetworkInspect};
use berth_engine::{Engine, EngineOptions};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::container::each;
use super::output::{print_inspect, print_list, write_stdout};
use super::{flags, CliError};

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(name = "ls", alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(name = "rm", alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    gateway: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    internal: bool,
    /// Set metadata on a network
    #[arg(long = "label")]
    label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long = "opt")]
    opt: Vec<String>,
    name: String,
}

#[derive(Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Do not truncate the output
    #[arg(long)]
    no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long, default_value = "")]
    format: String,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    networks: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values
    #[arg(long = "filter")]
    filter: Vec<String>,
}

#[derive(Args)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long = "alias")]
    alias: Vec<String>,
    /// IPv4 address
    #[arg(long)]
    ip: Option<String>,
    network: String,
    container: String,
}

#[derive(Args)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    force: bool,
    network: String,
    container: String,
}

pub fn run(cmd: NetworkCommand, engine: &Engine) -> Result<(), CliError> {
    match cmd {
        NetworkCommand::Create(a) => {
            if a.driver != "bridge" {
                return Err(CliError::usage(format!(
                    "Error response from daemon: plugin \"{}\" not found",
                    a.driver
                )));
            }
            let net = engine.create_network(&NetworkCreate {
                name: a.name,
                driver: Some(a.driver),
                subnet: a.subnet,
                gateway: a.gateway,
                internal: a.internal,
                labels: flags::labels(&a.label),
                options: flags::labels(&a.opt),
            })?;
            write_stdout(&format!("{}\n", net.id))
        }
        NetworkCommand::Ls(a) => {
            let mut rows: Vec<Value> = Vec::new();
            for n in engine.list_networks()? {
                let keep = a.filter.iter().all(|f| match f.split_once('=') {
                    Some(("name", v)) => n.name.contains(v),
                    Some(("id", v)) => n.id.starts_with(v),
                    Some(("driver", v)) => n.driver == v,
                    Some(("label", l)) => match l.split_once('=') {
                        Some((k, v)) => n.labels.get(k).is_some_and(|x| x == v),
                        None => n.labels.contains_key(l),
                    },
                    Some(("type", "builtin")) => n.builtin,
                    Some(("type", "custom")) => !n.builtin,
                    _ => true,
                });
                if keep {
                    rows.push(json!({
                        "ID": if a.no_trunc { n.id.clone() } else { n.id[..12.min(n.id.len())].to_string() },
                        "Name": n.name,
                        "Driver": n.driver,
                        "Scope": "local",
                        "IPv6": "false",
                        "Internal": n.internal.to_string(),
                        "Labels": n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
                        "CreatedAt": n.created,
                    }));
                }
            }
            let format = if a.quiet {
                "{{.ID}}"
            } else {
                a.format.as_str()
            };
            print_list(
                format,
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
                &rows,
                &[
                    ("ID", "NETWORK ID"),
                    ("Name", "NAME"),
                    ("Driver", "DRIVER"),
                    ("Scope", "SCOPE"),
                    ("IPv6", "IPV6"),
                    ("Internal", "INTERNAL"),
                    ("Labels", "LABELS"),
                    ("CreatedAt", "CREATED"),
                ],
            )
        }
        NetworkCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for n in &a.networks {
                match engine.inspect_network(n) {
                    Ok(v) => {
                        found.push(serde_json::to_value::<NetworkInspect>(v).unwrap_or(Value::Null))
                    }
                    Err(e) => missing.push(format!("Error response from daemon: {e}")),
                }
            }
            print_inspect(&a.format, &found, missing)
        }
        NetworkCommand::Rm(a) => each(&a.networks, |n| match engine.remove_network(n) {
            Ok(()) => Ok(format!("{n}\n")),
            Err(e) if a.force && e.is_not_found() => Ok(String::new()),
            Err(e) => Err(e),
        }),
        NetworkCommand::Prune(a) => {
            let _ = &a.filter;
            if !a.force && !super::confirm("WARNING! This will remove all custom networks not used by at least one container.")? {
                return Ok(());
            }
            let removed = engine.prune_networks()?;
            let mut out = String::new();
            if !removed.is_empty() {
                out.push_str("Deleted Networks:\n");
                for n in removed {
                    out.push_str(&n);
                    out.push('\n');
                }
            }
            write_stdout(&out)
        }
        NetworkCommand::Connect(a) => {
            engine.connect_network(&a.network, &a.container, a.alias, a.ip.as_deref())?;
            Ok(())
        }
        NetworkCommand::Disconnect(a) => {
            let _ = a.force;
            engine.disconnect_network(&a.network, &a.container)?;
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct PortArgs {
    container: String,
    /// PRIVATE_PORT[/PROTO]
    private_port: Option<String>,
}

pub fn port(a: PortArgs, engine: &Engine) -> Result<(), CliError> {
    let lines = engine.port_lines(&a.container, a.private_port.as_deref())?;
    let mut out = String::new();
    for l in lines {
        let l = match &a.private_port {
            // With a port given, Docker prints only the host side.
            Some(_) => l.split(" -> ").nth(1).unwrap_or(&l).to_string(),
            None => l,
        };
        out.push_str(&l);
        out.push('\n');
    }
    write_stdout(&out)
}

#[derive(Args)]
pub struct HelperArgs {
    /// The network (for the DNS server) or the container (for the proxy)
    target: String,
    /// The readiness pipe's write end, inherited from the starting CLI
    #[arg(long)]
    ready_fd: i32,
}

/// `berth __dns NETWORK`: the DNS server of a user network, detached.
pub fn dns(a: HelperArgs, options: EngineOptions) -> Result<(), CliError> {
    // SAFETY: the starting berth passed this fd down for this process alone.
    let ready = unsafe { OwnedFd::from_raw_fd(a.ready_fd) };
    berth_engine::container::monitor_daemonize()?;
    let engine = Engine::open(options)?;
    engine.serve_dns(&a.target, ready)?;
    Ok(())
}

/// `berth __proxy CONTAINER`: the userland proxy of a container's published ports, detached.
pub fn proxy(a: HelperArgs, options: EngineOptions) -> Result<(), CliError> {
    // SAFETY: as above.
    let ready = unsafe { OwnedFd::from_raw_fd(a.ready_fd) };
    berth_engine::container::monitor_daemonize()?;
    let engine = Engine::open(options)?;
    engine.serve_proxy(&a.target, ready)?;
    Ok(())
}
