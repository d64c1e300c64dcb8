//! Cache keys of build steps. A step's key is its parent image, the instruction with every
//! variable expanded, the build args it can see, and a digest of any content it takes in
//! (context files, another stage's image, a downloaded file). Two builds that agree on all of
//! these may reuse each other's result.
//!
//! ```
//! use berth_build::cache_key::StepKey;
//! use berth_build::instruction::Instruction;
//!
//! let step = Instruction::Workdir("/app".into());
//! let a = StepKey::new("sha256:parent").instruction(&step).finish();
//! let b = StepKey::new("sha256:parent").instruction(&step).arg("V", "1").finish();
//! assert_ne!(a, b);
//! assert_eq!(a, StepKey::new("sha256:parent").instruction(&step).finish());
//! ```

use sha2::{Digest, Sha256};

use crate::instruction::Instruction;

/// Builds the key of one step, field by field.
pub struct StepKey {
    hasher: Sha256,
}

impl StepKey {
    /// Starts a key from the parent image ID (`scratch` for none).
    pub fn new(parent: &str) -> StepKey {
        let mut hasher = Sha256::new();
        hasher.update(b"berth-build-step-1\n");
        field(&mut hasher, "parent", parent);
        StepKey { hasher }
    }

    /// The instruction, its variables already expanded. The source line is not part of it:
    /// moving a step does not change it.
    pub fn instruction(mut self, instruction: &Instruction) -> StepKey {
        field(&mut self.hasher, "instruction", &format!("{instruction:?}"));
        self
    }

    /// A build arg the step sees.
    pub fn arg(mut self, name: &str, value: &str) -> StepKey {
        field(&mut self.hasher, "arg", &format!("{name}={value}"));
        self
    }

    /// Anything else the result depends on: a content digest, another image's ID, a
    /// setting of the build (the network, say).
    pub fn input(mut self, kind: &str, value: &str) -> StepKey {
        field(&mut self.hasher, kind, value);
        self
    }

    /// The key, hex.
    pub fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

/// Length-prefixed, so no two different field lists hash the same bytes.
fn field(hasher: &mut Sha256, name: &str, value: &str) {
    hasher.update(format!("{}:{name}={}:", name.len(), value.len()));
    hasher.update(value.as_bytes());
    hasher.update(b"\n");
}
