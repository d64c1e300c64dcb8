//! Getting the build's inputs in place: the context as a directory (a tar stream or URL is
//! unpacked first), the Dockerfile and the `.dockerignore`, and the build's scratch space.

use std::fs;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use berth_build::progress::Progress;
use sha2::{Digest as _, Sha256};

use super::error::{io, BuildError};
use super::{build_dir, ContextSource, DockerfileSource};
use crate::Engine;

/// The build's own temporary directory under the store, removed when the build ends.
pub(crate) struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// The space is made when first used: a fully cached build never needs it.
    pub(crate) fn new(engine: &Engine) -> Result<Scratch, BuildError> {
        let dir = build_dir(engine)
            .join("tmp")
            .join(&crate::volume::random_hex64()[..16]);
        Ok(Scratch { dir })
    }

    /// A new empty directory in the scratch space.
    pub(crate) fn fresh(&self, prefix: &str) -> Result<PathBuf, BuildError> {
        let dir = self
            .dir
            .join(format!("{prefix}-{}", &crate::volume::random_hex64()[..12]));
        fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        Ok(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The inputs of a build, ready to be read.
pub(crate) struct Prepared {
    /// The context directory.
    pub root: PathBuf,
    pub dockerfile: Vec<u8>,
    /// How errors name the Dockerfile (`Dockerfile`, `app.Dockerfile`).
    pub dockerfile_name: String,
    pub dockerignore: Vec<u8>,
    /// Where the context's checksums are kept between builds (directory contexts only).
    pub checksum_file: Option<PathBuf>,
}

pub(crate) fn prepare(
    engine: &Engine,
    scratch: &Scratch,
    context: ContextSource,
    dockerfile: &DockerfileSource,
    progress: &Progress,
) -> Result<Prepared, BuildError> {
    let mut dockerfile_text: Option<Vec<u8>> = None;
    let (root, checksum_file) = match context {
        ContextSource::Dir(dir) => {
            let root = fs::canonicalize(&dir).map_err(|_| {
                BuildError::new(format!(
                    "unable to prepare context: path {:?} not found",
                    dir.display().to_string()
                ))
            })?;
            if !root.is_dir() {
                return Err(BuildError::new(format!(
                    "unable to prepare context: context must be a directory: {}",
                    root.display()
                )));
            }
            let key = hex::encode(Sha256::digest(root.as_os_str().as_encoded_bytes()));
            let file = build_dir(engine).join("checksums").join(key);
            (root, Some(file))
        }
        ContextSource::Tar(mut stream) => {
            let root = scratch.fresh("context")?;
            let mut head = Vec::new();
            (&mut stream)
                .take(512)
                .read_to_end(&mut head)
                .map_err(io("reading the context"))?;
            let whole = Cursor::new(head.clone()).chain(stream);
            if is_archive(&head) {
                unpack_context(whole, &root)?;
            } else {
                // Not an archive: the stream is a Dockerfile and the context is empty.
                let mut text = Vec::new();
                { whole }
                    .read_to_end(&mut text)
                    .map_err(io("reading the Dockerfile"))?;
                dockerfile_text = Some(text);
            }
            (root, None)
        }
        ContextSource::Url(url) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(BuildError::new(format!(
                    "unable to prepare context: {url}: only http(s) URLs of tar archives are supported (no git)"
                )));
            }
            let root = scratch.fresh("context")?;
            let file = scratch.fresh("download")?.join("context");
            super::fetch::download(&url, &file, None)?;
            let bytes = fs::read(&file).map_err(io("reading the downloaded context"))?;
            if is_archive(&bytes) {
                unpack_context(Cursor::new(bytes), &root)?;
            } else {
                dockerfile_text = Some(bytes);
            }
            (root, None)
        }
        ContextSource::Empty => (scratch.fresh("context")?, None),
    };

    let definition = progress.vertex("[internal] load build definition from Dockerfile");
    let (bytes, name, ignore_beside) = match (dockerfile_text, dockerfile) {
        (Some(text), DockerfileSource::InContext(_)) => (text, "Dockerfile".to_string(), None),
        (_, DockerfileSource::Text(text)) => (text.clone(), "Dockerfile".to_string(), None),
        (_, DockerfileSource::Path(path)) => {
            let bytes = fs::read(path).map_err(|e| {
                BuildError::new(format!(
                    "failed to read dockerfile: open {}: {}",
                    path.display(),
                    e.kind().to_string().to_lowercase()
                ))
            })?;
            let ignore = PathBuf::from(format!("{}.dockerignore", path.display()));
            (bytes, file_name(path), Some(ignore))
        }
        (None, DockerfileSource::InContext(rel)) => {
            let path = root.join(rel.trim_start_matches('/'));
            let path = if path.exists() || rel != "Dockerfile" {
                path
            } else {
                root.join("dockerfile")
            };
            let bytes = fs::read(&path).map_err(|_| {
                BuildError::new(format!(
                    "failed to read dockerfile: open {rel}: no such file or directory"
                ))
            })?;
            let ignore = PathBuf::from(format!("{}.dockerignore", path.display()));
            (bytes, file_name(&path), Some(ignore))
        }
    };
    definition.status(&format!("transferring dockerfile: {}B done", bytes.len()));
    definition.done();

    let ignore_vertex = progress.vertex("[internal] load .dockerignore");
    let ignore_file = ignore_beside
        .filter(|p| p.is_file())
        .unwrap_or_else(|| root.join(".dockerignore"));
    let dockerignore = match fs::read(&ignore_file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(format!("reading {}", ignore_file.display()))(e)),
    };
    ignore_vertex.status(&format!(
        "transferring context: {}B done",
        dockerignore.len()
    ));
    ignore_vertex.done();

    Ok(Prepared {
        root,
        dockerfile: bytes,
        dockerfile_name: name,
        dockerignore,
        checksum_file,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Dockerfile".to_string())
}

/// A tar, or a gzip/zstd/bzip2/xz stream (which may hold one).
pub(crate) fn is_archive(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || head.starts_with(b"BZh")
        || head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])
        || head.get(257..262) == Some(b"ustar")
}

/// Unpacks a context tar into `root`; the tar crate refuses members that would land outside.
fn unpack_context(stream: impl Read + Send, root: &Path) -> Result<(), BuildError> {
    let mut stream = stream;
    let decoded = berth_archive::decompress(&mut stream)
        .map_err(|e| BuildError::new(format!("reading the context archive: {e}")))?;
    let mut archive = tar::Archive::new(decoded);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive
        .unpack(root)
        .map_err(|e| BuildError::new(format!("unpacking the context archive: {e}")))
}
