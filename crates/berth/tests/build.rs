//! `berth build`: the seed's scenario, the layer cache (what reruns when what changes), multi-stage
//! builds and targets, the corpus of self-checking Dockerfiles, errors, and the command's flags.

mod buildcommon;
mod common;

use std::fs;
use std::path::PathBuf;

use buildcommon::{
    cached_and_ran, dockerfile_steps, examples, free_port, http_get_eventually, Ctx,
};
use common::{assert_image_id, Berth};

#[test]
fn the_goals_example_builds_runs_and_serves_its_page_through_a_published_port() {
    let b = Berth::new();
    b.busybox("busybox");
    let dir = examples().join("goals");
    let out = b.build(&["-t", "goals:latest", dir.to_str().expect("utf-8")]);
    out.ok();
    let shown: Vec<String> = dockerfile_steps(&out.stderr)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        shown[..3],
        [
            "[1/4] FROM docker.io/library/busybox:latest",
            "[2/4] WORKDIR /app",
            "[3/4] COPY . /app",
        ],
        "{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains("naming to docker.io/library/goals:latest done"));
    // History says what the image runs as BuildKit writes it.
    let history = b.run_t(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "goals",
    ]);
    assert_eq!(
        history.ok().lines().next(),
        Some(r#"CMD ["httpd" "-f" "-p" "80" "-h" "/app"]"#)
    );

    let port = free_port();
    let id = b.detach(&["--rm", "-p", &format!("{port}:80"), "goals:latest"]);
    let page = http_get_eventually(port, "/");
    b.run_t(&["stop", "-t", "1", &id]).ok();
    let page = page.expect("the page answers on the published port");
    assert!(page.contains("<h1>Hello from berth</h1>"), "{page}");

    // The .dockerignore kept the recipe out of the image.
    let listing = b.sh("goals:latest", "ls -a /app");
    assert!(listing.lines().any(|l| l == "index.html"), "{listing}");
    assert!(!listing.lines().any(|l| l == "Dockerfile"), "{listing}");
    assert!(!listing.lines().any(|l| l == ".dockerignore"), "{listing}");
}

#[test]
fn an_unchanged_rebuild_takes_every_step_from_the_cache_and_gives_the_same_image() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\nWORKDIR /app\nCOPY . /app\nRUN echo ran >> /runs\nENV A=1\nCMD [\"cat\", \"/runs\"]\n",
            ),
            ("a.txt", "a"),
        ],
    );
    b.build_ok("app:1", &ctx, &[]);
    let first = b.image_id("app:1");
    let again = b.build_ok("app:1", &ctx, &[]);
    let (cached, ran) = cached_and_ran(&again);
    assert_eq!(ran, Vec::<String>::new(), "{again}");
    assert_eq!(
        cached,
        ["WORKDIR /app", "COPY . /app", "RUN echo ran >> /runs"],
        "{again}"
    );
    assert_eq!(b.image_id("app:1"), first);
    // A new mtime alone is no change: the cache key has the content, not the times.
    ctx.write("a.txt", "a");
    let touched = b.build_ok("app:1", &ctx, &[]);
    assert_eq!(
        cached_and_ran(&touched).1,
        Vec::<String>::new(),
        "{touched}"
    );
    assert_eq!(b.image_id("app:1"), first);
    assert_eq!(b.run_t(&["run", "--rm", "app:1"]).ok(), "ran\n");
}

