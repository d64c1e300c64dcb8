use super::*;

fn heredocs(text: &str) -> Vec<Vec<Heredoc>> {
    parse(text)
        .unwrap_or_else(|err| panic!("{err}"))
        .nodes
        .into_iter()
        .map(|node| node.heredocs)
        .collect()
}

fn doc(name: &str, content: &str) -> Heredoc {
    Heredoc {
        name: name.into(),
        content: content.into(),
        expand: true,
        chomp: false,
        file_descriptor: 0,
    }
}

#[test]
fn run_heredoc_body_is_read_verbatim_and_next_instruction_parsed() {
    let df =
        parse("FROM alpine\nRUN <<EOF\n# not a comment\necho \"$HOME\" \\\n\nEOF\nUSER nobody\n")
            .unwrap();
    assert_eq!(df.nodes.len(), 3);
    let run = &df.nodes[1];
    assert_eq!(run.args, ["<<EOF"]);
    assert_eq!(
        run.heredocs,
        [doc("EOF", "# not a comment\necho \"$HOME\" \\\n\n")]
    );
    assert_eq!((run.start_line, run.end_line), (2, 6));
    assert_eq!(df.nodes[2].keyword, "user");
    assert_eq!(df.nodes[2].start_line, 7);
    assert_eq!(
        df.dump(),
        "(from \"alpine\")\n(run \"<<EOF\")\n(user \"nobody\")"
    );
}

#[test]
fn several_heredocs_on_one_line_are_read_in_order() {
    let docs = heredocs("FROM a\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n");
    assert_eq!(docs[1], [doc("X", "Y\n"), doc("Y", "X\n")]);
    let df = parse("FROM a\nCOPY <<F1 <<F2 /dest\none\nF1\ntwo\nF2\n").unwrap();
    assert_eq!(df.nodes[1].dump(), "copy \"<<F1\" \"<<F2\" \"/dest\"");
}

#[test]
fn dash_heredoc_matches_tab_indented_terminator_and_keeps_raw_body() {
    let docs = heredocs("FROM a\nRUN <<-EOT\n\tbaz\n\t\tquux\n\tEOT\nRUN true\n");
    let heredoc = &docs[1][0];
    assert!(heredoc.chomp);
    assert_eq!(heredoc.content, "\tbaz\n\t\tquux\n");
    assert_eq!(heredoc.body(), "baz\nquux\n");
    assert_eq!(docs.len(), 3);
}

#[test]
fn without_dash_an_indented_terminator_is_body() {
    let err = parse("FROM a\nRUN <<EOF\n\tEOF\n").unwrap_err();
    assert_eq!(err.message, "unterminated heredoc");
}

#[test]
fn quoted_terminators_disable_expansion() {
    let docs = heredocs(
        "FROM a\nRUN <<'EOF'\n$X\nEOF\nRUN <<\"EOF\"\n$X\nEOF\nRUN <<E\"O\"F\n$X\nEOF\nRUN <<EOF\n$X\nEOF\n",
    );
    let expand: Vec<bool> = docs[1..].iter().map(|d| d[0].expand).collect();
    assert_eq!(expand, [false, false, false, true]);
    assert!(docs[1..].iter().all(|d| d[0].name == "EOF"));
}

#[test]
fn file_descriptor_prefix() {
    let docs = heredocs("FROM a\nRUN 3<<EOF cat /proc/self/fd/3\nhello\nEOF\n");
    assert_eq!(docs[1][0].file_descriptor, 3);
    assert_eq!(docs[1][0].content, "hello\n");
}

#[test]
fn heredoc_in_onbuild_trigger() {
    let df = parse("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nCMD x\n").unwrap();
    assert_eq!(df.nodes[1].heredocs, [doc("EOF", "echo hi\n")]);
    assert_eq!(df.nodes[1].dump(), "onbuild (run \"<<EOF\")");
    assert_eq!(df.nodes[2].keyword, "cmd");
}

