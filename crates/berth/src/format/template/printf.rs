//! Go's `fmt.Sprint`, `Sprintln` and `Sprintf` over template values: the common verbs
//! (`%v %s %q %d %f %e %g %x %X %o %b %t %c %%`), flags, width and precision, and Go's
//! `%!verb(type=value)` / `%!d(MISSING)` / `%!(EXTRA ...)` texts for misuse.

use serde_json::Value;

use super::value::{as_int, go_string, Val};
use crate::format::gofloat::{format_e, format_f, format_g};
use crate::format::text::go_quote;

/// A `...any` argument: a missing value arrives as nil.
fn arg_json(v: &Val) -> Val<'static> {
    match v {
        Val::Missing => Val::owned(Value::Null),
        other => other.clone().into_owned_val(),
    }
}

fn is_string(v: &Val) -> bool {
    matches!(v.json(), Some(Value::String(_)))
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(super) fn sprint(args: &[Val]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !is_string(a) && !is_string(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&arg_json(a).go_string());
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands and a final newline.
pub(super) fn sprintln(args: &[Val]) -> String {
    let parts: Vec<String> = args.iter().map(|a| arg_json(a).go_string()).collect();
    format!("{}\n", parts.join(" "))
}

#[derive(Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

impl Spec {
    fn pad(&self, body: String) -> String {
        let len = body.chars().count();
        let Some(width) = self.width.filter(|&w| w > len) else {
            return body;
        };
        let fill = width - len;
        if self.minus {
            format!("{body}{}", " ".repeat(fill))
        } else if self.zero {
            // Zeros go after the sign.
            let (sign, digits) = match body.chars().next() {
                Some(c @ ('+' | '-' | ' ')) => (c.to_string(), body[1..].to_string()),
                _ => (String::new(), body),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{body}", " ".repeat(fill))
        }
    }

    fn sign(&self, negative: bool, body: String) -> String {
        if negative {
            format!("-{body}")
        } else if self.plus {
            format!("+{body}")
        } else if self.space {
            format!(" {body}")
        } else {
            body
        }
    }
}

fn type_and_value(v: &Val) -> String {
    match v.json() {
        Some(Value::Null) | None => "<nil>".to_string(),
        _ => format!("{}={}", v.type_name(), v.go_string()),
    }
}

fn bad_verb(verb: char, v: &Val) -> String {
    format!("%!{verb}({})", type_and_value(v))
}

fn format_int(spec: &Spec, verb: char, n: i128) -> String {
    let abs = n.unsigned_abs();
    let body = match verb {
        'd' => abs.to_string(),
        'x' => format!("{abs:x}"),
        'X' => format!("{abs:X}"),
        'o' => format!("{abs:o}"),
        'b' => format!("{abs:b}"),
        _ => abs.to_string(),
    };
    let body = match (spec.sharp, verb) {
        (true, 'x') => format!("0x{body}"),
        (true, 'X') => format!("0X{body}"),
        (true, 'o') => format!("0{body}"),
        _ => body,
    };
    spec.sign(n < 0, body)
}

fn format_one(spec: &Spec, verb: char, v: &Val) -> String {
    let v = arg_json(v);
    let Some(j) = v.json() else {
        return bad_verb(verb, &v);
    };
    let body = match (verb, j) {
        ('v', Value::Number(n)) if spec.plus => spec.sign(
            n.as_f64().is_some_and(|f| f < 0.0),
            go_string(j).trim_start_matches('-').to_string(),
        ),
        ('v', _) => go_string(j),
        ('s', Value::String(s)) => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::Array(_) | Value::Object(_)) => go_string(j),
        ('q', Value::String(s)) => go_quote(s),
        ('t', Value::Bool(b)) => b.to_string(),
        ('c', _) | ('q', _) if as_int(j).is_some() => {
            let c = as_int(j)
                .and_then(|i| u32::try_from(i).ok())
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            if verb == 'q' {
                format!("'{c}'")
            } else {
                c.to_string()
            }
        }
        ('d' | 'x' | 'X' | 'o' | 'b', Value::Number(n)) if !n.is_f64() => format_int(
            spec,
            verb,
            n.as_i64()
                .map_or_else(|| i128::from(n.as_u64().unwrap_or(0)), i128::from),
        ),
        ('x' | 'X', Value::String(s)) => {
            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' {
                hex.to_uppercase()
            } else {
                hex
            }
        }
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Number(n)) => {
            let f = n.as_f64().unwrap_or(0.0);
            let text = match verb {
                'e' | 'E' => format_e(f, spec.prec.unwrap_or(6)),
                'f' | 'F' => format_f(f, spec.prec.unwrap_or(6)),
                _ => format_g(f, spec.prec),
            };
            let text = if verb.is_uppercase() {
                text.to_uppercase()
            } else {
                text
            };
            let negative = text.starts_with('-');
            spec.sign(negative, text.trim_start_matches('-').to_string())
        }
        _ => return bad_verb(verb, &v),
    };
    spec.pad(body)
}

