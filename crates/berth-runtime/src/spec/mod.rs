//! The container's OCI runtime spec, built the way Docker builds it.

mod build;
mod capabilities;
mod container;
mod defaults;
mod devices;

pub use build::{build_spec, build_spec_for, INIT_PATH};
pub use capabilities::{effective_set, CapabilitySet, DEFAULT_CAPABILITIES};
pub use container::{
    ContainerSpec, Mount, NamespaceMode, Namespaces, Resources, Rlimit, Seccomp, User,
};
pub use defaults::{MASKED_PATHS, READONLY_PATHS};

#[cfg(test)]
mod tests;
