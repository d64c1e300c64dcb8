//! The process of `berth exec`: the container's own process settings (capabilities,
//! no-new-privileges, rlimits, environment) with the exec's command, user, directory
//! and terminal, as Docker derives it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec::runtime::{Process, Spec, User as OciUser};

use crate::error::{Error, Result};
use crate::spec::User;

/// What `berth exec` asks for, in Docker's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub args: Vec<String>,
    /// `-e KEY=value`: added to the container's environment, replacing the same keys.
    pub env: Vec<String>,
    /// `-w`; `None` keeps the container's working directory.
    pub cwd: Option<String>,
    /// `-u`, resolved to numbers by the engine; `None` keeps the container's user.
    pub user: Option<User>,
    /// `-t`: the process gets a pty (pass `Stdio::Console` to `exec`).
    pub terminal: bool,
}

/// The process to pass to [`super::Runtime::exec`] for a container whose spec is
/// `container` (its bundle's `config.json`).
pub fn exec_process(container: &Spec, options: &ExecOptions) -> Result<Process> {
    if options.args.is_empty() {
        return Err(Error::InvalidSpec("no command given".into()));
    }
    let mut process = container
        .process()
        .clone()
        .ok_or_else(|| Error::InvalidSpec("the container's spec has no process".into()))?;
    process.set_args(Some(options.args.clone()));
    let mut env = process.env().clone().unwrap_or_default();
    for entry in &options.env {
        let key = entry.split('=').next().unwrap_or(entry);
        env.retain(|existing| existing.split('=').next() != Some(key));
        env.push(entry.clone());
    }
    if options.terminal && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &options.cwd {
        process.set_cwd(PathBuf::from(cwd));
    }
    if let Some(user) = &options.user {
        let mut oci = OciUser::default();
        oci.set_uid(user.uid);
        oci.set_gid(user.gid);
        if !user.additional_gids.is_empty() {
            oci.set_additional_gids(Some(user.additional_gids.clone()));
        }
        process.set_user(oci);
    }
    process.set_terminal(Some(options.terminal));
    process.set_console_size(None);
    Ok(process)
}

/// The exec's process as a JSON file, which is how libcontainer takes a whole process
/// spec (runc takes it the same way); removed on drop.
pub(crate) struct ProcessFile {
    path: PathBuf,
}

impl ProcessFile {
    pub(crate) fn write(dir: &Path, process: &Process) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = dir.join(format!(
            "exec-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let json = serde_json::to_vec(process)
            .map_err(|err| Error::InvalidSpec(format!("serializing the exec process: {err}")))?;
        std::fs::write(&path, json)
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(Self { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProcessFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{build_spec, ContainerSpec};

    fn container() -> Spec {
        build_spec(&ContainerSpec {
            args: vec!["sleep".into(), "100".into()],
            env: vec!["A=1".into(), "B=2".into()],
            cwd: "/srv".into(),
            rootfs: "/tmp/rootfs".into(),
            no_new_privileges: true,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn the_exec_keeps_the_containers_settings_unless_told_otherwise() {
        let spec = container();
        let process = exec_process(
            &spec,
            &ExecOptions {
                args: vec!["env".into()],
                env: vec!["B=3".into(), "C=4".into()],
                ..Default::default()
            },
        )
        .unwrap();
        let env = process.env().clone().unwrap();
        assert!(env.contains(&"A=1".to_string()));
        assert!(env.contains(&"B=3".to_string()));
        assert!(!env.contains(&"B=2".to_string()));
        assert!(env.contains(&"C=4".to_string()));
        assert_eq!(process.cwd(), &PathBuf::from("/srv"));
        assert_eq!(process.no_new_privileges(), Some(true));
        assert_eq!(
            process.capabilities(),
            spec.process().as_ref().unwrap().capabilities()
        );
        assert_eq!(process.terminal(), Some(false));
    }

    #[test]
    fn user_cwd_and_terminal_are_the_execs() {
        let process = exec_process(
            &container(),
            &ExecOptions {
                args: vec!["id".into()],
                cwd: Some("/tmp".into()),
                user: Some(User {
                    uid: 1000,
                    gid: 100,
                    additional_gids: vec![],
                }),
                terminal: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(process.user().uid(), 1000);
        assert_eq!(process.user().gid(), 100);
        assert_eq!(process.cwd(), &PathBuf::from("/tmp"));
        assert_eq!(process.terminal(), Some(true));
        assert!(process
            .env()
            .clone()
            .unwrap()
            .contains(&"TERM=xterm".into()));
    }

    #[test]
    fn an_empty_command_is_refused() {
        assert!(exec_process(&container(), &ExecOptions::default()).is_err());
    }
}
