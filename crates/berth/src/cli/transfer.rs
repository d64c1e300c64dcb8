//! Commands that move a container's files: `cp`, `diff`, `commit`, `export` (and their
//! `container <verb>` forms).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use berth::format::human_size;
use berth_engine::container::{CommitOptions, CopyDest, CopyError, CopyOptions, CopySource};
use berth_engine::Engine;
use clap::{ArgAction, Args};

use super::image::io_reason;
use super::output::write_stdout;
use super::CliError;

impl From<CopyError> for CliError {
    fn from(e: CopyError) -> CliError {
        match e {
            CopyError::Client(message) => CliError::usage(message),
            CopyError::Engine(e) => e.into(),
        }
    }
}

// ---- cp ----

#[derive(Args)]
pub struct CpArgs {
    /// Always follow symlinks in SRC_PATH
    #[arg(short = 'L', long)]
    follow_link: bool,
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    archive: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if
    /// no terminal is attached
    #[arg(short, long)]
    quiet: bool,
    /// CONTAINER:SRC_PATH, SRC_PATH or - (a tar stream on stdin)
    #[arg(value_name = "SRC", allow_hyphen_values = true)]
    source: String,
    /// CONTAINER:DEST_PATH, DEST_PATH or - (a tar stream on stdout)
    #[arg(value_name = "DEST", allow_hyphen_values = true)]
    destination: String,
}

pub fn cp(a: CpArgs, engine: &Engine) -> Result<(), CliError> {
    if a.source.is_empty() {
        return Err(CliError::usage("source can not be empty"));
    }
    if a.destination.is_empty() {
        return Err(CliError::usage("destination can not be empty"));
    }
    let opts = CopyOptions {
        follow_link: a.follow_link,
        archive: a.archive,
    };
    // As Docker: the summary line is for people at a terminal.
    let summary = !a.quiet && io::stdout().is_terminal();
    match (split_cp_arg(&a.source), split_cp_arg(&a.destination)) {
        ((Some(container), src), (None, dest)) => {
            if dest == "-" {
                let mut out = BufWriter::with_capacity(1 << 20, io::stdout());
                engine.copy_from_container(container, src, CopyDest::Stream(&mut out), &opts)?;
                return out
                    .flush()
                    .or_else(ignore_broken_pipe)
                    .map_err(CliError::from);
            }
            let copied = engine.copy_from_container(container, src, CopyDest::Host(dest), &opts)?;
            if summary {
                let shown = std::path::absolute(dest).unwrap_or_else(|_| dest.into());
                eprintln!(
                    "Successfully copied {} to {}",
                    human_size(copied.size),
                    shown.display()
                );
            }
            Ok(())
        }
        ((None, src), (Some(container), dest)) => {
            let copied = if src == "-" {
                let mut input = io::stdin();
                engine.copy_to_container(CopySource::Stream(&mut input), container, dest, &opts)?
            } else {
                engine.copy_to_container(CopySource::Host(src), container, dest, &opts)?
            };
            if summary {
                eprintln!(
                    "Successfully copied {} to {container}:{dest}",
                    human_size(copied.size)
                );
            }
            Ok(())
        }
        ((Some(_), _), (Some(_), _)) => Err(CliError::usage(
            "copying between containers is not supported",
        )),
        ((None, _), (None, _)) => Err(CliError::usage(
            "must specify at least one container source",
        )),
    }
}

/// `CONTAINER:PATH` or a local path. A local path with a `:` must be written `./a:b` or
/// absolute, as with Docker (and scp).
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((container, path)) if !container.starts_with('.') => (Some(container), path),
        _ => (None, arg),
    }
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

// ---- diff ----

#[derive(Args)]
pub struct DiffArgs {
    container: String,
}

pub fn diff(a: DiffArgs, engine: &Engine) -> Result<(), CliError> {
    let changes = engine.container_changes(&a.container)?;
    let out: String = changes.iter().map(|c| format!("{c}\n")).collect();
    write_stdout(&out)
}

// ---- commit ----

#[derive(Args)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    message: Option<String>,
    /// Pause container during commit
    #[arg(
        short,
        long,
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true"
    )]
    pause: bool,
    container: String,
    /// REPOSITORY[:TAG]
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

pub fn commit(a: CommitArgs, engine: &Engine) -> Result<(), CliError> {
    let opts = CommitOptions {
        reference: a.reference,
        author: a.author.unwrap_or_default(),
        message: a.message.unwrap_or_default(),
        changes: a.change,
        pause: a.pause,
    };
    let id = engine.commit_container(&a.container, &opts)?;
    write_stdout(&format!("{id}\n"))
}

// ---- export ----

#[derive(Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<String>,
    container: String,
}

pub fn export(a: ExportArgs, engine: &Engine) -> Result<(), CliError> {
    let Some(path) = a.output else {
        let out = io::stdout();
        if out.is_terminal() {
            return Err(CliError::usage(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect",
            ));
        }
        let mut w = BufWriter::with_capacity(1 << 20, out.lock());
        engine.export_container(&a.container, &mut w)?;
        return w
            .flush()
            .or_else(ignore_broken_pipe)
            .map_err(CliError::from);
    };
    let failed = |m: String| CliError::usage(format!("failed to export container: {m}"));
    let dir = Path::new(&path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        return Err(failed(format!(
            "invalid output path: directory {:?} does not exist",
            dir.display().to_string()
        )));
    }
    // Written beside the target and renamed: a failed export leaves no partial file.
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(io_reason(&e)))?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        engine.export_container(&a.container, &mut w)?;
        w.flush().map_err(|e| failed(io_reason(&e)))?;
    }
    tmp.persist(&path)
        .map_err(|e| failed(io_reason(&e.error)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_arguments_split_as_docker_splits_them() {
        assert_eq!(split_cp_arg("web:/etc/hosts"), (Some("web"), "/etc/hosts"));
        assert_eq!(split_cp_arg("web:"), (Some("web"), ""));
        assert_eq!(split_cp_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_cp_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
    }
}
