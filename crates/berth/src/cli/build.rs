//! `build` and `builder prune`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use berth::format::human_size;
use berth_engine::build::{
    BuildError, BuildOptions, ContextSource, DockerfileSource, Progress, SecretSource,
};
use berth_engine::Engine;
use clap::{Args, Subcommand};

use super::output::write_stdout;
use super::CliError;

#[derive(Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag", value_name = "NAME:TAG")]
    tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile"); "-" reads it from stdin
    #[arg(short, long, value_name = "FILE")]
    file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    build_args: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    no_cache: bool,
    /// Always attempt to pull all referenced images (berth uses local images only)
    #[arg(long)]
    pull: bool,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "FILE")]
    iidfile: Option<PathBuf>,
    /// Set type of progress output ("auto", "plain", "tty")
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "tty"])]
    progress: String,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, default_value = "default")]
    network: String,
    /// Set target platform for build (only this machine's platform)
    #[arg(long)]
    platform: Option<String>,
    /// Secret to expose to the build ("id=mysecret[,src=/local/secret]" or "id=x,env=VAR")
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// Remove intermediate containers after a successful build (always)
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    rm: bool,
    /// Always remove intermediate containers (always)
    #[arg(long, hide = true)]
    force_rm: bool,
    /// PATH | URL | -
    context: String,
}

