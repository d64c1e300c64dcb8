//! `RUN` and the metadata instructions in `berth build`: layers that delete files, build args,
//! the config `image inspect` shows, `RUN --mount`, and stages that must run at the same time.

mod buildcommon;
mod common;

use buildcommon::{cached_and_ran, Ctx};
use common::Berth;
use serde_json::json;

#[test]
fn a_file_deleted_by_run_is_gone_from_the_built_image_but_not_from_its_base() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN rm /etc/group && rm -r /home && mkdir /home && touch /home/new\n",
        )],
    );
    b.build_ok("wh:1", &ctx, &[]);
    assert_eq!(
        b.sh("wh:1", "test -e /etc/group || echo group-gone; ls -A /home; test -e /etc/passwd && echo passwd-kept"),
        "group-gone\nnew\npasswd-kept\n"
    );
    assert_eq!(
        b.sh("busybox", "test -e /etc/group && echo group-there"),
        "group-there\n"
    );
    // The layer says so the way OCI layers do: a whiteout entry.
    let (code, tar, err) = b.run_raw(&["save", "wh:1"]);
    assert_eq!(code, 0, "{err}");
    let members = common::tar_members(&tar);
    let whiteouts: Vec<String> = members
        .values()
        .filter_map(|blob| layer_names(blob))
        .flatten()
        .filter(|n| n.contains(".wh."))
        .collect();
    assert!(
        whiteouts.iter().any(|n| n == "etc/.wh.group"),
        "{whiteouts:?}"
    );
    assert!(
        whiteouts.iter().any(|n| n == "home/.wh..wh..opq"),
        "{whiteouts:?}"
    );
}

/// The member names of a blob that is a plain tar, else `None`.
fn layer_names(blob: &[u8]) -> Option<Vec<String>> {
    if blob.get(257..262) != Some(b"ustar") {
        return None;
    }
    let mut a = tar::Archive::new(blob);
    let names = a
        .entries()
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.path().ok().map(|p| p.to_string_lossy().into_owned()))
        .map(|n| n.trim_start_matches("./").to_string())
        .collect();
    Some(names)
}

#[test]
fn build_args_reach_run_and_an_arg_before_from_names_the_base() {
    let b = Berth::new();
    b.busybox("busybox");
    b.busybox_plus("other:1", &[], &[("/etc/flavour", b"other\n")]);
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "ARG BASE=busybox\nFROM $BASE\nARG BASE\nARG GREETING=hello\n\
             RUN echo \"$GREETING from $BASE\" > /said && (cat /etc/flavour 2>/dev/null || echo plain) >> /said\n",
        )],
    );
    b.build_ok("args:1", &ctx, &[]);
    assert_eq!(b.sh("args:1", "cat /said"), "hello from busybox\nplain\n");

    let out = b.build(&[
        "-t",
        "args:2",
        "--build-arg",
        "BASE=other:1",
        "--build-arg",
        "GREETING=hi",
        "--build-arg",
        "UNUSED=1",
        ctx.path(),
    ]);
    out.ok();
    assert!(
        out.stderr
            .contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{}",
        out.stderr
    );
    assert_eq!(b.sh("args:2", "cat /said"), "hi from other:1\nother\n");
    // A build arg is not part of the image's environment.
    let env = b.inspect("args:2")["Config"]["Env"].clone();
    assert!(!env.to_string().contains("GREETING"), "{env}");
}

