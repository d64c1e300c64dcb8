//! The variables of a stage while its steps run: the ARGs declared so far (with their values
//! from `--build-arg`, a default, the global ARGs or the automatic platform args) under the
//! image's `ENV`, which always wins over an ARG of the same name.

use std::collections::{BTreeMap, BTreeSet};

use crate::instruction::ArgDefinition;

/// Build args every build accepts without an `ARG` line. Like Docker, they are left out of
/// cache keys and history unless the Dockerfile declares them.
pub const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The ARGs of one stage.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    build_args: &'a BTreeMap<String, String>,
    /// The global ARGs and the automatic platform args.
    global: &'a BTreeMap<String, String>,
    /// Declared so far, in order; `None` when declared without any value.
    declared: Vec<(String, Option<String>)>,
}

impl<'a> Scope<'a> {
    pub fn new(
        build_args: &'a BTreeMap<String, String>,
        global: &'a BTreeMap<String, String>,
    ) -> Scope<'a> {
        Scope {
            build_args,
            global,
            declared: Vec::new(),
        }
    }

    /// Declares an `ARG` whose default is already expanded.
    pub fn declare(&mut self, def: &ArgDefinition) {
        let value = self
            .build_args
            .get(&def.name)
            .cloned()
            .or_else(|| def.default.clone())
            .or_else(|| self.global.get(&def.name).cloned());
        self.declared.retain(|(n, _)| *n != def.name);
        self.declared.push((def.name.clone(), value));
    }

    /// The declared ARGs that have a value, in declaration order.
    pub fn args(&self) -> Vec<(String, String)> {
        self.declared
            .iter()
            .filter_map(|(n, v)| v.clone().map(|v| (n.clone(), v)))
            .collect()
    }

    /// What words of a step expand against: ARGs, then the image's `ENV` (`KEY=value`), so
    /// that ENV wins.
    pub fn expansion_env(&self, image_env: &[String]) -> Vec<(String, String)> {
        let mut out = self.args();
        for entry in image_env {
            let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
            out.push((k.to_string(), v.to_string()));
        }
        out
    }

    /// The environment a `RUN` gets on top of the image's: the ARGs (and proxy build args)
    /// that no ENV of the same name hides, as `KEY=value`.
    pub fn run_env(&self, image_env: &[String]) -> Vec<String> {
        let env_names: BTreeSet<&str> = image_env
            .iter()
            .map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k))
            .collect();
        let mut out: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        for (k, v) in self.args() {
            if !env_names.contains(k.as_str()) {
                seen.insert(k.clone());
                out.push(format!("{k}={v}"));
            }
        }
        for name in PROXY_ARGS {
            if let Some(v) = self.build_args.get(*name) {
                if !env_names.contains(name) && !seen.contains(*name) {
                    out.push(format!("{name}={v}"));
                }
            }
        }
        out
    }

    /// The ARG values a `RUN` step's cache key holds: the declared ones (proxy args only when
    /// declared).
    pub fn key_args(&self) -> Vec<(String, String)> {
        let mut args = self.args();
        args.sort();
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, default: Option<&str>) -> ArgDefinition {
        ArgDefinition {
            name: name.into(),
            default: default.map(str::to_string),
        }
    }

    #[test]
    fn values_come_from_build_args_default_or_global() {
        let build_args = BTreeMap::from([("A".to_string(), "cli".to_string())]);
        let global = BTreeMap::from([
            ("G".to_string(), "global".to_string()),
            ("TARGETARCH".to_string(), "amd64".to_string()),
        ]);
        let mut scope = Scope::new(&build_args, &global);
        scope.declare(&def("A", Some("default")));
        scope.declare(&def("B", Some("bdefault")));
        scope.declare(&def("G", None));
        scope.declare(&def("TARGETARCH", None));
        scope.declare(&def("UNSET", None));
        assert_eq!(
            scope.args(),
            [
                ("A".to_string(), "cli".to_string()),
                ("B".to_string(), "bdefault".to_string()),
                ("G".to_string(), "global".to_string()),
                ("TARGETARCH".to_string(), "amd64".to_string()),
            ]
        );
    }

    #[test]
    fn env_wins_over_args_and_proxies_pass_through() {
        let build_args = BTreeMap::from([
            ("V".to_string(), "arg".to_string()),
            ("http_proxy".to_string(), "http://proxy:3128".to_string()),
        ]);
        let global = BTreeMap::new();
        let mut scope = Scope::new(&build_args, &global);
        scope.declare(&def("V", None));
        let env = vec!["V=env".to_string(), "PATH=/bin".to_string()];
        let expansion = scope.expansion_env(&env);
        assert_eq!(
            crate::shell::Env::get(&expansion, "V"),
            Some("env"),
            "ENV wins"
        );
        assert_eq!(scope.run_env(&env), ["http_proxy=http://proxy:3128"]);
        assert_eq!(
            scope.key_args(),
            [("V".to_string(), "arg".to_string())],
            "undeclared proxy args stay out of the key"
        );
    }
}
