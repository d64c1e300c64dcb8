//! Printing helpers shared by commands: list tables, inspect output, Docker's time strings.

use std::io::Write;

use berth::format::{render_inspect, ListFormat};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use super::CliError;

/// Prints list rows with `--format` (or the command's default table).
pub fn print_list(
    format: &str,
    default_table: &str,
    rows: &[Value],
    headers: &[(&str, &str)],
) -> Result<(), CliError> {
    print_list_with(format, default_table, rows, headers, &[])
}

/// `{{.Label "key"}}` of Docker's list contexts, from the row's `Labels` (`k=v,k2=v2`).
pub fn label_method(row: &Value, args: &[Value]) -> Result<Value, String> {
    let key = args
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| "Label needs the name of a label".to_string())?;
    let labels = row.get("Labels").and_then(Value::as_str).unwrap_or("");
    Ok(Value::String(
        labels
            .split(',')
            .find_map(|kv| {
                kv.split_once('=')
                    .filter(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default(),
    ))
}

/// [`print_list`] with computed fields (`{{.Label "k"}}`).
pub fn print_list_with(
    format: &str,
    default_table: &str,
    rows: &[Value],
    headers: &[(&str, &str)],
    methods: &[(&str, berth::format::Method)],
) -> Result<(), CliError> {
    let mut f = ListFormat::new(format, default_table).map_err(template_error)?;
    for (name, m) in methods {
        f = f.with_method(name, *m);
    }
    let out = f.render(rows, headers).map_err(template_error)?;
    write_stdout(&out)
}

/// Prints `inspect` output; elements that failed to resolve are reported after it, as Docker
/// does, and make the command fail.
pub fn print_inspect(
    format: &str,
    elements: &[Value],
    not_found: Vec<String>,
) -> Result<(), CliError> {
    let inspected = render_inspect(format, elements).map_err(template_error)?;
    write_stdout(&inspected.output)?;
    let mut errors: Vec<String> = inspected
        .errors
        .iter()
        .map(|e| format!("template: {e}"))
        .collect();
    errors.extend(not_found);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::usage(errors.join("\n")))
    }
}

pub fn write_stdout(s: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|_| out.flush())
        .or_else(ignore_broken_pipe)
        .map_err(CliError::from)
}

/// `berth images | head -1` must not fail loudly.
fn ignore_broken_pipe(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

fn template_error(e: berth::format::FormatError) -> CliError {
    CliError::usage(format!("template parsing error: {e}"))
}

pub fn from_unix(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}
