//! The embedded runtime (libcontainer) against the behaviours of `support/cases.rs`.
//! Needs root, cgroups and Debian's busybox-static.

mod support;

use berth_runtime::Embedded;

runtime_cases!(Embedded::new;
    true_exits_zero,
    exit_code_is_reported,
    stdout_and_stderr_reach_the_given_fds,
    environment_and_cwd_are_applied,
    missing_command_is_not_found,
    missing_absolute_command_is_not_found,
    non_executable_command_is_permission_denied,
    default_profile_refuses_namespaces_and_mounts,
    no_new_privileges_keeps_the_filter,
    loopback_is_up_in_a_new_network_namespace,
    privileged_allows_namespaces_and_mounts,
    unconfined_seccomp_with_sys_admin_allows_mount,
    masked_paths_are_hidden,
    proc_sys_is_read_only,
    capabilities_are_dockers_default,
    cap_drop_and_add_change_the_set,
    non_root_user_has_no_effective_capabilities,
    memory_limit_is_in_the_cgroup,
    oom_score_adj_is_the_containers_alone,
    sigterm_reaches_a_trapping_init,
    sigkill_ends_the_container,
    force_delete_removes_a_running_container,
    unknown_containers_are_reported_as_such,
    tmpfs_and_bind_mounts_are_visible,
    terminal_is_a_pty_from_the_console_socket,
);

/// Containers with one profile share one compiled program, kept in the state directory;
/// another profile (here: more capabilities, so more calls allowed) gets its own.
#[test]
fn seccomp_programs_are_compiled_once_per_profile() {
    let _guard = support::serial();
    let work = support::Workdir::new();
    let runtime = Embedded::new(work.state_dir());
    let programs = || -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(work.state_dir().join(".seccomp"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    for _ in 0..2 {
        let id = support::new_id();
        let spec = work.spec(&id, &["true"]);
        let out = support::run_spec(&runtime, &work, &id, &spec);
        assert_eq!(out.status, berth_runtime::ExitStatus::Exited(0), "{out:?}");
    }
    let first = programs();
    assert_eq!(first.len(), 1, "{first:?}");
    let id = support::new_id();
    let mut spec = work.spec(&id, &["true"]);
    spec.cap_add = vec!["SYS_PTRACE".into()];
    let out = support::run_spec(&runtime, &work, &id, &spec);
    assert_eq!(out.status, berth_runtime::ExitStatus::Exited(0), "{out:?}");
    assert_eq!(programs().len(), 2);
}