#[derive(Subcommand)]
pub enum BuilderCommand {
    /// Remove build cache
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

pub fn build(a: BuildArgs, engine: &Engine) -> Result<(), CliError> {
    let opts = options(&a)?;
    let progress = progress_for(&a);
    let outcome = engine.build(opts, &progress).map_err(render_error)?;
    if !outcome.unused_args.is_empty() && !a.quiet {
        eprintln!(
            "[Warning] One or more build-args [{}] were not consumed",
            outcome.unused_args.join(" ")
        );
    }
    let id = outcome.image_id.to_string();
    if let Some(path) = &a.iidfile {
        std::fs::write(path, &id).map_err(CliError::from)?;
    }
    if a.quiet {
        write_stdout(&format!("{id}\n"))?;
    }
    Ok(())
}

/// `--progress`: a live view on a terminal (`auto` when stderr is one, or `tty`), plain
/// lines otherwise; nothing with `-q`.
fn progress_for(a: &BuildArgs) -> Progress {
    if a.quiet {
        return Progress::silent();
    }
    let size = rustix::termios::tcgetwinsize(std::io::stderr()).ok();
    let live = match a.progress.as_str() {
        "tty" => true,
        "auto" => size.is_some(),
        _ => false,
    };
    if !live {
        return Progress::new(Box::new(std::io::stderr()));
    }
    // `tty` asked for on something that is no terminal: the size of a common one.
    let (cols, rows) = size.map_or((80, 24), |ws| (ws.ws_col, ws.ws_row));
    let (cols, rows) = if cols == 0 || rows == 0 {
        (80, 24)
    } else {
        (cols, rows)
    };
    Progress::tty(
        Box::new(std::io::stderr()),
        usize::from(cols),
        usize::from(rows),
    )
}

fn options(a: &BuildArgs) -> Result<BuildOptions, CliError> {
    if a.file.as_deref() == Some("-") && a.context == "-" {
        return Err(CliError::usage(
            "ERROR: invalid argument: can't use stdin for both build context and dockerfile",
        ));
    }
    // A bad name is the user's to fix before anything is built, in buildx's words.
    for t in &a.tags {
        if let Err(e) = berth_engine::store::Reference::parse(t) {
            let reason = match e {
                berth_engine::store::StoreError::InvalidReference { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(CliError::usage(format!(
                "ERROR: invalid tag {t:?}: {reason}"
            )));
        }
    }
    let is_url = a.context.starts_with("http://") || a.context.starts_with("https://");
    let context = if a.context == "-" {
        ContextSource::Tar(Box::new(std::io::stdin()))
    } else if is_url {
        ContextSource::Url(a.context.clone())
    } else {
        ContextSource::Dir(PathBuf::from(&a.context))
    };
    let dockerfile = match a.file.as_deref() {
        Some("-") => {
            let mut text = Vec::new();
            std::io::stdin().read_to_end(&mut text)?;
            DockerfileSource::Text(text)
        }
        Some(f) if matches!(context, ContextSource::Dir(_)) => {
            DockerfileSource::Path(PathBuf::from(f))
        }
        Some(f) => DockerfileSource::InContext(f.to_string()),
        None => match &context {
            ContextSource::Dir(dir) => DockerfileSource::Path(default_dockerfile(dir)),
            _ => DockerfileSource::InContext("Dockerfile".to_string()),
        },
    };
    let mut build_args = BTreeMap::new();
    for arg in &a.build_args {
        match arg.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            // `--build-arg NAME` takes the value from the environment, as Docker does.
            None => {
                if let Ok(v) = std::env::var(arg) {
                    build_args.insert(arg.clone(), v);
                }
            }
        }
    }
    let labels = a
        .labels
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let network = match a.network.as_str() {
        "default" | "" => None,
        other => Some(other.to_string()),
    };
    let mut secrets = BTreeMap::new();
    for spec in &a.secrets {
        let (id, source) = parse_secret(spec)?;
        secrets.insert(id, source);
    }
    Ok(BuildOptions {
        context,
        dockerfile,
        tags: a.tags.clone(),
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache,
        pull: a.pull,
        labels,
        network,
        platform: a.platform.clone(),
        secrets,
    })
}

/// `PATH/Dockerfile`, or `PATH/dockerfile` when only that exists (as Docker looks).
fn default_dockerfile(dir: &Path) -> PathBuf {
    let upper = dir.join("Dockerfile");
    let lower = dir.join("dockerfile");
    if !upper.exists() && lower.exists() {
        lower
    } else {
        upper
    }
}

/// `id=NAME[,src=PATH|,env=VAR][,type=file|env]`; without src or env, the env var `NAME`.
fn parse_secret(spec: &str) -> Result<(String, SecretSource), CliError> {
    let mut id = None;
    let mut src = None;
    let mut env = None;
    for field in spec.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k {
            "id" => id = Some(v.to_string()),
            "src" | "source" => src = Some(v.to_string()),
            "env" => env = Some(v.to_string()),
            "type" => {}
            _ => {
                return Err(CliError::usage(format!(
                    "ERROR: invalid secret {spec:?}: unexpected key {k:?}"
                )))
            }
        }
    }
    let id = id
        .or_else(|| {
            src.as_deref()
                .and_then(|s| Path::new(s).file_name())
                .map(|n| n.to_string_lossy().into_owned())
        })
        .ok_or_else(|| {
            CliError::usage(format!("ERROR: invalid secret {spec:?}: id is required"))
        })?;
    let source = match (src, env) {
        (Some(path), _) => SecretSource::File(PathBuf::from(path)),
        (None, var) => {
            let var = var.unwrap_or_else(|| id.clone());
            let value = std::env::var(&var).map_err(|_| {
                CliError::usage(format!(
                    "ERROR: secret {id}: environment variable {var} is not set"
                ))
            })?;
            SecretSource::Value(value.into_bytes())
        }
    };
    Ok((id, source))
}

/// A failed build as BuildKit prints it: the step's last output, the Dockerfile lines, and
/// the error.
fn render_error(e: BuildError) -> CliError {
    let mut out = String::new();
    if let Some(step) = &e.step {
        out.push_str("------\n");
        out.push_str(&format!(" > {}:\n", step.name));
        for line in &step.output {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("------\n");
    }
    if let Some(x) = &e.excerpt {
        out.push_str(&format!("{}:{}\n", x.file, x.start));
        out.push_str("--------------------\n");
        for (n, text) in &x.lines {
            let mark = if (x.start..=x.end).contains(n) {
                ">>>"
            } else {
                "   "
            };
            out.push_str(&format!("{n:>4} | {mark} {text}\n"));
        }
        out.push_str("--------------------\n");
    }
    out.push_str(&format!("ERROR: failed to solve: {}", e.message));
    CliError {
        message: out,
        code: 1,
    }
}

pub fn builder(c: BuilderCommand, engine: &Engine) -> Result<(), CliError> {
    match c {
        BuilderCommand::Prune(a) => prune(a, engine),
    }
}

fn prune(a: PruneArgs, engine: &Engine) -> Result<(), CliError> {
    if !a.force {
        let warning = if a.all {
            "WARNING! This will remove all build cache."
        } else {
            "WARNING! This will remove all dangling build cache."
        };
        if !super::confirm(warning)? {
            return Ok(());
        }
    }
    let report = engine.builder_prune(a.all)?;
    let mut out = String::new();
    if !report.deleted.is_empty() {
        out.push_str("Deleted build cache objects:\n");
        for key in &report.deleted {
            out.push_str(&key[..key.len().min(25)]);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(report.reclaimed)
    ));
    write_stdout(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_from_files_and_env() {
        let (id, s) = parse_secret("id=token,src=/run/t").unwrap();
        assert_eq!(id, "token");
        assert!(matches!(s, SecretSource::File(p) if p == Path::new("/run/t")));
        std::env::set_var("BERTH_TEST_SECRET", "v");
        let (_, s) = parse_secret("id=x,env=BERTH_TEST_SECRET").unwrap();
        assert!(matches!(s, SecretSource::Value(v) if v == b"v"));
        assert!(parse_secret("src=,bogus=1").is_err());
    }
}
