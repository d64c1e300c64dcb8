//! Runs a parsed template over a JSON value, with Go's `text/template` semantics.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::funcs::{self, FuncSet};
use super::parse::{Cmd, Control, Node, Operand, Pipe};
use super::value::{typed_field, Val};
use super::Method;
use crate::format::json::{to_go_json, JsonStyle};
use crate::format::FormatError;

/// What a walked list tells its enclosing `range`.
#[derive(PartialEq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct Exec<'t, 'd> {
    pub methods: &'t HashMap<String, Method>,
    pub funcs: FuncSet,
    pub vars: Vec<(String, Val<'d>)>,
    pub out: &'t mut String,
    line: usize,
    root: &'d Value,
    /// The root is a row of a Docker list: `{{json .}}` on it goes through the row's own
    /// `MarshalJSON`, that is `json.Marshal`, which escapes HTML characters.
    pub row_context: bool,
}

type Result<T> = std::result::Result<T, FormatError>;

impl<'t, 'd> Exec<'t, 'd> {
    pub fn new(
        methods: &'t HashMap<String, Method>,
        funcs: FuncSet,
        root: &'d Value,
        out: &'t mut String,
    ) -> Self {
        Exec {
            methods,
            funcs,
            vars: vec![("$".to_string(), Val::borrowed(root))],
            out,
            line: 1,
            root,
            row_context: false,
        }
    }

    fn err(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Exec {
            line: self.line,
            msg: msg.into(),
        }
    }

    pub fn run(&mut self, nodes: &[Node], root: &'d Value) -> Result<()> {
        self.walk(nodes, &Val::borrowed(root)).map(|_| ())
    }

