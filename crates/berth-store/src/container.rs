//! Container records: identity, name, image, the config the engine wrote (opaque JSON here),
//! and the state the monitor keeps up to date. The container's directories live under
//! `containers/<id>/`; its layer stack is pinned by `top_layer` against garbage collection.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, Transaction};

use crate::digest::Digest;
use crate::error::{Result, StoreError};
use crate::store::{Lease, Store};

/// Where a container is in its life (Docker's `State.Status` words).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Status {
        match s {
            "running" => Status::Running,
            "paused" => Status::Paused,
            "restarting" => Status::Restarting,
            "removing" => Status::Removing,
            "exited" => Status::Exited,
            "dead" => Status::Dead,
            _ => Status::Created,
        }
    }

    /// A monitor is (supposed to be) looking after the container.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Restarting)
    }
}

/// The mutable state of a container.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub status: Status,
    pub pid: i32,
    pub monitor_pid: i32,
    /// Start time of the monitor (clock ticks since boot, /proc/<pid>/stat field 22), so a
    /// reused pid is not taken for the monitor.
    pub monitor_start: u64,
    pub exit_code: i32,
    pub error: String,
    pub oom_killed: bool,
    pub started_at: String,
    pub finished_at: String,
    pub restart_count: i64,
    pub manually_stopped: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Created,
            pid: 0,
            monitor_pid: 0,
            monitor_start: 0,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: String::new(),
            finished_at: String::new(),
            restart_count: 0,
            manually_stopped: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Container {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image_id: Digest,
    /// The image as the user named it (`Config.Image`).
    pub image: String,
    pub top_layer: Option<Digest>,
    pub created: String,
    /// The engine's JSON (Docker's Config and HostConfig, and more).
    pub config: String,
    pub state: State,
}

const COLUMNS: &str = "id, name, image_id, image, top_layer, created, config, status, pid, monitor_pid,
    monitor_start, exit_code, error, oom_killed, started_at, finished_at, restart_count, manually_stopped";

