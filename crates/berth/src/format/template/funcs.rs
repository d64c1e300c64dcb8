//! The functions a `--format` template can call: Go's builtins and Docker's additions
//! (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`).
//!
//! `and` and `or` are not here: they evaluate their arguments lazily, so the executor runs them.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::printf::{sprint, sprintf, sprintln};
use super::value::{as_int, Val};
use crate::format::json::{to_go_json, JsonStyle};

const FUNCTIONS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "json", "split", "join", "title", "lower", "upper", "pad", "truncate",
];

pub(super) fn is_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

/// Which set of Docker's functions applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FuncSet {
    Rows,
    /// Docker's `HeaderFunctions`: a table header renders with functions that return their first
    /// argument, so `{{upper .Name}}` still prints the column's header `NAME`.
    Header,
}

pub(super) fn call<'d>(name: &str, args: Vec<Val<'d>>, set: FuncSet) -> Result<Val<'d>, String> {
    if set == FuncSet::Header {
        let arity = match name {
            "json" | "title" | "lower" | "upper" => Some(1),
            "split" | "join" | "truncate" => Some(2),
            _ => None,
        };
        if let Some(n) = arity {
            check_arity(name, &args, n)?;
            return Ok(Val::str(string_arg(&args[0])?));
        }
    }
    match name {
        "not" => {
            check_arity(name, &args, 1)?;
            Ok(Val::owned(Value::Bool(!args[0].truth())))
        }
        "len" => {
            check_arity(name, &args, 1)?;
            len(&args[0]).map(|n| Val::owned(n.into()))
        }
        "index" => index(args),
        "slice" => slice(args),
        "print" => Ok(Val::str(sprint(&args))),
        "println" => Ok(Val::str(sprintln(&args))),
        "printf" => {
            let Some((first, rest)) = args.split_first() else {
                return Err("wrong number of args for printf: want at least 1 got 0".into());
            };
            Ok(Val::str(sprintf(&string_arg(first)?, rest)))
        }
        "eq" => eq(&args).map(|b| Val::owned(b.into())),
        "ne" => {
            check_arity(name, &args, 2)?;
            eq(&args).map(|b| Val::owned((!b).into()))
        }
        "lt" | "le" | "gt" | "ge" => {
            check_arity(name, &args, 2)?;
            let ord = compare(&args[0], &args[1])?;
            let truth = match name {
                "lt" => ord == Ordering::Less,
                "le" => ord != Ordering::Greater,
                "gt" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            };
            Ok(Val::owned(truth.into()))
        }
        "json" => {
            check_arity(name, &args, 1)?;
            Ok(Val::str(to_go_json(
                &args[0].to_json(),
                JsonStyle::TEMPLATE,
            )))
        }
        "split" => {
            check_arity(name, &args, 2)?;
            let s = string_arg(&args[0])?;
            let sep = string_arg(&args[1])?;
            Ok(Val::owned(Value::Array(
                split(&s, &sep).into_iter().map(Value::String).collect(),
            )))
        }
        "join" => {
            check_arity(name, &args, 2)?;
            join(&args[0], &string_arg(&args[1])?).map(Val::str)
        }
        "title" => {
            check_arity(name, &args, 1)?;
            Ok(Val::str(title(&string_arg(&args[0])?)))
        }
        "lower" => {
            check_arity(name, &args, 1)?;
            Ok(Val::str(map_chars(
                &string_arg(&args[0])?,
                char::to_lowercase,
            )))
        }
        "upper" => {
            check_arity(name, &args, 1)?;
            Ok(Val::str(map_chars(
                &string_arg(&args[0])?,
                char::to_uppercase,
            )))
        }
        "pad" => {
            check_arity(name, &args, 3)?;
            let s = string_arg(&args[0])?;
            let (before, after) = (count_arg(&args[1])?, count_arg(&args[2])?);
            if s.is_empty() {
                return Ok(Val::str(s));
            }
            Ok(Val::str(format!(
                "{}{s}{}",
                " ".repeat(before),
                " ".repeat(after)
            )))
        }
        "truncate" => {
            check_arity(name, &args, 2)?;
            let s = string_arg(&args[0])?;
            let n = count_arg(&args[1])?;
            Ok(Val::str(truncate_bytes(&s, n)))
        }
        other => Err(format!("function {other:?} not defined")),
    }
}

fn check_arity(name: &str, args: &[Val], want: usize) -> Result<(), String> {
    if args.len() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        ))
    }
}

