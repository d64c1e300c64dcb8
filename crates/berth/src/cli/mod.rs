//! Command-line parsing and dispatch. Each command group lives in its own module; each
//! command parses its flags, calls one engine method, and formats the result as Docker does.

mod build;
mod container;
mod error;
mod exec;
mod flags;
mod image;
mod lazy;
mod lifecycle;
mod network;
mod output;
mod run;
mod session;
mod system;
mod top;
mod transfer;
mod volume;

use std::path::PathBuf;
use std::process::ExitCode;

use berth_engine::container::Prefork;
use berth_engine::{Engine, EngineOptions};
use clap::{Parser, Subcommand};

pub use error::CliError;
use lazy::{Lazy, LazySub};

#[derive(Parser)]
#[command(
    name = "berth",
    about = "A fast, safe, Docker-compatible container engine",
    version,
    disable_help_subcommand = true
)]
struct Cli {
    /// Root of the store (images, layers, containers)
    #[arg(long, env = "BERTH_ROOT", default_value = "/var/lib/berth")]
    root: PathBuf,
    /// Directory for runtime state (monitor sockets, pids)
    #[arg(long, env = "BERTH_RUNROOT", default_value = "/run/berth")]
    runroot: PathBuf,
    /// Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")
    #[arg(short = 'l', long, default_value = "info")]
    log_level: LogLevel,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// The store the command line names.
    fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            root: self.root.clone(),
            runroot: self.runroot.clone(),
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Build an image from a Dockerfile
    Build(Lazy<build::BuildArgs>),
    /// Manage builds
    #[command(subcommand)]
    Builder(LazySub<build::BuilderCommand>),
    /// Manage images
    #[command(subcommand)]
    Image(LazySub<image::ImageCommand>),
    /// List images
    Images(Lazy<image::ListArgs>),
    /// Import the contents from a tarball to create a filesystem image
    Import(Lazy<image::ImportArgs>),
    /// Return low-level information on Docker objects
    Inspect(Lazy<image::InspectArgs>),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(Lazy<image::TagArgs>),
    /// Remove one or more images
    Rmi(Lazy<image::RemoveArgs>),
    /// Show the history of an image
    History(Lazy<image::HistoryArgs>),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(Lazy<image::SaveArgs>),
    /// Load an image from a tar archive or STDIN
    Load(Lazy<image::LoadArgs>),
    /// Manage berth
    #[command(subcommand)]
    System(LazySub<system::SystemCommand>),
    /// Manage containers
    #[command(subcommand)]
    Container(LazySub<ContainerCommand>),
    /// Create and run a new container from an image
    Run(Lazy<run::RunArgs>),
    /// Create a new container
    Create(Lazy<container::CreateArgs>),
    /// Start one or more stopped containers
    Start(Lazy<run::StartArgs>),
    /// Stop one or more running containers
    Stop(Lazy<lifecycle::StopArgs>),
    /// Restart one or more containers
    Restart(Lazy<lifecycle::StopArgs>),
    /// Kill one or more running containers
    Kill(Lazy<lifecycle::KillArgs>),
    /// Block until one or more containers stop, then print their exit codes
    Wait(Lazy<lifecycle::WaitArgs>),
    /// Pause all processes within one or more containers
    Pause(Lazy<lifecycle::PauseArgs>),
    /// Unpause all processes within one or more containers
    Unpause(Lazy<lifecycle::PauseArgs>),
    /// Attach local standard input, output, and error streams to a running container
    Attach(Lazy<run::AttachArgs>),
    /// Fetch the logs of a container
    Logs(Lazy<lifecycle::LogsArgs>),
    /// Execute a command in a running container
    Exec(Lazy<exec::ExecArgs>),
    /// Display the running processes of a container
    Top(Lazy<top::TopArgs>),
    /// Display a live stream of container(s) resource usage statistics
    Stats(Lazy<top::StatsArgs>),
    /// List containers
    Ps(Lazy<container::PsArgs>),
    /// Remove one or more containers
    Rm(Lazy<container::RmArgs>),
    /// Rename a container
    Rename(Lazy<container::RenameArgs>),
    /// Copy files/folders between a container and the local filesystem
    Cp(Lazy<transfer::CpArgs>),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(Lazy<transfer::DiffArgs>),
    /// Create a new image from a container's changes
    Commit(Lazy<transfer::CommitArgs>),
    /// Export a container's filesystem as a tar archive
    Export(Lazy<transfer::ExportArgs>),
    /// Manage volumes
    #[command(subcommand)]
    Volume(LazySub<volume::VolumeCommand>),
    /// Manage networks
    #[command(subcommand)]
    Network(LazySub<network::NetworkCommand>),
    /// List port mappings or a specific mapping for the container
    Port(Lazy<network::PortArgs>),
    /// The DNS server of a user network (started by berth itself)
    #[command(name = "__dns", hide = true)]
    Dns(Lazy<network::HelperArgs>),
    /// The port proxy of a container (started by berth itself)
    #[command(name = "__proxy", hide = true)]
    Proxy(Lazy<network::HelperArgs>),
    /// The monitor of one container (started by berth itself)
    #[command(name = "__monitor", hide = true)]
    Monitor(Lazy<run::MonitorArgs>),
    /// Show the berth version information
    Version(Lazy<system::VersionArgs>),
    /// Display system-wide information
    Info(Lazy<system::InfoArgs>),
}

