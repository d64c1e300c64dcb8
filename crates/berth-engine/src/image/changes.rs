//! Dockerfile instructions applied to an image's run config: the metadata steps of a build,
//! and `import --change` / `commit --change`.

use std::collections::BTreeMap;

use berth_build::instruction::{parse_instruction, CmdLine, EnvExpander, Instruction};
use berth_build::shell::ShellLex;
use berth_store::{Healthcheck, RunConfig};
use serde_json::Value;

use crate::{EngineError, Result};

/// The instructions `--change` accepts, as Docker lists them.
const CHANGE_INSTRUCTIONS: &[&str] = &[
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Applies one `--change` line to `config`.
pub(crate) fn apply(config: &mut RunConfig, change: &str) -> Result<()> {
    let bad = |m: String| EngineError::InvalidArgument(m);
    let df = berth_build::parser::parse(change).map_err(|e| bad(e.message))?;
    let node = df
        .nodes
        .first()
        .ok_or_else(|| bad(format!("invalid change: {change:?}")))?;
    if !CHANGE_INSTRUCTIONS.contains(&node.keyword.as_str()) {
        return Err(bad(format!(
            "{} is not a valid change command",
            node.keyword.to_uppercase()
        )));
    }
    let mut instruction = parse_instruction(node).map_err(|e| bad(e.message))?;
    let env = config.env.clone().unwrap_or_default();
    let mut expander = EnvExpander::new(ShellLex::new(df.directives.escape), &env);
    instruction
        .expand(&mut expander)
        .map_err(|e| bad(e.to_string()))?;
    apply_instruction(config, &instruction)
}

/// Applies a metadata instruction (CMD, ENV, LABEL ...) to a run config, as a build step
/// does. Words must already be expanded. Instructions that are not metadata are refused.
pub fn apply_instruction(config: &mut RunConfig, instruction: &Instruction) -> Result<()> {
    match instruction {
        Instruction::Cmd(c) => config.cmd = Some(command_line(config, c)),
        Instruction::Entrypoint(c) => {
            config.entrypoint = if c.args.is_empty() && !c.prepend_shell {
                None
            } else {
                Some(command_line(config, c))
            }
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
                if p.trim().is_empty() {
                    return Err(EngineError::InvalidArgument(
                        "VOLUME specified can not be an empty string".into(),
                    ));
                }
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
            return Err(EngineError::InvalidArgument(format!(
                "{other:?} is not a metadata instruction"
            )))
        }
    }
    Ok(())
}

/// Shell form runs through the image's SHELL (default `/bin/sh -c`).
fn command_line(config: &RunConfig, c: &CmdLine) -> Vec<String> {
    if c.prepend_shell {
        let mut argv = shell_of(config);
        argv.push(c.args.join(" "));
        argv
    } else {
        c.args.clone()
    }
}

/// The image's SHELL, `/bin/sh -c` by default.
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

/// A relative WORKDIR is relative to the previous one.
pub(crate) fn join_workdir(current: &str, dir: &str) -> String {
    let joined = if dir.starts_with('/') {
        dir.to_string()
    } else {
        format!("{}/{dir}", if current.is_empty() { "" } else { current })
    };
    clean_path(&joined)
}

pub(crate) fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp` ... keys of ExposedPorts.
fn expand_port(spec: &str) -> Result<Vec<String>> {
    let bad = || EngineError::InvalidArgument(format!("invalid containerPort: {spec}"));
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(EngineError::InvalidArgument(format!(
            "invalid proto: {proto}"
        )));
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

    #[test]
    fn changes_apply_as_docker_applies_them() {
        let mut c = RunConfig::default();
        apply(&mut c, r#"CMD ["sh"]"#).unwrap();
        apply(&mut c, "ENV A=1 B=2").unwrap();
        apply(&mut c, "ENV A=3").unwrap();
        apply(&mut c, "WORKDIR /app").unwrap();
        apply(&mut c, "WORKDIR sub/../src").unwrap();
        apply(&mut c, "EXPOSE 80 53/udp 8000-8001").unwrap();
        apply(&mut c, "LABEL k=v").unwrap();
        apply(&mut c, "ENTRYPOINT echo $B").unwrap();
        assert_eq!(c.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(c.env.clone().unwrap(), vec!["A=3", "B=2"]);
        assert_eq!(c.working_dir, "/app/src");
        let ports: Vec<_> = c.exposed_ports.clone().unwrap().into_keys().collect();
        assert_eq!(ports, vec!["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(c.labels.clone().unwrap()["k"], "v");
        assert_eq!(
            c.entrypoint.clone().unwrap(),
            vec!["/bin/sh", "-c", "echo $B"]
        );
    }

    #[test]
    fn non_change_instructions_are_refused() {
        let mut c = RunConfig::default();
        let e = apply(&mut c, "RUN echo hi").unwrap_err();
        assert!(
            e.to_string().contains("RUN is not a valid change command"),
            "{e}"
        );
        assert!(apply(&mut c, "EXPOSE 99999").is_err());
    }
}
