//! `cp CONTAINER:SRC DEST`: the container path archived by the daemon's side, unpacked on the
//! host where Docker's rules place it (or streamed as a tar for `-`).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

use berth_archive::{unpack_layer, ArchiveError, DiffStats, UnpackOptions};
use rustix::fs::{Mode, OFlags};

use super::host::{absolute, destination_info, validate_output_path};
use super::inside::write_item;
use super::overwrite::refuse_tree_overwrites;
use super::paths::{container_abs, rebase_name, split_last_slash};
use super::place::{place, CopyInfo};
use super::resolve::proc_fd;
use super::{archive_error_text, go_reason, ContainerFs, Copied, CopyDest, CopyError, CopyOptions};
use crate::{Engine, EngineError};

impl Engine {
    /// Copies `src` of a container (running or not) to `dest`, as `docker cp CONTAINER:SRC DEST`.
    pub fn copy_from_container(
        &self,
        container: &str,
        src: &str,
        dest: CopyDest<'_>,
        opts: &CopyOptions,
    ) -> Result<Copied, CopyError> {
        // The host's side is checked first, as Docker's CLI checks it before asking the daemon.
        let target = match dest {
            CopyDest::Host(p) => {
                let abs = absolute(p)?;
                validate_output_path(&abs)?;
                Target::Host(abs)
            }
            CopyDest::Stream(out) => Target::Stream(out),
        };
        self.with_container_fs(container, move |fs| {
            let (src, rebase) = followed(fs, src, opts.follow_link);
            let stat = fs.stat(&src)?;
            match target {
                Target::Stream(out) => {
                    let stats = fs.archive(&src, None, out)?;
                    Ok(Copied { size: stats.size })
                }
                Target::Host(dest) => {
                    let src_info = CopyInfo {
                        path: src,
                        exists: true,
                        is_dir: stat.is_dir(),
                        rebase,
                    };
                    to_host(fs, &src_info, &dest, opts.archive)
                }
            }
        })
    }
}

enum Target<'a> {
    Stream(&'a mut (dyn std::io::Write + Send)),
    Host(String),
}

/// With `-L`, a symlink source becomes what it leads to, keeping the link's name.
fn followed(fs: &ContainerFs, src: &str, follow: bool) -> (String, Option<String>) {
    if follow {
        if let Ok(st) = fs.stat(src) {
            if st.is_symlink() && !st.link_target.is_empty() {
                return rebase_name(&container_abs(src), &st.link_target);
            }
        }
    }
    (src.to_string(), None)
}

fn to_host(
    fs: &ContainerFs,
    src: &CopyInfo,
    dest: &str,
    keep_owners: bool,
) -> Result<Copied, CopyError> {
    let dst = destination_info(dest)?;
    let spot = place(src, &dst).map_err(|m| CopyError::Client(m.into()))?;
    let host_dir = open_host_dir(&spot.dir)?;
    let abs = container_abs(&src.path);
    let (src_dir, src_last) = split_last_slash(&abs);
    let src_dir_fd = fs
        .open_dir(src_dir)
        .map_err(|e| EngineError::Other(format!("lstat {abs}: {}", go_reason(&e.into()))))?;
    refuse_tree_overwrites(
        src_dir_fd.as_fd(),
        src_last,
        host_dir.as_fd(),
        &spot.name,
        &spot.dir,
    )
    .map_err(CopyError::Client)?;
    let owner = (!keep_owners).then(|| {
        (
            rustix::process::geteuid().as_raw(),
            rustix::process::getegid().as_raw(),
        )
    });
    let (reader, writer) = pipe()?;
    let (produced, unpacked) = std::thread::scope(|s| {
        let producer =
            s.spawn(move || write_item(src_dir_fd.as_fd(), src_last, &spot.name, writer));
        let unpacked = unpack_layer(
            reader,
            &proc_fd(host_dir.as_fd()),
            &UnpackOptions {
                overlay_whiteouts: false,
                owner,
            },
        );
        (producer.join(), unpacked)
    });
    let produced =
        produced.map_err(|_| EngineError::Other("the archiving thread panicked".into()))?;
    let unpacked = unpacked
        .map(drop)
        .map_err(|e| CopyError::Client(archive_error_text(&e)));
    finish(produced, unpacked, |e| {
        EngineError::Other(archive_error_text(e)).into()
    })
}

/// The outcome of a producer and a consumer joined by a pipe: a failing source explains a
/// broken stream better than the consumer's complaint about it, and the reverse.
pub(crate) fn finish(
    produced: Result<DiffStats, ArchiveError>,
    consumed: Result<(), CopyError>,
    source_error: impl FnOnce(&ArchiveError) -> CopyError,
) -> Result<Copied, CopyError> {
    match (produced, consumed) {
        (Ok(stats), Ok(())) => Ok(Copied { size: stats.size }),
        (Err(e), _) if !matches!(e, ArchiveError::Write(_)) => Err(source_error(&e)),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(())) => Err(source_error(&e)),
    }
}

/// A pipe between a tar writer and its reader on another thread.
pub(crate) fn pipe() -> Result<(File, File), CopyError> {
    let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| EngineError::io("making a pipe")(e.into()))?;
    Ok((File::from(reader), File::from(writer)))
}

/// A host directory (the user's own: symlinks followed as any program follows them).
fn open_host_dir(path: &str) -> Result<OwnedFd, CopyError> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CopyError::Client(format!("open {path}: {}", go_reason(&e.into()))))
}
