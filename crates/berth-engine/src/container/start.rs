//! `start` (and the second half of `run`): mount the rootfs, write the runtime bundle, and
//! hand the container to a new monitor process, which outlives this command.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use berth_runtime::monitor::{ReadyEvent, ReadyReader};
use berth_store::Container;

use super::config::Stored;
use super::prefork::Prefork;
use crate::{Engine, EngineError, Result};

/// A container being started: its monitor listens on `socket`; the start result comes
/// through [`Starting::wait`].
pub struct Starting {
    pub id: String,
    pub socket: PathBuf,
    ready: ReadyReader,
}

impl Starting {
    /// Waits until the container runs (its init's pid) or failed to start.
    pub fn wait(mut self) -> Result<i32> {
        loop {
            match self.ready.next() {
                Some(Ok(ReadyEvent::Listening { .. })) => continue,
                Some(Ok(ReadyEvent::Started { pid })) => return Ok(pid),
                Some(Ok(ReadyEvent::Error { code, message })) => {
                    return Err(EngineError::Start { code, message })
                }
                Some(Err(e)) => return Err(runtime_error(e)),
                None => {
                    return Err(EngineError::Start {
                        code: 125,
                        message: "the container's monitor ended before the container started"
                            .into(),
                    })
                }
            }
        }
    }
}

impl Engine {
    /// Starts a stopped or new container. With `wait_for_attach`, the monitor creates the
    /// container's process only once a client attached to `socket` (so nothing it prints is
    /// missed). Starting a running container is a no-op, as in Docker.
    pub fn start_container(&self, name: &str, wait_for_attach: bool) -> Result<Option<Starting>> {
        self.start_container_with(name, wait_for_attach, None)
    }

