//! `stop`, `restart`, `kill`, `wait`, `pause`, `unpause`, `logs`.

use std::io::Write;
use std::time::{Duration, SystemTime};

use berth_engine::runtime::logs::{read_logs, LogOptions, Stream};
use berth_engine::Engine;
use clap::Args;

use super::container::each;
use super::CliError;

#[derive(Args)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short, long)]
    signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "timeout",
        alias = "time",
        allow_hyphen_values = true
    )]
    timeout: Option<i64>,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn stop(a: StopArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        engine.stop_container(n, a.timeout, a.signal.as_deref())?;
        Ok(format!("{n}\n"))
    })
}

pub fn restart(a: StopArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        engine.restart_container(n, a.timeout, a.signal.as_deref())?;
        Ok(format!("{n}\n"))
    })
}

#[derive(Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn kill(a: KillArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        engine.kill_container(n, &a.signal)?;
        Ok(format!("{n}\n"))
    })
}

#[derive(Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn wait(a: WaitArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        Ok(format!("{}\n", engine.wait_container(n)?))
    })
}

#[derive(Args)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    containers: Vec<String>,
}

pub fn pause(a: PauseArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        engine.pause_container(n)?;
        Ok(format!("{n}\n"))
    })
}

pub fn unpause(a: PauseArgs, engine: &Engine) -> Result<(), CliError> {
    each(&a.containers, |n| {
        engine.unpause_container(n)?;
        Ok(format!("{n}\n"))
    })
}

#[derive(Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    details: bool,
    /// Follow log output
    #[arg(short, long)]
    follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    tail: String,
    /// Show timestamps
    #[arg(short, long)]
    timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long)]
    until: Option<String>,
    container: String,
}

pub fn logs(a: LogsArgs, engine: &Engine) -> Result<(), CliError> {
    let c = engine.container(&a.container)?;
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v >= 0 => Some(v as usize),
            _ => None,
        },
    };
    let options = LogOptions {
        since: a.since.as_deref().map(parse_time).transpose()?,
        until: a.until.as_deref().map(parse_time).transpose()?,
        tail,
        timestamps: a.timestamps,
        follow: a.follow,
    };
    let id = c.id.clone();
    let still_running = || {
        engine
            .container(&id)
            .map(|c| c.state.status.is_live())
            .unwrap_or(false)
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = |stream: Stream, data: &[u8]| -> std::io::Result<()> {
        match stream {
            Stream::Stderr => {
                let mut e = stderr.lock();
                e.write_all(data)?;
                e.flush()
            }
            _ => {
                let mut o = stdout.lock();
                o.write_all(data)?;
                o.flush()
            }
        }
    };
    match read_logs(&engine.log_path(&c.id), &options, &still_running, &mut out) {
        Ok(()) => Ok(()),
        Err(e) if e.to_string().contains("Broken pipe") => Ok(()),
        Err(e) => Err(CliError::usage(format!("Error response from daemon: {e}"))),
    }
}

/// `--since`/`--until`: RFC 3339, Unix seconds (with fraction), or a Go duration back from now.
fn parse_time(s: &str) -> Result<SystemTime, CliError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(SystemTime::from(t.with_timezone(&chrono::Utc)));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(f.max(0.0)));
    }
    if let Some(secs) = go_duration_secs(s) {
        return Ok(SystemTime::now() - Duration::from_secs_f64(secs));
    }
    Err(CliError::usage(format!(
        "invalid value for \"since\": failed to parse value as time or duration: \"{s}\""
    )))
}

fn go_duration_secs(s: &str) -> Option<f64> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        any = true;
    }
    (any && num.is_empty()).then_some(total)
}
