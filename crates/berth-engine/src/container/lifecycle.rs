//! `stop`, `kill`, `restart`, `wait`, `pause`, `unpause`: requests to the container's monitor.

use std::time::{Duration, Instant};

use berth_runtime::attach::{request, Request, Response};
use berth_store::{Container, ContainerStatus};

use super::config::Stored;
use super::signal::parse_signal;
use crate::{Engine, EngineError, Result};

/// Docker's default grace period before SIGKILL.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

impl Engine {
    /// `stop [-t N] [-s SIG]`: the stop signal, SIGKILL after the timeout. A stopped
    /// container is left as it is.
    pub fn stop_container(
        &self,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<String> {
        let c = self.container(name)?;
        if !c.state.status.is_live() {
            return Ok(c.id);
        }
        let stored = Stored::parse(&c.config);
        let sig = parse_signal(signal.unwrap_or(&stored.config.stop_signal), libc::SIGTERM)?;
        let secs = timeout
            .or(stored.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        let timeout = if secs < 0 {
            Duration::from_secs(365 * 24 * 3600)
        } else {
            Duration::from_secs(secs as u64)
        };
        match request(
            self.monitor_socket(&c.id),
            Request::Stop {
                timeout,
                signal: sig,
            },
        ) {
            Ok(Response::Error { message }) => return Err(EngineError::Other(message)),
            Ok(_) => {}
            // The monitor is gone (it just finished, or died): reconciliation handles it.
            Err(_) => {}
        }
        self.wait_not_live(&c.id, Duration::from_secs(5))?;
        Ok(c.id)
    }

    /// `kill [-s SIG]`.
    pub fn kill_container(&self, name: &str, signal: &str) -> Result<String> {
        let c = self.container(name)?;
        if !matches!(
            c.state.status,
            ContainerStatus::Running | ContainerStatus::Paused
        ) {
            return Err(EngineError::Conflict(format!(
                "cannot kill container: {name}: container {} is not running",
                c.id
            )));
        }
        let sig = parse_signal(signal, libc::SIGKILL)?;
        match request(self.monitor_socket(&c.id), Request::Kill { signal: sig }) {
            Ok(Response::Error { message }) => Err(EngineError::Other(message)),
            Ok(_) => Ok(c.id),
            Err(e) => Err(EngineError::Other(format!(
                "cannot kill container: {name}: {e}"
            ))),
        }
    }

    /// Kills a live container and waits until its monitor recorded the exit (`rm -f`).
    pub(crate) fn kill_and_wait(&self, c: &Container) -> Result<()> {
        let _ = request(
            self.monitor_socket(&c.id),
            Request::Stop {
                timeout: Duration::ZERO,
                signal: libc::SIGKILL,
            },
        );
        self.wait_not_live(&c.id, Duration::from_secs(10))?;
        // The monitor may still be unmounting: give it a moment, then clean up regardless.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match self.store().container(&c.id)? {
                Some(now)
                    if super::state::monitor_alive(c.state.monitor_pid, c.state.monitor_start)
                        && now.state.status != ContainerStatus::Exited =>
                {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Polls the record until the container is no longer live (or its monitor is gone, or
    /// an `--rm` container is removed).
    fn wait_not_live(&self, id: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let c = match self.container(id) {
                Ok(c) => c,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            if !c.state.status.is_live() || Instant::now() >= deadline {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// `restart [-t N]`.
    pub fn restart_container(
        &self,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<String> {
        let id = self.stop_container(name, timeout, signal)?;
        self.start_detached(&id)?;
        Ok(id)
    }

    /// `wait`: blocks until the container stops; its exit code.
    pub fn wait_container(&self, name: &str) -> Result<i32> {
        let c = self.container(name)?;
        if c.state.status.is_live() {
            if let Ok(Response::Exited { code, .. }) =
                request(self.monitor_socket(&c.id), Request::Wait)
            {
                // A restart policy may start it again; Docker's wait returns this exit.
                return Ok(code);
            }
        }
        // Not running, or the monitor went away: the record has the answer (an `--rm`
        // container that is gone exited with the code its monitor reported... or unknown).
        loop {
            let c = match self.container(&c.id) {
                Ok(c) => c,
                Err(e) if e.is_not_found() => return Ok(c.state.exit_code),
                Err(e) => return Err(e),
            };
            if !c.state.status.is_live() {
                return Ok(c.state.exit_code);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pause_container(&self, name: &str) -> Result<String> {
        let c = self.container(name)?;
        match c.state.status {
            ContainerStatus::Running => {}
            ContainerStatus::Paused => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is already paused",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is not running",
                    c.id
                )))
            }
        }
        self.monitor_call(&c, Request::Pause)?;
        self.store().update_container_state(&c.id, |s| {
            s.status = ContainerStatus::Paused;
            Ok(())
        })?;
        Ok(c.id)
    }

    pub fn unpause_container(&self, name: &str) -> Result<String> {
        let c = self.container(name)?;
        if c.state.status != ContainerStatus::Paused {
            return Err(EngineError::Conflict(format!(
                "Container {} is not paused",
                c.id
            )));
        }
        self.monitor_call(&c, Request::Resume)?;
        self.store().update_container_state(&c.id, |s| {
            s.status = ContainerStatus::Running;
            Ok(())
        })?;
        Ok(c.id)
    }

    fn monitor_call(&self, c: &Container, r: Request) -> Result<Response> {
        match request(self.monitor_socket(&c.id), r) {
            Ok(Response::Error { message }) => Err(EngineError::Other(message)),
            Ok(resp) => Ok(resp),
            Err(e) => Err(EngineError::Other(e.to_string())),
        }
    }
}
