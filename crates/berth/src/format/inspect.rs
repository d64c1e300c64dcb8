//! `inspect --format` as Docker's inspector prints it.

use serde_json::Value;

use crate::format::json::{to_go_json, JsonStyle};
use crate::format::{FormatError, Template};

/// What `inspect` prints, and the elements whose template failed. Docker prints the output of
/// the elements that worked, then reports the errors and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub output: String,
    pub errors: Vec<FormatError>,
}

/// Renders `inspect` output for `elements`:
/// - no format: a JSON array indented by four spaces (`[]` when empty), then a newline;
/// - `json`: the same array compact;
/// - otherwise a Go template (taken literally: no `\t` processing), one line per element; with
///   no output at all, a single empty line, as Docker prints.
///
/// A template that does not parse is an error for the whole command (Docker's exit status 64).
pub fn render_inspect(format: &str, elements: &[Value]) -> Result<Inspected, FormatError> {
    let array = || Value::Array(elements.to_vec());
    let output = match format {
        "" => format!("{}\n", to_go_json(&array(), JsonStyle::INSPECT)),
        "json" => format!("{}\n", to_go_json(&array(), JsonStyle::TEMPLATE)),
        _ => {
            let template = Template::parse(format)?;
            let mut output = String::new();
            let mut errors = Vec::new();
            for element in elements {
                match template.render(element) {
                    Ok(text) => {
                        output.push_str(&text);
                        output.push('\n');
                    }
                    Err(e) => errors.push(e),
                }
            }
            if output.is_empty() {
                output.push('\n');
            }
            return Ok(Inspected { output, errors });
        }
    };
    Ok(Inspected {
        output,
        errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_is_indented_array() {
        let out = render_inspect("", &[json!({"Id": "a", "Args": []})]).unwrap();
        assert_eq!(
            out.output,
            "[\n    {\n        \"Id\": \"a\",\n        \"Args\": []\n    }\n]\n"
        );
        assert_eq!(render_inspect("", &[]).unwrap().output, "[]\n");
    }

    #[test]
    fn json_is_compact_array() {
        let out = render_inspect("json", &[json!({"Id": "a"}), json!({"Id": "b"})]).unwrap();
        assert_eq!(out.output, "[{\"Id\":\"a\"},{\"Id\":\"b\"}]\n");
    }

    #[test]
    fn template_prints_a_line_per_element_and_collects_errors() {
        let els = [
            json!({"Id": "a", "State": null}),
            json!({"Id": "b", "State": {"Pid": 7}}),
        ];
        let out = render_inspect("{{.Id}}\\t{{.State.Pid}}", &els).unwrap();
        assert_eq!(out.output, "b\\t7\n");
        assert_eq!(out.errors.len(), 1);
        assert!(render_inspect("{{.Id", &els).is_err());
        assert_eq!(render_inspect("{{.Id}}", &[]).unwrap().output, "\n");
    }
}
