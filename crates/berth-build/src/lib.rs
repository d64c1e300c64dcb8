//! berth-build: the Dockerfile parser, the shell-word lexer, the build planner and the step
//! executor with its layer cache.

pub mod error;
pub mod shell;

pub use error::{LexError, LexReason, ParseError};
pub mod parser;
