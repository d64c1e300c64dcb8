use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::parser::parse;
use crate::shell::ShellLex;

/// The instruction on the last line of `text`.
fn one(text: &str) -> Instruction {
    let df = parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    let node = df.nodes.last().expect("a node");
    parse_instruction(node).unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

/// The error message for the instruction on the last line of `text`.
fn fails(text: &str) -> String {
    let df = parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
    let node = df.nodes.last().expect("a node");
    match parse_instruction(node) {
        Ok(instruction) => panic!("{text:?} should fail, got {instruction:?}"),
        Err(err) => err.message,
    }
}

#[test]
fn from_with_platform_and_stage_name() {
    let Instruction::From(from) = one("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build") else {
        panic!()
    };
    assert_eq!(from.base, "golang:1.22");
    assert_eq!(from.name.as_deref(), Some("build"));
    assert_eq!(from.platform.as_deref(), Some("$BUILDPLATFORM"));
    let Instruction::From(plain) = one("FROM scratch") else {
        panic!()
    };
    assert_eq!((plain.name, plain.platform), (None, None));
}

#[test]
fn from_errors() {
    assert_eq!(
        fails("FROM a AS"),
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        fails("FROM a b c"),
        "FROM requires either one or three arguments"
    );
    assert_eq!(
        fails("FROM a AS 1st"),
        "invalid name for build stage: \"1st\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        fails("FROM --plaform=x a"),
        "unknown flag: --plaform (did you mean platform?)"
    );
}

#[test]
fn run_shell_and_exec_forms() {
    let Instruction::Run(run) = one("RUN echo $HOME && ls") else {
        panic!()
    };
    assert_eq!(
        run.command,
        CmdLine {
            args: vec!["echo $HOME && ls".into()],
            prepend_shell: true
        }
    );
    assert_eq!(
        (run.network, run.security),
        (NetworkMode::Default, Security::Sandbox)
    );
    let Instruction::Run(run) = one(r#"RUN ["echo", "$HOME"]"#) else {
        panic!()
    };
    assert_eq!(
        run.command,
        CmdLine {
            args: vec!["echo".into(), "$HOME".into()],
            prepend_shell: false
        }
    );
}

#[test]
fn run_flags() {
    let Instruction::Run(run) = one(
        "RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npmrc --network=none --security=insecure make",
    ) else {
        panic!()
    };
    assert_eq!(run.mounts.len(), 2);
    let cache = run.mounts[0].mount.as_ref().expect("checked");
    assert_eq!(cache.kind, MountType::Cache);
    assert_eq!(cache.target.as_deref(), Some("/root/.cache"));
    assert_eq!(
        run.mounts[1].mount.as_ref().map(|m| m.kind),
        Some(MountType::Secret)
    );
    assert_eq!(run.network, NetworkMode::None);
    assert_eq!(run.security, Security::Insecure);
    let Instruction::Run(run) = one("RUN --network=host true") else {
        panic!()
    };
    assert_eq!(run.network, NetworkMode::Host);
}

#[test]
fn run_errors() {
    assert_eq!(
        fails("RUN --network=bridge x"),
        "invalid network mode \"bridge\""
    );
    assert_eq!(
        fails("RUN --security=loose x"),
        "security \"loose\" is not valid"
    );
    assert_eq!(
        fails("RUN --mount=type=nfs,target=/x x"),
        "unsupported mount type \"nfs\""
    );
    assert_eq!(
        fails("RUN --mnt=type=bind x"),
        "unknown flag: --mnt (did you mean mount?)"
    );
    assert_eq!(fails("RUN --bogus x"), "unknown flag: --bogus");
    assert_eq!(fails("RUN"), "RUN requires at least one argument");
}

#[test]
fn run_heredoc_is_kept() {
    let Instruction::Run(run) = one("RUN <<EOF\necho hi\nEOF") else {
        panic!()
    };
    assert_eq!(run.command.args, ["<<EOF"]);
    assert_eq!(run.heredocs[0].content, "echo hi\n");
}

#[test]
fn cmd_entrypoint_forms() {
    assert_eq!(
        one("CMD [\"nginx\", \"-g\", \"daemon off;\"]"),
        Instruction::Cmd(CmdLine {
            args: vec!["nginx".into(), "-g".into(), "daemon off;".into()],
            prepend_shell: false
        })
    );
    assert_eq!(
        one("ENTRYPOINT exec top -b"),
        Instruction::Entrypoint(CmdLine {
            args: vec!["exec top -b".into()],
            prepend_shell: true
        })
    );
    assert_eq!(
        one("ENTRYPOINT []"),
        Instruction::Entrypoint(CmdLine {
            args: vec![],
            prepend_shell: false
        })
    );
    assert_eq!(fails("CMD --x echo"), "unknown flag: --x");
}

#[test]
fn shell_requires_exec_form() {
    assert_eq!(
        one("SHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]"),
        Instruction::Shell(vec![
            "/bin/bash".into(),
            "-eo".into(),
            "pipefail".into(),
            "-c".into()
        ])
    );
    assert_eq!(
        fails("SHELL /bin/bash -c"),
        "SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(fails("SHELL []"), "SHELL requires at least one argument");
}

#[test]
fn env_and_label_entries() {
    assert_eq!(
        one("ENV A=1 B=\"two words\""),
        Instruction::Env(vec![
            KeyValue {
                key: "A".into(),
                value: "1".into(),
                no_delimiter: false
            },
            KeyValue {
                key: "B".into(),
                value: "\"two words\"".into(),
                no_delimiter: false
            },
        ])
    );
    assert_eq!(
        one("ENV PATH /usr/bin:/bin"),
        Instruction::Env(vec![KeyValue {
            key: "PATH".into(),
            value: "/usr/bin:/bin".into(),
            no_delimiter: true
        }])
    );
    assert_eq!(
        one("LABEL org.opencontainers.image.title=berth"),
        Instruction::Label(vec![KeyValue {
            key: "org.opencontainers.image.title".into(),
            value: "berth".into(),
            no_delimiter: false
        }])
    );
}

#[test]
fn env_and_label_errors() {
    assert_eq!(fails("ENV"), "ENV requires at least one argument");
    assert_eq!(fails("LABEL =x"), "LABEL names can not be blank");
}

#[test]
fn arg_names_and_defaults() {
    assert_eq!(
        one("ARG A B=2 C="),
        Instruction::Arg(ArgInstruction {
            args: vec![
                ArgDefinition {
                    name: "A".into(),
                    default: None
                },
                ArgDefinition {
                    name: "B".into(),
                    default: Some("2".into())
                },
                ArgDefinition {
                    name: "C".into(),
                    default: Some(String::new())
                },
            ]
        })
    );
    assert_eq!(fails("ARG"), "ARG requires at least one argument");
    assert_eq!(fails("ARG =x"), "ARG names can not be blank");
}

#[test]
fn copy_flags_sources_and_dest() {
    let Instruction::Copy(copy) = one(
        "COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a b /dst/",
    ) else {
        panic!()
    };
    assert_eq!(copy.files.sources, ["a", "b"]);
    assert_eq!(copy.files.dest, "/dst/");
    assert_eq!(copy.from.as_deref(), Some("build"));
    assert_eq!(copy.chown.as_deref(), Some("app:app"));
    assert_eq!(copy.chmod.as_deref(), Some("0755"));
    assert!(copy.link && copy.parents);
    assert_eq!(copy.excludes, ["*.md", "tmp"]);
    let Instruction::Copy(json) = one("COPY [\"a b\", \"/c d/\"]") else {
        panic!()
    };
    assert_eq!(json.files.sources, ["a b"]);
    assert_eq!(json.files.dest, "/c d/");
}

#[test]
fn copy_errors() {
    assert_eq!(
        fails("COPY onlyone"),
        "COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );
    assert_eq!(fails("COPY --checksum=x a b"), "unknown flag: --checksum");
    assert_eq!(
        fails("COPY --link=maybe a b"),
        "expecting boolean value for flag --link, not: maybe"
    );
    assert_eq!(
        fails("COPY --from=$STAGE a b"),
        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"
    );
    assert_eq!(
        fails("COPY a <<EOF\nx\nEOF"),
        "COPY cannot accept a heredoc as a destination"
    );
}

#[test]
fn copy_heredoc_sources() {
    let Instruction::Copy(copy) =
        one("COPY <<-one <<'two' plain /dest/\n\tfirst $X\none\nsecond $X\ntwo")
    else {
        panic!()
    };
    assert_eq!(copy.files.sources, ["plain"]);
    assert_eq!(
        copy.files.inline,
        [
            InlineSource {
                name: "one".into(),
                content: "first $X\n".into(),
                expand: true
            },
            InlineSource {
                name: "two".into(),
                content: "second $X\n".into(),
                expand: false
            },
        ]
    );
}

#[test]
fn add_flags() {
    let Instruction::Add(add) = one(
        "ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --chown=1:1 https://example.com/a.tar.gz /a/",
    ) else {
        panic!()
    };
    assert_eq!(add.checksum.as_deref(), Some("sha256:abc"));
    assert_eq!(add.keep_git_dir, Some(true));
    assert_eq!(add.unpack, Some(false));
    assert_eq!(add.chown.as_deref(), Some("1:1"));
    assert_eq!(add.files.sources, ["https://example.com/a.tar.gz"]);
    let Instruction::Add(plain) = one("ADD a b") else {
        panic!()
    };
    assert_eq!(
        (plain.keep_git_dir, plain.unpack, plain.link),
        (None, None, false)
    );
    assert_eq!(fails("ADD --from=x a b"), "unknown flag: --from");
}

#[test]
fn simple_instructions() {
    assert_eq!(one("WORKDIR /app"), Instruction::Workdir("/app".into()));
    assert_eq!(one("USER 1000:1000"), Instruction::User("1000:1000".into()));
    assert_eq!(
        one("STOPSIGNAL SIGQUIT"),
        Instruction::StopSignal("SIGQUIT".into())
    );
    assert_eq!(
        one("MAINTAINER me <me@x>"),
        Instruction::Maintainer("me <me@x>".into())
    );
    assert_eq!(
        one("VOLUME [\"/data\", \"/logs\"]"),
        Instruction::Volume(vec!["/data".into(), "/logs".into()])
    );
    assert_eq!(
        one("EXPOSE 80 443/tcp 53/udp"),
        Instruction::Expose(vec!["80".into(), "443/tcp".into(), "53/udp".into()])
    );
}

#[test]
fn simple_instruction_errors() {
    assert_eq!(fails("WORKDIR"), "WORKDIR requires exactly one argument");
    assert_eq!(fails("USER"), "USER requires exactly one argument");
    assert_eq!(
        fails("STOPSIGNAL"),
        "STOPSIGNAL requires exactly one argument"
    );
    assert_eq!(fails("VOLUME"), "VOLUME requires at least one argument");
    assert_eq!(
        fails("VOLUME [\"\"]"),
        "VOLUME specified can not be an empty string"
    );
    assert_eq!(fails("EXPOSE"), "EXPOSE requires at least one argument");
    assert_eq!(fails("WORKDIR --x /a"), "unknown flag: --x");
}

#[test]
fn healthcheck_forms() {
    let Instruction::Healthcheck(check) = one(
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=500ms --retries=3 CMD curl -f http://localhost/",
    ) else {
        panic!()
    };
    assert_eq!(check.test, ["CMD-SHELL", "curl -f http://localhost/"]);
    assert_eq!(check.interval, Duration::from_secs(30));
    assert_eq!(check.timeout, Duration::from_secs(3));
    assert_eq!(check.start_period, Duration::from_secs(60));
    assert_eq!(check.start_interval, Duration::from_millis(500));
    assert_eq!(check.retries, 3);
    let Instruction::Healthcheck(exec) = one("HEALTHCHECK cmd [\"/check\", \"-q\"]") else {
        panic!()
    };
    assert_eq!(exec.test, ["CMD", "/check", "-q"]);
    assert_eq!(exec.interval, Duration::ZERO);
    assert_eq!(
        one("HEALTHCHECK NONE"),
        Instruction::Healthcheck(Healthcheck {
            test: vec!["NONE".into()],
            ..Healthcheck::default()
        })
    );
}

#[test]
fn healthcheck_errors() {
    assert_eq!(
        fails("HEALTHCHECK"),
        "HEALTHCHECK requires at least one argument"
    );
    assert_eq!(
        fails("HEALTHCHECK NONE x"),
        "HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        fails("HEALTHCHECK CMD"),
        "Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        fails("HEALTHCHECK CONNECT TCP 7000"),
        "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        fails("HEALTHCHECK --interval=1us CMD x"),
        "Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        fails("HEALTHCHECK --timeout=5 CMD x"),
        "time: missing unit in duration \"5\""
    );
    assert_eq!(
        fails("HEALTHCHECK --retries=-1 CMD x"),
        "--retries cannot be negative (-1)"
    );
    assert_eq!(
        fails("HEALTHCHECK --retries=x CMD x"),
        "strconv.ParseInt: parsing \"x\": invalid syntax"
    );
}

#[test]
fn onbuild_expression_and_forbidden_triggers() {
    assert_eq!(
        one("ONBUILD RUN make"),
        Instruction::Onbuild("RUN make".into())
    );
    assert_eq!(
        one("ONBUILD COPY <<EOF /x\nbody\nEOF"),
        Instruction::Onbuild("COPY <<EOF /x\nbody\nEOF".into())
    );
    assert_eq!(
        fails("ONBUILD ONBUILD RUN x"),
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        fails("ONBUILD FROM x"),
        "FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        fails("ONBUILD maintainer x"),
        "MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(fails("ONBUILD"), "ONBUILD requires at least one argument");
}

#[test]
fn unknown_instruction_is_named_as_written() {
    assert_eq!(
        fails("FROM a\nRUNN x"),
        "unknown instruction: RUNN (did you mean RUN?)"
    );
    assert_eq!(
        fails("FROM a\nfrobnicate x"),
        "unknown instruction: frobnicate"
    );
}

#[test]
fn errors_name_the_line_and_quote_the_source() {
    let df = parse("FROM a\n\nCOPY \\\n  onlyone\n").unwrap();
    let err = parse_instructions(&df).unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(err.source_line, "COPY \\");
    assert_eq!(
        err.to_string(),
        "dockerfile parse error on line 3: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );
}

#[test]
fn stages_split_at_from_with_meta_args() {
    let df = parse("ARG BASE=alpine\nARG V\nFROM $BASE AS one\nRUN a\nFROM one\nARG V\nCMD b\n")
        .unwrap();
    let (meta, stages) = stages(&df).unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta[0].args[0].default.as_deref(), Some("alpine"));
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0].name.as_deref(), Some("one"));
    assert_eq!(stages[0].base, "$BASE");
    assert_eq!(stages[0].location.start_line, 3);
    assert_eq!(stages[0].instructions.len(), 1);
    assert_eq!(stages[0].instructions[0].1.start_line, 4);
    assert_eq!(stages[1].base, "one");
    let keywords: Vec<&str> = stages[1]
        .instructions
        .iter()
        .map(|(i, _)| i.keyword())
        .collect();
    assert_eq!(keywords, ["ARG", "CMD"]);
}

#[test]
fn instruction_before_first_from_is_an_error() {
    let df = parse("ARG A\nRUN x\nFROM a\n").unwrap();
    let err = stages(&df).unwrap_err();
    assert_eq!(err.line, 2);
    assert_eq!(err.message, "no build stage in current context");
}

fn expanded(text: &str, env: &[(&str, &str)]) -> (Instruction, Vec<String>) {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut instruction = one(text);
    let mut expander = EnvExpander::new(ShellLex::new('\\'), &env);
    instruction
        .expand(&mut expander)
        .unwrap_or_else(|err| panic!("{text:?}: {err}"));
    (instruction, expander.used.into_iter().collect())
}

#[test]
fn expansion_applies_to_the_fields_docker_expands() {
    let env = [
        ("V", "1.0"),
        ("P", "8080 9090"),
        ("U", "app"),
        ("D", "/srv"),
    ];
    assert_eq!(
        expanded("ENV ${U}_HOME=\"$D/$U\"", &env).0,
        Instruction::Env(vec![KeyValue {
            key: "app_HOME".into(),
            value: "/srv/app".into(),
            no_delimiter: false
        }])
    );
    assert_eq!(
        expanded("EXPOSE $P 53/udp", &env).0,
        Instruction::Expose(vec!["8080".into(), "9090".into(), "53/udp".into()])
    );
    let (Instruction::Copy(copy), used) = expanded("COPY --chown=$U app-$V.tar $D/", &env) else {
        panic!()
    };
    assert_eq!(copy.files.sources, ["app-1.0.tar"]);
    assert_eq!(copy.files.dest, "/srv/");
    assert_eq!(copy.chown.as_deref(), Some("app"));
    assert_eq!(used, ["D", "U", "V"]);
}

#[test]
fn run_and_cmd_are_not_expanded_but_mounts_are() {
    let env = [("UID", "1001"), ("X", "y")];
    let (Instruction::Run(run), used) =
        expanded("RUN --mount=type=cache,target=/c,uid=$UID echo $X", &env)
    else {
        panic!()
    };
    assert_eq!(run.command.args, ["echo $X"]);
    assert_eq!(run.mounts[0].mount.as_ref().and_then(|m| m.uid), Some(1001));
    assert_eq!(used, ["UID"]);
    let (cmd, used) = expanded("CMD echo $X", &env);
    assert_eq!(cmd, one("CMD echo $X"));
    assert!(used.is_empty());
    assert!(cmd.expanded_fields().is_empty());
}

#[test]
fn heredoc_bodies_expand_unless_quoted_and_keep_quotes() {
    let env = [("X", "1")];
    let (Instruction::Copy(copy), _) = expanded("COPY <<A <<'B' /d/\n\"$X\" '$X'\nA\n$X\nB", &env)
    else {
        panic!()
    };
    assert_eq!(copy.files.inline[0].content, "\"1\" '1'\n");
    assert_eq!(copy.files.inline[1].content, "$X\n");
}

#[test]
fn expansion_errors_surface() {
    let mut instruction = one("WORKDIR ${MISSING:?must be set}");
    let mut expander = EnvExpander::new(ShellLex::new('\\'), &());
    let err = instruction.expand(&mut expander).unwrap_err();
    assert!(err.to_string().contains("MISSING: must be set"), "{err}");
    let mut run = one("RUN --mount=type=cache,target=/c,uid=$U x");
    let env: HashMap<String, String> = [("U".to_string(), "nobody".to_string())].into();
    let mut expander = EnvExpander::new(ShellLex::new('\\'), &env);
    assert_eq!(
        run.expand(&mut expander).unwrap_err(),
        crate::error::ExpandError::Invalid("invalid value nobody for uid".into())
    );
}
