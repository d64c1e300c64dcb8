//! OCI bundles: a directory with `config.json` (the spec) next to the rootfs it names.

use std::io::Write;
use std::path::Path;

use oci_spec::runtime::Spec;

use crate::error::{Error, Result};

/// Writes `spec` as `<bundle>/config.json`, creating the directory. The file is written
/// whole under a temporary name and renamed, so a runtime never reads half of it. It is not
/// fsynced: a bundle lives in the run root, whose content means nothing after a reboot.
pub fn write_bundle(bundle: &Path, spec: &Spec) -> Result<()> {
    std::fs::create_dir_all(bundle)
        .map_err(|e| Error::io(format!("creating bundle {}", bundle.display()), e))?;
    let json = serde_json::to_vec(spec)
        .map_err(|err| Error::InvalidSpec(format!("serializing the spec: {err}")))?;
    let tmp = bundle.join(".config.json.tmp");
    let target = bundle.join("config.json");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&json)?;
        std::fs::rename(&tmp, &target)
    };
    write().map_err(|e| Error::io(format!("writing {}", target.display()), e))
}

/// The command the bundle runs (its first argument), for error messages.
pub(crate) fn command_of(bundle: &Path) -> String {
    std::fs::read(bundle.join("config.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|spec| spec["process"]["args"][0].as_str().map(str::to_string))
        .unwrap_or_default()
}