    fn walk(&mut self, nodes: &[Node], dot: &Val<'d>) -> Result<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        self.out.push_str(&v.go_string());
                    }
                    Flow::Normal
                }
                Node::If(c) => self.if_or_with(c, dot, false)?,
                Node::With(c) => self.if_or_with(c, dot, true)?,
                Node::Range(c) => self.range(c, dot)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(&mut self, c: &Control, dot: &Val<'d>, with: bool) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.pipeline(&c.pipe, dot)?;
        let flow = if v.truth() {
            if with {
                self.walk(&c.body, &v)?
            } else {
                self.walk(&c.body, dot)?
            }
        } else {
            self.walk(&c.otherwise, dot)?
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, c: &Control, dot: &Val<'d>) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.commands(&c.pipe, dot)?;
        let items: Vec<(Val<'d>, Val<'d>)> = match &v {
            Val::Missing | Val::NilSlice | Val::NilMap => Vec::new(),
            Val::Json(j) => match j.as_ref() {
                Value::Null => Vec::new(),
                Value::Array(a) => (0..a.len())
                    .map(|i| (Val::owned(i.into()), element(&v, |j| &j[i])))
                    .collect(),
                Value::Object(o) => {
                    // Go ranges over maps in sorted key order.
                    let mut keys: Vec<&String> = o.keys().collect();
                    keys.sort();
                    keys.into_iter()
                        .map(|k| (Val::str(k.clone()), element(&v, |j| &j[k.as_str()])))
                        .collect()
                }
                Value::Number(n) => {
                    let count = super::value::as_int(&Value::Number(n.clone()))
                        .filter(|&n| n >= 0)
                        .ok_or_else(|| self.err(format!("range can't iterate over {n}")))?;
                    (0..count)
                        .map(|i| (Val::owned(i.into()), Val::owned(i.into())))
                        .collect()
                }
                _ => {
                    return Err(self.err(format!("range can't iterate over {}", v.go_string())));
                }
            },
        };
        if items.is_empty() {
            let flow = self.walk(&c.otherwise, dot)?;
            self.vars.truncate(mark);
            return Ok(flow);
        }
        for name in &c.pipe.decl {
            self.vars.push((name.clone(), Val::Missing));
        }
        for (key, elem) in items {
            match c.pipe.decl.as_slice() {
                [_] => self.vars[mark].1 = elem.clone(),
                [_, _] => {
                    self.vars[mark].1 = key;
                    self.vars[mark + 1].1 = elem.clone();
                }
                _ => {}
            }
            let body_mark = self.vars.len();
            let flow = self.walk(&c.body, &elem)?;
            self.vars.truncate(body_mark);
            if flow == Flow::Break {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    /// Evaluates the commands of a pipeline without declaring its variables.
    fn commands(&mut self, pipe: &Pipe, dot: &Val<'d>) -> Result<Val<'d>> {
        self.line = pipe.line;
        let mut value: Option<Val<'d>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        value.ok_or_else(|| self.err("missing value for command"))
    }

    fn pipeline(&mut self, pipe: &Pipe, dot: &Val<'d>) -> Result<Val<'d>> {
        let v = self.commands(pipe, dot)?;
        for name in &pipe.decl {
            if pipe.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &Cmd, dot: &Val<'d>, piped: Option<Val<'d>>) -> Result<Val<'d>> {
        let (first, rest) = cmd
            .operands
            .split_first()
            .ok_or_else(|| self.err("missing value for command"))?;
        let has_args = !rest.is_empty() || piped.is_some();
        match first {
            Operand::Func(name) => {
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", rest, dot, piped);
                }
                let mut args = Vec::with_capacity(rest.len() + 1);
                for op in rest {
                    args.push(self.arg(op, dot)?);
                }
                args.extend(piped);
                if name == "json" && self.row_context && self.is_root(&args) {
                    return Ok(Val::str(to_go_json(self.root, JsonStyle::MARSHAL)));
                }
                funcs::call(name, args, self.funcs)
                    .map_err(|m| self.err(format!("error calling {name}: {m}")))
            }
            Operand::Field(fields) => self.field_chain(dot.clone(), fields, rest, piped, dot),
            Operand::Var(name, fields) => {
                let v = self.var(name)?;
                if fields.is_empty() {
                    self.no_args(has_args, name)?;
                    return Ok(v);
                }
                self.field_chain(v, fields, rest, piped, dot)
            }
            Operand::Paren(pipe, fields) => {
                let v = self.pipeline(pipe, dot)?;
                if fields.is_empty() {
                    self.no_args(has_args, "parenthesized pipeline")?;
                    return Ok(v);
                }
                self.field_chain(v, fields, rest, piped, dot)
            }
            literal => {
                self.no_args(has_args, &format!("{literal:?}"))?;
                self.arg(literal, dot)
            }
        }
    }

    fn is_root(&self, args: &[Val<'d>]) -> bool {
        matches!(args, [Val::Json(Cow::Borrowed(v))] if std::ptr::eq(*v, self.root))
    }

    fn no_args(&self, has_args: bool, what: &str) -> Result<()> {
        if has_args {
            Err(self.err(format!("can't give argument to non-function {what}")))
        } else {
            Ok(())
        }
    }

    /// Go 1.18+ `and`/`or`: stop at the first falsy (`and`) or truthy (`or`) argument.
    fn and_or(
        &mut self,
        is_and: bool,
        ops: &[Operand],
        dot: &Val<'d>,
        piped: Option<Val<'d>>,
    ) -> Result<Val<'d>> {
        if ops.is_empty() && piped.is_none() {
            return Err(self.err("wrong number of args: want at least 1 got 0"));
        }
        let mut last = Val::Missing;
        for op in ops {
            last = self.arg(op, dot)?;
            if last.truth() != is_and {
                return Ok(last);
            }
        }
        Ok(piped.unwrap_or(last))
    }

    fn var(&self, name: &str) -> Result<Val<'d>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.err(format!("undefined variable: {name}")))
    }

    fn arg(&mut self, op: &Operand, dot: &Val<'d>) -> Result<Val<'d>> {
        Ok(match op {
            Operand::Dot => dot.clone(),
            Operand::Nil => Val::owned(Value::Null),
            Operand::Bool(b) => Val::owned(Value::Bool(*b)),
            Operand::Num(n) => Val::owned(Value::Number(n.clone())),
            Operand::Str(s) => Val::str(s.clone()),
            Operand::Field(_) | Operand::Var(..) | Operand::Paren(..) | Operand::Func(_) => self
                .command(
                    &Cmd {
                        operands: vec![op.clone()],
                    },
                    dot,
                    None,
                )?,
        })
    }

    fn field_chain(
        &mut self,
        mut receiver: Val<'d>,
        fields: &[String],
        args: &[Operand],
        piped: Option<Val<'d>>,
        dot: &Val<'d>,
    ) -> Result<Val<'d>> {
        let Some((last, path)) = fields.split_last() else {
            return Ok(receiver);
        };
        for name in path {
            receiver = self.field(receiver, name, None)?;
        }
        let call_args = if args.is_empty() && piped.is_none() {
            None
        } else {
            let mut vals = Vec::new();
            for op in args {
                vals.push(self.arg(op, dot)?.to_json());
            }
            vals.extend(piped.map(|p| p.to_json()));
            Some(vals)
        };
        self.field(receiver, last, call_args)
    }

    /// `.name` on a value; `args` are present when the template calls it like a method.
    fn field(&self, receiver: Val<'d>, name: &str, args: Option<Vec<Value>>) -> Result<Val<'d>> {
        if self.funcs == FuncSet::Header && name == "Label" {
            return self.header_label(args);
        }
        let object = match &receiver {
            Val::Missing | Val::NilMap if args.is_none() => return Ok(Val::Missing),
            Val::Json(j) => match j.as_ref() {
                Value::Object(o) => o,
                Value::Null => {
                    return Err(self.err(format!("nil pointer evaluating interface {{}}.{name}")))
                }
                _ => {
                    return Err(self.err(format!(
                        "can't evaluate field {name} in type {}",
                        receiver.type_name()
                    )))
                }
            },
            _ => {
                return Err(self.err(format!(
                    "can't evaluate field {name} in type {}",
                    receiver.type_name()
                )))
            }
        };
        if object.contains_key(name) {
            if args.is_some() {
                return Err(self.err(format!("{name} is not a method but has arguments")));
            }
            return Ok(match receiver {
                Val::Json(Cow::Borrowed(v)) => typed_field(name, &v[name]),
                Val::Json(Cow::Owned(v)) => typed_field(name, &v[name]).into_owned_val(),
                _ => Val::Missing,
            });
        }
        if let Some(method) = self.methods.get(name) {
            let recv = receiver.to_json();
            let result = method(&recv, &args.unwrap_or_default())
                .map_err(|m| self.err(format!("error calling {name}: {m}")))?;
            return Ok(Val::owned(result));
        }
        if args.is_some() {
            return Err(self.err(format!("{name} is not a method but has arguments")));
        }
        Ok(Val::Missing)
    }
}

impl Exec<'_, '_> {
    /// Docker's `SubHeaderContext.Label`: the title of a `{{.Label "com.example.app-name"}}`
    /// column is the name's last dotted part with `-` and `_` as spaces (`app name`).
    fn header_label<'d>(&self, args: Option<Vec<Value>>) -> Result<Val<'d>> {
        let args = args.unwrap_or_default();
        let [Value::String(name)] = args.as_slice() else {
            return Err(self.err(format!(
                "wrong number of args for Label: want 1 got {}",
                args.len()
            )));
        };
        let last = name.rsplit('.').next().unwrap_or_default();
        Ok(Val::str(last.replace(['-', '_'], " ")))
    }
}

/// An element of an array or object value, borrowed when the container is.
fn element<'d>(container: &Val<'d>, pick: impl Fn(&Value) -> &Value) -> Val<'d> {
    match container {
        Val::Json(Cow::Borrowed(v)) => Val::borrowed(pick(v)),
        Val::Json(Cow::Owned(v)) => Val::owned(pick(v).clone()),
        _ => Val::Missing,
    }
}
