//! Splits a Go template into text and the tokens of its actions.
//!
//! Follows Go's `text/template/parse` lexer: `{{-`/`-}}` trim markers (which need a space on
//! their inner side), `{{/* comments */}}`, Go string, raw string, rune and number literals.

use crate::format::FormatError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Literal text outside actions, already trimmed by neighbouring trim markers.
    Text(String),
    Open,
    Close,
    /// A function name or keyword.
    Ident(String),
    /// `.A.B`: a chain of field names starting at dot.
    Field(Vec<String>),
    /// `$x.A.B`: a variable (`$` alone is the root) with an optional field chain.
    Var(String, Vec<String>),
    /// `.A` right after `)`, applied to a parenthesised pipeline.
    ChainField(Vec<String>),
    Dot,
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, FormatError> {
    Lexer {
        src,
        pos: 0,
        line: 1,
        out: Vec::new(),
        trim_next_text: false,
    }
    .run()
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    line: usize,
    out: Vec<Token>,
    trim_next_text: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl<'s> Lexer<'s> {
    fn err(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Parse {
            line: self.line,
            msg: msg.into(),
        }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok) {
        self.out.push(Token {
            tok,
            line: self.line,
        });
    }

    fn run(mut self) -> Result<Vec<Token>, FormatError> {
        loop {
            let rest = self.rest();
            let text_end = rest.find("{{").unwrap_or(rest.len());
            let mut text = &rest[..text_end];
            let start_line = self.line;
            self.line += text.matches('\n').count();
            self.pos += text_end;
            if self.trim_next_text {
                text = text.trim_start_matches(is_space);
                self.trim_next_text = false;
            }
            let at_end = self.pos >= self.src.len();
            // A left trim marker eats the whitespace before the action.
            let trims_left = !at_end && self.trim_marker_after_open();
            if trims_left {
                text = text.trim_end_matches(is_space);
            }
            if !text.is_empty() {
                self.out.push(Token {
                    tok: Tok::Text(text.to_string()),
                    line: start_line,
                });
            }
            if at_end {
                return Ok(self.out);
            }
            self.pos += 2;
            if trims_left {
                self.pos += 1;
            }
            self.action()?;
        }
    }

    fn trim_marker_after_open(&self) -> bool {
        let after = &self.rest()[2..];
        after.starts_with('-') && after[1..].starts_with(is_space)
    }

    /// Looks for `}}` or ` -}}` at the current position; consumes it if found.
    fn close(&mut self) -> bool {
        let rest = self.rest();
        let trim =
            rest.starts_with(is_space) && rest.trim_start_matches(is_space).starts_with("-}}");
        if trim {
            while self.peek().is_some_and(is_space) {
                self.bump();
            }
            self.pos += 3;
            self.trim_next_text = true;
            return true;
        }
        if rest.starts_with("}}") {
            self.pos += 2;
            return true;
        }
        false
    }

    fn action(&mut self) -> Result<(), FormatError> {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
        if self.rest().starts_with("/*") {
            return self.comment();
        }
        self.push(Tok::Open);
        let mut parens = 0usize;
        loop {
            if self.close() {
                if parens > 0 {
                    return Err(self.err("unclosed left paren"));
                }
                self.push(Tok::Close);
                return Ok(());
            }
            let Some(c) = self.peek() else {
                return Err(self.err("unclosed action"));
            };
            match c {
                c if is_space(c) => {
                    self.bump();
                }
                '|' => {
                    self.bump();
                    self.push(Tok::Pipe);
                }
                '(' => {
                    self.bump();
                    parens += 1;
                    self.push(Tok::LParen);
                }
                ')' => {
                    self.bump();
                    if parens == 0 {
                        return Err(self.err("unexpected right paren"));
                    }
                    parens -= 1;
                    self.push(Tok::RParen);
                    if self.rest().starts_with('.') {
                        let fields = self.fields()?;
                        self.push(Tok::ChainField(fields));
                    }
                }
                ',' => {
                    self.bump();
                    self.push(Tok::Comma);
                }
                ':' => {
                    self.bump();
                    if self.bump() != Some('=') {
                        return Err(self.err("expected :="));
                    }
                    self.push(Tok::Declare);
                }
                '=' => {
                    self.bump();
                    self.push(Tok::Assign);
                }
                '"' => {
                    let s = self.quoted()?;
                    self.push(Tok::Str(s));
                }
                '`' => {
                    let s = self.raw_string()?;
                    self.push(Tok::Str(s));
                }
                '\'' => {
                    let n = self.rune()?;
                    self.push(Tok::Num(n.into()));
                }
                '$' => {
                    self.bump();
                    let name = format!("${}", self.take_while(is_ident_char));
                    let fields = if self.rest().starts_with('.') {
                        self.fields()?
                    } else {
                        Vec::new()
                    };
                    self.push(Tok::Var(name, fields));
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|c| c.is_ascii_digit()) {
                        let n = self.number()?;
                        self.push(Tok::Num(n));
                    } else if next.is_some_and(is_ident_char) {
                        let fields = self.fields()?;
                        self.push(Tok::Field(fields));
                    } else {
                        self.bump();
                        self.push(Tok::Dot);
                    }
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' => {
                    let n = self.number()?;
                    self.push(Tok::Num(n));
                }
                c if is_ident_char(c) => {
                    let word = self.take_while(is_ident_char);
                    let tok = match word {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        w => Tok::Ident(w.to_string()),
                    };
                    self.push(tok);
                }
                c => return Err(self.err(format!("unrecognized character in action: {c:?}"))),
            }
        }
    }

    fn comment(&mut self) -> Result<(), FormatError> {
        let Some(end) = self.rest().find("*/") else {
            return Err(self.err("unclosed comment"));
        };
        let body = &self.rest()[..end + 2];
        self.line += body.matches('\n').count();
        self.pos += end + 2;
        if !self.close() {
            return Err(self.err("comment ends before closing delimiter"));
        }
        Ok(())
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'s str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        &self.src[start..self.pos]
    }

    /// `.A.B.C` as one chain (Go lexes the same pieces; only adjacency joins them).
    fn fields(&mut self) -> Result<Vec<String>, FormatError> {
        let mut out = Vec::new();
        while self.rest().starts_with('.') {
            self.bump();
            let name = self.take_while(is_ident_char);
            if name.is_empty() {
                return Err(self.err("bad character after '.'"));
            }
            out.push(name.to_string());
        }
        Ok(out)
    }

    fn number(&mut self) -> Result<serde_json::Number, FormatError> {
        let text = self
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'))
            .replace('_', "");
        parse_number(&text).ok_or_else(|| self.err(format!("bad number syntax: {text:?}")))
    }

    fn raw_string(&mut self) -> Result<String, FormatError> {
        self.bump();
        let Some(end) = self.rest().find('`') else {
            return Err(self.err("unterminated raw quoted string"));
        };
        let s = self.rest()[..end].to_string();
        self.line += s.matches('\n').count();
        self.pos += end + 1;
        Ok(s)
    }

    fn quoted(&mut self) -> Result<String, FormatError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("unterminated quoted string")),
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape('"')?),
                Some(c) => out.push(c),
            }
        }
    }

    fn rune(&mut self) -> Result<u32, FormatError> {
        self.bump();
        let c = match self.bump() {
            None | Some('\n') | Some('\'') => return Err(self.err("bad character constant")),
            Some('\\') => self.escape('\'')?,
            Some(c) => c,
        };
        if self.bump() != Some('\'') {
            return Err(self.err("unterminated character constant"));
        }
        Ok(u32::from(c))
    }

    fn escape(&mut self, quote: char) -> Result<char, FormatError> {
        let bad = |l: &Self| l.err("invalid syntax in escape sequence");
        let c = self.bump().ok_or_else(|| bad(self))?;
        let hex = |l: &mut Self, n: usize| -> Result<char, FormatError> {
            let digits: String = (0..n).filter_map(|_| l.bump()).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .filter(|_| digits.len() == n)
                .and_then(char::from_u32)
                .ok_or_else(|| bad(l))
        };
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = self
                        .bump()
                        .and_then(|c| c.to_digit(8))
                        .ok_or_else(|| bad(self))?;
                    v = v * 8 + d;
                }
                char::from_u32(v)
                    .filter(|_| v < 256)
                    .ok_or_else(|| bad(self))?
            }
            c if c == quote => c,
            _ => return Err(bad(self)),
        })
    }
}

