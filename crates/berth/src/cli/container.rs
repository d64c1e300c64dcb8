//! Container commands: `run`, `create`, `start`, `stop`, `ps`, `rm`, `logs`, `exec` ... and
//! `container <verb>` for each.

use std::collections::BTreeMap;

use berth::format::{ago, display_id, human_size, ps_command, ContainerState};
use berth_engine::container::{
    Config, CreateOptions, HostConfig, LogConfig, PsOptions, RestartPolicy,
};
use berth_engine::store::ContainerStatus;
use berth_engine::Engine;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Value};

use super::flags;
use super::output::{label_method, print_inspect, print_list_with, write_stdout};
use super::CliError;

/// The flags `run` and `create` share.
#[derive(Args, Clone, Default)]
pub struct ContainerFlags {
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short, long = "attach")]
    pub attach: Vec<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Add additional groups to join
    #[arg(long = "group-add")]
    pub group_add: Vec<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Container NIS domain name
    #[arg(long)]
    pub domainname: Option<String>,
    /// Set meta data on a container
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Bind mount a volume
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long = "mount")]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs")]
    pub tmpfs: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long)]
    pub rm: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Security Options
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Publish a container's port(s) to the host
    #[arg(short, long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long = "expose")]
    pub expose: Vec<String>,
    /// Connect a container to a network
    #[arg(long, alias = "net", default_value = "")]
    pub network: String,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Set custom DNS servers
    #[arg(long = "dns")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Runtime to use for this container (runc, crun, or a path)
    #[arg(long)]
    pub runtime: Option<String>,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<i32>,
    /// Write the container ID to the file
    #[arg(long)]
    pub cidfile: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Logging driver for the container
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt")]
    pub log_opt: Vec<String>,
    /// IPC mode to use
    #[arg(long)]
    pub ipc: Option<String>,
    /// PID namespace to use
    #[arg(long)]
    pub pid: Option<String>,
    /// UTS namespace to use
    #[arg(long)]
    pub uts: Option<String>,
}

impl ContainerFlags {
    /// Turns the flags (and IMAGE, COMMAND) into the engine's create request.
    pub fn to_options(
        &self,
        image: &str,
        command: &[String],
        detached: bool,
    ) -> Result<CreateOptions, CliError> {
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(flags::env_file(f)?);
        }
        env.extend(flags::env_values(&self.env));
        let (attach_stdin, attach_stdout, attach_stderr) = if detached {
            (false, false, false)
        } else if self.attach.is_empty() {
            (self.interactive, true, true)
        } else {
            let has = |s: &str| self.attach.iter().any(|a| a.eq_ignore_ascii_case(s));
            (has("stdin"), has("stdout"), has("stderr"))
        };
        let mut exposed: BTreeMap<String, Value> = BTreeMap::new();
        for e in &self.expose {
            let (p, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            exposed.insert(format!("{p}/{proto}"), json!({}));
        }
        let (restart_name, restart_count) = flags::restart_policy(&self.restart)?;
        let mut tmpfs = BTreeMap::new();
        for t in &self.tmpfs {
            let (dst, opts) = t.split_once(':').unwrap_or((t, ""));
            tmpfs.insert(dst.to_string(), opts.to_string());
        }
        let mounts = self
            .mount
            .iter()
            .map(|m| flags::mount_spec(m))
            .collect::<Result<Vec<_>, _>>()?;
        let config = Config {
            hostname: self.hostname.clone().unwrap_or_default(),
            domainname: self.domainname.clone().unwrap_or_default(),
            user: self.user.clone().unwrap_or_default(),
            attach_stdin,
            attach_stdout,
            attach_stderr,
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            tty: self.tty,
            open_stdin: self.interactive,
            stdin_once: self.interactive && !detached,
            env,
            cmd: (!command.is_empty()).then(|| command.to_vec()),
            image: image.to_string(),
            working_dir: self.workdir.clone().unwrap_or_default(),
            entrypoint: self.entrypoint.as_ref().map(|e| {
                if e.is_empty() {
                    vec![]
                } else {
                    vec![e.clone()]
                }
            }),
            labels: flags::labels(&self.label),
            stop_signal: self.stop_signal.clone().unwrap_or_default(),
            stop_timeout: self.stop_timeout,
            ..Default::default()
        };
        let host_config = HostConfig {
            binds: (!self.volume.is_empty()).then(|| self.volume.clone()),
            container_id_file: self.cidfile.clone().unwrap_or_default(),
            log_config: LogConfig::default(),
            network_mode: if self.network.is_empty() {
                "bridge".into()
            } else {
                self.network.clone()
            },
            restart_policy: RestartPolicy {
                name: restart_name,
                maximum_retry_count: restart_count,
            },
            auto_remove: self.rm,
            cap_add: (!self.cap_add.is_empty()).then(|| self.cap_add.clone()),
            cap_drop: (!self.cap_drop.is_empty()).then(|| self.cap_drop.clone()),
            dns: self.dns.clone(),
            dns_options: self.dns_option.clone(),
            dns_search: self.dns_search.clone(),
            extra_hosts: (!self.add_host.is_empty()).then(|| self.add_host.clone()),
            group_add: (!self.group_add.is_empty()).then(|| self.group_add.clone()),
            ipc_mode: self.ipc.clone().unwrap_or_else(|| "private".into()),
            oom_score_adj: self.oom_score_adj.unwrap_or(0),
            pid_mode: self.pid.clone().unwrap_or_default(),
            privileged: self.privileged,
            publish_all_ports: self.publish_all,
            readonly_rootfs: self.read_only,
            security_opt: (!self.security_opt.is_empty()).then(|| self.security_opt.clone()),
            tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
            uts_mode: self.uts.clone().unwrap_or_default(),
            shm_size: self
                .shm_size
                .as_deref()
                .map(flags::ram_in_bytes)
                .transpose()?
                .unwrap_or(64 << 20),
            runtime: self.runtime.clone().unwrap_or_else(|| "berth".into()),
            memory: self
                .memory
                .as_deref()
                .map(flags::ram_in_bytes)
                .transpose()?
                .unwrap_or(0),
            memory_swap: match self.memory_swap.as_deref() {
                Some("-1") => -1,
                Some(s) => flags::ram_in_bytes(s)?,
                None => 0,
            },
            nano_cpus: self
                .cpus
                .as_deref()
                .map(flags::nano_cpus)
                .transpose()?
                .unwrap_or(0),
            cpu_shares: self.cpu_shares.unwrap_or(0),
            pids_limit: self.pids_limit,
            mounts: (!mounts.is_empty()).then_some(mounts),
            init: self.init.then_some(true),
            ..Default::default()
        };
        Ok(CreateOptions {
            name: self.name.clone(),
            config,
            host_config,
            aliases: self.network_alias.clone(),
            publish: self.publish.clone(),
        })
    }
}