impl Store {
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.root().join("containers").join(id)
    }

    /// Runtime files of a container (monitor socket, bundle).
    pub fn container_run_dir(&self, id: &str) -> PathBuf {
        self.runroot().join(id)
    }

    /// Records a new container. A name already taken is Docker's conflict error.
    pub fn insert_container(&self, _lease: &Lease, c: &Container) -> Result<()> {
        self.db().write(|tx| {
            let taken: Option<String> = tx
                .query_row("SELECT id FROM containers WHERE name = ?1", [&c.name], |r| r.get(0))
                .optional()?;
            if let Some(other) = taken {
                return Err(StoreError::Conflict(format!(
                    "Conflict. The container name \"/{}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name.",
                    c.name
                )));
            }
            tx.execute(
                &format!("INSERT INTO containers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"),
                params![
                    c.id,
                    c.name,
                    c.image_id.to_string(),
                    c.image,
                    c.top_layer.as_ref().map(Digest::to_string),
                    c.created,
                    c.config,
                    c.state.status.as_str(),
                    c.state.pid,
                    c.state.monitor_pid,
                    c.state.monitor_start as i64,
                    c.state.exit_code,
                    c.state.error,
                    c.state.oom_killed,
                    c.state.started_at,
                    c.state.finished_at,
                    c.state.restart_count,
                    c.state.manually_stopped,
                ],
            )?;
            Ok(())
        })
    }

    pub fn containers(&self) -> Result<Vec<Container>> {
        self.db().read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM containers ORDER BY created DESC, id"
            ))?;
            let rows = stmt.query_map([], row_to_container)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn container(&self, id: &str) -> Result<Option<Container>> {
        self.db().read(|tx| load(tx, id))
    }

    /// Finds a container as Docker does: full ID, exact name (with or without `/`), or a
    /// unique ID prefix.
    pub fn resolve_container(&self, s: &str) -> Result<Container> {
        let not_found = || StoreError::ContainerNotFound(s.to_string());
        if s.is_empty() {
            return Err(not_found());
        }
        self.db().read(|tx| {
            if let Some(c) = load(tx, s)? {
                return Ok(c);
            }
            let name = s.strip_prefix('/').unwrap_or(s);
            let by_name = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1"),
                    [name],
                    row_to_container,
                )
                .optional()?;
            if let Some(c) = by_name {
                return Ok(c);
            }
            if s.bytes().all(|b| b.is_ascii_hexdigit()) && s.len() < 64 {
                let prefix = s.to_ascii_lowercase();
                let mut stmt = tx.prepare(&format!(
                    "SELECT {COLUMNS} FROM containers WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2"
                ))?;
                let found: Vec<Container> = stmt
                    .query_map([prefix.clone(), format!("{prefix}g")], row_to_container)?
                    .collect::<rusqlite::Result<_>>()?;
                match found.len() {
                    1 => return found.into_iter().next().ok_or_else(not_found),
                    0 => {}
                    _ => return Err(StoreError::Ambiguous(s.to_string())),
                }
            }
            Err(not_found())
        })
    }

    /// Replaces the state of a container; returns false if it no longer exists.
    pub fn set_container_state(&self, id: &str, s: &State) -> Result<bool> {
        self.db().write(|tx| write_state(tx, id, s))
    }

    /// Reads, changes and writes the state in one transaction.
    pub fn update_container_state<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut State) -> Result<T>,
    ) -> Result<Option<T>> {
        self.db().write(|tx| {
            let Some(mut c) = load(tx, id)? else {
                return Ok(None);
            };
            let out = f(&mut c.state)?;
            write_state(tx, id, &c.state)?;
            Ok(Some(out))
        })
    }

    pub fn set_container_config(&self, id: &str, config: &str) -> Result<()> {
        self.db().write(|tx| {
            tx.execute(
                "UPDATE containers SET config = ?2 WHERE id = ?1",
                params![id, config],
            )?;
            Ok(())
        })
    }

    pub fn rename_container(&self, id: &str, new_name: &str) -> Result<()> {
        self.db().write(|tx| {
            let taken: Option<String> = tx
                .query_row("SELECT id FROM containers WHERE name = ?1", [new_name], |r| r.get(0))
                .optional()?;
            if let Some(other) = taken {
                return Err(StoreError::Conflict(format!(
                    "Conflict. The container name \"/{new_name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            tx.execute("UPDATE containers SET name = ?2 WHERE id = ?1", params![id, new_name])?;
            Ok(())
        })
    }

    /// Removes the record (and its volume links); the caller removes the directories.
    pub fn delete_container_record(&self, id: &str) -> Result<bool> {
        self.db()
            .write(|tx| Ok(tx.execute("DELETE FROM containers WHERE id = ?1", [id])? > 0))
    }

    /// Containers created from an image.
    pub fn containers_of_image(&self, image: &Digest) -> Result<Vec<Container>> {
        self.db().read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {COLUMNS} FROM containers WHERE image_id = ?1"
            ))?;
            let rows = stmt.query_map([image.to_string()], row_to_container)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn write_state(tx: &Transaction, id: &str, s: &State) -> Result<bool> {
    let n = tx.execute(
        "UPDATE containers SET status=?2, pid=?3, monitor_pid=?4, monitor_start=?5, exit_code=?6,
         error=?7, oom_killed=?8, started_at=?9, finished_at=?10, restart_count=?11, manually_stopped=?12
         WHERE id = ?1",
        params![
            id,
            s.status.as_str(),
            s.pid,
            s.monitor_pid,
            s.monitor_start as i64,
            s.exit_code,
            s.error,
            s.oom_killed,
            s.started_at,
            s.finished_at,
            s.restart_count,
            s.manually_stopped
        ],
    )?;
    Ok(n > 0)
}

fn load(tx: &Transaction, id: &str) -> Result<Option<Container>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"),
            [id],
            row_to_container,
        )
        .optional()?)
}

fn row_to_container(r: &rusqlite::Row) -> rusqlite::Result<Container> {
    let digest = |i: usize, s: String| {
        s.parse::<Digest>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    Ok(Container {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: digest(2, r.get(2)?)?,
        image: r.get(3)?,
        top_layer: r
            .get::<_, Option<String>>(4)?
            .map(|s| digest(4, s))
            .transpose()?,
        created: r.get(5)?,
        config: r.get(6)?,
        state: State {
            status: Status::parse(&r.get::<_, String>(7)?),
            pid: r.get(8)?,
            monitor_pid: r.get(9)?,
            monitor_start: r.get::<_, i64>(10)? as u64,
            exit_code: r.get(11)?,
            error: r.get(12)?,
            oom_killed: r.get(13)?,
            started_at: r.get(14)?,
            finished_at: r.get(15)?,
            restart_count: r.get(16)?,
            manually_stopped: r.get(17)?,
        },
    })
}