#[test]
fn metadata_instructions_land_in_image_inspect_under_dockers_field_names() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             ENV APP_HOME=/srv/app MODE=prod\n\
             WORKDIR $APP_HOME\n\
             USER nobody\n\
             ENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
             CMD [\"echo $MODE\"]\n\
             LABEL org.example.name=\"demo app\" version=1\n\
             EXPOSE 80 53/udp\n\
             VOLUME /data\n\
             STOPSIGNAL SIGTERM\n\
             HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD wget -q -O- http://localhost/ || exit 1\n",
        )],
    );
    b.build_ok("meta:1", &ctx, &[]);
    let config = b.inspect("meta:1")["Config"].clone();
    assert_eq!(
        config["Env"],
        json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APP_HOME=/srv/app",
            "MODE=prod"
        ])
    );
    assert_eq!(config["WorkingDir"], "/srv/app");
    assert_eq!(config["User"], "nobody");
    assert_eq!(config["Entrypoint"], json!(["/bin/sh", "-c"]));
    assert_eq!(config["Cmd"], json!(["echo $MODE"]));
    assert_eq!(
        config["Labels"],
        json!({"org.example.name": "demo app", "version": "1"})
    );
    assert_eq!(config["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
    assert_eq!(config["Volumes"], json!({"/data": {}}));
    assert_eq!(config["StopSignal"], "SIGTERM");
    assert_eq!(
        config["Healthcheck"],
        json!({
            "Test": ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"],
            "Interval": 30_000_000_000u64,
            "Timeout": 3_000_000_000u64,
            "Retries": 2
        })
    );
    // The image runs as it says: as nobody, in its WORKDIR, with its ENV.
    let out = b.run_t(&[
        "run",
        "--rm",
        "--network",
        "none",
        "meta:1",
        "id -un; pwd; echo $MODE",
    ]);
    assert_eq!(out.ok(), "nobody\n/srv/app\nprod\n");
}

#[test]
fn run_sees_the_env_user_shell_and_workdir_of_the_steps_before_it() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             ENV GREETING=hey\n\
             WORKDIR /made/by/workdir\n\
             RUN pwd > /tmp/where && echo $GREETING >> /tmp/where && chmod 666 /tmp/where\n\
             SHELL [\"/bin/sh\", \"-c\", \"echo shell-was-used >> /tmp/where; eval \\\"$0\\\"\"]\n\
             RUN true\n\
             USER nobody\n\
             RUN id -u >> /tmp/where\n",
        )],
    );
    b.build_ok("runenv:1", &ctx, &[]);
    assert_eq!(
        b.sh("runenv:1", "cat /tmp/where"),
        "/made/by/workdir\nhey\nshell-was-used\nshell-was-used\n65534\n"
    );
}

#[test]
fn a_cache_mount_keeps_its_files_between_builds_and_out_of_the_image() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nARG RUN_ID\n\
             RUN --mount=type=cache,target=/var/cache/tool echo run $RUN_ID >> /var/cache/tool/log \
             && cp /var/cache/tool/log /seen\n",
        )],
    );
    b.build_ok("cm:1", &ctx, &["--build-arg", "RUN_ID=1"]);
    b.build_ok("cm:1", &ctx, &["--build-arg", "RUN_ID=2"]);
    assert_eq!(
        b.sh(
            "cm:1",
            "cat /seen; test -e /var/cache/tool && echo mount-point-left || echo no-mount-point"
        ),
        "run 1\nrun 2\nno-mount-point\n"
    );
}

#[test]
fn bind_tmpfs_and_secret_mounts_are_there_during_run_only() {
    let b = Berth::new();
    b.busybox("busybox");
    let secret = b.write("token", b"s3cr3t");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 RUN --mount=type=bind,source=conf,target=/mnt/conf \
                     --mount=type=tmpfs,target=/scratch \
                     --mount=type=secret,id=token \
                     cat /mnt/conf/app.conf > /result && touch /scratch/x \
                     && wc -c < /run/secrets/token >> /result\n",
            ),
            ("conf/app.conf", "key=value\n"),
        ],
    );
    let secret_arg = format!("id=token,src={}", secret.display());
    b.build_ok("mounts:1", &ctx, &["--secret", &secret_arg]);
    assert_eq!(
        b.sh(
            "mounts:1",
            "cat /result; ls /mnt/conf /scratch /run/secrets 2>/dev/null | wc -l"
        ),
        "key=value\n6\n0\n"
    );
    // The secret's value is nowhere in the image's config or history.
    let inspect = b.run_t(&["image", "inspect", "mounts:1"]);
    assert!(!inspect.ok().contains("s3cr3t"));
    let history = b.run_t(&["history", "--no-trunc", "mounts:1"]);
    assert!(!history.ok().contains("s3cr3t"));
}