/// The cache-order lesson: what a step's cache depends on decides what reruns.
#[test]
fn copying_the_manifest_and_installing_before_the_sources_keeps_the_install_cached() {
    let b = Berth::new();
    b.busybox("busybox");
    let good = Ctx::new(
        &b,
        "good",
        &[
            (
                "Dockerfile",
                "FROM busybox\nWORKDIR /app\nCOPY deps.txt /app/\nRUN cat deps.txt >> /installs\nCOPY . /app\n",
            ),
            ("deps.txt", "libfoo 1.0\n"),
            ("main.c", "v1\n"),
        ],
    );
    b.build_ok("good:1", &good, &[]);
    good.write("main.c", "v2\n");
    let progress = b.build_ok("good:1", &good, &[]);
    let (cached, ran) = cached_and_ran(&progress);
    assert_eq!(ran, ["COPY . /app"], "{progress}");
    assert_eq!(
        cached,
        [
            "WORKDIR /app",
            "COPY deps.txt /app/",
            "RUN cat deps.txt >> /installs"
        ]
    );
    // The install ran once: its log has one line, and the new source is in.
    assert_eq!(
        b.sh("good:1", "cat /installs; cat main.c"),
        "libfoo 1.0\nv2\n"
    );

    let bad = Ctx::new(
        &b,
        "bad",
        &[
            (
                "Dockerfile",
                "FROM busybox\nWORKDIR /app\nCOPY . /app\nRUN cat deps.txt >> /installs\n",
            ),
            ("deps.txt", "libfoo 1.0\n"),
            ("main.c", "v1\n"),
        ],
    );
    b.build_ok("bad:1", &bad, &[]);
    bad.write("main.c", "v2\n");
    let progress = b.build_ok("bad:1", &bad, &[]);
    let (cached, ran) = cached_and_ran(&progress);
    assert_eq!(
        ran,
        ["COPY . /app", "RUN cat deps.txt >> /installs"],
        "{progress}"
    );
    assert_eq!(cached, ["WORKDIR /app"]);
    // The install reran over a fresh copy of the sources (its earlier run is not in the image).
    assert_eq!(
        b.sh("bad:1", "cat /installs; cat main.c"),
        "libfoo 1.0\nv2\n"
    );
}

#[test]
fn a_changed_build_arg_reruns_the_steps_that_see_it_and_no_cache_reruns_everything() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo base >> /log\nARG V=1\nRUN echo v=$V >> /log\n",
        )],
    );
    b.build_ok("a:1", &ctx, &[]);
    let first = b.image_id("a:1");
    let progress = b.build_ok("a:1", &ctx, &["--build-arg", "V=2"]);
    let (cached, ran) = cached_and_ran(&progress);
    assert_eq!(cached, ["RUN echo base >> /log"], "{progress}");
    assert_eq!(ran, ["RUN echo v=$V >> /log"], "{progress}");
    assert_eq!(b.sh("a:1", "cat /log"), "base\nv=2\n");

    let progress = b.build_ok("a:1", &ctx, &["--no-cache"]);
    let (cached, ran) = cached_and_ran(&progress);
    assert_eq!(cached, Vec::<String>::new(), "{progress}");
    assert_eq!(ran.len(), 2, "{progress}");
    assert_eq!(b.sh("a:1", "cat /log"), "base\nv=1\n");
    assert_ne!(b.image_id("a:1"), first, "a rebuilt image is a new image");
}

#[test]
fn multi_stage_builds_copy_from_a_build_stage_into_scratch_and_busybox() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox AS build\nRUN echo built > /artifact && echo build-stage-ran\n\
                 FROM scratch AS bare\nCOPY --from=build /artifact /artifact\n\
                 FROM busybox AS final\nCOPY --from=build /artifact /srv/artifact\nRUN echo final-stage-ran\n",
            ),
        ],
    );
    let progress = b.build_ok("final:1", &ctx, &[]);
    assert_eq!(b.sh("final:1", "cat /srv/artifact"), "built\n");
    let names: Vec<String> = dockerfile_steps(&progress)
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("[bare")),
        "a stage the target does not need does not run: {names:?}"
    );

    b.build_ok("bare:1", &ctx, &["--target", "bare"]);
    // A scratch image holds only what was copied: export its container's files.
    b.run_t(&["create", "--name", "bare", "bare:1", "/artifact"])
        .ok();
    let (code, tar, err) = b.run_raw(&["export", "bare"]);
    assert_eq!(code, 0, "{err}");
    let files = common::tar_members(&tar);
    assert_eq!(
        files.get("artifact").map(Vec::as_slice),
        Some(&b"built\n"[..])
    );
    assert!(
        !files.keys().any(|k| k.starts_with("bin/")),
        "{:?}",
        files.keys()
    );
    let layers = b.inspect("bare:1")["RootFS"]["Layers"].clone();
    assert_eq!(layers.as_array().map(Vec::len), Some(1), "{layers}");

    let progress = b.build_ok("build:1", &ctx, &["--target", "build", "--no-cache"]);
    assert!(progress.contains("build-stage-ran"), "{progress}");
    assert!(
        !progress.contains("final-stage-ran") && !progress.contains("COPY --from"),
        "--target build stops at the first stage: {progress}"
    );
    assert_eq!(b.sh("build:1", "cat /artifact"), "built\n");
}

