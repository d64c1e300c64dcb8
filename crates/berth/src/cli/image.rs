//! Image commands: `image ls|inspect|tag|rm|prune|history|import|save|load` and their
//! top-level aliases (`images`, `tag`, `rmi`, ...).

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;

use berth::format::{ago, display_id, ellipsis, go_time_string, human_size};
use berth_engine::image::{
    ImageFilter, ImageSummary, ImportOptions, ListOptions, RemoveEvent, SaveFormat,
};
use berth_engine::store::Reference;
use berth_engine::Engine;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::output::{from_unix, print_inspect, print_list, write_stdout};
use super::CliError;

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images
    #[command(alias = "list", name = "ls")]
    Ls(ListArgs),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove one or more images
    #[command(alias = "remove", name = "rm")]
    Rm(RemoveArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
}

pub fn run(cmd: ImageCommand, engine: &Engine) -> Result<(), CliError> {
    match cmd {
        ImageCommand::Ls(a) => list(a, engine),
        ImageCommand::Inspect(a) => inspect_images(&a.format, &a.images, engine),
        ImageCommand::Tag(a) => tag(a, engine),
        ImageCommand::Rm(a) => remove(a, engine),
        ImageCommand::Prune(a) => prune(a, engine),
        ImageCommand::History(a) => history(a, engine),
        ImageCommand::Import(a) => import(a, engine),
        ImageCommand::Save(a) => save(a, engine),
        ImageCommand::Load(a) => load(a, engine),
    }
}

// ---- images / image ls ----

#[derive(Args)]
pub struct ListArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short, long = "filter")]
    filter: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', 'TEMPLATE')
    #[arg(long, default_value = "")]
    format: String,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

const IMAGES_TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_TABLE_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const IMAGES_HEADERS: &[(&str, &str)] = &[
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("ID", "IMAGE ID"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
    ("SharedSize", "SHARED SIZE"),
    ("UniqueSize", "UNIQUE SIZE"),
    ("VirtualSize", "VIRTUAL SIZE"),
];

pub fn list(a: ListArgs, engine: &Engine) -> Result<(), CliError> {
    let mut filters = a
        .filter
        .iter()
        .map(|f| ImageFilter::parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(r) = &a.reference {
        filters.push(ImageFilter::Reference(r.clone()));
    }
    let images = engine.list_images(&ListOptions {
        all: a.all,
        filters,
    })?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for img in &images {
        for (repo, tag, digest) in image_rows(img, a.digests) {
            let created = from_unix(img.created);
            rows.push(json!({
                "ID": display_id(&img.id, a.no_trunc),
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "CreatedSince": ago(created, now),
                "CreatedAt": go_time_string(created),
                "Size": human_size(img.size),
                "Containers": if img.containers < 0 { "N/A".to_string() } else { img.containers.to_string() },
                "SharedSize": "N/A",
                "UniqueSize": "N/A",
                "VirtualSize": human_size(img.size),
            }));
        }
    }
    let (format, default) = if a.quiet {
        ("{{.ID}}", "")
    } else if a.digests {
        (a.format.as_str(), IMAGES_TABLE_DIGESTS)
    } else {
        (a.format.as_str(), IMAGES_TABLE)
    };
    print_list(format, default, &rows, IMAGES_HEADERS)
}

/// Docker's rows for one image: one per tag (and per digest with `--digests`), digest-only
/// names as `<none>` tags, `<none>` everything for a dangling image.
fn image_rows(img: &ImageSummary, show_digests: bool) -> Vec<(String, String, String)> {
    use std::collections::BTreeMap;
    if img.repo_tags.is_empty() && img.repo_digests.is_empty() {
        return vec![("<none>".into(), "<none>".into(), "<none>".into())];
    }
    let mut tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut digests: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &img.repo_tags {
        if let Ok(r) = Reference::parse(t) {
            if let Some(tag) = r.tag() {
                tags.entry(r.familiar_name())
                    .or_default()
                    .push(tag.to_string());
            }
        }
    }
    for d in &img.repo_digests {
        if let Ok(r) = Reference::parse(d) {
            if let Some(dg) = r.digest() {
                digests
                    .entry(r.familiar_name())
                    .or_default()
                    .push(dg.to_string());
            }
        }
    }
    let mut rows = Vec::new();
    for (repo, repo_tags) in &tags {
        let ds = digests
            .remove(repo)
            .filter(|_| show_digests)
            .unwrap_or_default();
        for tag in repo_tags {
            if ds.is_empty() {
                rows.push((repo.clone(), tag.clone(), "<none>".to_string()));
            }
            for d in &ds {
                rows.push((repo.clone(), tag.clone(), d.clone()));
            }
        }
    }
    for (repo, ds) in digests {
        if show_digests {
            for d in ds {
                rows.push((repo.clone(), "<none>".into(), d));
            }
        } else {
            rows.push((repo, "<none>".into(), String::new()));
        }
    }
    rows
}

// ---- inspect ----

#[derive(Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template ('json', 'TEMPLATE')
    #[arg(short, long, default_value = "")]
    format: String,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template ('json', 'TEMPLATE')
    #[arg(short, long, default_value = "")]
    format: String,
    /// Return JSON for specified type
    #[arg(long = "type")]
    kind: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    size: bool,
    #[arg(required = true, value_name = "NAME|ID")]
    names: Vec<String>,
}

fn inspect_images(format: &str, names: &[String], engine: &Engine) -> Result<(), CliError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match engine.inspect_image(n) {
            Ok(i) => found.push(serde_json::to_value(i).unwrap_or(Value::Null)),
            // Every name is tried; the failures are reported after the output.
            Err(e) => missing.push(format!("Error response from daemon: {e}")),
        }
    }
    print_inspect(format, &found, missing)
}