/// Go's number literals as a template sees them: integers stay integers, and so does any
/// float constant with an integral value (Go prints `{{1e3}}` as `1000`).
fn parse_number(text: &str) -> Option<serde_json::Number> {
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = digits.to_ascii_lowercase();
    let radix_int = if let Some(h) = lower.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        u64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        u64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        u64::from_str_radix(&lower[1..], 8).ok()
    } else {
        None
    };
    if let Some(u) = radix_int {
        return int_number(neg, u);
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) && !lower.is_empty() {
        return int_number(neg, lower.parse().ok()?);
    }
    if !lower.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    let f = if neg { -f } else { f };
    super::value::number_from_f64(f)
}

fn int_number(neg: bool, u: u64) -> Option<serde_json::Number> {
    if neg {
        let i = i64::try_from(u).ok()?;
        Some((-i).into())
    } else {
        Some(u.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn trim_markers_eat_whitespace_on_their_side_only() {
        assert_eq!(
            toks("a  {{- .X -}}  b {{.Y}} c"),
            vec![
                Tok::Text("a".into()),
                Tok::Open,
                Tok::Field(vec!["X".into()]),
                Tok::Close,
                Tok::Text("b ".into()),
                Tok::Open,
                Tok::Field(vec!["Y".into()]),
                Tok::Close,
                Tok::Text(" c".into()),
            ]
        );
    }

    #[test]
    fn minus_number_is_not_a_trim_marker() {
        assert_eq!(
            toks("{{-3}}"),
            vec![Tok::Open, Tok::Num((-3).into()), Tok::Close]
        );
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(
            toks("a {{- /* x\ny */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into())]
        );
        assert!(lex("{{/* x */ .A}}").is_err());
    }

    #[test]
    fn literals_follow_go() {
        assert_eq!(
            toks(r#"{{"a\tb\u00e9" `r\n` 'x' 0x10 1.5 1e3 true nil}}"#),
            vec![
                Tok::Open,
                Tok::Str("a\tbé".into()),
                Tok::Str("r\\n".into()),
                Tok::Num(120.into()),
                Tok::Num(16.into()),
                Tok::Num(serde_json::Number::from_f64(1.5).unwrap()),
                Tok::Num(1000.into()),
                Tok::Bool(true),
                Tok::Nil,
                Tok::Close,
            ]
        );
    }

    #[test]
    fn fields_variables_and_chains() {
        assert_eq!(
            toks("{{$x := .A.B}}{{(.C).D $}}"),
            vec![
                Tok::Open,
                Tok::Var("$x".into(), vec![]),
                Tok::Declare,
                Tok::Field(vec!["A".into(), "B".into()]),
                Tok::Close,
                Tok::Open,
                Tok::LParen,
                Tok::Field(vec!["C".into()]),
                Tok::RParen,
                Tok::ChainField(vec!["D".into()]),
                Tok::Var("$".into(), vec![]),
                Tok::Close,
            ]
        );
    }

    #[test]
    fn unterminated_things_are_errors() {
        assert!(lex("{{.A").is_err());
        assert!(lex("{{\"abc}}").is_err());
        assert!(lex("{{(.A}}").is_err());
    }
}
