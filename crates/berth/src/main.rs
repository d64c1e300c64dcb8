//! The `berth` command: Docker's commands and flags over berth-engine.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
