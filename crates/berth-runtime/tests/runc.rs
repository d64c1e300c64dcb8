//! runc through `OciBinary` against the behaviours of `support/cases.rs`.
//! Needs root, cgroups, Debian's busybox-static and runc at /usr/sbin/runc.

mod support;

use std::path::PathBuf;

use berth_runtime::OciBinary;

const RUNC: &str = "/usr/sbin/runc";

/// `runc create` exits before the container does; the test process adopts the init.
fn runc(state_dir: PathBuf) -> OciBinary {
    berth_runtime::become_subreaper().expect("become subreaper");
    OciBinary::new(RUNC, state_dir)
}

runtime_cases!(runc;
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
