//! `volume create|ls|inspect|rm|prune`.

use berth::format::human_size;
use berth_engine::Engine;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::container::each;
use super::output::{label_method, print_inspect, print_list_with, write_stdout};
use super::{flags, CliError};

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list", name = "ls")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove", name = "rm")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Specify volume driver name
    #[arg(short, long, default_value = "local")]
    driver: String,
    /// Set metadata for a volume
    #[arg(long = "label")]
    label: Vec<String>,
    /// Set driver specific options
    #[arg(short, long = "opt")]
    opt: Vec<String>,
    name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Only display volume names
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long, default_value = "")]
    format: String,
    #[arg(required = true)]
    volumes: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    force: bool,
    #[arg(required = true)]
    volumes: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values
    #[arg(long = "filter")]
    filter: Vec<String>,
}

pub fn run(cmd: VolumeCommand, engine: &Engine) -> Result<(), CliError> {
    match cmd {
        VolumeCommand::Create(a) => {
            if a.driver != "local" {
                return Err(CliError::usage(format!(
                    "Error response from daemon: create {}: error looking up volume plugin {}: plugin \"{}\" not found",
                    a.name.unwrap_or_default(),
                    a.driver,
                    a.driver
                )));
            }
            let v = engine.create_volume(
                a.name.as_deref(),
                flags::labels(&a.label),
                flags::labels(&a.opt),
            )?;
            write_stdout(&format!("{}\n", v.name))
        }
        VolumeCommand::Ls(a) => {
            let mut rows: Vec<Value> = Vec::new();
            for v in engine.volumes()? {
                let in_use = !engine.volume_users(&v.name)?.is_empty();
                let keep = a.filter.iter().all(|f| match f.split_once('=') {
                    Some(("dangling", d)) => (d == "true" || d == "1") != in_use,
                    Some(("name", n)) => v.name.contains(n),
                    Some(("driver", d)) => v.driver == d,
                    Some(("label", l)) => match l.split_once('=') {
                        Some((k, val)) => v.labels.get(k).is_some_and(|x| x == val),
                        None => v.labels.contains_key(l),
                    },
                    _ => true,
                });
                if keep {
                    rows.push(json!({
                        "Driver": v.driver,
                        "Name": v.name,
                        "Mountpoint": v.mountpoint,
                        "Scope": v.scope,
                        "Labels": v.labels.iter().map(|(k, x)| format!("{k}={x}")).collect::<Vec<_>>().join(","),
                        "Size": "N/A",
                        "Links": "N/A",
                    }));
                }
            }
            let format = if a.quiet {
                "{{.Name}}"
            } else {
                a.format.as_str()
            };
            print_list_with(
                format,
                "table {{.Driver}}\t{{.Name}}",
                &rows,
                &[
                    ("Driver", "DRIVER"),
                    ("Name", "VOLUME NAME"),
                    ("Mountpoint", "MOUNTPOINT"),
                    ("Scope", "SCOPE"),
                    ("Labels", "LABELS"),
                    ("Size", "SIZE"),
                    ("Links", "LINKS"),
                ],
                &[("Label", label_method)],
            )
        }
        VolumeCommand::Inspect(a) => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for n in &a.volumes {
                match engine.volume(n)? {
                    Some(v) => found.push(serde_json::to_value(v).unwrap_or(Value::Null)),
                    None => missing.push(format!(
                        "Error response from daemon: get {n}: no such volume"
                    )),
                }
            }
            print_inspect(&a.format, &found, missing)
        }
        VolumeCommand::Rm(a) => each(&a.volumes, |n| {
            engine.remove_volume(n, a.force)?;
            Ok(format!("{n}\n"))
        }),
        VolumeCommand::Prune(a) => {
            let _ = &a.filter;
            let warning = if a.all {
                "WARNING! This will remove all local volumes not used by at least one container."
            } else {
                "WARNING! This will remove anonymous local volumes not used by at least one container."
            };
            if !a.force && !super::confirm(warning)? {
                return Ok(());
            }
            let (names, reclaimed) = engine.prune_volumes(a.all)?;
            let mut out = String::new();
            if !names.is_empty() {
                out.push_str("Deleted Volumes:\n");
                for n in names {
                    out.push_str(&n);
                    out.push('\n');
                }
                out.push('\n');
            }
            out.push_str(&format!(
                "Total reclaimed space: {}\n",
                human_size(reclaimed)
            ));
            write_stdout(&out)
        }
    }
}