// ---- ps ----

#[derive(Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, default_value_t = -1, allow_hyphen_values = true)]
    last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    latest: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
}

const PS_TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const PS_TABLE_SIZE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}";
const PS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Status", "STATUS"),
    ("State", "STATE"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("Size", "SIZE"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

pub fn ps(a: PsArgs, engine: &Engine) -> Result<(), CliError> {
    let last = if a.latest {
        Some(1)
    } else if a.last > 0 {
        Some(a.last as usize)
    } else {
        None
    };
    let size = a.size || a.format.contains(".Size");
    let list = engine.list_containers(&PsOptions {
        all: a.all,
        last,
        filters: a.filter.clone(),
        size,
    })?;
    let now = Utc::now();
    let rows: Vec<Value> = list
        .iter()
        .map(|s| {
            let c = &s.container;
            let st = &c.state;
            let created = parse_time(&c.created).unwrap_or(now);
            let command = berth::format::command_line(&s.stored.path, &s.stored.args);
            let image = if c.image.starts_with("sha256:") { display_id(&c.image, a.no_trunc).to_string() } else { c.image.clone() };
            let labels: Vec<String> = s.stored.config.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            json!({
                "ID": display_id(&c.id, a.no_trunc),
                "Image": image,
                "Command": if a.no_trunc { format!("\"{command}\"") } else { ps_command(&command, false) },
                "CreatedAt": format!("{} +0000 UTC", created.format("%Y-%m-%d %H:%M:%S")),
                "RunningFor": ago(created, now),
                "Status": status_text(st, now),
                "State": st.status.as_str(),
                "Ports": s.ports,
                "Names": c.name,
                "Size": match (s.size_rw, s.size_root_fs) {
                    (Some(rw), Some(root)) => format!("{} (virtual {})", human_size(rw), human_size(root)),
                    _ => String::new(),
                },
                "Labels": labels.join(","),
                "Mounts": s.stored.mounts.iter().map(|m| if m.name.is_empty() { m.source.clone() } else { m.name.clone() }).collect::<Vec<_>>().join(","),
                "Networks": s.stored.host_config.network_mode,
                "LocalVolumes": s.stored.mounts.iter().filter(|m| m.kind == "volume").count().to_string(),
            })
        })
        .collect();
    let (format, default) = if a.quiet {
        ("{{.ID}}", "")
    } else if a.size {
        (a.format.as_str(), PS_TABLE_SIZE)
    } else {
        (a.format.as_str(), PS_TABLE)
    };
    print_list_with(
        format,
        default,
        &rows,
        PS_HEADERS,
        &[("Label", label_method)],
    )
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Docker's STATUS text for a container state.
pub fn status_text(st: &berth_engine::store::ContainerState, now: DateTime<Utc>) -> String {
    ContainerState {
        running: matches!(
            st.status,
            ContainerStatus::Running | ContainerStatus::Paused
        ),
        paused: st.status == ContainerStatus::Paused,
        restarting: st.status == ContainerStatus::Restarting,
        removal_in_progress: st.status == ContainerStatus::Removing,
        dead: st.status == ContainerStatus::Dead,
        exit_code: i64::from(st.exit_code),
        started_at: parse_time(&st.started_at),
        finished_at: parse_time(&st.finished_at),
        health: None,
    }
    .status(now)
}

// ---- inspect ----

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short, long, default_value = "")]
    format: String,
    /// Display total file sizes
    #[arg(short, long)]
    size: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn inspect(a: InspectArgs, engine: &Engine) -> Result<(), CliError> {
    inspect_containers(&a.format, &a.containers, a.size, engine)
}

/// Inspects containers (for `container inspect` and `inspect`).
pub fn inspect_containers(
    format: &str,
    names: &[String],
    size: bool,
    engine: &Engine,
) -> Result<(), CliError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match engine.inspect_container(n, size) {
            Ok(v) => found.push(v),
            Err(e) => missing.push(format!("Error response from daemon: {e}")),
        }
    }
    print_inspect(format, &found, missing)
}

