//! Docker's Go types, as far as JSON leaves them visible: which field names hold slices and
//! which hold maps. Go prints a nil slice as `[]` and a nil map as `map[]` where JSON has only
//! `null`, and marshals maps with sorted keys where a struct keeps its field order.

use serde_json::{Map, Value};

/// What a JSON value under this key is in Docker's Go types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NilKind {
    Slice,
    Map,
    Pointer,
}

/// Docker's API types have nil slices and maps under these field names; elsewhere a `null` is a
/// nil pointer. Keyed by field name alone: the names mean the same thing across Docker's types.
pub(crate) fn nil_kind(key: &str) -> NilKind {
    const SLICES: &[&str] = &[
        "Aliases",
        "Args",
        "Binds",
        "BlkioDeviceReadBps",
        "BlkioDeviceReadIOps",
        "BlkioDeviceWriteBps",
        "BlkioDeviceWriteIOps",
        "BlkioWeightDevice",
        "CapAdd",
        "CapDrop",
        "Cmd",
        "DNSNames",
        "DeviceCgroupRules",
        "DeviceRequests",
        "Devices",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "Entrypoint",
        "Env",
        "ExecIDs",
        "ExtraHosts",
        "GroupAdd",
        "Layers",
        "Links",
        "MaskedPaths",
        "Mounts",
        "Names",
        "OnBuild",
        "ReadonlyPaths",
        "RepoDigests",
        "RepoTags",
        "SecurityOpt",
        "Shell",
        "Test",
        "Ulimits",
        "VolumesFrom",
    ];
    const MAPS: &[&str] = &[
        "Annotations",
        "Data",
        "DriverOpts",
        "ExposedPorts",
        "Labels",
        "Networks",
        "Options",
        "Ports",
        "StorageOpt",
        "Sysctls",
        "Tmpfs",
        "Volumes",
    ];
    if SLICES.contains(&key) {
        NilKind::Slice
    } else if MAPS.contains(&key) {
        NilKind::Map
    } else {
        NilKind::Pointer
    }
}

/// Whether objects under `key` are Go maps (keys sorted when marshalled) rather than structs.
pub(crate) fn is_map(key: &str) -> bool {
    nil_kind(key) == NilKind::Map
}

/// A copy of `map` with its keys sorted.
pub(crate) fn sorted(map: &Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
