//! The bundle the embedded runtime hands libcontainer, and the seccomp program its init
//! loads itself.
//!
//! libcontainer compiles the spec's seccomp section with libseccomp in every container's
//! init, about 12 ms for Docker's profile. Instead berth loads a program compiled once
//! ([`BpfCache`]) from its executor, right before the init waits for `start`: the same
//! point at which libcontainer loads a filter under no-new-privileges. So libcontainer is
//! given a copy of the spec without the seccomp section, in `<bundle>/embedded/`.
//!
//! Loading a filter needs no-new-privileges or CAP_SYS_ADMIN. Without no-new-privileges
//! (Docker's default) the copy gives the init CAP_SYS_ADMIN in its effective and permitted
//! sets, never in its bounding set; the executor drops it again right after loading the
//! filter, and execve could not have passed it on anyway (root's new sets come from the
//! bounding set, other users' from the empty ambient set).

use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, LinuxNamespaceType, LinuxSeccomp, Process, Spec};

use crate::error::{Error, Result};
use crate::seccomp::{compilable, BpfCache, BpfProgram};

/// The directory of the copy, inside the bundle (so it goes when the bundle goes).
const DIR: &str = "embedded";

/// A filter for the executor to load.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub program: BpfProgram,
    /// CAP_SYS_ADMIN was added only to load the filter: drop it afterwards.
    pub drop_sys_admin: bool,
}

impl Filter {
    /// Installs the filter on the calling process, then drops the capability it needed.
    pub(crate) fn install(&self) -> std::io::Result<()> {
        self.program.load()?;
        if self.drop_sys_admin {
            // Only a profile that refuses capset(2) makes this fail; execve leaves the
            // capability behind anyway, as the bounding set does not hold it.
            for set in [caps::CapSet::Effective, caps::CapSet::Permitted] {
                let _ = caps::drop(None, set, caps::Capability::CAP_SYS_ADMIN);
            }
        }
        Ok(())
    }
}

/// What to give libcontainer for `bundle`.
pub(crate) struct Prepared {
    pub bundle: PathBuf,
    /// `None`: no filter, or one libcontainer loads itself (user notification).
    pub filter: Option<Filter>,
    /// The container gets a network namespace of its own (not one to join).
    pub new_netns: bool,
    /// The command (`process.args[0]`), for error messages.
    pub command: String,
}

/// Reads `<bundle>/config.json`; with a seccomp section berth can precompile, or with
/// `netns` (a network namespace made ahead, for a spec that asks for a new one), writes the
/// copy described above and returns it with the program. The copy joins `netns` instead of
/// making a namespace.
pub(crate) fn prepare(bundle: &Path, cache: &BpfCache, netns: Option<&Path>) -> Result<Prepared> {
    let mut spec = load(bundle)?;
    let command = spec
        .process()
        .as_ref()
        .and_then(|p| p.args().as_ref())
        .and_then(|args| args.first().cloned())
        .unwrap_or_default();
    let mut new_netns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|all| {
            all.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Network && n.path().is_none())
        });
    let join_netns = netns.filter(|_| new_netns);
    let seccomp = seccomp_of(&spec).filter(compilable);
    if seccomp.is_none() && join_netns.is_none() {
        return Ok(Prepared {
            bundle: bundle.to_path_buf(),
            filter: None,
            new_netns,
            command,
        });
    }
    if let Some(mut linux) = spec.linux().clone() {
        if let (Some(path), Some(mut all)) = (join_netns, linux.namespaces().clone()) {
            for n in all.iter_mut() {
                if n.typ() == LinuxNamespaceType::Network {
                    n.set_path(Some(path.to_path_buf()));
                }
            }
            linux.set_namespaces(Some(all));
            new_netns = false;
        }
        if seccomp.is_some() {
            // Loaded by the executor instead (see the module's comment).
            linux.set_seccomp(None);
        }
        spec.set_linux(Some(linux));
    }
    let mut filter = None;
    if let Some(seccomp) = seccomp {
        let program = cache.program(&seccomp)?;
        let mut drop_sys_admin = false;
        if let Some(process) = spec.process().clone() {
            let (process, added) = with_load_privilege(process);
            drop_sys_admin = added;
            spec.set_process(Some(process));
        }
        filter = Some(Filter {
            program,
            drop_sys_admin,
        });
    }
    // The copy lives one level down: a relative rootfs must keep naming the same place.
    if let Some(mut root) = spec.root().clone() {
        if root.path().is_relative() {
            root.set_path(bundle.join(root.path()));
            spec.set_root(Some(root));
        }
    }
    let dir = bundle.join(DIR);
    write(&dir, &spec)?;
    Ok(Prepared {
        bundle: dir,
        filter,
        new_netns,
        command,
    })
}