/// A Go `string` parameter. A JSON null is taken as "" (Docker would hold an empty string
/// where our JSON may hold null); anything else that is not a string is a type error, as in Go.
pub(super) fn string_arg(v: &Val) -> Result<String, String> {
    match v {
        Val::Missing => Err("invalid value; expected string".into()),
        Val::Json(j) => match j.as_ref() {
            Value::String(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            _ => Err(format!(
                "wrong type for value; expected string; got {}",
                v.type_name()
            )),
        },
        _ => Err(format!(
            "wrong type for value; expected string; got {}",
            v.type_name()
        )),
    }
}

/// A Go `int` parameter used as a count: negative counts make Go panic, so they are errors.
fn count_arg(v: &Val) -> Result<usize, String> {
    let n = v
        .json()
        .and_then(as_int)
        .ok_or_else(|| format!("wrong type for value; expected int; got {}", v.type_name()))?;
    usize::try_from(n).map_err(|_| format!("negative count {n}"))
}

fn len(v: &Val) -> Result<usize, String> {
    match v {
        Val::Missing => Err("len of untyped nil".into()),
        Val::NilSlice | Val::NilMap => Ok(0),
        Val::Json(j) => match j.as_ref() {
            Value::String(s) => Ok(s.len()),
            Value::Array(a) => Ok(a.len()),
            Value::Object(o) => Ok(o.len()),
            Value::Null => Err("len of nil pointer".into()),
            _ => Err(format!("len of type {}", v.type_name())),
        },
    }
}

fn index_int(v: &Val, cap: usize) -> Result<usize, String> {
    let i = v
        .json()
        .and_then(as_int)
        .ok_or_else(|| format!("cannot index slice/array with type {}", v.type_name()))?;
    usize::try_from(i)
        .ok()
        .filter(|&i| i < cap)
        .ok_or_else(|| format!("index out of range: {i}"))
}

/// Go's `index`. A missing map key yields "": Docker's maps are mostly `map[string]string`
/// (labels, options), whose zero value is the empty string.
fn index<'d>(mut args: Vec<Val<'d>>) -> Result<Val<'d>, String> {
    if args.is_empty() {
        return Err("wrong number of args for index: want at least 1 got 0".into());
    }
    let keys = args.split_off(1);
    let mut item = args.pop().unwrap_or(Val::Missing);
    for key in &keys {
        item = match item {
            Val::Missing => return Err("index of untyped nil".into()),
            Val::NilSlice => return Err(format!("index out of range: {}", key.go_string())),
            Val::NilMap => Val::str(""),
            Val::Json(Cow::Borrowed(v)) => index_json(v, key)?,
            Val::Json(Cow::Owned(v)) => index_json(&v, key)?.into_owned_val(),
        };
    }
    Ok(item)
}

fn index_json<'d>(v: &'d Value, key: &Val) -> Result<Val<'d>, String> {
    match v {
        Value::Null => Err("index of untyped nil".into()),
        Value::Array(a) => Ok(Val::borrowed(&a[index_int(key, a.len())?])),
        Value::String(s) => Ok(Val::owned(s.as_bytes()[index_int(key, s.len())?].into())),
        Value::Object(o) => match key.json() {
            Some(Value::String(k)) => Ok(o.get(k).map_or(Val::str(""), Val::borrowed)),
            _ => Err(format!(
                "value has type {}; should be string",
                key.type_name()
            )),
        },
        _ => Err(format!(
            "can't index item of type {}",
            Val::borrowed(v).type_name()
        )),
    }
}

fn slice<'d>(args: Vec<Val<'d>>) -> Result<Val<'d>, String> {
    let Some((item, idx)) = args.split_first() else {
        return Err("wrong number of args for slice: want at least 1 got 0".into());
    };
    if idx.len() > 2 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item.json() {
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(a)) => a.len(),
        Some(Value::Null) | None => return Err("slice of untyped nil".into()),
        Some(_) => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let bound = |v: &Val| index_int(v, len + 1);
    let start = idx.first().map(bound).transpose()?.unwrap_or(0);
    let end = idx.get(1).map(bound).transpose()?.unwrap_or(len);
    if start > end {
        return Err(format!("invalid slice index: {start} > {end}"));
    }
    Ok(match item.json() {
        Some(Value::String(s)) => Val::str(String::from_utf8_lossy(&s.as_bytes()[start..end])),
        Some(Value::Array(a)) => Val::owned(Value::Array(a[start..end].to_vec())),
        _ => Val::Missing,
    })
}