    /// [`Engine::start_container`] with a monitor forked ahead ([`super::prefork_monitor`]),
    /// which becomes the container's monitor instead of a re-executed berth.
    pub fn start_container_with(
        &self,
        name: &str,
        wait_for_attach: bool,
        prefork: Option<Prefork>,
    ) -> Result<Option<Starting>> {
        let c = self.container(name)?;
        if c.state.status.is_live() {
            return Ok(None);
        }
        let stored = Stored::parse(&c.config);
        let run_dir = self.store().container_run_dir(&c.id);
        std::fs::create_dir_all(&run_dir).map_err(EngineError::io("creating the run directory"))?;
        // A monitor that waits for its client does not touch the bundle before then, so it
        // may start up (exec, open the store, listen) while the rest is prepared here. If the
        // preparation fails, dropping it closes its pipe and it gives up.
        let mut prefork = prefork;
        let netns_ahead = prefork.as_mut().and_then(Prefork::take_netns);
        let mut launch = |wait: bool| match prefork.take() {
            Some(p) => self.launch_preforked(p, &c, wait),
            None => self.launch_monitor(&c, wait),
        };
        let early = if wait_for_attach {
            Some(launch(true)?)
        } else {
            None
        };
        self.prepare_start(&c, &stored, &run_dir.join("bundle"), netns_ahead)?;
        let launched = match early {
            Some(launched) => Ok(launched),
            None => launch(false),
        };
        match launched.and_then(|l| l.listening()) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                self.teardown_network(&c.id, &stored.host_config.network_mode);
                if let Ok(rootfs) = self.rootfs(&c) {
                    let _ = rootfs.unmount();
                }
                Err(e)
            }
        }
    }

    /// The rootfs mounted, volumes seeded, the network set up (in a namespace made ahead, if
    /// there is one) and the bundle written; on failure none of it is left.
    fn prepare_start(
        &self,
        c: &Container,
        stored: &Stored,
        bundle: &Path,
        netns_ahead: Option<super::prefork::NetnsAhead>,
    ) -> Result<()> {
        let _lock = self.lock_mount(&c.id)?;
        let mut rootfs = self.rootfs(c)?;
        rootfs.volatile = stored.host_config.auto_remove;
        // The network (with a bridge: a namespace, a veth pair, addresses; 2-4 ms, mostly the
        // kernel's) is set up on a thread while this one mounts the rootfs and seeds volumes.
        // Either side cleans up after its own failure; a failed side's error is reported,
        // the rootfs side's first, as when they ran one after the other.
        let (local, network) = std::thread::scope(|s| {
            let network = s.spawn(|| {
                // One that could not be made is made again the usual way.
                let made = netns_ahead.and_then(|h| h.join().ok()).and_then(|r| r.ok());
                self.setup_network(c, stored, made)
            });
            let local = rootfs.mount().and_then(|()| {
                self.populate_volumes(stored, &rootfs.merged)?;
                ensure_workdir(&rootfs.merged, &stored.config.working_dir)
            });
            let network = network.join().unwrap_or_else(|_| {
                Err(EngineError::Other("setting up the network panicked".into()))
            });
            (local, network)
        });
        let prepared = (|| {
            let netns = match (local, network) {
                (Ok(()), Ok(netns)) => netns,
                (Err(e), network) => {
                    if network.is_ok() {
                        self.teardown_network(&c.id, &stored.host_config.network_mode);
                    }
                    return Err(e);
                }
                (Ok(()), Err(e)) => return Err(e),
            };
            let bundle_written = (|| {
                let spec = self.container_spec(c, stored, &rootfs.merged, netns)?;
                let mut oci = berth_runtime::build_spec(&spec).map_err(runtime_error)?;
                if !stored.config.domainname.is_empty() {
                    oci.set_domainname(Some(stored.config.domainname.clone()));
                }
                std::fs::create_dir_all(bundle).map_err(EngineError::io("creating the bundle"))?;
                berth_runtime::write_bundle(bundle, &oci).map_err(runtime_error)
            })();
            if bundle_written.is_err() {
                self.teardown_network(&c.id, &stored.host_config.network_mode);
            }
            bundle_written
        })();
        if prepared.is_err() {
            let _ = rootfs.unmount();
        }
        prepared
    }

    /// `start` without attaching: returns once the container runs.
    pub fn start_detached(&self, name: &str) -> Result<String> {
        self.start_detached_with(name, None)
    }

    /// [`Engine::start_detached`] with a monitor forked ahead.
    pub fn start_detached_with(&self, name: &str, prefork: Option<Prefork>) -> Result<String> {
        let c = self.container(name)?;
        if let Some(s) = self.start_container_with(&c.id, false, prefork)? {
            s.wait()?;
        }
        Ok(c.id)
    }

    /// Hands container `c` to a monitor forked ahead.
    fn launch_preforked(&self, prefork: Prefork, c: &Container, wait: bool) -> Result<Launched> {
        let (pid, ready) = prefork.launch(&c.id, wait)?;
        Ok(Launched {
            first: FirstProcess::Forked(pid),
            ready: Some(ReadyReader::new(ready)),
            id: c.id.clone(),
            socket: self.monitor_socket(&c.id),
        })
    }

    /// Re-executes this binary as the container's monitor; [`Launched::listening`] waits
    /// until it listens.
    fn launch_monitor(&self, c: &Container, wait_for_attach: bool) -> Result<Launched> {
        let exe = std::env::current_exe().map_err(EngineError::io("finding the berth binary"))?;
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| EngineError::io("creating a pipe")(e.into()))?;
        let mut cmd = Command::new(exe);
        cmd.args(self.monitor_args(&c.id, wait_for_attach))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let write_fd = write.as_raw_fd();
        // SAFETY: between fork and exec only async-signal-safe calls: dup2 of an fd we own
        // onto 3, which also clears its close-on-exec flag.
        unsafe {
            cmd.pre_exec(move || {
                if write_fd == 3 {
                    let flags = libc::fcntl(3, libc::F_GETFD);
                    libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                } else if libc::dup2(write_fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(EngineError::io("starting the container's monitor"))?;
        drop(write);
        Ok(Launched {
            first: FirstProcess::Spawned(child),
            ready: Some(ReadyReader::new(read)),
            id: c.id.clone(),
            socket: self.monitor_socket(&c.id),
        })
    }

    /// The arguments a monitor of container `id` is started with (after the program's
    /// name); the readiness pipe is its fd 3.
    pub fn monitor_args(&self, id: &str, wait_for_attach: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--root".into(),
            self.root().into(),
            "--runroot".into(),
            self.runroot().into(),
            "__monitor".into(),
            id.into(),
            "--ready-fd".into(),
            "3".into(),
        ];
        if wait_for_attach {
            args.push("--wait-for-attach".into());
        }
        args
    }

    pub fn monitor_socket(&self, id: &str) -> PathBuf {
        self.store().container_run_dir(id).join("monitor.sock")
    }
}

/// A monitor process on its way up.
struct Launched {
    /// Its first process, which forks the monitor away and exits at once.
    first: FirstProcess,
    ready: Option<ReadyReader>,
    id: String,
    socket: PathBuf,
}

/// A monitor's first process: re-executed berth, or forked ahead.
enum FirstProcess {
    Spawned(Child),
    Forked(rustix::process::Pid),
}

impl FirstProcess {
    fn wait(&mut self) {
        match self {
            FirstProcess::Spawned(child) => {
                let _ = child.wait();
            }
            FirstProcess::Forked(pid) => {
                let (pid, options) = (Some(*pid), rustix::process::WaitOptions::empty());
                while let Err(rustix::io::Errno::INTR) = rustix::process::waitpid(pid, options) {}
            }
        }
    }
}

impl Launched {
    /// Waits until the monitor listens on its socket.
    fn listening(mut self) -> Result<Starting> {
        self.first.wait();
        let Some(mut ready) = self.ready.take() else {
            return Err(EngineError::Other("the monitor's pipe is gone".into()));
        };
        match ready.next() {
            Some(Ok(ReadyEvent::Listening { .. })) => {}
            Some(Ok(ReadyEvent::Error { code, message })) => {
                return Err(EngineError::Start { code, message })
            }
            Some(Err(e)) => return Err(runtime_error(e)),
            Some(Ok(ReadyEvent::Started { .. })) | None => {
                return Err(EngineError::Start {
                    code: 125,
                    message: "the container's monitor did not start".into(),
                })
            }
        }
        Ok(Starting {
            id: std::mem::take(&mut self.id),
            socket: std::mem::take(&mut self.socket),
            ready,
        })
    }
}

impl Drop for Launched {
    /// Given up (the preparation failed): the closed pipe tells the monitor to end without
    /// creating anything; its first process is reaped.
    fn drop(&mut self) {
        self.ready = None;
        self.first.wait();
    }
}

impl Engine {
    /// A new (empty) volume gets what the image has at its mount point, as Docker copies it.
    fn populate_volumes(&self, stored: &Stored, merged: &std::path::Path) -> Result<()> {
        for m in stored
            .mounts
            .iter()
            .filter(|m| m.kind == "volume" && !m.mode.contains("nocopy"))
        {
            let data = std::path::Path::new(&m.source);
            let empty = std::fs::read_dir(data)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if !empty || !super::user::is_dir_in_root(merged, &m.destination) {
                continue;
            }
            copy_tree(merged, &m.destination, data).map_err(|e| {
                EngineError::Other(format!(
                    "copying the image's {} into volume {}: {e}",
                    m.destination, m.name
                ))
            })?;
        }
        Ok(())
    }
}

/// Copies `path` of the rootfs (resolved inside it) into the empty directory `dest`, keeping
/// owners, modes and links: a tar stream from one safe walker into the safe unpacker.
fn copy_tree(
    root: &std::path::Path,
    path: &str,
    dest: &std::path::Path,
) -> std::result::Result<(), String> {
    let (reader, writer) = std::io::pipe().map_err(|e| e.to_string())?;
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            berth_archive::write_tree(
                root,
                writer,
                &berth_archive::TreeOptions {
                    path: Some(std::path::PathBuf::from(path)),
                    name: Some(String::new()),
                },
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        });
        let opts = berth_archive::UnpackOptions {
            overlay_whiteouts: false,
            ..Default::default()
        };
        let unpacked = berth_archive::unpack_layer(reader, dest, &opts)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err("the copy thread panicked".into()));
        produced.and(unpacked)
    })
}

/// Docker creates a missing working directory (root-owned) before the container starts.
fn ensure_workdir(merged: &std::path::Path, dir: &str) -> Result<()> {
    if dir.is_empty() || dir == "/" {
        return Ok(());
    }
    super::user::mkdir_in_root(merged, dir)
        .map_err(|e| EngineError::Other(format!("creating the working directory {dir}: {e}")))
}

pub(crate) fn runtime_error(e: berth_runtime::Error) -> EngineError {
    EngineError::Other(e.to_string())
}