/// `inspect`: any object by name — a container first, then an image, then a volume, as
/// Docker looks them up.
pub fn inspect(a: InspectArgs, engine: &Engine) -> Result<(), CliError> {
    match a.kind.as_deref() {
        None | Some("image") | Some("container") | Some("volume") => {}
        Some(other) => {
            return Err(CliError::usage(format!(
                "\"{other}\" is not a valid value for --type"
            )))
        }
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in &a.names {
        let kind = a.kind.as_deref();
        if kind.is_none() || kind == Some("container") {
            match engine.inspect_container(n, a.size) {
                Ok(v) => {
                    found.push(v);
                    continue;
                }
                Err(e) if e.is_not_found() && kind.is_none() => {}
                Err(e) => {
                    missing.push(format!("Error response from daemon: {e}"));
                    continue;
                }
            }
        }
        if kind == Some("volume") || kind.is_none() {
            if let Some(v) = engine.volume(n)? {
                found.push(serde_json::to_value(v).unwrap_or(Value::Null));
                continue;
            }
            if kind == Some("volume") {
                missing.push(format!(
                    "Error response from daemon: get {n}: no such volume"
                ));
                continue;
            }
        }
        match engine.inspect_image(n) {
            Ok(i) => found.push(serde_json::to_value(i).unwrap_or(Value::Null)),
            Err(e) if e.is_not_found() && a.kind.is_none() => {
                missing.push(format!("Error: No such object: {n}"))
            }
            Err(e) => missing.push(format!("Error response from daemon: {e}")),
        }
    }
    print_inspect(&a.format, &found, missing)
}

// ---- tag ----

#[derive(Args)]
pub struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

pub fn tag(a: TagArgs, engine: &Engine) -> Result<(), CliError> {
    let target = Reference::parse(&a.target).map_err(|e| {
        CliError::usage(format!(
            "Error parsing reference: {:?} is not a valid repository/tag: {}",
            a.target,
            reference_reason(&e)
        ))
    })?;
    if target.digest().is_some() {
        return Err(CliError::usage(
            "Error response from daemon: refusing to create a tag with a digest reference",
        ));
    }
    engine.tag_image(&a.source, &target)?;
    Ok(())
}

fn reference_reason(e: &berth_engine::store::StoreError) -> String {
    match e {
        berth_engine::store::StoreError::InvalidReference { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

// ---- rmi ----

#[derive(Args)]
pub struct RemoveArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

pub fn remove(a: RemoveArgs, engine: &Engine) -> Result<(), CliError> {
    let mut errors = Vec::new();
    for name in &a.images {
        match engine.remove_image(name, a.force, !a.no_prune) {
            Ok(events) => write_stdout(&events_text(&events, false))?,
            Err(e) => errors.push(format!("Error response from daemon: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::usage(errors.join("\n")))
    }
}

fn events_text(events: &[RemoveEvent], lower: bool) -> String {
    let mut s = String::new();
    for e in events {
        let (word, what) = match e {
            RemoveEvent::Untagged(n) => ("Untagged", n),
            RemoveEvent::Deleted(id) => ("Deleted", id),
        };
        let word = if lower {
            word.to_lowercase()
        } else {
            word.to_string()
        };
        s.push_str(&format!("{word}: {what}\n"));
    }
    s
}

// ---- image prune ----

#[derive(Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    filter: Vec<String>,
}

pub fn prune(a: PruneArgs, engine: &Engine) -> Result<(), CliError> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !super::confirm(warning)? {
        return Ok(());
    }
    let report = engine.prune_images(a.all, &a.filter)?;
    write_stdout(&prune_text(&report.events, report.reclaimed))
}

/// Docker's prune report: the removed images, then the space reclaimed.
pub fn prune_text(events: &[RemoveEvent], reclaimed: u64) -> String {
    let mut s = String::new();
    if !events.is_empty() {
        s.push_str("Deleted Images:\n");
        s.push_str(&events_text(events, true));
        s.push('\n');
    }
    s.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed)
    ));
    s
}

// ---- history ----

#[derive(Args)]
pub struct HistoryArgs {
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    image: String,
}

const HISTORY_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(a: HistoryArgs, engine: &Engine) -> Result<(), CliError> {
    let entries = engine.history(&a.image)?;
    let now = Utc::now();
    let rows: Vec<Value> = entries
        .iter()
        .map(|h| {
            let id = if h.id.starts_with("sha256:") {
                display_id(&h.id, a.no_trunc).to_string()
            } else {
                h.id.clone()
            };
            let created = from_unix(h.created);
            let created_by = h.created_by.replace(['\t', '\n'], " ");
            json!({
                "ID": id,
                "CreatedSince": if a.human { ago(created, now) } else { rfc3339(created) },
                "CreatedAt": rfc3339(created),
                "CreatedBy": if a.no_trunc { created_by } else { ellipsis(&created_by, 45) },
                "Size": if a.human { human_size(h.size) } else { h.size.to_string() },
                "Comment": h.comment,
            })
        })
        .collect();
    let format = if a.quiet {
        "{{.ID}}"
    } else {
        a.format.as_str()
    };
    print_list(format, HISTORY_TABLE, &rows, HISTORY_HEADERS)
}

/// Go's RFC 3339 for a UTC time: `2026-11-28T01:25:32Z`.
fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ---- import ----

#[derive(Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long)]
    message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    platform: Option<String>,
    /// file|URL|- (a tarball, plain, gzip or zstd)
    source: String,
    /// REPOSITORY[:TAG]
    reference: Option<String>,
}

pub fn import(a: ImportArgs, engine: &Engine) -> Result<(), CliError> {
    let input: Box<dyn Read + Send> = if a.source == "-" {
        Box::new(io::stdin())
    } else if a.source.starts_with("http://") || a.source.starts_with("https://") {
        return Err(CliError::usage(
            "Error response from daemon: importing from a URL is not supported; download the tarball and import the file",
        ));
    } else {
        Box::new(
            File::open(&a.source)
                .map_err(|e| CliError::usage(format!("open {}: {}", a.source, io_reason(&e))))?,
        )
    };
    let id = engine.import(
        input,
        &ImportOptions {
            reference: a.reference,
            changes: a.change,
            message: a.message,
            source: a.source,
        },
    )?;
    write_stdout(&format!("{id}\n"))
}

/// Go's wording for common file errors, as Docker prints them.
pub fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

// ---- save / load ----

#[derive(Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Archive format: "docker" (docker-archive, the default) or "oci" (OCI image layout)
    #[arg(long, default_value = "docker", value_parser = ["docker", "docker-archive", "oci", "oci-archive"])]
    format: String,
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
}

