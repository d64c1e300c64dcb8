//! Wildcards in `COPY`/`ADD` sources, as Go's `filepath.Match` reads them: per path element,
//! `*` any run of characters, `?` one character, `[a-z]`/`[^a-z]` a class, `\` escapes.

use regex::Regex;

/// Whether a source path has wildcards (and so may match several files, or none).
pub fn has_wildcards(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// A compiled pattern for one path element.
pub(crate) struct ElementPattern(Regex);

impl ElementPattern {
    pub(crate) fn new(pattern: &str) -> Result<ElementPattern, String> {
        let mut out = String::from("^");
        let mut chars = pattern.chars().peekable();
        let mut in_class = false;
        while let Some(c) = chars.next() {
            match c {
                '*' if !in_class => out.push_str("[^/]*"),
                '?' if !in_class => out.push_str("[^/]"),
                '[' if !in_class => {
                    in_class = true;
                    out.push('[');
                    if chars.peek() == Some(&'^') {
                        chars.next();
                        out.push('^');
                    }
                }
                ']' if in_class => {
                    in_class = false;
                    out.push(']');
                }
                '-' if in_class => out.push('-'),
                '\\' => match chars.next() {
                    Some(e) => out.push_str(&regex::escape(&e.to_string())),
                    None => return Err(format!("syntax error in pattern {pattern:?}")),
                },
                other => out.push_str(&regex::escape(&other.to_string())),
            }
        }
        if in_class {
            return Err(format!("syntax error in pattern {pattern:?}"));
        }
        out.push('$');
        Regex::new(&out)
            .map(ElementPattern)
            .map_err(|e| format!("syntax error in pattern {pattern:?}: {e}"))
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_rules() {
        let p = ElementPattern::new("*.js").unwrap();
        assert!(p.matches("app.js"));
        assert!(!p.matches("app.jsx"));
        let p = ElementPattern::new("file?.[0-9]").unwrap();
        assert!(p.matches("fileA.7"));
        assert!(!p.matches("file.7"));
        let p = ElementPattern::new("[^a]*").unwrap();
        assert!(p.matches("bcd"));
        assert!(!p.matches("abc"));
        let p = ElementPattern::new("a\\*b").unwrap();
        assert!(p.matches("a*b"));
        assert!(!p.matches("axb"));
        assert!(ElementPattern::new("[abc").is_err());
        assert!(has_wildcards("src/*.c"));
        assert!(!has_wildcards("src/main.c"));
    }
}
