//! Seccomp filters: Docker's default profile as our own table ([`default_profile`]), Docker-format
//! profile files ([`Profile::load`]), their fitting to one container ([`Profile::resolve`]),
//! and the BPF programs they compile to ([`BpfCache`], [`BpfProgram`]).

mod bpf;
mod cache;
mod default;
mod profile;

pub use bpf::{compilable, compile, BpfProgram};
pub use cache::BpfCache;
pub use default::default_profile;
pub use profile::{ArchMap, Filter, Profile, Rule, Target};

#[cfg(test)]
mod tests;
