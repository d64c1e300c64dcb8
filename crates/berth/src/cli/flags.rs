//! Parsers for Docker's flag values: sizes (`64m`), CPU counts, restart policies, env files.

use std::collections::BTreeMap;

use super::CliError;

/// Docker's `RAMInBytes`: a number with an optional binary unit (b, k, m, g, t, p; `kb`
/// and `KiB` spellings too), case-insensitive.
pub fn ram_in_bytes(s: &str) -> Result<i64, CliError> {
    let bad = || CliError::usage(format!("invalid size: '{s}'"));
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit
        .to_ascii_lowercase()
        .trim_end_matches("ib")
        .trim_end_matches('b')
    {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((n * mult) as i64)
}

/// `--cpus 1.5` → NanoCPUs.
pub fn nano_cpus(s: &str) -> Result<i64, CliError> {
    let v: f64 = s
        .parse()
        .map_err(|_| CliError::usage(format!("invalid argument \"{s}\" for \"--cpus\" flag: failed to parse {s} as a rational number")))?;
    Ok((v * 1e9) as i64)
}

/// `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub fn restart_policy(s: &str) -> Result<(String, i64), CliError> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (
            n,
            c.parse::<i64>().map_err(|_| {
                CliError::usage(
                    "invalid restart policy format: maximum retry count must be an integer",
                )
            })?,
        ),
        None => (s, 0),
    };
    match name {
        "no" | "always" | "unless-stopped" | "on-failure" => Ok((name.to_string(), count)),
        _ => Err(CliError::usage(format!(
            "invalid restart policy format: unknown policy '{name}'"
        ))),
    }
}

/// `-e KEY=VAL` (or `-e KEY`, taking the value from berth's own environment, dropped if unset).
pub fn env_values(values: &[String]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| {
            if v.contains('=') {
                Some(v.clone())
            } else {
                std::env::var(v).ok().map(|val| format!("{v}={val}"))
            }
        })
        .collect()
}

/// An `--env-file`: `KEY=VAL` or `KEY` lines; blank lines and `#` comments skipped.
pub fn env_file(path: &str) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("open {path}: {}", super::image::io_reason(&e))))?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_start())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    Ok(env_values(&lines))
}

/// `-l k=v` / `-l k` labels.
pub fn labels(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

/// `--mount type=bind,source=/a,target=/b,readonly` as Docker's CSV.
pub fn mount_spec(s: &str) -> Result<berth_engine::container::MountSpec, CliError> {
    let mut m = berth_engine::container::MountSpec {
        kind: "volume".into(),
        ..Default::default()
    };
    let mut tmpfs = berth_engine::container::TmpfsOptions::default();
    for field in s.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, ""));
        match k.to_ascii_lowercase().as_str() {
            "type" => m.kind = v.to_string(),
            "source" | "src" => m.source = v.to_string(),
            "target" | "destination" | "dst" => m.target = v.to_string(),
            "readonly" | "ro" => m.read_only = v.is_empty() || v == "true" || v == "1",
            "tmpfs-size" => tmpfs.size_bytes = ram_in_bytes(v)?,
            "tmpfs-mode" => {
                tmpfs.mode = u32::from_str_radix(v, 8)
                    .map_err(|_| CliError::usage(format!("invalid value for tmpfs-mode: {v}")))?
            }
            "bind-propagation" | "consistency" | "volume-nocopy" | "volume-driver"
            | "volume-label" | "volume-opt" => {}
            _ => {
                return Err(CliError::usage(format!(
                "invalid argument \"{s}\" for \"--mount\" flag: unexpected key '{k}' in '{field}'"
            )))
            }
        }
    }
    if m.target.is_empty() {
        return Err(CliError::usage(format!(
            "invalid argument \"{s}\" for \"--mount\" flag: target is required"
        )));
    }
    if m.kind == "tmpfs" {
        m.tmpfs_options = Some(tmpfs);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary() {
        assert_eq!(ram_in_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("512").unwrap(), 512);
        assert_eq!(ram_in_bytes("2kb").unwrap(), 2048);
        assert!(ram_in_bytes("12x").is_err());
    }

    #[test]
    fn restart_policies() {
        assert_eq!(
            restart_policy("on-failure:3").unwrap(),
            ("on-failure".into(), 3)
        );
        assert!(restart_policy("sometimes").is_err());
    }
}
