//! `RUN [--mount=...] [--network=...] [--security=...] <command>`.

use super::command::CmdLine;
use super::flags::{Flags, Kind};
use super::mount::RunMount;
use crate::parser::{go_quote, Heredoc, Node};

/// The network a `RUN` step gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// The build's default network.
    #[default]
    Default,
    /// No network at all.
    None,
    /// The host's network namespace.
    Host,
}

/// `RUN --security=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Security {
    /// The usual container confinement.
    #[default]
    Sandbox,
    /// All capabilities, no seccomp: needs the builder to allow `security.insecure`.
    Insecure,
}

/// A build step that runs a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInstruction {
    pub command: CmdLine,
    /// Heredoc bodies. `RUN <<EOF` with the heredoc as the whole command means: run the body
    /// as a script; otherwise each body is fed to its file descriptor of the command.
    pub heredocs: Vec<Heredoc>,
    /// `--mount` flags, in order.
    pub mounts: Vec<RunMount>,
    pub network: NetworkMode,
    pub security: Security,
}

const FLAGS: &[(&str, Kind)] = &[
    ("mount", Kind::Strings),
    ("network", Kind::String),
    ("security", Kind::String),
];

pub(super) fn parse(node: &Node) -> Result<RunInstruction, String> {
    let flags = Flags::parse(&node.flags, FLAGS)?;
    if node.args.is_empty() {
        return Err("RUN requires at least one argument".to_string());
    }
    let mounts = flags
        .strings("mount")
        .iter()
        .map(|spec| RunMount::parse(spec))
        .collect::<Result<Vec<_>, _>>()?;
    let network = match flags.string("network").as_deref() {
        None | Some("default") => NetworkMode::Default,
        Some("none") => NetworkMode::None,
        Some("host") => NetworkMode::Host,
        Some(other) => return Err(format!("invalid network mode {}", go_quote(other))),
    };
    let security = match flags.string("security").as_deref() {
        None | Some("sandbox") => Security::Sandbox,
        Some("insecure") => Security::Insecure,
        Some(other) => return Err(format!("security {} is not valid", go_quote(other))),
    };
    Ok(RunInstruction {
        command: CmdLine::of(node),
        heredocs: node.heredocs.clone(),
        mounts,
        network,
        security,
    })
}