pub fn save(a: SaveArgs, engine: &Engine) -> Result<(), CliError> {
    let format = if a.format.starts_with("oci") {
        SaveFormat::Oci
    } else {
        SaveFormat::Docker
    };
    match &a.output {
        None => {
            let out = io::stdout();
            if out.is_terminal() {
                return Err(CliError::usage(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut w = io::BufWriter::with_capacity(1 << 20, out.lock());
            engine.save(&a.images, format, &mut w)?;
            Ok(())
        }
        Some(path) => {
            // Write beside the target and rename, so a failed save leaves no partial file.
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| CliError::usage(format!("failed to save image: {}", io_reason(&e))))?;
            {
                let mut w = io::BufWriter::with_capacity(1 << 20, tmp.as_file());
                engine.save(&a.images, format, &mut w)?;
            }
            tmp.persist(path)
                .map_err(|e| CliError::usage(format!("failed to save image: {}", e.error)))?;
            Ok(())
        }
    }
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

pub fn load(a: LoadArgs, engine: &Engine) -> Result<(), CliError> {
    let input: Box<dyn Read + Send> = match &a.input {
        Some(p) => Box::new(
            File::open(p)
                .map_err(|e| CliError::usage(format!("open {}: {}", p.display(), io_reason(&e))))?,
        ),
        None => {
            if io::stdin().is_terminal() {
                return Err(CliError::usage(
                    "requested load from stdin, but stdin is empty",
                ));
            }
            Box::new(io::stdin())
        }
    };
    let loaded = engine.load(io::BufReader::with_capacity(1 << 20, input))?;
    if a.quiet {
        return Ok(());
    }
    let mut out = String::new();
    for l in loaded {
        for (name, old) in &l.moved {
            out.push_str(&format!(
                "The image {name} already exists, renaming the old one with ID {old} to empty string\n"
            ));
        }
        if l.tags.is_empty() {
            out.push_str(&format!("Loaded image ID: {}\n", l.id));
        }
        for t in l.tags {
            out.push_str(&format!("Loaded image: {t}\n"));
        }
    }
    write_stdout(&out)
}
