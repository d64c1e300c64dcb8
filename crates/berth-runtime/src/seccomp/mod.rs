//! Seccomp filters: Docker's default profile as our own table ([`default_profile`]), Docker-format
//! profile files ([`Profile::load`]), and their fitting to one container ([`Profile::resolve`]).

mod default;
mod profile;

pub use default::default_profile;
pub use profile::{ArchMap, Filter, Profile, Rule, Target};

#[cfg(test)]
mod tests;
