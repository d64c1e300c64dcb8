//! BuildKit's AST dump (`Node.Dump()`): `(keyword ["--flag"] "arg" ...)` with Go quoting.

use unicode_general_category::{get_general_category, GeneralCategory};

use super::{Dockerfile, Node};

impl Node {
    /// BuildKit's dump of this instruction, without the surrounding parentheses:
    /// `copy ["--from=a"] "src" "/dst"`, `onbuild (run "echo hi")`.
    pub fn dump(&self) -> String {
        let mut out = self.keyword.to_lowercase();
        if !self.flags.is_empty() {
            let flags: Vec<String> = self.flags.iter().map(|f| go_quote(f)).collect();
            out.push_str(&format!(" [{}]", flags.join(" ")));
        }
        match &self.next {
            Some(sub) => {
                out.push_str(" (");
                out.push_str(&sub.dump());
                out.push(')');
            }
            None => {
                for arg in &self.args {
                    out.push(' ');
                    out.push_str(&go_quote(arg));
                }
            }
        }
        out.trim().to_string()
    }
}

impl Dockerfile {
    /// BuildKit's dump of the whole file: one `(...)` line per instruction, no final newline.
    pub fn dump(&self) -> String {
        let lines: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("({})", node.dump()))
            .collect();
        lines.join("\n")
    }
}

/// Go's `strconv.Quote`: double quotes, C-style escapes, printable Unicode kept as is and
/// everything else as `\xHH`, `\uHHHH` or `\UHHHHHHHH`.
pub fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            ch if is_go_printable(ch) => out.push(ch),
            ch if ch < ' ' || ch == '\x7f' => out.push_str(&format!("\\x{:02x}", ch as u32)),
            ch if (ch as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", ch as u32)),
            ch => out.push_str(&format!("\\U{:08x}", ch as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_go_printable(ch: char) -> bool {
    use GeneralCategory::*;
    ch == ' '
        || matches!(
            get_general_category(ch),
            UppercaseLetter
                | LowercaseLetter
                | TitlecaseLetter
                | ModifierLetter
                | OtherLetter
                | NonspacingMark
                | SpacingMark
                | EnclosingMark
                | DecimalNumber
                | LetterNumber
                | OtherNumber
                | ConnectorPunctuation
                | DashPunctuation
                | OpenPunctuation
                | ClosePunctuation
                | InitialPunctuation
                | FinalPunctuation
                | OtherPunctuation
                | MathSymbol
                | CurrencySymbol
                | ModifierSymbol
                | OtherSymbol
        )
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go_strconv_quote() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\n\t\r\x08\x0c\x07\x0b"), r#""\n\t\r\b\f\a\v""#);
        assert_eq!(go_quote("\0\x7f"), r#""\x00\x7f""#);
        assert_eq!(go_quote("♥ ☃ 한국어"), "\"♥ ☃ 한국어\"");
        assert_eq!(go_quote("\u{a0}\u{200b}"), r#""\u00a0\u200b""#);
        assert_eq!(go_quote("\u{e0001}"), r#""\U000e0001""#);
    }
}
