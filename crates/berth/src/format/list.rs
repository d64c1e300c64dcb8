//! `--format` for list commands (`ps`, `images`, `volume ls`, ...), as Docker's formatter does
//! it: the `table` prefix, the `json` shortcut, `\t`/`\n` escapes, one output line per row.

use serde_json::{Map, Value};

use crate::format::tabwriter::TabWriter;
use crate::format::{FormatError, Method, Template};

/// A list command's output format, parsed once and applied to all rows.
#[derive(Debug, Clone)]
pub struct ListFormat {
    template: Template,
    table: bool,
}

impl ListFormat {
    /// `format` is the `--format` value; empty or `table` means the command's `default_table`
    /// (e.g. `table {{.ID}}\t{{.Image}}`). As in Docker:
    /// - `json` is `{{json .}}`: one JSON object per row;
    /// - a format starting with `table` prints a header row and aligns columns;
    /// - surrounding spaces are trimmed, and the two-character sequences `\t` and `\n` become a
    ///   tab and a newline (shells pass them literally).
    ///
    /// `-q` is the caller's: Docker uses `{{.ID}}` then, whatever the format.
    pub fn new(format: &str, default_table: &str) -> Result<ListFormat, FormatError> {
        let format = if format.is_empty() || format == "table" {
            default_table
        } else {
            format
        };
        let table = format.starts_with("table");
        let text = if format == "json" {
            "{{json .}}".to_string()
        } else {
            format
                .strip_prefix("table")
                .unwrap_or(format)
                .trim_matches(' ')
                .replace("\\t", "\t")
                .replace("\\n", "\n")
        };
        Ok(ListFormat {
            template: Template::parse(&text)?,
            table,
        })
    }

    /// Adds a computed field to the rows (see [`Method`]).
    pub fn with_method(mut self, name: &str, method: Method) -> ListFormat {
        self.template = self.template.with_method(name, method);
        self
    }

    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders the rows, each followed by a newline. For a table, the header row comes first:
    /// the template run over `headers` (field → column title, e.g. `("ID", "IMAGE ID")`), with
    /// Docker's header functions; a field without a title prints `<no value>`, as in Docker.
    ///
    /// Rows are Docker's list contexts, which marshal themselves as Go maps with `json.Marshal`:
    /// `{{json .}}` prints their keys sorted and HTML characters escaped (`\u003cnone\u003e`).
    /// In the header, `{{.Label "com.example.app-name"}}` is titled `app name`, as in Docker.
    pub fn render(&self, rows: &[Value], headers: &[(&str, &str)]) -> Result<String, FormatError> {
        let mut body = String::new();
        for row in rows {
            body.push_str(&self.template.render_row(&sorted_keys(row))?);
            body.push('\n');
        }
        if !self.table {
            return Ok(body);
        }
        let header: Map<String, Value> = headers
            .iter()
            .map(|(field, title)| (field.to_string(), Value::String(title.to_string())))
            .collect();
        let mut tw = TabWriter::docker();
        tw.write_str(&self.template.render_header(&Value::Object(header)));
        tw.write_str("\n");
        tw.write_str(&body);
        Ok(tw.finish())
    }
}

