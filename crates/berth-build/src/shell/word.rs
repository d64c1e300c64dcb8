//! The expansion state machine behind [`super::ShellLex`].

use std::collections::BTreeSet;

use unicode_general_category::{get_general_category, GeneralCategory};

use super::{pattern, Env, ShellLex};
use crate::error::LexReason;

/// One pass over one input word.
pub(super) struct Processor<'a> {
    lex: &'a ShellLex,
    env: &'a dyn Env,
    chars: Vec<char>,
    pos: usize,
    /// Whether escape chars are kept; `${X#pat}` and friends switch it on for their pattern.
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
}

/// Collects the words of [`super::ShellLex::process_words`] alongside the plain result.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    /// A char that unquoted whitespace may split at.
    fn add_char(&mut self, ch: char) {
        if !ch.is_whitespace() {
            self.add_raw_char(ch);
        } else if self.in_word && !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
            self.in_word = false;
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    /// The value of an unquoted `$` expansion: its whitespace separates words.
    fn add_str(&mut self, text: &str) {
        text.chars().for_each(|ch| self.add_char(ch));
    }

    /// Quoted text: kept together whatever it contains.
    fn add_raw_str(&mut self, text: &str) {
        self.buf.push_str(text);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(self.buf);
        }
        self.words
    }
}

type Processed = Result<(String, Vec<String>), LexReason>;

impl<'a> Processor<'a> {
    pub(super) fn new(lex: &'a ShellLex, word: &str, env: &'a dyn Env) -> Self {
        Processor {
            lex,
            env,
            chars: word.chars().collect(),
            pos: 0,
            raw_escapes: lex.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
        }
    }

    /// The expanded word and its split into words.
    pub(super) fn run(&mut self) -> Processed {
        self.process_until(None, self.lex.raw_escapes)
    }

    pub(super) fn into_matches(self) -> (BTreeSet<String>, BTreeSet<String>) {
        (self.matched, self.unmatched)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn process_until(&mut self, stop: Option<char>, raw_escapes: bool) -> Processed {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let outcome = self.process_until_inner(stop);
        self.raw_escapes = saved;
        outcome
    }

    fn process_until_inner(&mut self, stop: Option<char>) -> Processed {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let quotes_special = !self.lex.skip_process_quotes;
            match ch {
                '$' => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                    words.add_str(&value);
                }
                '<' => {
                    let text = self.possible_heredoc();
                    result.push_str(&text);
                    words.add_raw_str(&text);
                }
                '\'' if quotes_special => {
                    let text = self.single_quoted()?;
                    result.push_str(&text);
                    words.add_raw_str(&text);
                }
                '"' if quotes_special => {
                    let text = self.double_quoted()?;
                    result.push_str(&text);
                    words.add_raw_str(&text);
                }
                _ => {
                    self.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            words.add_raw_char(ch);
                            result.push(ch);
                        }
                        // An escape at the very end escapes nothing and is dropped.
                        let Some(escaped) = self.next() else { break };
                        words.add_raw_char(escaped);
                        result.push(escaped);
                    } else {
                        words.add_char(ch);
                        result.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(stop) => Err(LexReason::UnexpectedEnd(stop)),
            None => Ok((result, words.finish())),
        }
    }

