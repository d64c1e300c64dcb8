//! `RUN --mount=type=cache,target=/root/.cache,...`: the mount options, checked.

use super::suggest::with_suggestion;

/// What a `RUN --mount` mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// Files from the context or another stage (`from=`), read-only by default.
    Bind,
    /// A persistent cache directory shared between builds.
    Cache,
    /// An empty in-memory file system.
    Tmpfs,
    /// A build secret as a file or (`env=`) an environment variable.
    Secret,
    /// The SSH agent socket.
    Ssh,
}

impl MountType {
    const NAMES: [&'static str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];

    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value.to_lowercase().as_str() {
            "bind" => MountType::Bind,
            "cache" => MountType::Cache,
            "tmpfs" => MountType::Tmpfs,
            "secret" => MountType::Secret,
            "ssh" => MountType::Ssh,
            _ => {
                return Err(with_suggestion(
                    format!("unsupported mount type {}", crate::parser::go_quote(value)),
                    value,
                    &Self::NAMES,
                    true,
                ))
            }
        })
    }

    /// The name used in Dockerfiles.
    pub fn as_str(&self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share one cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    /// Several writers at once (the default).
    Shared,
    /// A writer gets its own copy when the cache is in use.
    Private,
    /// Writers wait for each other.
    Locked,
}

impl CacheSharing {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value.to_lowercase().as_str() {
            "shared" => CacheSharing::Shared,
            "private" => CacheSharing::Private,
            "locked" => CacheSharing::Locked,
            _ => {
                return Err(with_suggestion(
                    format!(
                        "unsupported sharing value {}",
                        crate::parser::go_quote(value)
                    ),
                    value,
                    &["shared", "private", "locked"],
                    true,
                ))
            }
        })
    }
}

/// One `RUN --mount`, options checked as BuildKit checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// `from=`: a stage name, an image or a named context to take files from.
    pub from: Option<String>,
    /// `source=`/`src=`: the path in `from` (or the secret's id for secrets).
    pub source: Option<String>,
    /// `target=`/`dst=`/`destination=`: the mount point in the container.
    pub target: Option<String>,
    /// Explicit `ro`/`rw`, or the type's default: bind and secret and ssh read-only, cache and
    /// tmpfs writable.
    pub read_only: bool,
    /// `size=` of a tmpfs, in bytes.
    pub size_limit: Option<u64>,
    /// `id=`: the cache or secret id.
    pub id: Option<String>,
    pub sharing: Option<CacheSharing>,
    /// `required`: fail when the secret or ssh socket is not provided.
    pub required: bool,
    /// `env=`: expose a secret as this environment variable.
    pub env: Option<String>,
    /// `mode=` (octal), `uid=`, `gid=` of a cache, secret or ssh mount.
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// A `--mount` flag as written, and its options once they can be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    /// The flag's value, e.g. `type=cache,target=/root/.cache`.
    pub spec: String,
    /// The checked options; `None` while the spec references variables (`uid=$UID`), which
    /// only the build can expand: see [`RunMount::expand`].
    pub mount: Option<Mount>,
}

impl RunMount {
    /// Reads a `--mount` value at parse time: fully checked when it has no `$`, otherwise
    /// only checked for a `from=` with a variable (BuildKit refuses that: stages must be
    /// named statically).
    pub(super) fn parse(spec: &str) -> Result<Self, String> {
        if !spec.contains('$') {
            let mount = parse_mount(spec, &mut |value| Ok(value.to_string()))?;
            return Ok(RunMount {
                spec: spec.to_string(),
                mount: Some(mount),
            });
        }
        for field in fields(spec)? {
            if let Some((key, value)) = field.split_once('=') {
                let dollar = value.find('$');
                if key.eq_ignore_ascii_case("from") && dollar.is_some_and(|i| i + 1 != value.len())
                {
                    return Err(format!(
                        "'{}' doesn't support variable expansion, define alias stage instead",
                        key.to_lowercase()
                    ));
                }
            }
        }
        Ok(RunMount {
            spec: spec.to_string(),
            mount: None,
        })
    }

    /// Checks the options with every value passed through `expand` (the build's variable
    /// expansion for this step).
    pub fn expand(
        &self,
        expand: &mut dyn FnMut(&str) -> Result<String, String>,
    ) -> Result<Mount, String> {
        parse_mount(&self.spec, expand)
    }
}