// Parsed once per process: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ContainerCommand {
    /// Create and run a new container from an image
    Run(Lazy<run::RunArgs>),
    /// Create a new container
    Create(Lazy<container::CreateArgs>),
    /// Start one or more stopped containers
    Start(run::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::WaitArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::PauseArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(run::AttachArgs),
    /// Fetch the logs of a container
    Logs(lifecycle::LogsArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// List port mappings or a specific mapping for the container
    Port(network::PortArgs),
    /// Display the running processes of a container
    Top(top::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(top::StatsArgs),
    /// List containers
    #[command(name = "ls", aliases = ["list", "ps"])]
    Ls(container::PsArgs),
    /// Remove one or more containers
    #[command(name = "rm", alias = "remove")]
    Rm(container::RmArgs),
    /// Rename a container
    Rename(container::RenameArgs),
    /// Remove all stopped containers
    Prune(container::PruneArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(transfer::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(transfer::DiffArgs),
    /// Create a new image from a container's changes
    Commit(transfer::CommitArgs),
    /// Export a container's filesystem as a tar archive
    Export(transfer::ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(container::InspectArgs),
}

fn container_command(
    c: ContainerCommand,
    engine: &Engine,
    prefork: Option<Prefork>,
) -> Result<(), CliError> {
    match c {
        ContainerCommand::Run(Lazy(a)) => run::run(a, engine, prefork),
        ContainerCommand::Create(Lazy(a)) => container::create(a, engine),
        ContainerCommand::Start(a) => run::start(a, engine),
        ContainerCommand::Stop(a) => lifecycle::stop(a, engine),
        ContainerCommand::Restart(a) => lifecycle::restart(a, engine),
        ContainerCommand::Kill(a) => lifecycle::kill(a, engine),
        ContainerCommand::Wait(a) => lifecycle::wait(a, engine),
        ContainerCommand::Pause(a) => lifecycle::pause(a, engine),
        ContainerCommand::Unpause(a) => lifecycle::unpause(a, engine),
        ContainerCommand::Attach(a) => run::attach(a, engine),
        ContainerCommand::Logs(a) => lifecycle::logs(a, engine),
        ContainerCommand::Exec(a) => exec::exec(a, engine),
        ContainerCommand::Port(a) => network::port(a, engine),
        ContainerCommand::Top(a) => top::top(a, engine),
        ContainerCommand::Stats(a) => top::stats(a, engine),
        ContainerCommand::Ls(a) => container::ps(a, engine),
        ContainerCommand::Rm(a) => container::rm(a, engine),
        ContainerCommand::Rename(a) => container::rename(a, engine),
        ContainerCommand::Prune(a) => container::prune(a, engine),
        ContainerCommand::Inspect(a) => container::inspect(a, engine),
        ContainerCommand::Cp(a) => transfer::cp(a, engine),
        ContainerCommand::Diff(a) => transfer::diff(a, engine),
        ContainerCommand::Commit(a) => transfer::commit(a, engine),
        ContainerCommand::Export(a) => transfer::export(a, engine),
    }
}

/// Runs the command line and turns the outcome into Docker's exit status.
pub fn main() -> ExitCode {
    if let Some((options, args)) = run::MonitorArgs::from_launch(std::env::args_os().skip(1)) {
        return exit_code(run::monitor(args, options));
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 125,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // `run`'s monitor is forked now, while this process has one thread and nothing open
    // (see berth_engine::container::prefork_monitor); a failure just falls back to
    // re-executing berth as the monitor.
    let prefork = match &cli.command {
        Command::Run(Lazy(a)) | Command::Container(LazySub(ContainerCommand::Run(Lazy(a)))) => {
            let mut p = berth_engine::container::prefork_monitor(&cli.engine_options()).ok();
            // A bridge network's namespace is made while the store opens and the container
            // is created, on the CPU the forked monitor leaves idle.
            if let Some(p) = p.as_mut().filter(|_| a.joins_networks()) {
                p.make_netns_ahead();
            }
            p
        }
        _ => None,
    };
    // A monitor logs nowhere: its stderr is /dev/null, and the container's init, which it
    // forks, must not inherit a logger writing into the container's stderr.
    if !matches!(
        cli.command,
        Command::Monitor(_) | Command::Dns(_) | Command::Proxy(_)
    ) {
        init_logging(cli.log_level);
    }
    exit_code(run(cli, prefork))
}

fn exit_code(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            e.print();
            ExitCode::from(e.code)
        }
    }
}

fn init_logging(level: LogLevel) {
    let filter = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error | LogLevel::Fatal => "error",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // libcontainer warns about every syscall this kernel lacks: noise for users.
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "{filter},libcontainer=off,libcgroups=off"
        )))
        .without_time()
        .init();
}

fn run(cli: Cli, prefork: Option<Prefork>) -> Result<(), CliError> {
    let options = cli.engine_options();
    let engine = || Engine::open(options.clone()).map_err(CliError::from);
    match cli.command {
        Command::Build(Lazy(a)) => build::build(a, &engine()?),
        Command::Builder(LazySub(c)) => build::builder(c, &engine()?),
        Command::Image(LazySub(c)) => image::run(c, &engine()?),
        Command::Images(Lazy(a)) => image::list(a, &engine()?),
        Command::Import(Lazy(a)) => image::import(a, &engine()?),
        Command::Inspect(Lazy(a)) => image::inspect(a, &engine()?),
        Command::Tag(Lazy(a)) => image::tag(a, &engine()?),
        Command::Rmi(Lazy(a)) => image::remove(a, &engine()?),
        Command::History(Lazy(a)) => image::history(a, &engine()?),
        Command::Save(Lazy(a)) => image::save(a, &engine()?),
        Command::Load(Lazy(a)) => image::load(a, &engine()?),
        Command::System(LazySub(c)) => system::run(c, &engine()?),
        Command::Container(LazySub(c)) => container_command(c, &engine()?, prefork),
        Command::Run(Lazy(a)) => run::run(a, &engine()?, prefork),
        Command::Create(Lazy(a)) => container::create(a, &engine()?),
        Command::Start(Lazy(a)) => run::start(a, &engine()?),
        Command::Stop(Lazy(a)) => lifecycle::stop(a, &engine()?),
        Command::Restart(Lazy(a)) => lifecycle::restart(a, &engine()?),
        Command::Kill(Lazy(a)) => lifecycle::kill(a, &engine()?),
        Command::Wait(Lazy(a)) => lifecycle::wait(a, &engine()?),
        Command::Pause(Lazy(a)) => lifecycle::pause(a, &engine()?),
        Command::Unpause(Lazy(a)) => lifecycle::unpause(a, &engine()?),
        Command::Attach(Lazy(a)) => run::attach(a, &engine()?),
        Command::Logs(Lazy(a)) => lifecycle::logs(a, &engine()?),
        Command::Exec(Lazy(a)) => exec::exec(a, &engine()?),
        Command::Top(Lazy(a)) => top::top(a, &engine()?),
        Command::Stats(Lazy(a)) => top::stats(a, &engine()?),
        Command::Monitor(Lazy(a)) => run::monitor(a, options.clone()),
        Command::Ps(Lazy(a)) => container::ps(a, &engine()?),
        Command::Rm(Lazy(a)) => container::rm(a, &engine()?),
        Command::Rename(Lazy(a)) => container::rename(a, &engine()?),
        Command::Volume(LazySub(c)) => volume::run(c, &engine()?),
        Command::Network(LazySub(c)) => network::run(c, &engine()?),
        Command::Port(Lazy(a)) => network::port(a, &engine()?),
        Command::Dns(Lazy(a)) => network::dns(a, options.clone()),
        Command::Proxy(Lazy(a)) => network::proxy(a, options.clone()),
        Command::Cp(Lazy(a)) => transfer::cp(a, &engine()?),
        Command::Diff(Lazy(a)) => transfer::diff(a, &engine()?),
        Command::Commit(Lazy(a)) => transfer::commit(a, &engine()?),
        Command::Export(Lazy(a)) => transfer::export(a, &engine()?),
        Command::Version(Lazy(a)) => system::version(a, engine().ok().as_ref()),
        Command::Info(Lazy(a)) => system::info(a, &engine()?),
    }
}

/// Asks Docker's confirmation question on the terminal; anything but y/yes declines.
fn confirm(warning: &str) -> Result<bool, CliError> {
    use std::io::{BufRead, Write};
    let mut err = std::io::stderr();
    let _ = write!(err, "{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// clap checks a command's flags only when it is built: build every (sub)command.
    #[test]
    fn command_line_definition_is_consistent() {
        fn walk(path: &mut Vec<String>, cmd: &clap::Command) {
            let mut args = vec!["berth".to_string()];
            args.extend(path.iter().cloned());
            args.push("--help".into());
            let r = super::Cli::try_parse_from(&args);
            assert!(
                matches!(&r, Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp),
                "{args:?}: {:?}",
                r.err()
            );
            for sub in cmd.get_subcommands() {
                path.push(sub.get_name().to_string());
                walk(path, sub);
                path.pop();
            }
        }
        let cmd = super::Cli::command();
        for sub in cmd.get_subcommands() {
            walk(&mut vec![sub.get_name().to_string()], sub);
        }
    }
}
