//! `top` and `stats`.

use std::io::IsTerminal;

use berth::format::{bytes_size, human_size, TabWriter};
use berth_engine::Engine;
use clap::Args;
use serde_json::{json, Value};

use super::output::{print_list, write_stdout};
use super::CliError;

#[derive(Args)]
pub struct TopArgs {
    container: String,
    /// Options for ps (default -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_options: Vec<String>,
}

pub fn top(a: TopArgs, engine: &Engine) -> Result<(), CliError> {
    let t = engine.top(&a.container, &a.ps_options)?;
    // Docker's `top` table: minimum width 20, padding 3.
    let mut w = TabWriter::new(20, 3);
    w.write_str(&t.titles.join("\t"));
    w.write_str("\n");
    for p in &t.processes {
        w.write_str(&p.join("\t"));
        w.write_str("\n");
    }
    write_stdout(&w.finish())
}

#[derive(Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    all: bool,
    /// Format output using a custom template
    #[arg(long, default_value = "")]
    format: String,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    no_trunc: bool,
    containers: Vec<String>,
}

const STATS_TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const STATS_HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Container", "CONTAINER"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

pub fn stats(a: StatsArgs, engine: &Engine) -> Result<(), CliError> {
    let names: Vec<String> = if a.containers.is_empty() && a.all {
        engine.containers()?.into_iter().map(|c| c.id).collect()
    } else {
        a.containers.clone()
    };
    let tty = std::io::stdout().is_terminal();
    loop {
        let rows: Vec<Value> = engine
            .stats(&names)?
            .iter()
            .map(|s| {
                let mem_perc = if s.memory_limit > 0 {
                    s.memory_usage as f64 / s.memory_limit as f64 * 100.0
                } else {
                    0.0
                };
                json!({
                    "ID": if a.no_trunc { s.id.clone() } else { s.id[..12.min(s.id.len())].to_string() },
                    "Container": s.name,
                    "Name": s.name,
                    "CPUPerc": format!("{:.2}%", s.cpu_percent),
                    "MemUsage": format!("{} / {}", bytes_size(s.memory_usage as f64), bytes_size(s.memory_limit as f64)),
                    "MemPerc": format!("{mem_perc:.2}%"),
                    "NetIO": format!("{} / {}", human_size(s.net_rx), human_size(s.net_tx)),
                    "BlockIO": format!("{} / {}", human_size(s.block_read), human_size(s.block_write)),
                    "PIDs": s.pids.to_string(),
                })
            })
            .collect();
        if !a.no_stream && tty {
            // Redraw in place, as Docker does on a terminal.
            write_stdout("\x1b[2J\x1b[H")?;
        }
        print_list(&a.format, STATS_TABLE, &rows, STATS_HEADERS)?;
        if a.no_stream {
            return Ok(());
        }
    }
}
