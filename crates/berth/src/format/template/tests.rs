use serde_json::{json, Value};

use super::Template;

fn render(t: &str, data: &Value) -> String {
    Template::parse(t).unwrap().render(data).unwrap()
}

fn render_err(t: &str, data: &Value) -> String {
    match Template::parse(t) {
        Ok(tmpl) => tmpl.render(data).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    }
}

fn container() -> Value {
    json!({
        "Id": "4f6b1c3e9a2d",
        "Name": "/web",
        "Args": ["-c", "echo hi"],
        "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0, "Health": null},
        "Config": {
            "Cmd": ["sh", "-c", "echo hi"],
            "Entrypoint": null,
            "Env": ["PATH=/bin", "A=1"],
            "Labels": {"k2": "v2", "k": "v", "com.example.x": "y"},
            "Volumes": null,
            "Tty": false,
        },
        "HostConfig": {"Memory": 0, "CpuShares": 1024},
        "SizeRw": 12.0,
    })
}

#[test]
fn fields_print_like_go() {
    let c = container();
    assert_eq!(render("{{.Id}}", &c), "4f6b1c3e9a2d");
    assert_eq!(render("{{.Config.Cmd}}", &c), "[sh -c echo hi]");
    assert_eq!(
        render("{{.Config.Labels}}", &c),
        "map[com.example.x:y k:v k2:v2]"
    );
    assert_eq!(
        render("{{.State.Pid}} {{.State.Running}} {{.Config.Tty}}", &c),
        "4242 true false"
    );
    assert_eq!(render("{{.SizeRw}}", &c), "12");
    assert_eq!(render("{{.Config.Labels.k}}", &c), "v");
}

#[test]
fn missing_and_nil_values_print_as_go_typed_values_would() {
    let c = container();
    assert_eq!(render("{{.Nope}}", &c), "<no value>");
    assert_eq!(render("{{.Config.Labels.nope}}", &c), "<no value>");
    assert_eq!(render("{{.Nope.Deeper}}", &c), "<no value>");
    assert_eq!(render("{{.Config.Entrypoint}}", &c), "[]");
    assert_eq!(render("{{.Config.Volumes}}", &c), "map[]");
    assert_eq!(render("{{.State.Health}}", &c), "<nil>");
    assert_eq!(render("{{json .Config.Entrypoint}}", &c), "null");
    assert!(render_err("{{.State.Health.Status}}", &c).contains("nil pointer evaluating"));
    assert!(render_err("{{.Id.Foo}}", &c).contains("can't evaluate field Foo in type string"));
}

#[test]
fn docker_functions() {
    let c = container();
    assert_eq!(
        render("{{json .Config.Labels}}", &c),
        r#"{"com.example.x":"y","k":"v","k2":"v2"}"#
    );
    assert_eq!(render("{{join .Args \" \"}}", &c), "-c echo hi");
    assert_eq!(render("{{upper .State.Status}}", &c), "RUNNING");
    assert_eq!(render("{{.State.Status | upper}}", &c), "RUNNING");
    assert_eq!(
        render("{{lower \"ABC\"}} {{title \"hello world\"}}", &c),
        "abc Hello World"
    );
    assert_eq!(render("{{split \"a:b:c\" \":\"}}", &c), "[a b c]");
    assert_eq!(render("{{index (split \"a:b:c\" \":\") 1}}", &c), "b");
    assert_eq!(render("{{truncate .Id 4}}", &c), "4f6b");
    assert_eq!(render("[{{pad .Name 1 2}}]", &c), "[ /web  ]");
    assert_eq!(render("{{println .Id}}", &c), "4f6b1c3e9a2d\n");
    assert_eq!(
        render("{{printf \"%s:%d\" .Name .State.Pid}}", &c),
        "/web:4242"
    );
    assert_eq!(render("{{index .Config.Labels \"k\"}}", &c), "v");
    assert_eq!(render("[{{index .Config.Labels \"nope\"}}]", &c), "[]");
    assert_eq!(render("{{len .Config.Env}}", &c), "2");
}

#[test]
fn json_of_the_whole_value_keeps_field_order() {
    let v = json!({"b": 1, "a": {"y": [1, 2], "x": "<&>"}});
    assert_eq!(
        render("{{json .}}", &v),
        r#"{"b":1,"a":{"y":[1,2],"x":"<&>"}}"#
    );
}

#[test]
fn range_over_arrays_maps_and_ints() {
    let c = container();
    assert_eq!(
        render("{{range .Config.Env}}<{{.}}>{{end}}", &c),
        "<PATH=/bin><A=1>"
    );
    assert_eq!(
        render(
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
            &c
        ),
        "com.example.x=y;k=v;k2=v2;"
    );
    assert_eq!(
        render("{{range $i, $e := .Args}}{{$i}}:{{$e}} {{end}}", &c),
        "0:-c 1:echo hi "
    );
    assert_eq!(render("{{range 3}}{{.}}{{end}}", &c), "012");
    assert_eq!(
        render("{{range .Config.Entrypoint}}x{{else}}none{{end}}", &c),
        "none"
    );
    assert_eq!(render("{{range .Nope}}x{{else}}none{{end}}", &c), "none");
    assert_eq!(
        render(
            "{{range .Config.Env}}{{if eq . \"A=1\"}}{{break}}{{end}}{{.}}{{end}}",
            &c
        ),
        "PATH=/bin"
    );
    assert_eq!(
        render(
            "{{range .Config.Env}}{{if eq . \"PATH=/bin\"}}{{continue}}{{end}}{{.}}{{end}}",
            &c
        ),
        "A=1"
    );
    assert_eq!(
        render("{{range .Config.Env}}{{$.Id}} {{end}}", &c),
        "4f6b1c3e9a2d 4f6b1c3e9a2d "
    );
    assert!(render_err("{{range .Id}}{{end}}", &c).contains("range can't iterate over"));
}

