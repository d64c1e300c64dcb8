//! Values as a Go template sees them, and how Go's `fmt` prints them.
//!
//! Our data is JSON, Docker's is typed Go structs. The choices that bridge the two:
//! - a missing map key is Go's invalid value and prints `<no value>`;
//! - JSON `null` prints `<nil>` (a nil pointer or interface), except under a key that Docker
//!   types as a slice (`Cmd`, `Env`, ...) or a map (`Labels`, `Volumes`, ...): there it is a
//!   typed nil and prints `[]` or `map[]` as Go does (see `gotypes`);
//! - objects print as Go maps, `map[k:v k2:v2]` with sorted keys (Go would print a struct as
//!   `{v v2}`; Docker's list contexts and the raw inspect fallback are maps);
//! - numbers print as their JSON text, and integral floats as integers.

use std::borrow::Cow;

use serde_json::Value;

use crate::format::gotypes::{nil_kind, sorted, NilKind};

/// A value during template execution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    /// Go's invalid `reflect.Value`: what a missing map key yields.
    Missing,
    /// A nil slice (`[]string(nil)`): prints `[]`, marshals to `null`.
    NilSlice,
    /// A nil map: prints `map[]`, marshals to `null`.
    NilMap,
    Json(Cow<'a, Value>),
}

impl<'a> Val<'a> {
    pub fn owned(v: Value) -> Val<'static> {
        Val::Json(Cow::Owned(v))
    }

    pub fn borrowed(v: &'a Value) -> Val<'a> {
        Val::Json(Cow::Borrowed(v))
    }

    pub fn str(s: impl Into<String>) -> Val<'static> {
        Val::owned(Value::String(s.into()))
    }

    pub fn json(&self) -> Option<&Value> {
        match self {
            Val::Json(v) => Some(v.as_ref()),
            _ => None,
        }
    }

    /// The value as an `any` argument of a Go function receives it.
    pub fn to_json(&self) -> Value {
        match self {
            Val::Json(v) => v.as_ref().clone(),
            _ => Value::Null,
        }
    }

    /// Go's `isTrue`: zero values, nils and empty collections are false.
    pub fn truth(&self) -> bool {
        match self {
            Val::Missing | Val::NilSlice | Val::NilMap => false,
            Val::Json(v) => match v.as_ref() {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
            },
        }
    }

    /// Go's `%v` of the value, as `{{.}}` prints it.
    pub fn go_string(&self) -> String {
        match self {
            Val::Missing => "<no value>".to_string(),
            Val::NilSlice => "[]".to_string(),
            Val::NilMap => "map[]".to_string(),
            Val::Json(v) => go_string(v),
        }
    }

    /// A short Go-like type name for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Missing => "<no value>",
            Val::NilSlice => "[]string",
            Val::NilMap => "map[string]string",
            Val::Json(v) => match v.as_ref() {
                Value::Null => "<nil>",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float64",
                Value::Number(_) => "int",
                Value::String(_) => "string",
                Value::Array(_) => "[]interface {}",
                Value::Object(_) => "map[string]interface {}",
            },
        }
    }
}

/// The value found under `key` of an object, with `null` typed by the key's name.
/// A map-typed object comes out with sorted keys, as Go's maps iterate and marshal.
pub(crate) fn typed_field<'a>(key: &str, v: &'a Value) -> Val<'a> {
    match (nil_kind(key), v) {
        (NilKind::Slice, Value::Null) => Val::NilSlice,
        (NilKind::Map, Value::Null) => Val::NilMap,
        (NilKind::Map, Value::Object(map)) => Val::owned(Value::Object(sorted(map))),
        _ => Val::borrowed(v),
    }
}

/// Go's `fmt.Sprint` of a JSON value.
pub(crate) fn go_string(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v);
    out
}

fn write_go(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(out, &map[k.as_str()]);
            }
            out.push(']');
        }
    }
}

/// A number as Go prints it: JSON text, with integral floats as integers.
pub(crate) fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

/// A float as a JSON number, integral values as integers (as Go's template constants are).
pub(crate) fn number_from_f64(f: f64) -> Option<serde_json::Number> {
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        // Exact: the value is integral and within i64 range.
        Some((f as i64).into())
    } else {
        serde_json::Number::from_f64(f)
    }
}

/// An integer argument (Go `int` parameter), if the number is integral.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_go_fmt() {
        assert_eq!(
            go_string(&json!(["sh", "-c", "echo hi"])),
            "[sh -c echo hi]"
        );
        assert_eq!(go_string(&json!({"k2": "v2", "k": "v"})), "map[k:v k2:v2]");
        assert_eq!(
            go_string(&json!({"a": [1, null], "b": {}})),
            "map[a:[1 <nil>] b:map[]]"
        );
        assert_eq!(go_string(&json!(null)), "<nil>");
        assert_eq!(go_string(&json!(true)), "true");
        assert_eq!(go_string(&json!(3.0)), "3");
        assert_eq!(go_string(&json!(-2.5)), "-2.5");
        assert_eq!(go_string(&json!(12345678901u64)), "12345678901");
        assert_eq!(go_string(&json!([])), "[]");
    }

    #[test]
    fn typed_nils_print_as_go_does() {
        assert_eq!(Val::Missing.go_string(), "<no value>");
        assert_eq!(typed_field("Cmd", &Value::Null).go_string(), "[]");
        assert_eq!(typed_field("Labels", &Value::Null).go_string(), "map[]");
        assert_eq!(typed_field("Health", &Value::Null).go_string(), "<nil>");
    }

    #[test]
    fn truth_follows_go() {
        assert!(!Val::owned(json!(0)).truth());
        assert!(!Val::owned(json!(0.0)).truth());
        assert!(Val::owned(json!(-1)).truth());
        assert!(!Val::owned(json!("")).truth());
        assert!(!Val::owned(json!({})).truth());
        assert!(Val::owned(json!([0])).truth());
        assert!(!Val::NilSlice.truth());
    }
}
