//! The metadata steps of a build (CMD, ENV, LABEL, WORKDIR, EXPOSE ...) applied to the image's
//! run config.
//!
//! `image::changes::apply_instruction` does the same for `commit --change`, but its module is
//! private to `image`; once it is re-exported this file can go (see the build's report).

use std::collections::BTreeMap;

use berth_build::instruction::{CmdLine, Instruction};
use berth_store::{Healthcheck, RunConfig};
use serde_json::Value;

use super::copy::clean_path;
use super::error::BuildError;

/// Applies an expanded metadata instruction.
pub(crate) fn apply(config: &mut RunConfig, instruction: &Instruction) -> Result<(), BuildError> {
    match instruction {
        Instruction::Cmd(c) => config.cmd = Some(command_line(config, c)),
        Instruction::Entrypoint(c) => {
            config.entrypoint = if c.args.is_empty() && !c.prepend_shell {
                None
            } else {
                Some(command_line(config, c))
            };
            // Docker: a new ENTRYPOINT drops the CMD inherited from the base image (the
            // caller puts back one set earlier in the same stage).
            config.cmd = None;
        }
        Instruction::Env(kvs) => {
            let env = config.env.get_or_insert_with(Vec::new);
            for kv in kvs {
                set_env(env, &kv.key, &kv.value);
            }
        }
        Instruction::Label(kvs) => {
            let labels = config.labels.get_or_insert_with(BTreeMap::new);
            for kv in kvs {
                labels.insert(kv.key.clone(), kv.value.clone());
            }
        }
        Instruction::Expose(ports) => {
            let exposed = config.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in ports {
                for key in expand_port(p)? {
                    exposed.insert(key, Value::Object(Default::default()));
                }
            }
        }
        Instruction::Volume(paths) => {
            let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
            for p in paths {
                volumes.insert(p.clone(), Value::Object(Default::default()));
            }
        }
        Instruction::Workdir(dir) => config.working_dir = join_workdir(&config.working_dir, dir),
        Instruction::User(u) => config.user = u.clone(),
        Instruction::StopSignal(s) => config.stop_signal = s.clone(),
        Instruction::Onbuild(trigger) => config
            .on_build
            .get_or_insert_with(Vec::new)
            .push(trigger.clone()),
        Instruction::Shell(s) => config.shell = Some(s.clone()),
        Instruction::Healthcheck(h) => {
            let nanos = |d: std::time::Duration| d.as_nanos() as i64;
            config.healthcheck = Some(Healthcheck {
                test: Some(h.test.clone()),
                interval: nanos(h.interval),
                timeout: nanos(h.timeout),
                start_period: nanos(h.start_period),
                start_interval: nanos(h.start_interval),
                retries: i64::from(h.retries),
            })
        }
        other => {
            return Err(BuildError::new(format!(
                "{} is not a metadata instruction",
                other.keyword()
            )))
        }
    }
    Ok(())
}

/// Shell form runs through the image's SHELL (default `/bin/sh -c`).
pub(crate) fn command_line(config: &RunConfig, c: &CmdLine) -> Vec<String> {
    if c.prepend_shell {
        let mut argv = shell_of(config);
        argv.push(c.args.join(" "));
        argv
    } else {
        c.args.clone()
    }
}

pub(crate) fn shell_of(config: &RunConfig) -> Vec<String> {
    config
        .shell
        .clone()
        .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
}

/// Sets `KEY=value` in a Docker env list, replacing an earlier value of the key.
pub(crate) fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// A relative WORKDIR (or destination) is relative to the current one.
pub(crate) fn join_workdir(current: &str, dir: &str) -> String {
    if dir.starts_with('/') {
        clean_path(dir)
    } else {
        clean_path(&format!(
            "{}/{dir}",
            if current.is_empty() { "/" } else { current }
        ))
    }
}

/// `80`, `80/udp`, `8000-8002/tcp` → keys of ExposedPorts.
fn expand_port(spec: &str) -> Result<Vec<String>, BuildError> {
    let bad = || BuildError::new(format!("invalid containerPort: {spec}"));
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(BuildError::new(format!("invalid proto: {proto}")));
    }
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if lo > hi {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_build::instruction::parse_instruction;

    fn apply_text(config: &mut RunConfig, line: &str) {
        let df = berth_build::parser::parse(line).unwrap();
        apply(config, &parse_instruction(&df.nodes[0]).unwrap()).unwrap();
    }

    #[test]
    fn entrypoint_resets_an_inherited_cmd() {
        let mut c = RunConfig {
            cmd: Some(vec!["sh".into()]),
            ..Default::default()
        };
        apply_text(&mut c, r#"ENTRYPOINT ["httpd"]"#);
        assert_eq!(c.cmd, None);
        apply_text(&mut c, r#"CMD ["-f"]"#);
        assert_eq!(c.cmd.as_deref(), Some(&["-f".to_string()][..]));
        apply_text(&mut c, "WORKDIR /app");
        apply_text(&mut c, "WORKDIR src/..//lib");
        assert_eq!(c.working_dir, "/app/lib");
        apply_text(&mut c, "EXPOSE 80 53/udp");
        assert_eq!(c.exposed_ports.unwrap().len(), 2);
    }
}