/// The filter for a process joining the container whose libcontainer bundle is
/// `runtime_bundle` (what [`prepare`] returned, or the original bundle), and `process`
/// with the privilege to load it. `None` when the container has no filter berth loads.
pub(crate) fn joining(
    runtime_bundle: &Path,
    process: Process,
    cache: &BpfCache,
) -> Result<(Process, Option<Filter>, Option<LinuxSeccomp>)> {
    let original = original_bundle(runtime_bundle);
    let Some(seccomp) = seccomp_of(&load(original)?) else {
        return Ok((process, None, None));
    };
    if !compilable(&seccomp) {
        // Compiled in the joining process by libseccomp, as libcontainer would.
        let (process, _) = with_load_privilege(process);
        return Ok((process, None, Some(seccomp)));
    }
    let program = cache.program(&seccomp)?;
    let (process, drop_sys_admin) = with_load_privilege(process);
    Ok((
        process,
        Some(Filter {
            program,
            drop_sys_admin,
        }),
        None,
    ))
}

/// The bundle the engine wrote, given the one libcontainer recorded.
fn original_bundle(runtime_bundle: &Path) -> &Path {
    match runtime_bundle.parent() {
        Some(parent) if runtime_bundle.file_name() == Some(DIR.as_ref()) => parent,
        _ => runtime_bundle,
    }
}

fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    Spec::load(&path).map_err(|err| Error::InvalidSpec(format!("{}: {err}", path.display())))
}

fn seccomp_of(spec: &Spec) -> Option<LinuxSeccomp> {
    spec.linux().as_ref().and_then(|l| l.seccomp().clone())
}

/// `process` able to load a filter late: with CAP_SYS_ADMIN in its effective and permitted
/// sets unless it has no-new-privileges or the capability already. Returns whether the
/// capability was added.
fn with_load_privilege(mut process: Process) -> (Process, bool) {
    if process.no_new_privileges() == Some(true) {
        return (process, false);
    }
    let Some(mut caps) = process.capabilities().clone() else {
        return (process, false);
    };
    let has = |set: &Option<_>| {
        set.as_ref()
            .is_some_and(|s: &oci_spec::runtime::Capabilities| s.contains(&Capability::SysAdmin))
    };
    if has(caps.effective()) && has(caps.permitted()) {
        return (process, false);
    }
    let add = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut set = set.clone().unwrap_or_default();
        set.insert(Capability::SysAdmin);
        Some(set)
    };
    let effective = add(caps.effective());
    let permitted = add(caps.permitted());
    caps.set_effective(effective);
    caps.set_permitted(permitted);
    process.set_capabilities(Some(caps));
    (process, true)
}

/// Written whole and renamed, like the bundle itself; not fsynced (the run root is volatile).
fn write(dir: &Path, spec: &Spec) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let json = serde_json::to_vec(spec)
        .map_err(|err| Error::InvalidSpec(format!("serializing the spec: {err}")))?;
    let tmp = dir.join(".config.json.tmp");
    let target = dir.join("config.json");
    std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(&json))
        .and_then(|()| std::fs::rename(&tmp, &target))
        .map_err(|e| Error::io(format!("writing {}", target.display()), e))
}
