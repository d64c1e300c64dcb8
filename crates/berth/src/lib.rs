//! The berth command-line front end as a library, so its parts can be tested alone.

pub mod format;
