//! The shell-word lexer: quote removal, escapes and `$VAR` expansion in instruction arguments.
//!
//! The parser keeps arguments raw; the build applies this lexer to the instructions that expand
//! variables (see [`crate::instruction::Instruction::expanded_fields`]), with the build args and
//! `ENV` values in effect at that step. It follows BuildKit's `shell.Lex`, which mimics `sh` for
//! the subset Dockerfiles use:
//!
//! * `'...'` keeps everything literally; `"..."` keeps everything except `$` expansions and the
//!   escapes `\"`, `\$` and `\\`; the escape char (`\`, or `` ` `` after `# escape=`) escapes
//!   the next char outside quotes.
//! * `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
//!   `${VAR?msg}`, `${VAR:?msg}` (errors), and the pattern forms `${VAR#pat}`, `${VAR##pat}`,
//!   `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/repl}`, `${VAR//pat/repl}` with `*` and `?`
//!   wildcards. `${VAR:=word}` is an error (a Dockerfile cannot assign).
//! * Positional and special parameters (`$1`, `$#`, `$@`, `$*`, `$?`, `$-`, `$$`, `$!`, `$0`)
//!   are never set, so they expand to the empty string.
//!
//! ```
//! use std::collections::HashMap;
//! use berth_build::shell::ShellLex;
//!
//! let env = HashMap::from([("NAME".to_string(), "berth".to_string())]);
//! let lex = ShellLex::new('\\');
//! assert_eq!(lex.process_word("'$NAME' is ${NAME:-unset}", &env).unwrap(), "$NAME is berth");
//! assert_eq!(lex.process_words("a \"b c\" $NAME", &env).unwrap(), ["a", "b c", "berth"]);
//! ```

mod env;
mod pattern;
mod word;

use std::collections::BTreeSet;

pub use env::Env;

use crate::error::LexError;

/// A configured lexer. Cheap to create and to clone; it holds no state between calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShellLex {
    escape: char,
    raw_quotes: bool,
    raw_escapes: bool,
    skip_process_quotes: bool,
    skip_unset_env: bool,
}

/// The outcome of [`ShellLex::process_word_with_matches`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessedWord {
    /// The expanded word with quotes removed.
    pub result: String,
    /// The same expansion split into words, as [`ShellLex::process_words`] gives it.
    pub words: Vec<String>,
    /// Variables that the word referenced and that were set (even if empty).
    pub matched: BTreeSet<String>,
    /// Variables that the word referenced but that were not set.
    pub unmatched: BTreeSet<String>,
}

impl ShellLex {
    /// A lexer using `escape` as the escape char (`\` or `` ` ``, from the `escape` directive).
    pub fn new(escape: char) -> Self {
        ShellLex {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// The escape char this lexer uses.
    pub fn escape(&self) -> char {
        self.escape
    }

    /// Keep quote chars in the output instead of removing them (used to find heredoc words).
    pub fn with_raw_quotes(mut self, on: bool) -> Self {
        self.raw_quotes = on;
        self
    }

    /// Keep escape chars in the output instead of removing them.
    pub fn with_raw_escapes(mut self, on: bool) -> Self {
        self.raw_escapes = on;
        self
    }

    /// Treat `'` and `"` as ordinary chars. Heredoc bodies are expanded this way: quotes in a
    /// file's content are content.
    pub fn with_skip_process_quotes(mut self, on: bool) -> Self {
        self.skip_process_quotes = on;
        self
    }

    /// Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding
    /// them to the empty string.
    pub fn with_skip_unset_env(mut self, on: bool) -> Self {
        self.skip_unset_env = on;
        self
    }

    /// Expands `word` as one word: quotes removed, no splitting on whitespace.
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, LexError> {
        Ok(self.process_word_with_matches(word, env)?.result)
    }

    /// Expands `word` and splits the result into words the way `sh` does: unquoted whitespace,
    /// including whitespace that comes out of an unquoted expansion, separates words.
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, LexError> {
        Ok(self.process_word_with_matches(word, env)?.words)
    }

    /// Like [`ShellLex::process_word`] (and [`ShellLex::process_words`]), and also reports which
    /// variables the word referenced.
    ///
    /// The build cache needs this: a build arg only affects a step's cache key when the step
    /// actually uses it.
    pub fn process_word_with_matches(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<ProcessedWord, LexError> {
        let mut processor = word::Processor::new(self, word, env);
        match processor.run() {
            Ok((result, words)) => {
                let (matched, unmatched) = processor.into_matches();
                Ok(ProcessedWord {
                    result,
                    words,
                    matched,
                    unmatched,
                })
            }
            Err(reason) => Err(LexError {
                word: word.to_string(),
                reason,
            }),
        }
    }
}

impl Default for ShellLex {
    /// The lexer for the default escape char `\`.
    fn default() -> Self {
        ShellLex::new('\\')
    }
}

#[cfg(test)]
mod tests;