#[test]
fn independent_stages_both_run_and_the_final_stage_takes_from_each() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox AS left\nRUN echo left > /l\n\
             FROM busybox AS right\nRUN echo right > /r\n\
             FROM busybox\nCOPY --from=left /l /out/\nCOPY --from=right /r /out/\n",
        )],
    );
    let progress = b.build_ok("both:1", &ctx, &[]);
    let ran: Vec<String> = dockerfile_steps(&progress)
        .into_iter()
        .filter(|s| s.state == "DONE")
        .map(|s| s.name)
        .collect();
    assert!(
        ran.iter().any(|n| n.starts_with("[left 2/2] RUN")),
        "{progress}"
    );
    assert!(
        ran.iter().any(|n| n.starts_with("[right 2/2] RUN")),
        "{progress}"
    );
    assert_eq!(b.sh("both:1", "cat /out/l /out/r"), "left\nright\n");
}

fn corpus(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/build-dockerfiles")
        .join(name)
}

/// Builds every target of a self-checking Dockerfile of the corpus: its RUN lines exit 1 when
/// a check fails.
fn build_corpus_targets(file: &str, targets: &[&str]) {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(&b, "ctx", &[]);
    let dockerfile = corpus(file);
    assert!(dockerfile.exists(), "{} is missing", dockerfile.display());
    for target in targets {
        let tag = format!("corpus:{target}");
        let out = b.build(&[
            "-f",
            dockerfile.to_str().expect("utf-8"),
            "--target",
            target,
            "-t",
            &tag,
            ctx.path(),
        ]);
        assert_eq!(out.code, 0, "target {target}: {}", out.stderr);
        assert_image_id(&b.image_id(&tag));
    }
}

#[test]
fn the_corpus_multi_stage_copy_builds_every_target() {
    build_corpus_targets(
        "Dockerfile.TestBuildMultiStageCopy",
        &[
            "copy_to_root",
            "copy_to_newdir",
            "copy_to_newdir_nested",
            "copy_to_existingdir",
            "copy_to_newsubdir",
        ],
    );
}

#[test]
fn the_corpus_preserve_ownership_builds_every_target() {
    build_corpus_targets(
        "Dockerfile.TestBuildPreserveOwnership",
        &["copy_from", "copy_from_chowned"],
    );
}

#[test]
fn a_failing_run_shows_its_output_and_exit_code_exits_non_zero_and_tags_nothing() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo step-one\nRUN echo about-to-fail; echo to-stderr >&2; exit 3\nRUN echo never\n",
        )],
    );
    let out = b.build(&["-t", "broken:1", ctx.path()]);
    let err = out.fails(1);
    assert!(err.contains("about-to-fail"), "{err}");
    assert!(err.contains("to-stderr"), "{err}");
    assert!(
        err.contains(
            "ERROR: failed to solve: process \"/bin/sh -c echo about-to-fail; echo to-stderr >&2; exit 3\" did not complete successfully: exit code: 3"
        ),
        "{err}"
    );
    assert!(err.contains("Dockerfile:3"), "{err}");
    assert!(
        err.contains(" >>> RUN echo about-to-fail; echo to-stderr >&2; exit 3"),
        "{err}"
    );
    assert!(
        !buildcommon::steps(err)
            .iter()
            .any(|s| s.name.contains("echo never")),
        "no step after the failing one starts: {err}"
    );
    assert!(!b.tags().contains("broken:1"), "{:?}", b.tags());
    // No build container is left behind.
    assert_eq!(b.container_ids(), Vec::<String>::new());
}