/// The comma-separated fields of a mount spec (CSV: a field may be quoted to hold commas).
fn fields(spec: &str) -> Result<Vec<String>, String> {
    if spec.is_empty() {
        return Ok(vec![String::new()]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(spec.as_bytes());
    let mut record = csv::StringRecord::new();
    let found = reader
        .read_record(&mut record)
        .map_err(|err| format!("failed to parse csv mounts: {err}"))?;
    if !found {
        return Ok(vec![String::new()]);
    }
    Ok(record.iter().map(str::to_string).collect())
}

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

fn parse_mount(
    spec: &str,
    expand: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Mount, String> {
    let mut m = Mount {
        kind: MountType::Bind,
        from: None,
        source: None,
        target: None,
        read_only: false,
        size_limit: None,
        id: None,
        sharing: None,
        required: false,
        env: None,
        mode: None,
        uid: None,
        gid: None,
    };
    // Whether ro/rw was left to the type's default.
    let mut read_only_given = false;
    let secret_like = |m: &Mount| matches!(m.kind, MountType::Secret | MountType::Ssh);
    let unexpected = |key: &str, m: &Mount| {
        format!(
            "unexpected key '{key}' for mount type '{}'",
            m.kind.as_str()
        )
    };
    let invalid_value = |key: &str, value: &str| format!("invalid value for {key}: {value}");

    for field in fields(spec)? {
        let Some((key, value)) = field.split_once('=') else {
            match field.to_lowercase().as_str() {
                "readonly" | "ro" => {
                    m.read_only = true;
                    read_only_given = true;
                }
                "readwrite" | "rw" => {
                    m.read_only = false;
                    read_only_given = true;
                }
                "required" if secret_like(&m) => m.required = true,
                "required" => return Err(unexpected("required", &m)),
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let key = key.to_lowercase();
        let value = expand(value)?;
        match key.as_str() {
            "type" => m.kind = MountType::parse(&value)?,
            "from" => m.from = Some(value),
            "source" | "src" => m.source = Some(value),
            "target" | "dst" | "destination" => m.target = Some(value),
            "readonly" | "ro" => {
                m.read_only = parse_go_bool(&value).ok_or_else(|| invalid_value(&key, &value))?;
                read_only_given = true;
            }
            "readwrite" | "rw" => {
                let rw = parse_go_bool(&value).ok_or_else(|| invalid_value(&key, &value))?;
                m.read_only = !rw;
                read_only_given = true;
            }
            "required" if secret_like(&m) => {
                m.required = parse_go_bool(&value).ok_or_else(|| invalid_value(&key, &value))?;
            }
            "required" => return Err(unexpected(&key, &m)),
            "size" if m.kind == MountType::Tmpfs => {
                m.size_limit =
                    Some(parse_ram_size(&value).ok_or_else(|| invalid_value(&key, &value))?);
            }
            "size" => return Err(unexpected(&key, &m)),
            "id" => m.id = Some(value),
            "sharing" => m.sharing = Some(CacheSharing::parse(&value)?),
            "mode" => {
                m.mode = Some(
                    u32::from_str_radix(&value, 8)
                        .map_err(|_| format!("invalid value {value} for mode"))?,
                );
            }
            "uid" => {
                m.uid = Some(
                    value
                        .parse()
                        .map_err(|_| format!("invalid value {value} for uid"))?,
                );
            }
            "gid" => {
                m.gid = Some(
                    value
                        .parse()
                        .map_err(|_| format!("invalid value {value} for gid"))?,
                );
            }
            "env" => m.env = Some(value),
            _ => {
                return Err(with_suggestion(
                    format!("unexpected key '{key}' in '{field}'"),
                    &key,
                    KEYS,
                    true,
                ))
            }
        }
    }

    let file_info_allowed = secret_like(&m) || m.kind == MountType::Cache;
    if !file_info_allowed {
        let kind = crate::parser::go_quote(m.kind.as_str());
        if m.mode.is_some() {
            return Err(format!("mode not allowed for {kind} type mounts"));
        }
        if m.uid.is_some() {
            return Err(format!("uid not allowed for {kind} type mounts"));
        }
        if m.gid.is_some() {
            return Err(format!("gid not allowed for {kind} type mounts"));
        }
    }
    if !read_only_given {
        m.read_only = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
    }
    if m.kind == MountType::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".to_string());
        }
        if m.sharing.is_some() {
            return Err("secret mount should not define sharing".to_string());
        }
        let empty = |v: &Option<String>| v.as_deref().is_none_or(str::is_empty);
        if empty(&m.source) && empty(&m.target) && empty(&m.id) {
            return Err("invalid secret mount. one of source, target required".to_string());
        }
        if !empty(&m.source) && !empty(&m.id) {
            return Err("both source and id can't be set".to_string());
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(format!(
            "invalid cache sharing set for {} mount",
            m.kind.as_str()
        ));
    }
    Ok(m)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Docker's `units.RAMInBytes`: `64m`, `1.5GiB`, `1024`; binary multiples, case-insensitive.
fn parse_ram_size(value: &str) -> Option<u64> {
    let number_len = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(number_len);
    if !number.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix).to_lowercase();
    let mut chars = suffix.chars().peekable();
    let exponent = match chars.peek() {
        Some(unit @ ('k' | 'm' | 'g' | 't' | 'p')) => {
            let exponent = "kmgtp".find(*unit).map_or(0, |i| i + 1);
            chars.next();
            exponent
        }
        _ => 0,
    };
    chars.next_if_eq(&'i');
    chars.next_if_eq(&'b');
    if chars.next().is_some() {
        return None;
    }
    let bytes = number * 1024f64.powi(exponent as i32);
    if !(0.0..=u64::MAX as f64).contains(&bytes) {
        return None;
    }
    Some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(spec: &str) -> Result<Mount, String> {
        RunMount::parse(spec).map(|m| m.mount.expect("no variables in spec"))
    }

    #[test]
    fn cache_mount_with_all_options() {
        let m = mount(
            "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1000,gid=1000",
        )
        .unwrap();
        assert_eq!(m.kind, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.id.as_deref(), Some("pip"));
        assert_eq!(m.sharing, Some(CacheSharing::Locked));
        assert_eq!(
            (m.mode, m.uid, m.gid),
            (Some(0o755), Some(1000), Some(1000))
        );
        assert!(!m.read_only, "cache mounts are writable by default");
    }

    #[test]
    fn bind_is_default_and_read_only_unless_rw() {
        let m = mount("target=/src,from=builder,source=/out").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert!(m.read_only);
        assert_eq!(m.from.as_deref(), Some("builder"));
        assert!(!mount("type=bind,target=/src,rw").unwrap().read_only);
        assert!(
            !mount("type=bind,target=/src,readonly=false")
                .unwrap()
                .read_only
        );
    }

    #[test]
    fn tmpfs_size() {
        let m = mount("type=tmpfs,target=/tmp,size=64m").unwrap();
        assert_eq!(m.size_limit, Some(64 * 1024 * 1024));
        assert!(!m.read_only);
        assert_eq!(
            mount("type=bind,target=/x,size=1m").unwrap_err(),
            "unexpected key 'size' for mount type 'bind'"
        );
        assert_eq!(
            mount("type=tmpfs,target=/x,size=lots").unwrap_err(),
            "invalid value for size: lots"
        );
    }

    #[test]
    fn secret_rules() {
        let m = mount("type=secret,id=aws,env=AWS_KEY,required").unwrap();
        assert_eq!(m.kind, MountType::Secret);
        assert!(m.required && m.read_only);
        assert_eq!(m.env.as_deref(), Some("AWS_KEY"));
        assert_eq!(
            mount("type=secret").unwrap_err(),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            mount("type=secret,id=a,from=b").unwrap_err(),
            "secret mount should not have a from"
        );
        assert_eq!(
            mount("type=cache,target=/x,required").unwrap_err(),
            "unexpected key 'required' for mount type 'cache'"
        );
    }

    #[test]
    fn option_errors() {
        assert_eq!(
            mount("type=cahce,target=/x").unwrap_err(),
            "unsupported mount type \"cahce\" (did you mean cache?)"
        );
        assert_eq!(
            mount("type=cache,target=/x,sharing=everyone").unwrap_err(),
            "unsupported sharing value \"everyone\""
        );
        assert_eq!(
            mount("type=bind,target=/x,traget=/y").unwrap_err(),
            "unexpected key 'traget' in 'traget=/y' (did you mean target?)"
        );
        assert_eq!(
            mount("type=bind,target=/x,uid=1").unwrap_err(),
            "uid not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            mount("type=bind,target=/x,sharing=shared").unwrap_err(),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(
            mount("type=cache,target=/x,mode=9").unwrap_err(),
            "invalid value 9 for mode"
        );
        assert_eq!(
            mount("type=cache,bogus").unwrap_err(),
            "invalid field 'bogus' must be a key=value pair"
        );
    }

    #[test]
    fn quoted_csv_field_may_hold_commas() {
        let m = mount("type=bind,\"target=/a,b\"").unwrap();
        assert_eq!(m.target.as_deref(), Some("/a,b"));
    }

    #[test]
    fn variables_defer_checks_to_the_build() {
        let run_mount = RunMount::parse("type=cache,target=/c,uid=$UID").unwrap();
        assert_eq!(run_mount.mount, None);
        let m = run_mount
            .expand(&mut |v| Ok(v.replace("$UID", "1001")))
            .unwrap();
        assert_eq!(m.uid, Some(1001));
        assert_eq!(
            RunMount::parse("type=bind,from=$STAGE,target=/x").unwrap_err(),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(parse_ram_size("1024"), Some(1024));
        assert_eq!(parse_ram_size("1k"), Some(1024));
        assert_eq!(parse_ram_size("1.5GiB"), Some(1024 * 1024 * 1024 * 3 / 2));
        assert_eq!(parse_ram_size("2 MB"), Some(2 * 1024 * 1024));
        assert_eq!(parse_ram_size("m"), None);
        assert_eq!(parse_ram_size("1x"), None);
    }
}
