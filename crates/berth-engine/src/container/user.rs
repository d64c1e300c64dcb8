//! `-u USER[:GROUP]` resolved against the container's own /etc/passwd and /etc/group, read
//! inside the rootfs without following any symlink out of it.

use std::io::Read;
use std::path::Path;

use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};

use crate::{EngineError, Result};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The user's home directory (for `HOME`), `/` when unknown.
    pub home: String,
}

/// Reads a file of the container, resolving the path as if `rootfs` were `/`.
pub(crate) fn read_in_root(rootfs: &Path, path: &str) -> Option<String> {
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let fd = openat2(
        &root,
        path.trim_start_matches('/'),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let mut s = String::new();
    std::fs::File::from(fd).read_to_string(&mut s).ok()?;
    Some(s)
}

/// Whether `path` is a directory of the container (resolved inside `rootfs`).
pub(crate) fn is_dir_in_root(rootfs: &Path, path: &str) -> bool {
    let Ok(root) = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return false;
    };
    openat2(
        &root,
        path.trim_start_matches('/'),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .is_ok()
}

/// `mkdir -p` of `path` inside `rootfs`, each component resolved inside it (a symlink in the
/// image never leads out of the rootfs).
pub(crate) fn mkdir_in_root(rootfs: &Path, path: &str) -> std::io::Result<()> {
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut done = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let next = format!("{done}/{comp}");
        let exists = openat2(
            &root,
            next.trim_start_matches('/'),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        )
        .is_ok();
        if !exists {
            let parent = openat2(
                &root,
                if done.is_empty() {
                    "."
                } else {
                    done.trim_start_matches('/')
                },
                OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            )?;
            match rustix::fs::mkdirat(&parent, comp, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
        }
        done = next;
    }
    Ok(())
}

/// Resolves `spec` (`name`, `uid`, `name:group`, `uid:gid`; empty = root) as Docker does:
/// names must exist in the image; numeric ids need not.
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<ResolvedUser> {
    let passwd = read_in_root(rootfs, "/etc/passwd").unwrap_or_default();
    let group = read_in_root(rootfs, "/etc/group").unwrap_or_default();
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entry = passwd
        .lines()
        .filter_map(parse_passwd)
        .find(|p| p.name == user || user.parse::<u32>().is_ok_and(|uid| uid == p.uid));
    let (uid, mut gid, name, home) = match (&entry, user.parse::<u32>()) {
        (Some(p), _) => (p.uid, p.gid, p.name.clone(), p.home.clone()),
        (None, Ok(uid)) => (uid, 0, String::new(), "/".to_string()),
        (None, Err(_)) => {
            return Err(EngineError::InvalidArgument(format!(
                "unable to find user {user}: no matching entries in passwd file"
            )))
        }
    };
    if let Some(g) = grp {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .filter_map(parse_group)
                .find(|x| x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| {
                    EngineError::InvalidArgument(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
    }
    let mut additional: Vec<u32> = Vec::new();
    if grp.is_none() && !name.is_empty() {
        for g in group.lines().filter_map(parse_group) {
            if g.members.iter().any(|m| m == &name) && g.gid != gid {
                additional.push(g.gid);
            }
        }
    }
    for g in group_add {
        let id = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .filter_map(parse_group)
                .find(|x| &x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| {
                    EngineError::InvalidArgument(format!(
                        "unable to find group {g}: no matching entries in group file"
                    ))
                })?,
        };
        additional.push(id);
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: additional,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn parse_passwd(line: &str) -> Option<PasswdEntry> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 6 {
        return None;
    }
    Some(PasswdEntry {
        name: f[0].to_string(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: f[5].to_string(),
    })
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_group(line: &str) -> Option<GroupEntry> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 3 {
        return None;
    }
    Some(GroupEntry {
        name: f[0].to_string(),
        gid: f[2].parse().ok()?,
        members: f
            .get(3)
            .map(|m| {
                m.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_by_name_and_number() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        std::fs::write(
            root.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:100:101:web:/srv:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("etc/group"),
            "root:x:0:\nweb:x:101:\nextra:x:200:web\n",
        )
        .unwrap();
        let u = resolve(root.path(), "web", &[]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone(), u.home.as_str()),
            (100, 101, vec![200], "/srv")
        );
        let u = resolve(root.path(), "1000:extra", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 200));
        assert!(resolve(root.path(), "nobody", &[]).is_err());
        assert_eq!(resolve(root.path(), "", &[]).unwrap().uid, 0);
    }

    #[test]
    fn passwd_is_read_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        // A symlink pointing at the host's file must resolve inside the rootfs instead.
        std::os::unix::fs::symlink(
            "/etc/../etc/shadow-does-not-exist",
            root.path().join("etc/passwd"),
        )
        .unwrap();
        assert_eq!(read_in_root(root.path(), "/etc/passwd"), None);
    }
}
