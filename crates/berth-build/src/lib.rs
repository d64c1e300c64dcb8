//! berth-build: the Dockerfile parser, the shell-word lexer, the build planner, the build
//! context (`.dockerignore`, content checksums), step cache keys and the progress printer.
//! The executor that runs the steps lives in berth-engine (`build`): this crate never starts a
//! container nor touches the store.
//!
//! Reading a Dockerfile goes in three steps, each usable alone, none touching the file system:
//!
//! 1. [`parser::parse`] turns text into [`parser::Node`]s (BuildKit's syntax tree: keyword,
//!    flags, raw arguments, heredocs, line numbers).
//! 2. [`instruction::stages`] (or [`instruction::parse_instructions`]) checks each node and
//!    turns it into a typed [`instruction::Instruction`], grouped into build stages.
//! 3. At build time, [`instruction::Instruction::expand`] with an
//!    [`instruction::EnvExpander`] over a [`shell::ShellLex`] expands `$VAR`s in the fields
//!    Docker expands, with the variables in effect at that step.
//!
//! ```
//! use std::collections::HashMap;
//! use berth_build::instruction::{stages, EnvExpander, Instruction};
//! use berth_build::shell::ShellLex;
//!
//! let df = berth_build::parser::parse("FROM busybox\nARG DIR=/app\nWORKDIR $DIR/src\n").unwrap();
//! let (_, stages) = stages(&df).unwrap();
//! let (mut workdir, location) = stages[0].instructions[1].clone();
//! assert_eq!(location.start_line, 3);
//!
//! let args = HashMap::from([("DIR".to_string(), "/srv".to_string())]);
//! let mut expander = EnvExpander::new(ShellLex::new(df.directives.escape), &args);
//! workdir.expand(&mut expander).unwrap();
//! assert_eq!(workdir, Instruction::Workdir("/srv/src".into()));
//! assert!(expander.used.contains("DIR"));
//! ```

pub mod cache_key;
pub mod context;
pub mod error;
pub mod instruction;
pub mod parser;
pub mod plan;
pub mod progress;
pub mod shell;

pub use error::{ExpandError, LexError, LexReason, ParseError};