/// `fmt.Sprintf`.
pub(super) fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        let mut number = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            if chars.peek() == Some(&'*') {
                chars.next();
                let n = args.get(next_arg).and_then(|a| a.json().and_then(as_int));
                next_arg += 1;
                return n.and_then(|n| usize::try_from(n).ok());
            }
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(number(&mut chars).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next_arg) {
            Some(arg) => out.push_str(&format_one(&spec, verb, arg)),
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
        next_arg += 1;
    }
    if next_arg < args.len() {
        let extra: Vec<String> = args[next_arg..]
            .iter()
            .map(|a| type_and_value(&arg_json(a)))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(format: &str, args: Vec<Value>) -> String {
        let args: Vec<Val> = args.into_iter().map(Val::owned).collect();
        sprintf(format, &args)
    }

    #[test]
    fn common_verbs() {
        assert_eq!(f("%s=%d", vec![json!("a"), json!(5)]), "a=5");
        assert_eq!(
            f("%v|%v", vec![json!(["x", "y"]), json!(null)]),
            "[x y]|<nil>"
        );
        assert_eq!(f("%q", vec![json!("a\"b")]), r#""a\"b""#);
        assert_eq!(f("%t", vec![json!(true)]), "true");
        assert_eq!(
            f(
                "%x %X %o %b",
                vec![json!(255), json!(255), json!(8), json!(5)]
            ),
            "ff FF 10 101"
        );
        assert_eq!(
            f(
                "%.2f %e %g",
                vec![json!(1.23556), json!(1234.5678), json!(0.5)]
            ),
            "1.24 1.234568e+03 0.5"
        );
        assert_eq!(f("%c", vec![json!(65)]), "A");
        assert_eq!(f("100%%", vec![]), "100%");
    }

    #[test]
    fn width_precision_and_flags() {
        assert_eq!(
            f("[%5s][%-5s]", vec![json!("ab"), json!("ab")]),
            "[   ab][ab   ]"
        );
        assert_eq!(
            f("[%05d][%+d][% d]", vec![json!(-42), json!(3), json!(3)]),
            "[-0042][+3][ 3]"
        );
        assert_eq!(f("[%.2s]", vec![json!("héllo")]), "[hé]");
        assert_eq!(f("[%*d]", vec![json!(4), json!(7)]), "[   7]");
        assert_eq!(f("%#x", vec![json!(255)]), "0xff");
    }

    #[test]
    fn misuse_prints_like_go() {
        assert_eq!(f("%d", vec![json!("x")]), "%!d(string=x)");
        assert_eq!(f("%s", vec![json!(5)]), "%!s(int=5)");
        assert_eq!(f("%d %d", vec![json!(1)]), "1 %!d(MISSING)");
        assert_eq!(
            f("%d", vec![json!(1), json!("a"), json!(2)]),
            "1%!(EXTRA string=a, int=2)"
        );
        assert_eq!(f("%s", vec![json!(null)]), "%!s(<nil>)");
    }

    #[test]
    fn print_spacing_follows_go() {
        let v = |j: Value| Val::owned(j);
        assert_eq!(
            sprint(&[v(json!("a")), v(json!(1)), v(json!(2)), v(json!("b"))]),
            "a1 2b"
        );
        assert_eq!(sprint(&[Val::Missing]), "<nil>");
        assert_eq!(sprintln(&[v(json!("a")), v(json!(1))]), "a 1\n");
        assert_eq!(sprintln(&[]), "\n");
    }
}