    fn single_quoted(&mut self) -> Result<String, LexReason> {
        let mut out = String::new();
        self.next();
        if self.lex.raw_quotes {
            out.push('\'');
        }
        loop {
            match self.next() {
                None => return Err(LexReason::UnterminatedSingleQuote),
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(ch) => out.push(ch),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, LexReason> {
        let mut out = String::new();
        self.next();
        if self.lex.raw_quotes {
            out.push('"');
        }
        loop {
            match self.peek() {
                None => return Err(LexReason::UnterminatedDoubleQuote),
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    out.push_str(&value);
                }
                Some(ch) => {
                    self.next();
                    if ch != self.lex.escape {
                        out.push(ch);
                        continue;
                    }
                    // Inside double quotes the escape char only escapes `"`, `$` and itself;
                    // before anything else it is an ordinary char, as in sh.
                    match self.peek() {
                        Some(next) if next == '"' || next == '$' || next == self.lex.escape => {
                            self.next();
                            if self.raw_escapes {
                                out.push(ch);
                            }
                            out.push(next);
                        }
                        Some(_) => out.push(ch),
                        None => {}
                    }
                }
            }
        }
    }

    /// `<<` with the blanks after it stays one word, so that `<< EOF` is seen as a heredoc.
    fn possible_heredoc(&mut self) -> String {
        self.next();
        if self.peek() != Some('<') {
            return "<".to_string();
        }
        self.next();
        let mut text = "<<".to_string();
        while let Some(ch) = self.peek().filter(|c| matches!(c, '\t' | '\r' | ' ')) {
            text.push(ch);
            self.next();
        }
        text
    }

    fn dollar(&mut self) -> Result<String, LexReason> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next();
        match self.peek() {
            None => return Err(LexReason::MissingBrace),
            Some('{' | '}' | ':') => return Err(LexReason::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            None => Err(LexReason::MissingBrace),
            Some('}') => Ok(match self.lookup(&name) {
                Some(value) => value,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(op @ (':' | '+' | '-' | '?' | '#' | '%')) => self.modifier(name, op),
            Some('/') => self.substitution(name),
            Some(other) => Err(LexReason::UnsupportedModifier(other.to_string())),
        }
    }

    /// `${name<op>word}` after `<op>` was read.
    fn modifier(&mut self, name: String, first: char) -> Result<String, LexReason> {
        let mut modifier = first.to_string();
        let mut op = first;
        let null_is_unset = first == ':';
        if null_is_unset {
            op = self.next().ok_or(LexReason::MissingBrace)?;
            modifier.push(op);
        }
        // Patterns keep their escapes: `\*` must reach the pattern compiler.
        let raw = op == '#' || op == '%';
        if null_is_unset && raw {
            return Err(LexReason::UnsupportedModifier(modifier));
        }
        let word = self.until_closing('}', raw, LexReason::MissingBrace)?;

        let value = self.lookup(&name);
        let Some(value) = value else {
            if self.lex.skip_unset_env {
                return Ok(format!("${{{name}{modifier}{word}}}"));
            }
            return self.apply_unset(&name, op, &modifier, word);
        };
        let unset = null_is_unset && value.is_empty();
        match op {
            '-' if unset => Ok(word),
            '-' => Ok(value),
            '+' if unset => Ok(String::new()),
            '+' => Ok(word),
            '?' if unset => Err(required(&name, word, "is not allowed to be empty")),
            '?' => Ok(value),
            '#' | '%' => trim(&value, op, &word),
            _ => Err(LexReason::UnsupportedModifier(modifier)),
        }
    }

    /// What `${name<op>word}` gives for an unset `name`.
    fn apply_unset(
        &self,
        name: &str,
        op: char,
        modifier: &str,
        word: String,
    ) -> Result<String, LexReason> {
        match op {
            '-' => Ok(word),
            '+' => Ok(String::new()),
            '?' => Err(required(name, word, "is not allowed to be unset")),
            '#' | '%' => trim("", op, &word),
            _ => Err(LexReason::UnsupportedModifier(modifier.to_string())),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}` after the first `/`.
    fn substitution(&mut self, name: String) -> Result<String, LexReason> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let pattern = self.until_closing('/', true, LexReason::MissingSlash)?;
        let replacement = self.until_closing('}', true, LexReason::MissingBrace)?;
        match self.lookup(&name) {
            Some(value) => pattern::replace(&value, &pattern, &replacement, all),
            None if self.lex.skip_unset_env => {
                let slashes = if all { "//" } else { "/" };
                Ok(format!("${{{name}{slashes}{pattern}/{replacement}}}"))
            }
            None => pattern::replace("", &pattern, &replacement, all),
        }
    }

    /// The text up to `stop`; running out of input is reported as `at_end`.
    fn until_closing(
        &mut self,
        stop: char,
        raw_escapes: bool,
        at_end: LexReason,
    ) -> Result<String, LexReason> {
        match self.process_until(Some(stop), raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err(at_end),
            Err(other) => Err(other),
        }
    }

    /// A variable name: letters, digits and `_`; or all the digits of a positional parameter;
    /// or one special parameter char.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(digit) = self.peek().filter(|c| is_digit(*c)) {
                    name.push(digit);
                    self.next();
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.next();
                return ch.to_string();
            }
            if !is_letter(ch) && !is_digit(ch) && ch != '_' {
                break;
            }
            name.push(ch);
            self.next();
        }
        name
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(value) => {
                self.matched.insert(name.to_string());
                Some(value.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }
}

fn required(name: &str, word: String, default_message: &str) -> LexReason {
    let message = if word.is_empty() {
        default_message.to_string()
    } else {
        word
    };
    LexReason::Required {
        name: name.to_string(),
        message,
    }
}

/// `#`/`##` remove a matching prefix, `%`/`%%` a matching suffix; doubling the operator asks
/// for the longest match instead of the shortest.
fn trim(value: &str, op: char, word: &str) -> Result<String, LexReason> {
    let (longest, pattern) = match word.strip_prefix(op) {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    if op == '%' {
        pattern::trim_suffix(value, pattern, longest)
    } else {
        pattern::trim_prefix(value, pattern, longest)
    }
}

/// POSIX special parameters (`$@`, `$*`, `$#`, ...): never set in a Dockerfile.
fn is_special_param(ch: char) -> bool {
    matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

/// Go's `unicode.IsDigit`: decimal digits of any script.
fn is_digit(ch: char) -> bool {
    get_general_category(ch) == GeneralCategory::DecimalNumber
}

/// Go's `unicode.IsLetter`: the letter categories.
fn is_letter(ch: char) -> bool {
    matches!(
        get_general_category(ch),
        GeneralCategory::UppercaseLetter
            | GeneralCategory::LowercaseLetter
            | GeneralCategory::TitlecaseLetter
            | GeneralCategory::ModifierLetter
            | GeneralCategory::OtherLetter
    )
}
