//! `HEALTHCHECK [options] CMD <command>` and `HEALTHCHECK NONE`.

use std::time::Duration;

use super::duration::parse_go_duration;
use super::flags::{Flags, Kind};
use crate::parser::{go_quote, Node};

/// A health check, in the image config's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healthcheck {
    /// `["NONE"]` (disable an inherited check), `["CMD", argv...]` (exec form) or
    /// `["CMD-SHELL", command]` (shell form).
    pub test: Vec<String>,
    /// Zero means "inherit or use the default".
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub start_interval: Duration,
    /// Zero means "inherit or use the default".
    pub retries: u32,
}

const FLAGS: &[(&str, Kind)] = &[
    ("interval", Kind::String),
    ("timeout", Kind::String),
    ("start-period", Kind::String),
    ("start-interval", Kind::String),
    ("retries", Kind::String),
];

pub(super) fn parse(node: &Node) -> Result<Healthcheck, String> {
    let Some((kind, command)) = node.args.split_first() else {
        return Err("HEALTHCHECK requires at least one argument".to_string());
    };
    let kind = kind.to_uppercase();
    if kind == "NONE" {
        if !command.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".to_string());
        }
        return Ok(Healthcheck {
            test: vec![kind],
            ..Healthcheck::default()
        });
    }
    let flags = Flags::parse(&node.flags, FLAGS)?;
    if kind != "CMD" {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            go_quote(&kind)
        ));
    }
    let test = if node.json {
        let mut test = vec!["CMD".to_string()];
        test.extend(command.iter().cloned());
        test
    } else {
        vec!["CMD-SHELL".to_string(), command.join(" ")]
    };
    if command.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".to_string());
    }
    Ok(Healthcheck {
        test,
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries: retries(&flags)?,
    })
}

/// A duration flag: absent or zero means zero; otherwise at least 1ms.
fn interval(flags: &Flags, name: &str) -> Result<Duration, String> {
    let Some(text) = flags.string(name).filter(|t| !t.is_empty()) else {
        return Ok(Duration::ZERO);
    };
    let parsed = parse_go_duration(&text)?;
    if parsed.magnitude.is_zero() {
        return Ok(Duration::ZERO);
    }
    if parsed.negative || parsed.magnitude < Duration::from_millis(1) {
        return Err(format!(
            "Interval {} cannot be less than 1ms",
            go_quote(name)
        ));
    }
    Ok(parsed.magnitude)
}

fn retries(flags: &Flags) -> Result<u32, String> {
    let Some(text) = flags.string("retries").filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let value: i32 = text.parse().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(&text)
        )
    })?;
    u32::try_from(value).map_err(|_| format!("--retries cannot be negative ({value})"))
}
