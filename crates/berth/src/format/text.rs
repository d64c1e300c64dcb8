//! Text helpers with Go's rules: `strconv.Quote`, and the display width Docker measures with.

use unicode_width::UnicodeWidthChar;

/// Go's `strconv.Quote`: double quotes, Go escapes, printable characters kept as they are.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Control, format, private-use and non-ASCII space characters are not printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let v = c as u32;
    let invisible = matches!(
        v,
        0x00AD
            | 0x061C
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xE000..=0xF8FF
            | 0xFFFE
            | 0xFFFF
            | 0xF0000..
    );
    !invisible
}

/// Columns a string takes on a terminal; what Docker's table writer pads by.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Width of one character as Docker's `Ellipsis` counts it: East Asian wide and full-width
/// characters take two columns, everything else one.
fn ellipsis_char_width(c: char) -> usize {
    if c.width().unwrap_or(1) >= 2 {
        2
    } else {
        1
    }
}

/// Docker's `Ellipsis`: cuts `s` to at most `max_width` columns, the last of which becomes `…`.
pub fn ellipsis(s: &str, max_width: usize) -> String {
    if max_width == 0 {
        return String::new();
    }
    let chars: Vec<char> = s.chars().collect();
    if max_width == 1 {
        return chars.first().map(|c| c.to_string()).unwrap_or_default();
    }
    if s.is_ascii() {
        if s.len() <= max_width {
            return s.to_string();
        }
        return format!("{}…", &s[..max_width - 1]);
    }
    let mut ends = Vec::with_capacity(chars.len());
    let mut total = 0;
    for &c in &chars {
        total += ellipsis_char_width(c);
        ends.push(total);
    }
    if total <= max_width {
        return s.to_string();
    }
    // The longest prefix that leaves one column for the ellipsis; Docker keeps the whole
    // string when even the first character is too wide, and so do we.
    let room = max_width - 1;
    match ends.iter().rposition(|&end| end <= room) {
        Some(i) => format!("{}…", chars[..=i].iter().collect::<String>()),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_strconv_quote() {
        assert_eq!(go_quote("sh -c 'echo hi'"), r#""sh -c 'echo hi'""#);
        assert_eq!(go_quote("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
        assert_eq!(go_quote("héllo…日本"), "\"héllo…日本\"");
        assert_eq!(
            go_quote("\u{a0}\u{200b}\u{feff}"),
            r#""\u00a0\u200b\ufeff""#
        );
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
    }

    #[test]
    fn ellipsis_ascii_boundaries() {
        assert_eq!(ellipsis("12345678901234567890", 20), "12345678901234567890");
        assert_eq!(
            ellipsis("123456789012345678901", 20),
            "1234567890123456789…"
        );
        assert_eq!(ellipsis("abc", 1), "a");
        assert_eq!(ellipsis("abc", 0), "");
        assert_eq!(ellipsis("", 1), "");
        assert_eq!(ellipsis("abc", 2), "a…");
    }

    #[test]
    fn ellipsis_counts_wide_characters_twice() {
        // 日本語 is six columns wide.
        assert_eq!(ellipsis("日本語", 6), "日本語");
        assert_eq!(ellipsis("日本語", 5), "日本…");
        assert_eq!(ellipsis("日本語", 4), "日…");
        assert_eq!(ellipsis("é日本", 4), "é日…");
        // Docker's loop finds no prefix when the first character alone is too wide.
        assert_eq!(ellipsis("日本語", 2), "日本語");
    }

    #[test]
    fn display_width_counts_columns() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("日本"), 4);
        assert_eq!(display_width("…"), 1);
    }
}
