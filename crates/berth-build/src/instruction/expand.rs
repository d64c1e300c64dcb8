//! Which instruction fields the build expands, and expanding them.
//!
//! Docker expands variables in some instructions and not others; the rules are here in one
//! place so that the planner does not repeat them.

use std::collections::BTreeSet;

use super::Instruction;
use crate::error::{ExpandError, LexError};
use crate::shell::{Env, ShellLex};

/// Expands words for [`Instruction::expand`]. [`EnvExpander`] is the usual one.
pub trait WordExpander {
    /// One word, quotes removed (most fields).
    fn word(&mut self, word: &str) -> Result<String, LexError>;
    /// One word split into several (`EXPOSE $PORTS`).
    fn words(&mut self, word: &str) -> Result<Vec<String>, LexError>;
    /// A heredoc body: variables expanded, quotes kept as content.
    fn heredoc(&mut self, body: &str) -> Result<String, LexError>;
}

/// Expands with a [`ShellLex`] against an environment, recording which variables were used:
/// a build arg is part of a step's cache key only when the step uses it.
pub struct EnvExpander<'a> {
    lex: ShellLex,
    env: &'a dyn Env,
    /// Variables referenced and set.
    pub used: BTreeSet<String>,
    /// Variables referenced but not set (candidates for "undefined variable" warnings).
    pub unset: BTreeSet<String>,
}

impl<'a> EnvExpander<'a> {
    /// `lex` should use the Dockerfile's escape char.
    pub fn new(lex: ShellLex, env: &'a dyn Env) -> Self {
        EnvExpander {
            lex,
            env,
            used: BTreeSet::new(),
            unset: BTreeSet::new(),
        }
    }

    fn record(
        &mut self,
        lex: ShellLex,
        word: &str,
    ) -> Result<crate::shell::ProcessedWord, LexError> {
        let processed = lex.process_word_with_matches(word, self.env)?;
        self.used.extend(processed.matched.iter().cloned());
        self.unset.extend(processed.unmatched.iter().cloned());
        Ok(processed)
    }
}

impl WordExpander for EnvExpander<'_> {
    fn word(&mut self, word: &str) -> Result<String, LexError> {
        Ok(self.record(self.lex, word)?.result)
    }

    fn words(&mut self, word: &str) -> Result<Vec<String>, LexError> {
        Ok(self.record(self.lex, word)?.words)
    }

    fn heredoc(&mut self, body: &str) -> Result<String, LexError> {
        // BuildKit expands bodies with the default escape and without quote processing.
        let lex = ShellLex::new('\\').with_skip_process_quotes(true);
        Ok(self.record(lex, body)?.result)
    }
}

impl Instruction {
    /// The fields the build expands variables in, by name; empty when the instruction is
    /// used literally.
    ///
    /// | instruction | expanded |
    /// | --- | --- |
    /// | FROM | base, `--platform` (with the ARGs before the first FROM only) |
    /// | ENV, LABEL | keys and values |
    /// | ARG | names and defaults |
    /// | COPY | sources, destination, `--chown`, `--chmod`, bodies of unquoted heredocs (`--from` never) |
    /// | ADD | as COPY, plus `--checksum` |
    /// | WORKDIR, USER, STOPSIGNAL | the value |
    /// | VOLUME | each path |
    /// | EXPOSE | each port, split into words |
    /// | RUN | only the `--mount` options; the command is left to the shell |
    /// | CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER | nothing |
    pub fn expanded_fields(&self) -> &'static [&'static str] {
        match self {
            Instruction::From(_) => &["base", "platform"],
            Instruction::Env(_) | Instruction::Label(_) => &["key", "value"],
            Instruction::Arg(_) => &["name", "default"],
            Instruction::Copy(_) => &["sources", "dest", "chown", "chmod", "inline.content"],
            Instruction::Add(_) => &[
                "sources",
                "dest",
                "chown",
                "chmod",
                "checksum",
                "inline.content",
            ],
            Instruction::Workdir(_) | Instruction::User(_) | Instruction::StopSignal(_) => {
                &["value"]
            }
            Instruction::Volume(_) => &["paths"],
            Instruction::Expose(_) => &["ports"],
            Instruction::Run(_) => &["mounts"],
            Instruction::Cmd(_)
            | Instruction::Entrypoint(_)
            | Instruction::Shell(_)
            | Instruction::Healthcheck(_)
            | Instruction::Onbuild(_)
            | Instruction::Maintainer(_) => &[],
        }
    }

    /// Expands the fields listed by [`Instruction::expanded_fields`] in place. For `RUN`, every
    /// mount's options are expanded and checked (`mount` becomes `Some`).
    pub fn expand(&mut self, ex: &mut dyn WordExpander) -> Result<(), ExpandError> {
        match self {
            Instruction::From(from) => {
                from.base = ex.word(&from.base)?;
                expand_option(&mut from.platform, ex)?;
            }
            Instruction::Env(entries) | Instruction::Label(entries) => {
                for entry in entries {
                    entry.key = ex.word(&entry.key)?;
                    entry.value = ex.word(&entry.value)?;
                }
            }
            Instruction::Arg(arg) => {
                for definition in &mut arg.args {
                    definition.name = ex.word(&definition.name)?;
                    expand_option(&mut definition.default, ex)?;
                }
            }
            Instruction::Copy(copy) => {
                expand_files(&mut copy.files, ex)?;
                expand_option(&mut copy.chown, ex)?;
                expand_option(&mut copy.chmod, ex)?;
            }
            Instruction::Add(add) => {
                expand_files(&mut add.files, ex)?;
                expand_option(&mut add.chown, ex)?;
                expand_option(&mut add.chmod, ex)?;
                expand_option(&mut add.checksum, ex)?;
            }
            Instruction::Workdir(value)
            | Instruction::User(value)
            | Instruction::StopSignal(value) => {
                *value = ex.word(value)?;
            }
            Instruction::Volume(paths) => {
                for path in paths {
                    *path = ex.word(path)?;
                }
            }
            Instruction::Expose(ports) => {
                let mut expanded = Vec::with_capacity(ports.len());
                for port in ports.iter() {
                    expanded.extend(ex.words(port)?);
                }
                *ports = expanded;
            }
            Instruction::Run(run) => {
                for mount in &mut run.mounts {
                    let mut expand_value =
                        |value: &str| ex.word(value).map_err(|err| err.to_string());
                    mount.mount = Some(
                        mount
                            .expand(&mut expand_value)
                            .map_err(ExpandError::Invalid)?,
                    );
                }
            }
            Instruction::Cmd(_)
            | Instruction::Entrypoint(_)
            | Instruction::Shell(_)
            | Instruction::Healthcheck(_)
            | Instruction::Onbuild(_)
            | Instruction::Maintainer(_) => {}
        }
        Ok(())
    }
}

fn expand_option(value: &mut Option<String>, ex: &mut dyn WordExpander) -> Result<(), LexError> {
    if let Some(text) = value {
        *text = ex.word(text)?;
    }
    Ok(())
}

fn expand_files(
    files: &mut super::SourcesAndDest,
    ex: &mut dyn WordExpander,
) -> Result<(), LexError> {
    for source in &mut files.sources {
        *source = ex.word(source)?;
    }
    files.dest = ex.word(&files.dest)?;
    for inline in files.inline.iter_mut().filter(|inline| inline.expand) {
        inline.content = ex.heredoc(&inline.content)?;
    }
    Ok(())
}
