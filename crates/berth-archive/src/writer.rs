//! Writing tar entries for files found on disk: PAX records where ustar falls short, hardlinks
//! detected by inode, contents streamed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{self as rfs, FileType};
use tar::{EntryType, Header};

use crate::dirfd::{self, FileStat, Xattr};
use crate::error::{ArchiveError, Result};
use crate::walk::Node;
use crate::whiteout::{self, OPAQUE_MARKER, PREFIX};

const IO_BUF: usize = 256 * 1024;
/// Largest value of a ustar numeric field of `n` octal digits.
const fn octal_max(digits: u32) -> u64 {
    (1 << (3 * digits)) - 1
}

/// What a written tar holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Number of entries written.
    pub entries: u64,
    /// Sum of the sizes of the regular files written (hardlinks counted once).
    pub size: u64,
}

/// A tar being written from files on disk.
pub(crate) struct TarOut<W: Write> {
    builder: tar::Builder<BufWriter<W>>,
    /// First name written for each multiply-linked inode, by (device, inode).
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: DiffStats,
}

impl<W: Write> TarOut<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            builder: tar::Builder::new(BufWriter::with_capacity(IO_BUF, out)),
            links: HashMap::new(),
            stats: DiffStats::default(),
        }
    }

    /// Writes the entry for `node` under the name `name` (without a trailing slash), with the
    /// given extended attributes (overlay's own are left out).
    pub(crate) fn node(&mut self, node: &Node<'_>, name: &[u8], xattrs: &[Xattr]) -> Result<()> {
        let st = node.stat;
        let shown = || String::from_utf8_lossy(name).into_owned();
        if st.kind == FileType::Socket {
            // Tar has no sockets; Docker leaves them out too.
            return Ok(());
        }
        if st.kind != FileType::Directory && st.nlink > 1 {
            if let Some(first) = self.links.get(&(st.dev, st.ino)) {
                let first = first.clone();
                return self.append(
                    name,
                    EntryType::Link,
                    st,
                    0,
                    Some(&first),
                    &[],
                    None::<io::Empty>,
                );
            }
            self.links.insert((st.dev, st.ino), name.to_vec());
        }
        match st.kind {
            FileType::Directory => {
                let mut dir_name = name.to_vec();
                dir_name.push(b'/');
                self.append(
                    &dir_name,
                    EntryType::Directory,
                    st,
                    0,
                    None,
                    xattrs,
                    None::<io::Empty>,
                )
            }
            FileType::RegularFile => {
                let fd = dirfd::open_file(node.dir, node.name)
                    .map_err(|e| ArchiveError::io("opening", shown(), e))?;
                let file = File::from(fd);
                // The size is the one we stat'ed: a file that changes meanwhile (a running
                // container) is cut or zero-padded so the tar stays well-formed.
                let data = BufReader::with_capacity(
                    IO_BUF,
                    file.take(st.size).chain(io::repeat(0)).take(st.size),
                );
                self.stats.size += st.size;
                self.append(
                    name,
                    EntryType::Regular,
                    st,
                    st.size,
                    None,
                    xattrs,
                    Some(data),
                )
            }
            FileType::Symlink => {
                let target = rfs::readlinkat(node.dir, node.name, Vec::new())
                    .map_err(|e| ArchiveError::io("reading the link", shown(), e))?;
                self.append(
                    name,
                    EntryType::Symlink,
                    st,
                    0,
                    Some(target.as_bytes()),
                    xattrs,
                    None::<io::Empty>,
                )
            }
            FileType::CharacterDevice => self.append(
                name,
                EntryType::Char,
                st,
                0,
                None,
                xattrs,
                None::<io::Empty>,
            ),
            FileType::BlockDevice => self.append(
                name,
                EntryType::Block,
                st,
                0,
                None,
                xattrs,
                None::<io::Empty>,
            ),
            FileType::Fifo => self.append(
                name,
                EntryType::Fifo,
                st,
                0,
                None,
                xattrs,
                None::<io::Empty>,
            ),
            // Sockets are gone above; `Unknown` is not a type stat reports.
            _ => Ok(()),
        }
    }

    /// `dir/.wh.NAME` for overlay's whiteout device `dir/NAME`: an empty file, mode 0600 as Docker
    /// writes it, with the device's owner and time.
    pub(crate) fn whiteout(&mut self, name: &[u8], st: &FileStat) -> Result<()> {
        let (dir, base) = match name.iter().rposition(|b| *b == b'/') {
            Some(i) => (&name[..=i], &name[i + 1..]),
            None => (&b""[..], name),
        };
        let mut wh = dir.to_vec();
        wh.extend_from_slice(PREFIX);
        wh.extend_from_slice(base);
        let st = FileStat { mode: 0o600, ..*st };
        self.append(
            &wh,
            EntryType::Regular,
            &st,
            0,
            None,
            &[],
            None::<io::Empty>,
        )
    }

    /// `dir/.wh..wh..opq` right after the opaque directory `dir`, with the directory's owner,
    /// permissions and time.
    pub(crate) fn opaque_marker(&mut self, dir: &[u8], st: &FileStat) -> Result<()> {
        let mut marker = dir.to_vec();
        marker.push(b'/');
        marker.extend_from_slice(OPAQUE_MARKER);
        let st = FileStat {
            mode: st.mode & 0o777,
            ..*st
        };
        self.append(
            &marker,
            EntryType::Regular,
            &st,
            0,
            None,
            &[],
            None::<io::Empty>,
        )
    }

    /// Ends the archive and flushes the output.
    pub(crate) fn finish(self) -> Result<DiffStats> {
        let stats = self.stats;
        let mut out = self.builder.into_inner().map_err(ArchiveError::Write)?;
        out.flush().map_err(ArchiveError::Write)?;
        Ok(stats)
    }

    #[allow(clippy::too_many_arguments)]
    fn append<R: Read>(
        &mut self,
        name: &[u8],
        kind: EntryType,
        st: &FileStat,
        size: u64,
        link: Option<&[u8]>,
        xattrs: &[Xattr],
        data: Option<R>,
    ) -> Result<()> {
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(st.mode & 0o7777);
        header.set_uid(u64::from(st.uid));
        header.set_gid(u64::from(st.gid));
        header.set_size(size);
        if u64::from(st.uid) > octal_max(7) {
            pax.push(("uid".into(), st.uid.to_string().into_bytes()));
        }
        if u64::from(st.gid) > octal_max(7) {
            pax.push(("gid".into(), st.gid.to_string().into_bytes()));
        }
        if size > octal_max(11) {
            pax.push(("size".into(), size.to_string().into_bytes()));
        }
        // Whole seconds, as Docker writes them: layer digests should not depend on
        // sub-second noise.
        match u64::try_from(st.mtime.tv_sec) {
            Ok(secs) if secs <= octal_max(11) => header.set_mtime(secs),
            _ => {
                header.set_mtime(0);
                pax.push(("mtime".into(), st.mtime.tv_sec.to_string().into_bytes()));
            }
        }
        if matches!(kind, EntryType::Char | EntryType::Block) {
            header
                .set_device_major(rfs::major(st.rdev))
                .map_err(ArchiveError::Write)?;
            header
                .set_device_minor(rfs::minor(st.rdev))
                .map_err(ArchiveError::Write)?;
        }
        if header.set_path(std::ffi::OsStr::from_bytes(name)).is_err() {
            pax.push(("path".into(), name.to_vec()));
            if let Some(ustar) = header.as_ustar_mut() {
                ustar.prefix.fill(0);
            }
            set_truncated(&mut header.as_old_mut().name, name);
        }
        if let Some(link) = link {
            if header.set_link_name_literal(link).is_err() {
                pax.push(("linkpath".into(), link.to_vec()));
                set_truncated(&mut header.as_old_mut().linkname, link);
            }
        }
        for (key, value) in xattrs {
            if whiteout::is_overlay_xattr(key) {
                continue;
            }
            let Ok(key) = std::str::from_utf8(key) else {
                tracing::warn!(entry = %String::from_utf8_lossy(name), "skipping an extended attribute whose name is not UTF-8");
                continue;
            };
            pax.push((format!("SCHILY.xattr.{key}"), value.clone()));
        }
        if !pax.is_empty() {
            self.builder
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .map_err(ArchiveError::Write)?;
        }
        header.set_cksum();
        match data {
            Some(data) => self.builder.append(&header, data),
            None => self.builder.append(&header, io::empty()),
        }
        .map_err(|e| {
            // Reading the file and writing the tar both surface here; keep the file's name.
            ArchiveError::io("archiving", String::from_utf8_lossy(name).into_owned(), e)
        })?;
        self.stats.entries += 1;
        Ok(())
    }
}

/// Puts as much of `value` as fits into a ustar field; the PAX record holds the whole.
fn set_truncated(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field.fill(0);
    field[..n].copy_from_slice(&value[..n]);
}