#[test]
fn heredoc_with_flags_and_trailing_command() {
    let df =
        parse("FROM a\nRUN --mount=type=cache,target=/c <<EOF python3\nprint(1)\nEOF\n").unwrap();
    assert_eq!(df.nodes[1].flags, ["--mount=type=cache,target=/c"]);
    assert_eq!(df.nodes[1].heredocs, [doc("EOF", "print(1)\n")]);
}

#[test]
fn no_heredoc_in_json_form_quotes_or_other_instructions() {
    let df = parse("FROM a\nRUN [\"<<EOF\"]\nRUN \"<<EOF\"\nUSER <<EOF\nEOF\n").unwrap();
    assert!(df.nodes.iter().all(|node| node.heredocs.is_empty()));
    // `USER <<EOF` reads no body, so the next line is an (unknown) instruction.
    assert_eq!(df.nodes.len(), 5);
    assert_eq!(df.nodes[4].dump(), "eof \"\"");
}

#[test]
fn unterminated_heredoc_is_an_error_pointing_at_the_opener() {
    let err = parse("FROM a\n\nCOPY <<EOF /x\nbody\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(err.column, 6);
    assert_eq!(err.source_line, "COPY <<EOF /x");
    assert_eq!(
        err.to_string(),
        "dockerfile parse error on line 3: unterminated heredoc"
    );
}

#[test]
fn crlf_line_endings() {
    let df = parse("FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\nRUN b \\\r\n c\r\n").unwrap();
    assert_eq!(df.nodes[1].heredocs[0].content, "x\r\n");
    assert_eq!(df.nodes[2].args, ["b  c"]);
}

#[test]
fn directives_are_recorded() {
    let df = parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(
        df.directives,
        Directives {
            escape: '`',
            syntax: Some("docker/dockerfile:1".into()),
            check: Some("skip=all".into()),
        }
    );
}

#[test]
fn directive_errors_name_their_line() {
    let err = parse("# escape=`\n# escape=\\\nFROM a\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(err.message, "only one escape parser directive can be used");
    let err = parse("#escape=x\nFROM a\n").unwrap_err();
    assert_eq!(err.line, 1);
}

#[test]
fn bom_is_stripped() {
    let df = parse_bytes(b"\xef\xbb\xbf# escape=`\nFROM a `\n  AS b\n").unwrap();
    assert_eq!(df.directives.escape, '`');
    assert_eq!(df.nodes[0].args, ["a", "AS", "b"]);
}

#[test]
fn parse_errors_carry_line_column_and_source() {
    let err = parse("FROM a\n\n  ENV PATH\n").unwrap_err();
    assert_eq!(
        err,
        ParseError {
            line: 3,
            column: 3,
            message: "ENV must have two arguments".into(),
            source_line: "  ENV PATH".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "dockerfile parse error on line 3: ENV must have two arguments"
    );
}

#[test]
fn empty_continuation_lines_warn() {
    let df = parse("FROM a\nRUN a \\\n\n  b\n").unwrap();
    assert_eq!(df.nodes[1].args, ["a   b"]);
    assert_eq!(df.warnings.len(), 1);
    assert_eq!(df.warnings[0].line, 2);
}

#[test]
fn onbuild_flags_and_trigger() {
    let df = parse("FROM a\nONBUILD COPY --from=b x /y\nONBUILD\n").unwrap();
    let trigger = df.nodes[1].next.as_deref().expect("trigger");
    assert_eq!(trigger.keyword, "copy");
    assert_eq!(trigger.flags, ["--from=b"]);
    assert_eq!(trigger.original, "COPY --from=b x /y");
    assert_eq!(
        df.nodes[1].dump(),
        "onbuild (copy [\"--from=b\"] \"x\" \"/y\")"
    );
    assert_eq!(df.nodes[2].dump(), "onbuild");
}

#[test]
fn source_lines_are_kept_for_later_errors() {
    let df = parse("FROM a\nRUN x\n").unwrap();
    assert_eq!(df.source_line(2), Some("RUN x"));
    assert_eq!(df.source_line(0), None);
    assert_eq!(df.source_line(3), None);
}