/// Each stage waits for a file the other one writes into a shared cache mount: built one
/// after the other, the first would give up and fail the build.
#[test]
fn independent_stages_run_at_the_same_time() {
    let b = Berth::new();
    b.busybox("busybox");
    let wait_for = |mine: &str, other: &str| {
        format!(
            "RUN --mount=type=cache,id=rendezvous,target=/r touch /r/{mine} && \
             i=0; while [ ! -e /r/{other} ]; do i=$((i+1)); \
             if [ $i -gt 600 ]; then echo {other} never came; exit 1; fi; sleep 0.1; done; \
             echo {mine} > /{mine}\n"
        )
    };
    let dockerfile = format!(
        "FROM busybox AS left\n{}FROM busybox AS right\n{}FROM busybox\nCOPY --from=left /left /\nCOPY --from=right /right /\n",
        wait_for("left", "right"),
        wait_for("right", "left"),
    );
    let ctx = Ctx::new(&b, "ctx", &[("Dockerfile", &dockerfile)]);
    b.build_ok("par:1", &ctx, &[]);
    assert_eq!(b.sh("par:1", "cat /left /right"), "left\nright\n");
}

#[test]
fn run_network_none_has_no_network_and_is_part_of_the_cache_key() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --network=none ls /sys/class/net > /nets\n",
        )],
    );
    b.build_ok("net:1", &ctx, &[]);
    assert_eq!(b.sh("net:1", "cat /nets"), "lo\n");
    let progress = b.build_ok("net:1", &ctx, &[]);
    assert_eq!(cached_and_ran(&progress).1, Vec::<String>::new());
}

#[test]
fn onbuild_triggers_run_in_the_child_build() {
    let b = Berth::new();
    b.busybox("busybox");
    let parent = Ctx::new(
        &b,
        "parent",
        &[(
            "Dockerfile",
            "FROM busybox\nONBUILD COPY hello.txt /from-child/\nONBUILD RUN echo trigger-ran > /trigger\n",
        )],
    );
    b.build_ok("parent:1", &parent, &[]);
    let child = Ctx::new(
        &b,
        "child",
        &[
            (
                "Dockerfile",
                "FROM parent:1\nRUN cat /trigger /from-child/hello.txt\n",
            ),
            ("hello.txt", "child file\n"),
        ],
    );
    b.build_ok("child:1", &child, &[]);
    assert_eq!(
        b.sh("child:1", "cat /trigger /from-child/hello.txt"),
        "trigger-ran\nchild file\n"
    );
    // Triggers do not pass to grandchildren.
    assert_eq!(b.inspect("child:1")["Config"]["OnBuild"], json!(null));
}

#[test]
fn an_entrypoint_drops_the_bases_cmd_but_keeps_one_set_in_its_own_stage() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox AS own\nCMD [\"hello\"]\nENTRYPOINT [\"echo\"]\n\
             FROM own AS child\nENTRYPOINT [\"echo\", \"child\"]\n",
        )],
    );
    b.build_ok("own:1", &ctx, &["--target", "own"]);
    let config = b.inspect("own:1")["Config"].clone();
    assert_eq!(config["Cmd"], json!(["hello"]));
    assert_eq!(b.run_t(&["run", "--rm", "own:1"]).ok(), "hello\n");

    b.build_ok("child:1", &ctx, &[]);
    let config = b.inspect("child:1")["Config"].clone();
    assert_eq!(config["Cmd"], json!(null), "the base's CMD is dropped");
    assert_eq!(config["Entrypoint"], json!(["echo", "child"]));
}
