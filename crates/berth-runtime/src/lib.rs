//! berth-runtime: runs containers — OCI runtime spec generation, the per-container monitor,
//! stdio and ptys, logs, cgroups and the security defaults.