#[test]
fn a_dockerfile_syntax_error_names_the_file_and_line_and_shows_the_line() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "app.Dockerfile",
            "FROM busybox\nRUN true\nCOPY --nosuch=1 a b\nRUN true\n",
        )],
    );
    let file = ctx.dir.join("app.Dockerfile");
    let out = b.build(&["-f", file.to_str().expect("utf-8"), ctx.path()]);
    let err = out.fails(1);
    assert!(err.contains("app.Dockerfile:3"), "{err}");
    assert!(err.contains("   3 | >>> COPY --nosuch=1 a b"), "{err}");
    assert!(err.contains("unknown flag: --nosuch"), "{err}");

    fs::write(&file, "FROM busybox\nRUNN true\n").expect("write");
    let err = b.build(&["-f", file.to_str().expect("utf-8"), ctx.path()]);
    let err = err.fails(1);
    assert!(err.contains("app.Dockerfile:2"), "{err}");
    assert!(err.contains("unknown instruction: RUNN"), "{err}");
    assert!(err.contains(">>> RUNN true"), "{err}");
}

#[test]
fn quiet_prints_only_the_id_and_iidfile_keeps_it() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(&b, "ctx", &[("Dockerfile", "FROM busybox\nENV Q=1\n")]);
    let iid = b.path("iid");
    let out = b.build(&[
        "-q",
        "--iidfile",
        iid.to_str().expect("utf-8"),
        "-t",
        "q:1",
        ctx.path(),
    ]);
    let id = out.ok().trim_end().to_string();
    assert_image_id(&id);
    assert_eq!(out.stdout, format!("{id}\n"));
    assert_eq!(out.stderr, "");
    assert_eq!(fs::read_to_string(&iid).expect("iidfile"), id);
    assert_eq!(b.image_id("q:1"), id);
}

#[test]
fn a_dockerfile_on_stdin_and_a_context_tar_on_stdin_build() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(&b, "ctx", &[("hello.txt", "from the context\n")]);
    let out = b.run_t_stdin(
        &["build", "-f", "-", "-t", "stdin-df:1", ctx.path()],
        b"FROM busybox\nCOPY hello.txt /\n",
    );
    out.ok();
    assert_eq!(b.sh("stdin-df:1", "cat /hello.txt"), "from the context\n");

    let tar = common::tar_files(&[
        ("Dockerfile", b"FROM busybox\nCOPY sub/file.txt /got.txt\n"),
        ("sub/file.txt", b"from the tar\n"),
    ]);
    let out = b.run_t_stdin(&["build", "-t", "stdin-ctx:1", "-"], &tar);
    out.ok();
    assert_eq!(b.sh("stdin-ctx:1", "cat /got.txt"), "from the tar\n");

    let out = b.run_t_stdin(&["build", "-t", "stdin-gz:1", "-"], &common::gzip(&tar));
    out.ok();
    assert_eq!(b.sh("stdin-gz:1", "cat /got.txt"), "from the tar\n");

    let err = b.run_t_stdin(&["build", "-f", "-", "-"], b"FROM busybox\n");
    assert!(err.fails(1).contains("can't use stdin for both"), "{err:?}");
}

#[test]
fn labels_of_the_command_line_land_on_the_final_image() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nLABEL from=dockerfile team=old\n",
        )],
    );
    b.build_ok("l:1", &ctx, &["--label", "team=web", "--label", "tier=1"]);
    let labels = b.inspect("l:1")["Config"]["Labels"].clone();
    assert_eq!(
        labels,
        serde_json::json!({"from": "dockerfile", "team": "web", "tier": "1"})
    );
}

#[test]
fn builder_prune_forgets_the_cache_and_the_next_build_runs_again() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[("Dockerfile", "FROM busybox\nRUN echo once >> /log\n")],
    );
    b.build_ok("p:1", &ctx, &[]);
    let out = b.run_t(&["builder", "prune", "-a", "-f"]);
    let said = out.ok();
    assert!(said.contains("Deleted build cache objects:"), "{said}");
    assert!(said.contains("Total reclaimed space:"), "{said}");
    let progress = b.build_ok("p:1", &ctx, &[]);
    assert_eq!(
        cached_and_ran(&progress),
        (vec![], vec!["RUN echo once >> /log".to_string()]),
        "{progress}"
    );
    // The tagged image stays usable through the prune.
    assert_eq!(b.sh("p:1", "cat /log"), "once\n");
    b.assert_clean();
}