fn sorted_keys(row: &Value) -> Value {
    match row {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PS_DEFAULT: &str =
        "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";
    const PS_HEADERS: &[(&str, &str)] = &[
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Command", "COMMAND"),
        ("RunningFor", "CREATED"),
        ("Status", "STATUS"),
        ("Ports", "PORTS"),
        ("Names", "NAMES"),
    ];

    fn ps_rows() -> Vec<Value> {
        vec![
            json!({"ID": "4f6b1c3e9a2d", "Image": "busybox", "Command": "\"sh -c 'sleep 1000'\"",
                   "RunningFor": "5 seconds ago", "Status": "Up 4 seconds", "Ports": "", "Names": "web"}),
            json!({"ID": "0a1b2c3d4e5f", "Image": "alpine:3.19", "Command": "\"/bin/sh\"",
                   "RunningFor": "2 hours ago", "Status": "Exited (0) 2 hours ago", "Ports": "", "Names": "db"}),
        ]
    }

    #[test]
    fn default_ps_table() {
        let out = ListFormat::new("", PS_DEFAULT)
            .unwrap()
            .render(&ps_rows(), PS_HEADERS)
            .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE         COMMAND                CREATED         STATUS                   PORTS     NAMES\n\
             4f6b1c3e9a2d   busybox       \"sh -c 'sleep 1000'\"   5 seconds ago   Up 4 seconds                       web\n\
             0a1b2c3d4e5f   alpine:3.19   \"/bin/sh\"              2 hours ago     Exited (0) 2 hours ago             db\n"
        );
    }

    #[test]
    fn table_with_custom_columns_uses_caller_headers() {
        let out = ListFormat::new("table {{.ID}}\\t{{upper .Names}}", PS_DEFAULT)
            .unwrap()
            .render(&ps_rows(), PS_HEADERS)
            .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   NAMES\n4f6b1c3e9a2d   WEB\n0a1b2c3d4e5f   DB\n"
        );
    }

    #[test]
    fn table_without_rows_prints_the_header() {
        let out = ListFormat::new("", PS_DEFAULT)
            .unwrap()
            .render(&[], PS_HEADERS)
            .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
    }

    #[test]
    fn unknown_header_field_prints_no_value() {
        let out = ListFormat::new("table {{.ID}}\\t{{.Foo}}", "")
            .unwrap()
            .render(&[json!({"ID": "x"})], PS_HEADERS)
            .unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   <no value>\nx              <no value>\n"
        );
    }

    #[test]
    fn plain_format_is_one_line_per_row_without_header() {
        let out = ListFormat::new("{{.Names}}: {{.Status}}", PS_DEFAULT)
            .unwrap()
            .render(&ps_rows(), PS_HEADERS)
            .unwrap();
        assert_eq!(out, "web: Up 4 seconds\ndb: Exited (0) 2 hours ago\n");
        assert_eq!(
            ListFormat::new("{{.ID}}", "")
                .unwrap()
                .render(&[], PS_HEADERS)
                .unwrap(),
            ""
        );
    }

    #[test]
    fn json_shortcut_prints_objects_with_sorted_keys() {
        let rows = vec![json!({"Names": "web", "ID": "x", "Labels": ""})];
        let out = ListFormat::new("json", PS_DEFAULT)
            .unwrap()
            .render(&rows, PS_HEADERS)
            .unwrap();
        assert_eq!(out, "{\"ID\":\"x\",\"Labels\":\"\",\"Names\":\"web\"}\n");
    }

    #[test]
    fn json_of_a_row_escapes_html_but_json_of_a_field_does_not() {
        let rows = vec![json!({"Tag": "<none>", "ID": "x"})];
        let out = ListFormat::new("{{json .}} {{json .Tag}}", "")
            .unwrap()
            .render(&rows, &[])
            .unwrap();
        assert_eq!(
            out,
            "{\"ID\":\"x\",\"Tag\":\"\\u003cnone\\u003e\"} \"<none>\"\n"
        );
    }

    #[test]
    fn label_columns_are_titled_like_docker() {
        fn label(row: &Value, args: &[Value]) -> Result<Value, String> {
            let key = args.first().and_then(Value::as_str).unwrap_or_default();
            Ok(row["LabelMap"].get(key).cloned().unwrap_or(json!("")))
        }
        let rows = vec![json!({"ID": "x", "LabelMap": {"com.example.app-name": "web"}})];
        let out = ListFormat::new("table {{.ID}}\\t{{.Label \"com.example.app-name\"}}", "")
            .unwrap()
            .with_method("Label", label)
            .render(&rows, PS_HEADERS)
            .unwrap();
        assert_eq!(out, "CONTAINER ID   app name\nx              web\n");
    }

    #[test]
    fn escapes_and_spaces_are_processed_like_docker() {
        let rows = vec![json!({"A": "1", "B": "2"})];
        let out = ListFormat::new("  {{.A}}\\n{{.B}}\\t.  ", "")
            .unwrap()
            .render(&rows, &[])
            .unwrap();
        assert_eq!(out, "1\n2\t.\n");
        let f = ListFormat::new("table", "table {{.A}}").unwrap();
        assert!(f.is_table());
        assert!(!ListFormat::new("{{.A}}", "table {{.A}}")
            .unwrap()
            .is_table());
    }

    #[test]
    fn header_functions_keep_titles() {
        let out = ListFormat::new(
            "table {{json .Names}}\\t{{truncate .ID 3}}\\t{{lower .Image}}",
            "",
        )
        .unwrap()
        .render(&ps_rows()[..1], PS_HEADERS)
        .unwrap();
        assert_eq!(
            out,
            "NAMES     CONTAINER ID   IMAGE\n\"web\"     4f6            busybox\n"
        );
    }
}