// ---- rm / prune / rename ----

#[derive(Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    volumes: bool,
    /// Remove the specified link
    #[arg(short, long)]
    link: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn rm(a: RmArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |name| {
        engine.remove_container(name, a.force, a.volumes)?;
        Ok(format!("{name}\n"))
    })
}

/// Runs a verb on each named container, printing what each prints, and Docker's errors for
/// those that failed (exit 1 if any did).
pub fn each(
    names: &[String],
    mut f: impl FnMut(&str) -> Result<String, berth_engine::EngineError>,
) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for n in names {
        match f(n) {
            Ok(out) => write_stdout(&out)?,
            Err(e) => errors.push(format!("Error response from daemon: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::usage(errors.join("\n")))
    }
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

pub fn prune(a: PruneArgs, engine: &Engine) -> Result<(), CliError> {
    if !a.force && !super::confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(());
    }
    let (ids, reclaimed) = engine.prune_containers(&a.filter)?;
    let mut out = String::new();
    if !ids.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in ids {
            out.push_str(&id);
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

#[derive(Args)]
pub struct RenameArgs {
    container: String,
    new_name: String,
}

pub fn rename(a: RenameArgs, engine: &Engine) -> Result<(), CliError> {
    engine.rename_container(&a.container, &a.new_name)?;
    Ok(())
}

// ---- create ----

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    #[command(flatten)]
    pub flags: ContainerFlags,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn create(a: CreateArgs, engine: &Engine) -> Result<(), CliError> {
    let opts = a
        .flags
        .to_options(&a.image, &a.command, false)
        .map_err(|e| CliError {
            message: format!("berth: {}", e.message),
            code: 125,
        })?;
    let c = create_or_explain(engine, opts)?;
    write_cidfile(&a.flags, &c.id)?;
    write_stdout(&format!("{}\n", c.id))
}

/// Creates the container; an image that is not here is reported as Docker reports it.
pub fn create_or_explain(
    engine: &Engine,
    opts: CreateOptions,
) -> Result<berth_engine::store::Container, CliError> {
    let image = opts.config.image.clone();
    engine.create_container(opts).map_err(|e| {
        let missing = matches!(
            e,
            berth_engine::EngineError::Store(berth_engine::store::StoreError::ImageNotFound(_))
        );
        let mut msg = String::new();
        if missing {
            let shown = berth_engine::store::Reference::parse(&image)
                .map(|r| r.with_default_tag().familiar())
                .unwrap_or(image.clone());
            msg.push_str(&format!("Unable to find image '{shown}' locally\n"));
        }
        msg.push_str(&format!("berth: Error response from daemon: {e}"));
        CliError {
            message: msg,
            code: 125,
        }
    })
}

fn write_cidfile(flags: &ContainerFlags, id: &str) -> Result<(), CliError> {
    if let Some(path) = &flags.cidfile {
        if std::path::Path::new(path).exists() {
            return Err(CliError {
                message: format!("berth: Container ID file found, make sure the other container isn't running or delete {path}"),
                code: 125,
            });
        }
        std::fs::write(path, id).map_err(CliError::from)?;
    }
    Ok(())
}