#[test]
fn system_df_counts_the_build_cache() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY big /big\nRUN echo x > /x\n",
            ),
            ("big", &"z".repeat(100_000)),
        ],
    );
    b.build_ok("df:1", &ctx, &[]);
    let out = b.run_t(&["system", "df"]);
    let table = out.ok();
    let row = table
        .lines()
        .find(|l| l.starts_with("Build Cache"))
        .unwrap_or_else(|| panic!("no Build Cache row: {table}"));
    let cells = common::cells(row);
    assert_eq!(cells[0], "Build Cache", "{table}");
    assert_eq!(cells[1], "2", "two cached steps add layers: {table}");
    assert!(cells[3].ends_with("kB"), "the copied 100 kB count: {table}");
}

#[test]
fn history_shows_a_row_per_step_with_its_instruction_and_size() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\nWORKDIR /app\nCOPY blob /app/blob\nRUN rm /bin/vi\nENV K=v\n",
            ),
            ("blob", &"b".repeat(50_000)),
        ],
    );
    b.build_ok("h:1", &ctx, &[]);
    let out = b.run_t(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        "h:1",
    ]);
    let rows: Vec<&str> = out.ok().lines().collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0], "ENV K=v|0B");
    assert!(rows[1].starts_with("RUN /bin/sh -c rm /bin/vi"), "{rows:?}");
    assert!(rows[2].starts_with("COPY blob /app/blob"), "{rows:?}");
    assert_eq!(rows[2].split('|').nth(1), Some("50kB"), "{rows:?}");
    assert_eq!(rows[3], "WORKDIR /app|0B");
}

#[test]
fn a_full_disk_fails_the_build_with_the_stores_error_and_tags_nothing() {
    let b = Berth::new();
    // The store on a small file system: room for busybox and a step's copy, not for its layer.
    std::fs::create_dir_all(b.root()).expect("mkdir root");
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12m", "tmpfs"])
        .arg(b.root())
        .status()
        .expect("mount");
    assert!(status.success());
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[("Dockerfile", "FROM busybox\nCOPY big /big\n")],
    );
    ctx.write_bytes("big", &vec![7u8; 5 << 20]);
    let out = b.build(&["-t", "full:1", ctx.path()]);
    let err = out.fails(1);
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!b.tags().contains("full:1"));
}

#[test]
fn a_bad_tag_is_refused_before_anything_is_built() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(&b, "ctx", &[("Dockerfile", "FROM busybox\nRUN echo ran\n")]);
    let out = b.build(&["-t", "Bad Tag", ctx.path()]);
    let err = out.fails(1);
    assert!(
        err.starts_with("ERROR: invalid tag \"Bad Tag\": invalid reference format"),
        "{err}"
    );
    assert!(!err.contains("ran"), "{err}");
}

#[test]
fn on_a_terminal_progress_is_a_live_view_and_plain_when_asked() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[("Dockerfile", "FROM busybox\nRUN echo from-the-step\n")],
    );
    let mut live = b.pty(&["build", "-t", "tty:1", ctx.path()], 24, 100);
    assert_eq!(live.finish(), 0, "{}", live.screen());
    let screen = live.screen();
    assert!(screen.contains("[+] Building "), "{screen:?}");
    assert!(screen.contains("(4/4) FINISHED"), "{screen:?}");
    assert!(
        screen.contains(" => [2/2] RUN echo from-the-step"),
        "{screen:?}"
    );
    assert!(screen.contains("\x1b["), "redrawn in place: {screen:?}");
    assert!(!screen.contains("#3 "), "{screen:?}");

    let mut plain = b.pty(
        &["build", "--progress", "plain", "-t", "tty:1", ctx.path()],
        24,
        100,
    );
    assert_eq!(plain.finish(), 0, "{}", plain.screen());
    let screen = plain.screen();
    assert!(
        screen.contains("#4 [2/2] RUN echo from-the-step"),
        "{screen:?}"
    );
    assert!(screen.contains("#4 CACHED"), "{screen:?}");
    assert!(!screen.contains("[+] Building"), "{screen:?}");
}
