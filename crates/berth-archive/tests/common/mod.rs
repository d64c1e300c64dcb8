//! Helpers shared by the integration tests: tars written by hand, a sandbox with sentinels
//! outside the destination, and snapshots of trees to compare.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_archive::{unpack_layer, Result, UnpackOptions, UnpackStats};
use tar::{EntryType, Header};

/// A tar written entry by entry, headers filled by hand so hostile names pass unchanged.
#[derive(Default)]
pub struct RawTar {
    builder: Option<tar::Builder<Vec<u8>>>,
}

/// One hand-written entry.
pub struct Raw<'a> {
    pub name: &'a [u8],
    pub kind: EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: &'a [u8],
    pub data: &'a [u8],
    pub device: (u32, u32),
    pub pax: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Raw<'a> {
    pub fn new(name: &'a str, kind: EntryType) -> Self {
        Self {
            name: name.as_bytes(),
            kind,
            mode: if kind == EntryType::Directory {
                0o755
            } else {
                0o644
            },
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            link: b"",
            data: b"",
            device: (0, 0),
            pax: Vec::new(),
        }
    }
}

impl RawTar {
    pub fn new() -> Self {
        Self {
            builder: Some(tar::Builder::new(Vec::new())),
        }
    }

    fn b(&mut self) -> &mut tar::Builder<Vec<u8>> {
        self.builder.as_mut().unwrap()
    }

    pub fn entry(&mut self, e: Raw<'_>) -> &mut Self {
        if !e.pax.is_empty() {
            let pax = e.pax.clone();
            self.b().append_pax_extensions(pax).unwrap();
        }
        let mut h = Header::new_ustar();
        {
            let old = h.as_old_mut();
            let n = e.name.len().min(100);
            old.name[..n].copy_from_slice(&e.name[..n]);
            let n = e.link.len().min(100);
            old.linkname[..n].copy_from_slice(&e.link[..n]);
        }
        h.set_entry_type(e.kind);
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_size(e.data.len() as u64);
        h.set_device_major(e.device.0).unwrap();
        h.set_device_minor(e.device.1).unwrap();
        h.set_cksum();
        self.b().append(&h, e.data).unwrap();
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(Raw {
            data,
            ..Raw::new(name, EntryType::Regular)
        })
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(Raw::new(name, EntryType::Directory))
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(Raw {
            link: target.as_bytes(),
            mode: 0o777,
            ..Raw::new(name, EntryType::Symlink)
        })
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(Raw {
            link: target.as_bytes(),
            ..Raw::new(name, EntryType::Link)
        })
    }

    pub fn finish(&mut self) -> Vec<u8> {
        self.builder.take().unwrap().into_inner().unwrap()
    }
}

/// A temporary directory holding `dest/` (empty, to unpack into) and `outside/` (sentinels that
/// no unpacking may touch).
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("dest")).unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("file"), b"sentinel").unwrap();
        fs::create_dir(outside.join("dir")).unwrap();
        fs::write(outside.join("dir/inner"), b"inner").unwrap();
        Self { tmp }
    }

    pub fn dest(&self) -> PathBuf {
        self.tmp.path().join("dest")
    }

    pub fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    /// Everything next to `dest`: the sandbox root minus `dest` itself.
    pub fn around_dest(&self) -> Tree {
        let mut t = snapshot(self.tmp.path());
        t.0.retain(|k, _| k != "dest" && !k.starts_with("dest/"));
        t
    }

    pub fn unpack(&self, tar: &[u8]) -> Result<UnpackStats> {
        unpack_layer(tar, &self.dest(), &UnpackOptions::default())
    }
}

/// What a test compares about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desc {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub content: Vec<u8>,
    pub link: Vec<u8>,
    pub rdev: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// For files linked more than once: the first path (in sorted order) sharing the inode.
    pub same_as: Option<String>,
    pub nlink: u64,
}

/// A tree: relative path → description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree(pub BTreeMap<String, Desc>);

impl Tree {
    pub fn get(&self, path: &str) -> &Desc {
        self.0
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from {:#?}", self.0.keys()))
    }
}

pub fn xattrs_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut list: Vec<(String, Vec<u8>)> = xattr_names(path)
        .into_iter()
        .map(|k| {
            let v = xattr_get(path, &k).unwrap_or_default();
            (k, v)
        })
        .collect();
    list.sort();
    list
}

fn xattr_names(path: &Path) -> Vec<String> {
    let size = rustix::fs::llistxattr_query(path).unwrap_or(0);
    let mut buf = vec![0u8; size];
    let n = rustix::fs::llistxattr(path, &mut buf[..]).unwrap_or(0);
    buf[..n]
        .split(|b| *b == 0)
        .filter(|k| !k.is_empty())
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

pub fn xattr_get(path: &Path, key: &str) -> Option<Vec<u8>> {
    let size = rustix::fs::lgetxattr_query(path, key).ok()?;
    let mut buf = vec![0u8; size];
    let n = rustix::fs::lgetxattr(path, key, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

pub fn snapshot(root: &Path) -> Tree {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    let mut all = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let md = fs::symlink_metadata(&path).unwrap();
            if md.is_dir() {
                stack.push(path.clone());
            }
            all.push(path);
        }
    }
    all.sort();
    for path in all {
        let md = fs::symlink_metadata(&path).unwrap();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            "dir"
        } else if ft.is_symlink() {
            "symlink"
        } else if ft.is_char_device() {
            "char"
        } else if ft.is_block_device() {
            "block"
        } else if ft.is_fifo() {
            "fifo"
        } else {
            "file"
        };
        let same_as = if !ft.is_dir() && md.nlink() > 1 {
            Some(
                inodes
                    .entry((md.dev(), md.ino()))
                    .or_insert(rel.clone())
                    .clone(),
            )
        } else {
            None
        };
        out.insert(
            rel,
            Desc {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: md.mtime(),
                content: if ft.is_file() {
                    fs::read(&path).unwrap()
                } else {
                    Vec::new()
                },
                link: if ft.is_symlink() {
                    fs::read_link(&path)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec()
                } else {
                    Vec::new()
                },
                rdev: md.rdev(),
                xattrs: xattrs_of(&path),
                same_as,
                nlink: if ft.is_dir() { 0 } else { md.nlink() },
            },
        );
    }
    Tree(out)
}

/// One entry of a tar, as a test looks at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub name: String,
    pub kind: EntryType,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: String,
    pub xattrs: Vec<(String, Vec<u8>)>,
    pub data: Vec<u8>,
}

pub fn list_tar(bytes: &[u8]) -> Vec<TarEntry> {
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        let h = e.header().clone();
        let mut xattrs = Vec::new();
        if let Some(pax) = e.pax_extensions().unwrap() {
            for r in pax {
                let r = r.unwrap();
                if let Some(k) = r.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    xattrs.push((k.to_string(), r.value_bytes().to_vec()));
                }
            }
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.push(TarEntry {
            name,
            kind: h.entry_type(),
            size: e.size(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            mtime: h.mtime().unwrap(),
            link,
            xattrs,
            data,
        });
    }
    out
}

pub fn names(bytes: &[u8]) -> Vec<String> {
    list_tar(bytes).into_iter().map(|e| e.name).collect()
}
