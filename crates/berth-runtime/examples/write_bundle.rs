//! Writes an OCI bundle with Docker's defaults for a rootfs and a command:
//! `write_bundle <rootfs> <bundle-dir> <command> [args...]`.

use berth_runtime::{build_spec, write_bundle, ContainerSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rootfs, bundle, command @ ..] = args.as_slice() else {
        return Err("usage: write_bundle <rootfs> <bundle-dir> <command> [args...]".into());
    };
    if command.is_empty() {
        return Err("no command given".into());
    }
    let spec = build_spec(&ContainerSpec {
        args: command.to_vec(),
        rootfs: std::fs::canonicalize(rootfs)?,
        readonly_rootfs: true,
        cgroup_path: Some("/berth-bench/container".into()),
        ..Default::default()
    })?;
    write_bundle(bundle.as_ref(), &spec)?;
    Ok(())
}
