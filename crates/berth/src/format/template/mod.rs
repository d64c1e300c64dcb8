//! Go `text/template` for `--format`, over JSON values, with Docker's template functions.
//!
//! Why not the `gtmpl` crate: it prints slices and maps in Rust's debug form
//! (`[String("sh")]` where Go prints `[sh]`), prints nil as `nil`, ranges over maps in hash
//! order (Go sorts keys), keeps maps in a `HashMap` (so `{{json .}}` loses field order), lacks
//! `break`/`continue`, and turns `-1.5` into `-1`. Printing happens inside its executor, out of
//! reach; so berth carries this small evaluator of the same language instead.
//!
//! Supported: text and `{{-`/`-}}` trimming, comments, pipelines, parenthesised pipelines,
//! variables (`:=`, `=`), `if`/`else if`/`else`, `with`/`else with`, `range` (arrays, maps in
//! key order, integers; `break`, `continue`, `else`), the builtins `and or not len index slice
//! print printf println eq ne lt le gt ge`, and Docker's `json split join title lower upper pad
//! truncate`. Not supported: `define`/`template`/`block`, `html`, `js`, `urlquery`, `call`.
//!
//! How JSON stands in for Docker's Go values is described in [`value`](self::value).

mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
pub(crate) mod value;

use std::collections::HashMap;

use serde_json::Value;

use crate::format::FormatError;
use exec::Exec;
use funcs::FuncSet;
use parse::Node;

/// A computed field, called for `{{.Name}}` or `{{.Name arg...}}` when the object has no key
/// `Name`: Docker's list contexts have methods such as `{{.Label "com.example"}}`.
/// It receives the object and the arguments; an `Err` stops the template with that message.
pub type Method = fn(&Value, &[Value]) -> Result<Value, String>;

/// A parsed `--format` template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
    methods: HashMap<String, Method>,
}

impl Template {
    /// Parses Go template text, exactly as given (no `table` prefix or `\t` handling here;
    /// see [`ListFormat`](crate::format::ListFormat) for that).
    pub fn parse(text: &str) -> Result<Template, FormatError> {
        let nodes = parse::parse(lex::lex(text)?)?;
        Ok(Template {
            nodes,
            methods: HashMap::new(),
        })
    }

    /// Adds a computed field (see [`Method`]).
    pub fn with_method(mut self, name: &str, method: Method) -> Template {
        self.methods.insert(name.to_string(), method);
        self
    }

    /// Runs the template with `data` as dot.
    pub fn render(&self, data: &Value) -> Result<String, FormatError> {
        let mut out = String::new();
        Exec::new(&self.methods, FuncSet::Rows, data, &mut out).run(&self.nodes, data)?;
        Ok(out)
    }

    /// Runs the template over one row of a Docker list (see [`ListFormat`](crate::format::ListFormat)).
    pub(crate) fn render_row(&self, row: &Value) -> Result<String, FormatError> {
        let mut out = String::new();
        let mut exec = Exec::new(&self.methods, FuncSet::Rows, row, &mut out);
        exec.row_context = true;
        exec.run(&self.nodes, row)?;
        Ok(out)
    }

    /// Runs the template over a table's header (field name → column title) with Docker's
    /// header functions. Like Docker, a failure keeps what was written before it.
    pub(crate) fn render_header(&self, headers: &Value) -> String {
        let mut out = String::new();
        let _ =
            Exec::new(&self.methods, FuncSet::Header, headers, &mut out).run(&self.nodes, headers);
        out
    }
}

#[cfg(test)]
mod tests;
