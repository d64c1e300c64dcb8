//! Platforms (`linux/amd64`) and the build args Docker derives from them.

use std::collections::BTreeMap;
use std::fmt;

/// An OS, architecture and optional variant, as OCI names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of this machine.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "arm" => "arm",
            other => other,
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// Reads `os/arch[/variant]`; a bare `arch` means Linux.
    pub fn parse(text: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let lower = |s: &str| s.to_ascii_lowercase();
        let (os, architecture, variant) = match parts.as_slice() {
            [arch] if !arch.is_empty() => ("linux".to_string(), lower(arch), None),
            [os, arch] if !os.is_empty() && !arch.is_empty() => (lower(os), lower(arch), None),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => {
                (lower(os), lower(arch), Some(lower(variant)))
            }
            _ => {
                return Err(format!(
                    "invalid platform {text:?}: expected os/arch[/variant]"
                ))
            }
        };
        let architecture = match architecture.as_str() {
            "x86_64" | "x86-64" => "amd64".to_string(),
            "aarch64" => "arm64".to_string(),
            _ => architecture,
        };
        Ok(Platform {
            os,
            architecture,
            variant,
        })
    }

    /// `TARGETPLATFORM`, `TARGETOS` ... for this target, `BUILDPLATFORM` ... for `build`.
    pub fn automatic_args(&self, build: &Platform) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (prefix, p) in [("TARGET", self), ("BUILD", build)] {
            out.insert(format!("{prefix}PLATFORM"), p.to_string());
            out.insert(format!("{prefix}OS"), p.os.clone());
            out.insert(format!("{prefix}ARCH"), p.architecture.clone());
            out.insert(
                format!("{prefix}VARIANT"),
                p.variant.clone().unwrap_or_default(),
            );
        }
        out
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show() {
        let p = Platform::parse("linux/amd64").unwrap();
        assert_eq!(p.to_string(), "linux/amd64");
        assert_eq!(Platform::parse("arm64").unwrap().to_string(), "linux/arm64");
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().variant.as_deref(),
            Some("v7")
        );
        assert!(Platform::parse("a/b/c/d").is_err());
        let args = p.automatic_args(&p);
        assert_eq!(args["TARGETARCH"], "amd64");
        assert_eq!(args["BUILDPLATFORM"], "linux/amd64");
    }
}
