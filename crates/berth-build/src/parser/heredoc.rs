//! Heredocs: `RUN <<EOF`, `COPY <<A <<B /dest`, `3<<EOF`, `<<-EOF`, `<<'EOF'`.

use crate::shell::ShellLex;

/// A here-document attached to a `RUN`, `COPY` or `ADD` instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word with quotes removed (`<<'EOF'` → `EOF`). For `COPY`/`ADD` it is also
    /// the name of the file the body becomes.
    pub name: String,
    /// The body exactly as written, every line with its line ending, leading tabs included
    /// even for `<<-` (see [`Heredoc::body`]).
    pub content: String,
    /// Whether `$VAR`s in the body are expanded: false when any part of the terminator word
    /// was quoted (`<<'EOF'`, `<<"EOF"`, `<<E"O"F`).
    pub expand: bool,
    /// `<<-`: leading tabs are removed from the body's lines and the terminator line.
    pub chomp: bool,
    /// The file descriptor the body is fed to for `RUN` (`3<<EOF`); 0 (stdin) by default.
    pub file_descriptor: u32,
}

impl Heredoc {
    /// The body as the build uses it: with `<<-`, leading tabs removed from every line.
    pub fn body(&self) -> String {
        if self.chomp {
            chomp_leading_tabs(&self.content)
        } else {
            self.content.clone()
        }
    }
}

/// Removes the leading tabs of every line of `text`.
pub fn chomp_leading_tabs(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// Go regexp `\s`.
const BLANKS: [char; 5] = ['\t', '\n', '\x0c', '\r', ' '];

/// Reads a heredoc opener from one shell word: `[digits]<<[-][blanks]word`, where `word`
/// has no `<` and lexes to exactly one word. Returns `None` for words that are not heredoc
/// openers (`<<`, `<<EOF sh`, `<<<x`), an error for an opener that cannot be lexed (`<<'EOF`).
pub fn parse_heredoc_word(word: &str) -> Result<Option<Heredoc>, String> {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (digits, rest) = word.split_at(digits_end);
    let Some(rest) = rest.strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let terminator = rest.trim_start_matches(BLANKS);
    if terminator.is_empty() || terminator.contains('<') {
        return Ok(None);
    }
    let lex = ShellLex::new('\\').with_skip_unset_env(true);
    let words = lex
        .process_words(terminator, &())
        .map_err(|err| err.to_string())?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    let raw_words = lex
        .with_raw_quotes(true)
        .process_words(terminator, &())
        .map_err(|err| err.to_string())?;
    let [raw_name] = raw_words.as_slice() else {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {terminator}"
        ));
    };
    // Quotes that lexing removed mean part of the word was quoted: no expansion.
    let quote_count = |s: &str| s.chars().filter(|c| matches!(c, '\'' | '"')).count();
    Ok(Some(Heredoc {
        name: name.clone(),
        content: String::new(),
        expand: quote_count(name) == quote_count(raw_name),
        chomp,
        // An fd too large for u32 is ignored like BuildKit ignores its parse error.
        file_descriptor: digits.parse().unwrap_or(0),
    }))
}

/// The heredoc openers of an instruction's text, in order.
pub(super) fn heredocs_in_line(line: &str) -> Result<Vec<Heredoc>, String> {
    let lex = ShellLex::new('\\')
        .with_raw_quotes(true)
        .with_raw_escapes(true)
        .with_skip_unset_env(true);
    // A line the lexer cannot split (an unbalanced quote) has no heredocs.
    let words = lex.process_words(line, &()).unwrap_or_default();
    let mut heredocs = Vec::new();
    for word in &words {
        if let Some(heredoc) = parse_heredoc_word(word)? {
            heredocs.push(heredoc);
        }
    }
    Ok(heredocs)
}

/// Whether `line` (without its ending) ends the heredoc.
pub(super) fn is_terminator(heredoc: &Heredoc, line: &str) -> bool {
    let line = super::lines::trim_newline(line);
    let line = if heredoc.chomp {
        line.trim_start_matches('\t')
    } else {
        line
    };
    line == heredoc.name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(word: &str) -> Option<String> {
        parse_heredoc_word(word).unwrap().map(|h| h.name)
    }

    #[test]
    fn opener_forms() {
        for word in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(name_of(word).as_deref(), Some("EOF"), "{word}");
        }
    }

    #[test]
    fn not_openers() {
        for word in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(name_of(word), None, "{word}");
        }
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        for word in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(parse_heredoc_word(word).is_err(), "{word}");
        }
    }

    #[test]
    fn quoting_disables_expansion_escaping_does_not() {
        let h = |w: &str| parse_heredoc_word(w).unwrap().unwrap();
        assert!(h("<<EOF").expand);
        assert!(!h("<<'EOF'").expand);
        assert!(!h("<<eo'f'").expand);
        assert_eq!(h("<<eo\\'f").name, "eo'f");
        assert!(h("<<eo\\'f").expand);
        assert_eq!(h("<<'one two'").name, "one two");
        assert_eq!(h("<<$EOF").name, "$EOF");
    }

    #[test]
    fn file_descriptor_and_chomp() {
        let h = parse_heredoc_word("3<<-EOF").unwrap().unwrap();
        assert_eq!((h.file_descriptor, h.chomp), (3, true));
    }

    #[test]
    fn chomp_removes_leading_tabs_of_each_line() {
        assert_eq!(
            chomp_leading_tabs("\thello\n\t\tworld\n x\n"),
            "hello\nworld\n x\n"
        );
    }
}
