//! `cp SRC CONTAINER:DEST`: a host path archived and unpacked by the daemon's side where
//! Docker's rules place it (or a tar stream unpacked into a directory for `-`).

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use super::from::{finish, pipe};
use super::host::{absolute, source_info};
use super::inside::write_item;
use super::overwrite::refuse_tree_overwrites;
use super::paths::split_last_slash;
use super::place::{place, CopyInfo};
use super::{
    archive_error_text, go_reason, ContainerFs, Copied, CopyError, CopyOptions, CopySource,
    ExtractOptions,
};
use crate::{Engine, EngineError};

impl Engine {
    /// Copies `src` into a container (running or not) at `dest`, as `docker cp SRC CONTAINER:DEST`.
    pub fn copy_to_container(
        &self,
        src: CopySource<'_>,
        container: &str,
        dest: &str,
        opts: &CopyOptions,
    ) -> Result<Copied, CopyError> {
        let src = match src {
            CopySource::Host(p) => Source::Host(absolute(p)?),
            CopySource::Stream(input) => Source::Stream(input),
        };
        self.with_container_fs(container, move |fs| {
            let dst = destination(fs, container, dest)?;
            match src {
                Source::Stream(input) => {
                    if !dst.is_dir {
                        return Err(CopyError::Client(format!(
                            "destination \"{container}:{dest}\" must be a directory"
                        )));
                    }
                    let extract = ExtractOptions {
                        no_overwrite_dir_non_dir: true,
                        copy_uid_gid: opts.archive,
                    };
                    fs.extract(&dst.path, input, &extract)?;
                    Ok(Copied::default())
                }
                Source::Host(path) => {
                    let src = source_info(&path, opts.follow_link)?;
                    from_host(fs, &src, &dst, opts.archive)
                }
            }
        })
    }
}

enum Source<'a> {
    Stream(&'a mut (dyn std::io::Read + Send)),
    Host(String),
}

/// What the destination is, as Docker's CLI learns it from the daemon: a symlink is followed
/// once (inside the container); a path that cannot be looked up counts as missing, and the
/// unpacking says what is wrong with it.
fn destination(fs: &ContainerFs, container: &str, dest: &str) -> Result<CopyInfo, CopyError> {
    let mut info = CopyInfo {
        path: dest.to_string(),
        ..Default::default()
    };
    let mut stat = fs.stat(dest);
    if let Ok(st) = &stat {
        if st.is_symlink() {
            info.path = st.link_target.clone();
            stat = fs.stat(&info.path);
        }
    }
    if let Ok(st) = stat {
        if st.is_device() {
            return Err(CopyError::Client(format!(
                "destination \"{container}:{dest}\" must be a directory or a regular file: got a device"
            )));
        }
        info.exists = true;
        info.is_dir = st.is_dir();
    }
    Ok(info)
}

fn from_host(
    fs: &ContainerFs,
    src: &CopyInfo,
    dst: &CopyInfo,
    keep_owners: bool,
) -> Result<Copied, CopyError> {
    let spot = place(src, dst).map_err(|m| CopyError::Client(m.into()))?;
    let dir = fs.extraction_dir(&spot.dir)?;
    let (src_dir, src_last) = split_last_slash(&src.path);
    let src_dir_fd = open_host_dir(src_dir)?;
    let shown = fs
        .container_path(dir.as_fd())
        .unwrap_or_else(|_| spot.dir.clone());
    refuse_tree_overwrites(
        src_dir_fd.as_fd(),
        src_last,
        dir.as_fd(),
        &spot.name,
        &shown,
    )
    .map_err(EngineError::InvalidArgument)?;
    let (reader, writer) = pipe()?;
    let (produced, unpacked) = std::thread::scope(|s| {
        let producer = s.spawn(|| write_item(src_dir_fd.as_fd(), src_last, &spot.name, writer));
        let unpacked = fs.unpack(dir.as_fd(), reader, keep_owners);
        (producer.join(), unpacked)
    });
    let produced =
        produced.map_err(|_| EngineError::Other("the archiving thread panicked".into()))?;
    finish(produced, unpacked, |e| {
        CopyError::Client(archive_error_text(e))
    })
}

fn open_host_dir(path: &str) -> Result<OwnedFd, CopyError> {
    let path = if path.is_empty() { "/" } else { path };
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| CopyError::Client(format!("open {path}: {}", go_reason(&e.into()))))
}
