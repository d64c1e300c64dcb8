//! `.dockerignore`: which context paths a build may not see, with Docker's rules.
//!
//! One pattern a line; `#` starts a comment line; blank lines are skipped. Patterns are cleaned
//! as paths (`./a//b/` is `a/b`, a leading `/` is dropped). `*` matches any run of characters
//! but `/`, `?` one character but `/`, `**` any number of directories (none included), `[...]`
//! a character class, `\` escapes. A pattern that matches a directory matches everything below
//! it. `!pattern` re-includes what earlier lines excluded: the last pattern that matches wins.
//!
//! ```
//! use berth_build::context::IgnoreRules;
//!
//! let rules = IgnoreRules::parse("# build output\ntarget\n**/*.log\n!keep.log\n").unwrap();
//! assert!(rules.is_excluded("target/debug/app"));
//! assert!(rules.is_excluded("src/x.log"));
//! assert!(!rules.is_excluded("keep.log"));
//! assert!(!rules.is_excluded("src/main.rs"));
//! ```

use regex::Regex;

use crate::context::ContextError;

/// One compiled line of a `.dockerignore`.
#[derive(Debug, Clone)]
struct Pattern {
    /// `!pattern`: an exception.
    exception: bool,
    regex: Regex,
}

/// The rules of a `.dockerignore` (or of `COPY --exclude`), in file order.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Reads the text of a `.dockerignore`.
    pub fn parse(text: &str) -> Result<IgnoreRules, ContextError> {
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        IgnoreRules::from_patterns(&lines)
    }

    /// Compiles patterns given one by one (`COPY --exclude=...`).
    pub fn from_patterns<S: AsRef<str>>(lines: &[S]) -> Result<IgnoreRules, ContextError> {
        let mut patterns = Vec::new();
        for line in lines {
            let line = line.as_ref().trim();
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if pattern.is_empty() {
                continue;
            }
            let cleaned = clean(pattern);
            let regex = Regex::new(&to_regex(&cleaned)).map_err(|e| ContextError::Pattern {
                pattern: line.to_string(),
                message: e.to_string(),
            })?;
            patterns.push(Pattern { exception, regex });
        }
        Ok(IgnoreRules { patterns })
    }

    /// No rules at all: nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether some rule is an exception (`!pattern`): an excluded directory may then still
    /// hold included files, so a walk has to look inside it.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for p in &self.patterns {
            // An exclusion cannot change an excluded path, nor an exception an included one.
            if p.exception != excluded {
                continue;
            }
            let matched = p.regex.is_match(&path) || parents.iter().any(|d| p.regex.is_match(d));
            if matched {
                excluded = !p.exception;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean` for `/`-separated relative paths, a leading `/` dropped.
pub(crate) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// The anchored regular expression of one cleaned pattern.
fn to_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                // `**/` is `**`: any number of directories, none included.
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                if chars.peek().is_none() {
                    out.push_str(".*");
                } else {
                    out.push_str("(.*/)?");
                }
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(escaped) => out.push_str(&regex::escape(&escaped.to_string())),
                None => out.push_str("\\\\"),
            },
            '[' | ']' => out.push(c),
            // Inside a class `^` and `-` keep their meaning; elsewhere nothing is special.
            '^' | '-' => out.push(c),
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text).unwrap()
    }

    #[test]
    fn comments_blank_lines_and_cleaning() {
        let r = rules("# comment\n\n  ./build//out/  \n/abs\n");
        assert!(r.is_excluded("build/out"));
        assert!(r.is_excluded("build/out/x.o"));
        assert!(!r.is_excluded("build"));
        assert!(r.is_excluded("abs"));
        assert!(!r.is_excluded("# comment"));
    }

    #[test]
    fn star_question_and_double_star() {
        let r = rules("*.tmp\nsrc/?.c\n**/cache\ndocs/**/*.md\n");
        assert!(r.is_excluded("a.tmp"));
        assert!(!r.is_excluded("dir/a.tmp"), "* does not cross /");
        assert!(r.is_excluded("src/a.c"));
        assert!(!r.is_excluded("src/ab.c"));
        assert!(r.is_excluded("cache"));
        assert!(r.is_excluded("x/y/cache/z"));
        assert!(r.is_excluded("docs/a.md"));
        assert!(r.is_excluded("docs/a/b/c.md"));
        assert!(!r.is_excluded("docs/a/b/c.txt"));
    }

    #[test]
    fn last_match_wins_with_exceptions() {
        let r = rules("*.md\n!README.md\nREADME*.md\n");
        assert!(r.is_excluded("CHANGES.md"));
        assert!(r.is_excluded("README.md"), "a later exclusion wins again");
        let r = rules("logs\n!logs/keep.txt\n");
        assert!(r.is_excluded("logs/other.txt"));
        assert!(!r.is_excluded("logs/keep.txt"));
        assert!(r.has_exceptions());
    }

    #[test]
    fn classes_and_escapes() {
        let r = rules("file[0-9].txt\nodd\\*name\n");
        assert!(r.is_excluded("file7.txt"));
        assert!(!r.is_excluded("fileA.txt"));
        assert!(r.is_excluded("odd*name"));
        assert!(!r.is_excluded("oddXname"));
    }

    #[test]
    fn dots_in_names_are_literal() {
        let r = rules("a.b\n");
        assert!(r.is_excluded("a.b"));
        assert!(!r.is_excluded("axb"));
    }
}