/// Go's `eq`: true if the first argument equals any of the others. Values of different basic
/// kinds are an error, except that a nil or missing value is simply unequal.
fn eq(args: &[Val]) -> Result<bool, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("missing argument for comparison".into());
    };
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for other in rest {
        let (a, b) = (first.json(), other.json());
        let truth = match (a, b) {
            (Some(Value::Null) | None, _) | (_, Some(Value::Null) | None) => {
                matches!((a, b), (Some(Value::Null), Some(Value::Null)))
            }
            (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
            (Some(Value::String(x)), Some(Value::String(y))) => x == y,
            (Some(Value::Number(x)), Some(Value::Number(y))) => num_cmp(x, y) == Ordering::Equal,
            (Some(Value::Array(_) | Value::Object(_)), _)
            | (_, Some(Value::Array(_) | Value::Object(_))) => {
                return Err(format!(
                    "non-comparable types {}, {}",
                    first.type_name(),
                    other.type_name()
                ))
            }
            _ => return Err("incompatible types for comparison".into()),
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn compare(a: &Val, b: &Val) -> Result<Ordering, String> {
    match (a.json(), b.json()) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => Ok(num_cmp(x, y)),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        (Some(Value::Number(_)), Some(Value::String(_)))
        | (Some(Value::String(_)), Some(Value::Number(_))) => {
            Err("incompatible types for comparison".into())
        }
        _ => Err("invalid type for comparison".into()),
    }
}

fn num_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Ordering {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a.cmp(&b);
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a.cmp(&b);
    }
    let (a, b) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn split(s: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return s.chars().map(String::from).collect();
    }
    s.split(sep).map(String::from).collect()
}

/// Docker's `join`: slices join their elements' `%v` text, maps their sorted values' text.
fn join(elems: &Val, sep: &str) -> Result<String, String> {
    match elems {
        Val::Missing | Val::NilSlice | Val::NilMap => Ok(String::new()),
        Val::Json(j) => match j.as_ref() {
            Value::Null => Ok(String::new()),
            Value::Array(items) => Ok(items
                .iter()
                .map(super::value::go_string)
                .collect::<Vec<_>>()
                .join(sep)),
            Value::Object(map) => {
                let mut parts: Vec<String> = map.values().map(super::value::go_string).collect();
                parts.sort();
                Ok(parts.join(sep))
            }
            _ => Err(format!("expected slice, got {}", elems.type_name())),
        },
    }
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    fn is_separator(c: char) -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphanumeric() {
            return false;
        }
        c.is_whitespace()
    }
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) {
                simple_case(c, char::to_uppercase)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

/// Go maps case rune by rune; where Unicode's mapping yields several runes, Go keeps the rune.
fn simple_case<I: Iterator<Item = char>>(c: char, f: impl Fn(char) -> I) -> char {
    let mut it = f(c);
    match (it.next(), it.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

fn map_chars<I: Iterator<Item = char>>(s: &str, f: impl Fn(char) -> I + Copy) -> String {
    s.chars().map(|c| simple_case(c, f)).collect()
}

/// Docker's `truncate` cuts bytes; a cut inside a UTF-8 sequence backs up to its start, as we
/// cannot print the half character Go would.
fn truncate_bytes(s: &str, n: usize) -> String {
    if s.len() < n {
        return s.to_string();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl Val<'_> {
    /// Detaches the value from whatever it borrows.
    pub(super) fn into_owned_val(self) -> Val<'static> {
        match self {
            Val::Missing => Val::Missing,
            Val::NilSlice => Val::NilSlice,
            Val::NilMap => Val::NilMap,
            Val::Json(j) => Val::owned(j.into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(name: &str, args: Vec<Value>) -> Result<String, String> {
        call(
            name,
            args.into_iter().map(Val::owned).collect(),
            FuncSet::Rows,
        )
        .map(|v| v.go_string())
    }

    #[test]
    fn docker_string_functions() {
        assert_eq!(run("upper", vec![json!("abc")]).unwrap(), "ABC");
        assert_eq!(run("lower", vec![json!("ÀB")]).unwrap(), "àb");
        assert_eq!(run("upper", vec![json!("ß")]).unwrap(), "ß");
        assert_eq!(
            run("title", vec![json!("hello wOrld foo-bar x_y")]).unwrap(),
            "Hello WOrld Foo-Bar X_y"
        );
        assert_eq!(
            run("split", vec![json!("a,b,,c"), json!(",")]).unwrap(),
            "[a b  c]"
        );
        assert_eq!(run("split", vec![json!("ab"), json!("")]).unwrap(), "[a b]");
        assert_eq!(
            run("join", vec![json!(["a", "b", "c"]), json!(" ")]).unwrap(),
            "a b c"
        );
        assert_eq!(
            run("join", vec![json!([1, true]), json!(",")]).unwrap(),
            "1,true"
        );
        assert_eq!(
            run("join", vec![json!({"b": "2", "a": "1"}), json!(",")]).unwrap(),
            "1,2"
        );
        assert_eq!(run("join", vec![json!(null), json!(",")]).unwrap(), "");
        assert!(run("join", vec![json!("abc"), json!(",")]).is_err());
    }

    #[test]
    fn truncate_keeps_strings_shorter_than_or_equal_to_the_length() {
        assert_eq!(
            run("truncate", vec![json!("abcdef"), json!(3)]).unwrap(),
            "abc"
        );
        assert_eq!(
            run("truncate", vec![json!("abc"), json!(3)]).unwrap(),
            "abc"
        );
        assert_eq!(run("truncate", vec![json!("ab"), json!(3)]).unwrap(), "ab");
        assert_eq!(run("truncate", vec![json!("abc"), json!(0)]).unwrap(), "");
        assert!(run("truncate", vec![json!("abc"), json!(-1)]).is_err());
    }

    #[test]
    fn pad_leaves_empty_strings_alone() {
        assert_eq!(
            run("pad", vec![json!("x"), json!(2), json!(1)]).unwrap(),
            "  x "
        );
        assert_eq!(run("pad", vec![json!(""), json!(2), json!(1)]).unwrap(), "");
    }

    #[test]
    fn header_functions_return_the_header() {
        let h = |name: &str, args: Vec<Value>| {
            call(
                name,
                args.into_iter().map(Val::owned).collect(),
                FuncSet::Header,
            )
            .unwrap()
            .go_string()
        };
        assert_eq!(h("upper", vec![json!("Names")]), "Names");
        assert_eq!(h("split", vec![json!("NAMES"), json!(",")]), "NAMES");
        assert_eq!(
            h("truncate", vec![json!("CONTAINER ID"), json!(3)]),
            "CONTAINER ID"
        );
        assert_eq!(h("pad", vec![json!("ID"), json!(1), json!(1)]), " ID ");
    }

    #[test]
    fn index_follows_go() {
        assert_eq!(
            run("index", vec![json!({"k": "v"}), json!("k")]).unwrap(),
            "v"
        );
        assert_eq!(
            run("index", vec![json!({"k": "v"}), json!("nope")]).unwrap(),
            ""
        );
        assert_eq!(
            run("index", vec![json!([[1, 2], [3, 4]]), json!(1), json!(0)]).unwrap(),
            "3"
        );
        assert_eq!(
            run("index", vec![json!(["a"]), json!(1)]).unwrap_err(),
            "index out of range: 1"
        );
        assert_eq!(run("index", vec![json!("abc"), json!(1)]).unwrap(), "98");
        assert!(run("index", vec![json!(null), json!("k")]).is_err());
    }

    #[test]
    fn comparisons_follow_go() {
        assert_eq!(
            run("eq", vec![json!("a"), json!("b"), json!("a")]).unwrap(),
            "true"
        );
        assert_eq!(run("eq", vec![json!(1), json!(1.0)]).unwrap(), "true");
        assert_eq!(run("ne", vec![json!(1), json!(2)]).unwrap(), "true");
        assert_eq!(run("eq", vec![json!(null), json!("a")]).unwrap(), "false");
        assert!(run("eq", vec![json!("1"), json!(1)]).is_err());
        assert_eq!(run("lt", vec![json!(1), json!(2)]).unwrap(), "true");
        assert_eq!(run("le", vec![json!(2), json!(2)]).unwrap(), "true");
        assert_eq!(run("gt", vec![json!("b"), json!("a")]).unwrap(), "true");
        assert_eq!(run("ge", vec![json!(1), json!(2)]).unwrap(), "false");
        assert!(run("lt", vec![json!(true), json!(false)]).is_err());
    }

    #[test]
    fn len_and_slice() {
        assert_eq!(run("len", vec![json!("héllo")]).unwrap(), "6");
        assert_eq!(run("len", vec![json!([1, 2])]).unwrap(), "2");
        assert!(run("len", vec![json!(3)]).is_err());
        assert_eq!(
            run("slice", vec![json!("abcdef"), json!(1), json!(3)]).unwrap(),
            "bc"
        );
        assert_eq!(
            run("slice", vec![json!([1, 2, 3]), json!(1)]).unwrap(),
            "[2 3]"
        );
        assert!(run("slice", vec![json!([1, 2, 3]), json!(4)]).is_err());
    }

    #[test]
    fn json_function_is_compact_without_html_escapes() {
        assert_eq!(
            run("json", vec![json!({"a": "<b>"})]).unwrap(),
            r#"{"a":"<b>"}"#
        );
        assert_eq!(
            call("json", vec![Val::Missing], FuncSet::Rows)
                .unwrap()
                .go_string(),
            "null"
        );
    }
}
