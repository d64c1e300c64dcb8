//! `system check|df|prune`, `version`, `info`.

use berth::format::{human_size, human_size_with_precision, Template};
use berth_engine::system::{API_VERSION, VERSION};
use berth_engine::Engine;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::image::prune_text;
use super::output::{print_list, write_stdout};
use super::CliError;

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Verify the store: every blob digest, layer directory and database reference
    Check(CheckArgs),
    /// Show disk usage
    Df(DfArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
    /// Display system-wide information
    Info(InfoArgs),
}

pub fn run(cmd: SystemCommand, engine: &Engine) -> Result<(), CliError> {
    match cmd {
        SystemCommand::Check(a) => check(a, engine),
        SystemCommand::Df(a) => df(a, engine),
        SystemCommand::Prune(a) => prune(a, engine),
        SystemCommand::Info(a) => info(a, engine),
    }
}

#[derive(Args)]
pub struct CheckArgs {
    /// Remove what is unreachable or half-written
    #[arg(short, long)]
    repair: bool,
}

fn check(a: CheckArgs, engine: &Engine) -> Result<(), CliError> {
    let problems = engine.system_check(a.repair)?;
    let mut out = String::new();
    for p in &problems {
        let mark = if p.repaired { "repaired" } else { "problem" };
        out.push_str(&format!("{mark}: {}\n", p.description));
    }
    let left = problems.iter().filter(|p| !p.repaired).count();
    if problems.is_empty() {
        out.push_str("No problems found\n");
    } else {
        out.push_str(&format!(
            "{} problems found, {} repaired\n",
            problems.len(),
            problems.len() - left
        ));
    }
    write_stdout(&out)?;
    if left > 0 {
        Err(CliError::status(1))
    } else {
        Ok(())
    }
}

#[derive(Args)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Show detailed information on space usage
    #[arg(short, long)]
    verbose: bool,
}

const DF_TABLE: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const DF_HEADERS: &[(&str, &str)] = &[
    ("Type", "TYPE"),
    ("TotalCount", "TOTAL"),
    ("Active", "ACTIVE"),
    ("Size", "SIZE"),
    ("Reclaimable", "RECLAIMABLE"),
];

fn df(a: DfArgs, engine: &Engine) -> Result<(), CliError> {
    let rows: Vec<Value> = engine
        .disk_usage()?
        .into_iter()
        .map(|r| {
            let size = human_size_with_precision(r.size as f64, 4);
            let reclaimable = if r.kind == "Build Cache" || r.size == 0 {
                human_size_with_precision(r.reclaimable as f64, 4)
            } else {
                format!(
                    "{} ({}%)",
                    human_size_with_precision(r.reclaimable as f64, 4),
                    100 * r.reclaimable / r.size
                )
            };
            json!({
                "Type": r.kind,
                "TotalCount": r.total.to_string(),
                "Active": r.active.to_string(),
                "Size": size,
                "Reclaimable": reclaimable,
            })
        })
        .collect();
    let _ = a.verbose;
    print_list(&a.format, DF_TABLE, &rows, DF_HEADERS)
}

#[derive(Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter")]
    filter: Vec<String>,
    /// Prune anonymous volumes
    #[arg(long)]
    volumes: bool,
}

fn prune(a: SystemPruneArgs, engine: &Engine) -> Result<(), CliError> {
    let images = if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    };
    let warning = format!(
        "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - {images}\n  - unused build cache\n"
    );
    if !a.force && !super::confirm(&warning)? {
        return Ok(());
    }
    let report = engine.system_prune(a.all, &a.filter)?;
    write_stdout(&prune_text(&report.events, report.reclaimed))
}

#[derive(Args)]
pub struct VersionArgs {
    /// Format output using a custom template
    #[arg(short, long, default_value = "")]
    format: String,
}

pub fn version(a: VersionArgs, engine: Option<&Engine>) -> Result<(), CliError> {
    let os_arch = format!("linux/{}", berth_engine::image::host_architecture());
    let server = engine.map(|_| {
        json!({
            "Platform": {"Name": "berth"},
            "Version": VERSION,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": "1.24",
            "Os": "linux",
            "Arch": berth_engine::image::host_architecture(),
            "KernelVersion": rustix::system::uname().release().to_string_lossy(),
        })
    });
    let data = json!({
        "Client": {
            "Platform": {"Name": "berth"},
            "Version": VERSION,
            "ApiVersion": API_VERSION,
            "Os": "linux",
            "Arch": berth_engine::image::host_architecture(),
        },
        "Server": server,
    });
    if !a.format.is_empty() {
        let t = Template::parse(&a.format)
            .map_err(|e| CliError::usage(format!("template parsing error: {e}")))?;
        let out = t
            .render(&data)
            .map_err(|e| CliError::usage(format!("template: {e}")))?;
        return write_stdout(&format!("{out}\n"));
    }
    let mut out = format!(
        "Client:\n Version:           {VERSION}\n API version:       {API_VERSION}\n OS/Arch:           {os_arch}\n"
    );
    if server.is_some() {
        out.push_str(&format!(
            "\nServer: berth Engine\n Engine:\n  Version:          {VERSION}\n  API version:      {API_VERSION} (minimum version 1.24)\n  OS/Arch:          {os_arch}\n"
        ));
    }
    write_stdout(&out)
}

#[derive(Args)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short, long, default_value = "")]
    format: String,
}

pub fn info(a: InfoArgs, engine: &Engine) -> Result<(), CliError> {
    let info = engine.info()?;
    if !a.format.is_empty() {
        let data = serde_json::to_value(&info).unwrap_or(Value::Null);
        let t = Template::parse(&a.format)
            .map_err(|e| CliError::usage(format!("template parsing error: {e}")))?;
        let out = t
            .render(&data)
            .map_err(|e| CliError::usage(format!("template: {e}")))?;
        return write_stdout(&format!("{out}\n"));
    }
    let out = format!(
        "Client:\n Version:    {VERSION}\n Context:    default\n\nServer:\n Containers: {}\n  Running: {}\n  Paused: {}\n  Stopped: {}\n Images: {}\n Server Version: {}\n Storage Driver: {}\n Cgroup Version: {}\n Kernel Version: {}\n Operating System: {}\n OSType: {}\n Architecture: {}\n CPUs: {}\n Total Memory: {}\n Name: {}\n Docker Root Dir: {}\n",
        info.containers,
        info.containers_running,
        info.containers_paused,
        info.containers_stopped,
        info.images,
        info.server_version,
        info.driver,
        info.cgroup_version,
        info.kernel_version,
        info.operating_system,
        info.os_type,
        info.architecture,
        info.ncpu,
        berth::format::bytes_size(info.mem_total as f64),
        info.name,
        info.docker_root_dir,
    );
    let _ = human_size;
    write_stdout(&out)
}
