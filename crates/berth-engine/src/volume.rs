//! Volumes: named directories under `volumes/<name>/_data` that outlive containers
//! (`volume create|ls|inspect|rm|prune`, `-v NAME:/path`, anonymous volumes for an image's
//! VOLUME paths).

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use berth_store::now_rfc3339;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::{Engine, EngineError, Result};

/// A volume as `volume inspect` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    pub created_at: String,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub scope: String,
    /// Not part of Docker's output: an anonymous volume (removed by `rm -v`, `volume prune`).
    #[serde(skip)]
    pub anonymous: bool,
}

impl Engine {
    pub fn volume_path(&self, name: &str) -> PathBuf {
        self.root().join("volumes").join(name).join("_data")
    }

    /// Creates a volume (an existing one of that name is returned as it is, as Docker does).
    pub fn create_volume(
        &self,
        name: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        let anonymous = name.is_none();
        let name = match name {
            Some(n) => validate_volume_name(n)?,
            None => random_hex64(),
        };
        if let Some(v) = self.volume(&name)? {
            return Ok(v);
        }
        let path = self.volume_path(&name);
        fs::create_dir_all(&path).map_err(EngineError::io(format!("creating volume {name}")))?;
        let created = now_rfc3339();
        self.store().db().write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO volumes (name, driver, created, labels, options, anonymous)
                 VALUES (?1, 'local', ?2, ?3, ?4, ?5)",
                params![
                    name,
                    created,
                    serde_json::to_string(&labels).unwrap_or_default(),
                    serde_json::to_string(&options).unwrap_or_default(),
                    anonymous
                ],
            )?;
            Ok(())
        })?;
        self.volume(&name)?
            .ok_or_else(|| EngineError::NotFound(format!("get {name}: no such volume")))
    }

    pub fn volume(&self, name: &str) -> Result<Option<Volume>> {
        let row = self.store().db().read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT name, driver, created, labels, options, anonymous FROM volumes WHERE name = ?1",
                    [name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, bool>(5)?,
                        ))
                    },
                )
                .optional()?)
        })?;
        Ok(row.map(
            |(name, driver, created, labels, options, anonymous)| Volume {
                created_at: created,
                driver,
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                mountpoint: self.volume_path(&name).display().to_string(),
                options: serde_json::from_str(&options).unwrap_or_default(),
                scope: "local".into(),
                anonymous,
                name,
            },
        ))
    }

    pub fn volumes(&self) -> Result<Vec<Volume>> {
        let names: Vec<String> = self.store().db().read(|tx| {
            let mut stmt = tx.prepare("SELECT name FROM volumes ORDER BY name")?;
            let v = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(v)
        })?;
        let mut out = Vec::new();
        for n in names {
            out.extend(self.volume(&n)?);
        }
        Ok(out)
    }

    /// Containers using a volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.store().db().read(|tx| {
            let mut stmt =
                tx.prepare("SELECT container_id FROM container_volumes WHERE volume = ?1")?;
            let v = stmt
                .query_map([name], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(v)
        })?)
    }

    /// `volume rm`: refused while a container uses it (unless `force` and no container at all).
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let Some(v) = self.volume(name)? else {
            if force {
                return Ok(());
            }
            return Err(EngineError::NotFound(format!("get {name}: no such volume")));
        };
        let users = self.volume_users(&v.name)?;
        if let Some(c) = users.first() {
            return Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{c}]"
            )));
        }
        self.store().db().write(|tx| {
            tx.execute("DELETE FROM volumes WHERE name = ?1", [&v.name])?;
            Ok(())
        })?;
        let dir = self.root().join("volumes").join(&v.name);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(EngineError::io(format!("removing volume {name}"))(e))
            }
            _ => Ok(()),
        }
    }

    /// `volume prune`: unused anonymous volumes (all unused ones with `all`). Returns the names
    /// removed and the bytes reclaimed.
    pub fn prune_volumes(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let mut removed = Vec::new();
        let mut reclaimed = 0;
        for v in self.volumes()? {
            if !(all || v.anonymous) || !self.volume_users(&v.name)?.is_empty() {
                continue;
            }
            reclaimed += dir_size(&self.volume_path(&v.name));
            self.remove_volume(&v.name, false)?;
            removed.push(v.name);
        }
        Ok((removed, reclaimed))
    }
}

/// Bytes of regular files under a directory (not following symlinks).
pub(crate) fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = fs::read_dir(&p) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.len();
            }
        }
    }
    total
}

fn validate_volume_name(n: &str) -> Result<String> {
    let b = n.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(n.to_string())
    } else {
        Err(EngineError::InvalidArgument(format!(
            "create {n}: \"{n}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        )))
    }
}

/// 64 random hex characters: container IDs and anonymous volume names.
pub(crate) fn random_hex64() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex_encode(&b)
}

fn hex_encode(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}
