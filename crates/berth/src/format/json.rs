//! JSON text exactly as Go's `encoding/json` writes it.
//!
//! Docker prints JSON from Go, and scripts compare it byte for byte: Go escapes U+2028 and
//! U+2029 always, escapes `<`, `>` and `&` unless told not to (the daemon and the `json`
//! template function tell it not to; plain `json.Marshal` does escape), writes floats without a `.0`, and indents with
//! `json.Indent`'s layout (`[]` and `{}` stay on one line).

use serde_json::Value;

use crate::format::gotypes::is_map;

/// How to write JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Escape `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026` (Go's default encoder).
    pub escape_html: bool,
    /// Indent nested values by this many spaces per level; `None` writes compact JSON.
    pub indent: Option<usize>,
}

impl JsonStyle {
    /// The `json` template function, and the daemon's API responses: compact, HTML characters
    /// left alone.
    pub const TEMPLATE: JsonStyle = JsonStyle {
        escape_html: false,
        indent: None,
    };
    /// `docker inspect`: the daemon's JSON indented by four spaces.
    pub const INSPECT: JsonStyle = JsonStyle {
        escape_html: false,
        indent: Some(4),
    };
    /// Go's `json.Marshal`, which the CLI uses on values it builds itself.
    pub const MARSHAL: JsonStyle = JsonStyle {
        escape_html: true,
        indent: None,
    };
}

/// Writes `value` as Go would with the given style.
pub fn to_go_json(value: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, value, style, 0, false);
    out
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if let Some(step) = style.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', step * depth));
    }
}

/// `sort_keys`: the value is a Go map, whose keys Go marshals in sorted order.
fn write_value(out: &mut String, value: &Value, style: JsonStyle, depth: usize, sort_keys: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, item, style, depth + 1, false);
            }
            if !items.is_empty() {
                newline(out, style, depth);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.indent.is_some() {
                    out.push(' ');
                }
                write_value(out, v, style, depth + 1, is_map(k));
            }
            if !map.is_empty() {
                newline(out, style, depth);
            }
            out.push('}');
        }
    }
}

/// Go writes floats in `%f` form between 1e-6 and 1e21 and in cleaned-up `%e` form outside.
fn number(n: &serde_json::Number) -> String {
    let Some(f) = n.as_f64().filter(|_| n.is_f64()) else {
        return n.to_string();
    };
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e-7` / `1.5e21`; Go writes `1e-07` cleaned to `1e-7`, and `1.5e+21`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        }
    } else {
        // Rust's shortest round-trip text without exponent, as Go's 'f' with precision -1.
        format!("{f}")
    }
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => push_u(out, c, HEX),
            '\u{2028}' | '\u{2029}' => push_u(out, c, HEX),
            c if (c as u32) < 0x20 => push_u(out, c, HEX),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_u(out: &mut String, c: char, hex: &[u8; 16]) {
    let v = c as u32;
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(hex[((v >> shift) & 0xf) as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_style_is_compact_and_keeps_html() {
        let v = json!({"Cmd": ["sh", "-c", "a > b && c < d"], "Tty": false, "N": null});
        assert_eq!(
            to_go_json(&v, JsonStyle::TEMPLATE),
            r#"{"Cmd":["sh","-c","a > b && c < d"],"Tty":false,"N":null}"#
        );
    }

    #[test]
    fn marshal_escapes_html_like_go() {
        assert_eq!(
            to_go_json(&json!("a<b>&c"), JsonStyle::MARSHAL),
            r#""a\u003cb\u003e\u0026c""#
        );
    }

    #[test]
    fn go_escapes_line_separators_and_controls() {
        assert_eq!(
            to_go_json(
                &json!("\u{2028}\u{2029}\u{1}\u{8}\u{c}\u{1f}é"),
                JsonStyle::TEMPLATE
            ),
            r#""\u2028\u2029\u0001\b\f\u001fé""#
        );
    }

    #[test]
    fn maps_marshal_sorted_and_structs_keep_their_order() {
        let v = json!({"Tty": false, "Labels": {"b": "2", "a": "1"}, "Env": ["B", "A"]});
        assert_eq!(
            to_go_json(&v, JsonStyle::TEMPLATE),
            r#"{"Tty":false,"Labels":{"a":"1","b":"2"},"Env":["B","A"]}"#
        );
    }

    #[test]
    fn floats_follow_go() {
        assert_eq!(to_go_json(&json!(3.0), JsonStyle::TEMPLATE), "3");
        assert_eq!(to_go_json(&json!(0.5), JsonStyle::TEMPLATE), "0.5");
        assert_eq!(to_go_json(&json!(1e21), JsonStyle::TEMPLATE), "1e+21");
        assert_eq!(
            to_go_json(&json!(1e20), JsonStyle::TEMPLATE),
            "100000000000000000000"
        );
        assert_eq!(to_go_json(&json!(1e-7), JsonStyle::TEMPLATE), "1e-7");
        assert_eq!(
            to_go_json(&json!(0.000001), JsonStyle::TEMPLATE),
            "0.000001"
        );
    }

    #[test]
    fn indented_matches_json_indent_layout() {
        let v = json!([{"Id": "abc", "Args": [], "Labels": {}, "Env": ["A=1"]}]);
        let expected = "[\n    {\n        \"Id\": \"abc\",\n        \"Args\": [],\n        \"Labels\": {},\n        \"Env\": [\n            \"A=1\"\n        ]\n    }\n]";
        assert_eq!(to_go_json(&v, JsonStyle::INSPECT), expected);
        assert_eq!(to_go_json(&json!([]), JsonStyle::INSPECT), "[]");
    }
}
