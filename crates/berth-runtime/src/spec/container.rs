//! `ContainerSpec`: what the engine knows about a container to run, in Docker's terms.
//! `build_spec` turns it into an OCI runtime spec.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Everything needed to run one container, before Docker's defaults are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// The command line (entrypoint + cmd already joined by the engine).
    pub args: Vec<String>,
    /// `KEY=value` pairs. A default `PATH` is added when missing, `TERM=xterm` with a terminal.
    pub env: Vec<String>,
    /// Working directory inside the container; empty means `/`.
    pub cwd: String,
    pub user: User,
    /// Set only when the container has its own UTS namespace.
    pub hostname: Option<String>,
    /// Allocate a pty for the container's stdio (`-t`).
    pub terminal: bool,
    /// The mounted root filesystem on the host (the overlay's `merged` dir).
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    /// User mounts: binds, volumes, tmpfs. They replace default mounts at the same place.
    pub mounts: Vec<Mount>,
    /// Capability names as Docker takes them: `NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--privileged`: all capabilities, no seccomp, no masked paths, the host's devices.
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub seccomp: Seccomp,
    /// `None` means Docker's default list; `Some(vec![])` masks nothing (`--security-opt systempaths=unconfined`).
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    pub resources: Resources,
    pub namespaces: Namespaces,
    /// Cgroup path for the container, e.g. `/berth/<id>`. `None` leaves the choice to the runtime.
    pub cgroup_path: Option<String>,
    pub oom_score_adj: Option<i32>,
    /// `--init`: a host path to a small init binary, bind-mounted as `/sbin/docker-init`
    /// and run as pid 1 in front of `args` (what Docker does with tini).
    pub init: Option<PathBuf>,
    /// `--ulimit`: values above the caller's hard limit are lowered to it.
    pub rlimits: Vec<Rlimit>,
    /// `--shm-size`; Docker's default is 64 MiB.
    pub shm_size: Option<u64>,
    /// `--sysctl`
    pub sysctls: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            cwd: String::new(),
            user: User::default(),
            hostname: None,
            terminal: false,
            rootfs: PathBuf::new(),
            readonly_rootfs: false,
            mounts: Vec::new(),
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            privileged: false,
            no_new_privileges: false,
            seccomp: Seccomp::Default,
            masked_paths: None,
            readonly_paths: None,
            resources: Resources::default(),
            namespaces: Namespaces::default(),
            cgroup_path: None,
            oom_score_adj: None,
            init: None,
            rlimits: Vec::new(),
            shm_size: None,
            sysctls: BTreeMap::new(),
            annotations: BTreeMap::new(),
        }
    }
}

/// The numeric identity the container's process runs as (names are resolved by the engine
/// against the image's /etc/passwd and /etc/group).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// `-v /host:/ctr[:ro]` or `--mount type=bind`.
    Bind {
        source: PathBuf,
        destination: String,
        readonly: bool,
    },
    /// A named volume: `source` is its `_data` directory.
    Volume {
        source: PathBuf,
        destination: String,
        readonly: bool,
    },
    /// `--tmpfs /dst:opts`; `options` as mount(8) takes them (`size=64m`, `mode=1777`, `noexec`).
    Tmpfs {
        destination: String,
        options: Vec<String>,
    },
}

impl Mount {
    pub fn destination(&self) -> &str {
        match self {
            Mount::Bind { destination, .. }
            | Mount::Volume { destination, .. }
            | Mount::Tmpfs { destination, .. } => destination,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's default profile, adjusted to the container's capabilities.
    #[default]
    Default,
    /// `--security-opt seccomp=unconfined`
    Unconfined,
    /// `--security-opt seccomp=profile.json`: a Docker-format profile file.
    Profile(PathBuf),
}

/// cgroup limits. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `--memory`, bytes.
    pub memory: Option<i64>,
    /// `--memory-swap`: memory plus swap, bytes; `-1` is unlimited swap. With `memory`
    /// set and this unset, Docker allows as much swap as memory (the total is twice `memory`).
    pub memory_swap: Option<i64>,
    /// CFS quota and period in microseconds; see [`Resources::with_cpus`].
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    /// `--cpu-shares`
    pub cpu_shares: Option<u64>,
    /// `--pids-limit`; zero or negative means unlimited, as in Docker.
    pub pids_limit: Option<i64>,
}

impl Resources {
    /// `--cpus=1.5` is a quota of 1.5 periods of 100 ms, as Docker computes it.
    pub fn with_cpus(mut self, cpus: f64) -> Self {
        const PERIOD: u64 = 100_000;
        self.cpu_period = Some(PERIOD);
        self.cpu_quota = Some((cpus * PERIOD as f64).round() as i64);
        self
    }
}

/// How the container gets each namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NamespaceMode {
    /// A new namespace of its own (Docker's default for most kinds).
    #[default]
    Private,
    /// The host's (`--network host`, `--pid host`, ...): no namespace entry at all.
    Host,
    /// Join an existing namespace, e.g. a netns made by berth-net under `<runroot>/netns/`.
    Join(PathBuf),
}

/// Mount namespaces are always private; user namespaces are not used (as Docker without
/// userns-remap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    pub network: NamespaceMode,
    pub pid: NamespaceMode,
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    /// Docker uses a private cgroup namespace on cgroup v2 and the host's on v1;
    /// `None` picks that default from the host.
    pub cgroup: Option<NamespaceMode>,
}

impl Default for Namespaces {
    fn default() -> Self {
        Self {
            network: NamespaceMode::Private,
            pid: NamespaceMode::Private,
            ipc: NamespaceMode::Private,
            uts: NamespaceMode::Private,
            cgroup: None,
        }
    }
}

/// One `--ulimit`; `name` as Docker spells it (`nofile`, `nproc`, `core`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}