#[test]
fn conditionals() {
    let c = container();
    assert_eq!(
        render("{{if .State.Running}}up{{else}}down{{end}}", &c),
        "up"
    );
    assert_eq!(
        render(
            "{{if .Config.Tty}}a{{else if .State.Running}}b{{else}}c{{end}}",
            &c
        ),
        "b"
    );
    assert_eq!(
        render(
            "{{if .Nope}}a{{else if .Config.Entrypoint}}b{{else}}c{{end}}",
            &c
        ),
        "c"
    );
    assert_eq!(render("{{with .State}}{{.Status}}{{end}}", &c), "running");
    assert_eq!(
        render(
            "{{with .HostConfig.Memory}}{{.}}{{else}}unlimited{{end}}",
            &c
        ),
        "unlimited"
    );
    assert_eq!(
        render("{{if and .State.Running (not .Config.Tty)}}yes{{end}}", &c),
        "yes"
    );
    assert_eq!(render("{{or .Nope \"default\"}}", &c), "default");
    assert_eq!(render("{{and .State.Running .State.Pid}}", &c), "4242");
    // `and` stops before an argument that would fail.
    assert_eq!(
        render("{{and .Config.Tty .State.Health.Status}}", &c),
        "false"
    );
}

#[test]
fn variables_and_scopes() {
    let c = container();
    assert_eq!(render("{{$n := .Name}}{{$n}}", &c), "/web");
    assert_eq!(
        render("{{$n := 1}}{{range .Args}}{{$n = 2}}{{end}}{{$n}}", &c),
        "2"
    );
    assert!(render_err("{{if true}}{{$x := 1}}{{end}}{{$x}}", &c).contains("undefined variable"));
    assert_eq!(render("{{with $s := .State}}{{$s.Pid}}{{end}}", &c), "4242");
    assert_eq!(render("{{(index .Config.Env 1)}}", &c), "A=1");
    assert_eq!(render("{{(.State).Status}}", &c), "running");
}

#[test]
fn text_trimming_and_comments() {
    let c = container();
    assert_eq!(render("a  {{- .Name -}}  b", &c), "a/webb");
    assert_eq!(render("{{/* hidden */}}x", &c), "x");
    assert_eq!(render("{{- /* hidden */ -}}\n  x", &c), "x");
    assert_eq!(render("{{\"a\"}}\n{{- \"b\"}}", &c), "ab");
}

#[test]
fn literals() {
    let v = json!(null);
    assert_eq!(
        render(
            "{{1}} {{-2}} {{1.5}} {{1e3}} {{0x1F}} {{true}} {{\"s\"}} {{'a'}}",
            &v
        ),
        "1 -2 1.5 1000 31 true s 97"
    );
    assert_eq!(render("{{.}}", &v), "<nil>");
}

#[test]
fn parse_errors_name_the_problem() {
    let v = json!({});
    assert!(render_err("{{foo .}}", &v).contains("function \"foo\" not defined"));
    assert!(render_err("{{if .}}x", &v).contains("unexpected EOF"));
    assert!(render_err("{{end}}", &v).contains("unexpected {{end}}"));
    assert!(render_err("{{break}}", &v).contains("outside {{range}}"));
    assert!(render_err("{{.A | \"x\"}}", &v).contains("non executable command"));
    assert!(render_err("{{$x}}", &v).contains("undefined variable"));
    assert!(render_err("{{}}", &v).contains("missing value for command"));
    assert!(render_err("{{nil}}", &v).contains("nil is not a command"));
    assert!(render_err("{{.A \"arg\"}}", &json!({"A": 1})).contains("not a method"));
    assert!(render_err("{{upper 1}}", &v).contains("expected string"));
    assert_eq!(
        render_err("{{.A}}\n{{foo}}", &v),
        "template: :2: function \"foo\" not defined"
    );
}

#[test]
fn methods_compute_fields() {
    fn label(recv: &Value, args: &[Value]) -> Result<Value, String> {
        let key = args
            .first()
            .and_then(Value::as_str)
            .ok_or("Label needs a name")?;
        Ok(recv["LabelMap"].get(key).cloned().unwrap_or(json!("")))
    }
    let row = json!({"LabelMap": {"a": "1"}});
    let t = Template::parse("{{.Label \"a\"}}|{{.Label \"b\"}}")
        .unwrap()
        .with_method("Label", label);
    assert_eq!(t.render(&row).unwrap(), "1|");
}
