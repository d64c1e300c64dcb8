//! `COPY` and `ADD` in `berth build`: where files land (trailing slashes, globs, several
//! sources, directories), owners and modes, heredoc files, tar archives and URLs, the
//! `.dockerignore` rules, and paths that try to leave the image.

mod buildcommon;
mod common;

use std::fs;

use buildcommon::{cached_and_ran, Ctx, FileServer};
use common::{sha256, Berth};

#[test]
fn copy_follows_the_trailing_slash_rules_globs_and_several_sources() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 COPY a.txt /newdir/\n\
                 COPY a.txt /newfile\n\
                 COPY dir /dircontents\n\
                 COPY *.txt /globbed/\n\
                 COPY a.txt b.txt /several/\n\
                 COPY dir/sub/deep.txt /etc\n\
                 WORKDIR /work\n\
                 COPY a.txt relative/\n\
                 COPY [\"a.txt\", \"./json form.txt\"]\n",
            ),
            ("a.txt", "A\n"),
            ("b.txt", "B\n"),
            ("c.md", "C\n"),
            ("dir/top.txt", "top\n"),
            ("dir/sub/deep.txt", "deep\n"),
        ],
    );
    b.build_ok("copy:1", &ctx, &[]);
    let seen = b.sh(
        "copy:1",
        "cat /newdir/a.txt /newfile; test -f /newfile && echo newfile-is-a-file; \
         cat /dircontents/top.txt /dircontents/sub/deep.txt; test -e /dircontents/dir || echo no-dir-level; \
         ls /globbed; ls /several; cat /etc/deep.txt; cat /work/relative/a.txt '/work/json form.txt'",
    );
    assert_eq!(
        seen,
        "A\nA\nnewfile-is-a-file\ntop\ndeep\nno-dir-level\na.txt\nb.txt\na.txt\nb.txt\ndeep\nA\nA\n"
    );

    let bad = Ctx::new(
        &b,
        "bad",
        &[
            ("Dockerfile", "FROM busybox\nCOPY a.txt b.txt /notadir\n"),
            ("a.txt", "A"),
            ("b.txt", "B"),
        ],
    );
    let err = b.build(&[bad.path()]);
    assert!(
        err.fails(1)
            .contains("When using COPY with more than one source file, the destination must be a directory and end with a /"),
        "{err:?}"
    );
    let missing = Ctx::new(
        &b,
        "missing",
        &[("Dockerfile", "FROM busybox\nCOPY nothere /x\n")],
    );
    let err = b.build(&[missing.path()]);
    assert!(err.fails(1).contains("\"/nothere\": not found"), "{err:?}");
}

#[test]
fn copy_chown_and_chmod_set_owners_and_modes_and_files_otherwise_go_to_root() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 COPY plain.sh /plain.sh\n\
                 COPY --chown=1000:2000 plain.sh /numeric.sh\n\
                 COPY --chown=nobody plain.sh /named.sh\n\
                 COPY --chmod=0751 plain.sh /moded.sh\n\
                 COPY --chown=7:8 --chmod=0700 tree /tree/\n",
            ),
            ("plain.sh", "#!/bin/sh\n"),
            ("tree/leaf", "leaf"),
        ],
    );
    fs::set_permissions(
        ctx.dir.join("plain.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .expect("chmod");
    b.build_ok("own:1", &ctx, &[]);
    let seen = b.sh(
        "own:1",
        "stat -c '%n %u:%g %a' /plain.sh /numeric.sh /named.sh /moded.sh /tree/leaf; stat -c '%n %u:%g' /tree",
    );
    assert_eq!(
        seen,
        "/plain.sh 0:0 640\n/numeric.sh 1000:2000 640\n/named.sh 65534:65534 640\n\
         /moded.sh 0:0 751\n/tree/leaf 7:8 700\n/tree 7:8\n"
    );

    let bad = Ctx::new(
        &b,
        "bad",
        &[
            ("Dockerfile", "FROM busybox\nCOPY --chown=nosuchuser a /a\n"),
            ("a", "a"),
        ],
    );
    let err = b.build(&[bad.path()]);
    assert!(err.fails(1).contains("nosuchuser"), "{err:?}");
}

#[test]
fn a_changed_mode_or_name_of_a_copied_file_reruns_the_copy() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            ("Dockerfile", "FROM busybox\nCOPY src /src\n"),
            ("src/a", "a"),
        ],
    );
    b.build_ok("m:1", &ctx, &[]);
    fs::set_permissions(
        ctx.dir.join("src/a"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let progress = b.build_ok("m:1", &ctx, &[]);
    assert_eq!(cached_and_ran(&progress).1, ["COPY src /src"], "{progress}");
    assert_eq!(b.sh("m:1", "stat -c %a /src/a"), "755\n");
    fs::rename(ctx.dir.join("src/a"), ctx.dir.join("src/b")).expect("rename");
    let progress = b.build_ok("m:1", &ctx, &[]);
    assert_eq!(cached_and_ran(&progress).1, ["COPY src /src"], "{progress}");
    assert_eq!(b.sh("m:1", "ls /src"), "b\n");
}

#[test]
fn heredocs_make_scripts_for_run_and_files_for_copy() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN <<EOF\n\
             echo first > /one\n\
             echo second >> /one\n\
             EOF\n\
             RUN <<-EOT cat > /tabs\n\
             \tindented\n\
             \tEOT\n\
             RUN <<EOF\n\
             #!/bin/sh\n\
             echo \"script as $0\" > /script\n\
             EOF\n\
             ARG NAME=world\n\
             COPY <<EOF /etc/greeting\n\
             hello $NAME\n\
             EOF\n\
             COPY <<A <<B /pair/\n\
             a\n\
             A\n\
             b\n\
             B\n",
        )],
    );
    b.build_ok("here:1", &ctx, &[]);
    let seen = b.sh(
        "here:1",
        "cat /one /tabs /etc/greeting; cat /pair/A /pair/B; grep -q 'script as' /script && echo script-ran",
    );
    assert_eq!(
        seen,
        "first\nsecond\nindented\nhello world\na\nb\nscript-ran\n"
    );
}

#[test]
fn add_extracts_a_local_tar_and_copies_other_files_as_they_are() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nADD bundle.tar /opt/\nADD bundle.tar.gz /gz/\nADD notes.txt /notes/\nCOPY bundle.tar /copied/\n",
        )],
    );
    let tar = common::tar_files(&[("pkg/bin/tool", b"tool\n"), ("pkg/README", b"read me\n")]);
    ctx.write_bytes("bundle.tar", &tar);
    ctx.write_bytes("bundle.tar.gz", &common::gzip(&tar));
    ctx.write("notes.txt", "notes\n");
    b.build_ok("add:1", &ctx, &[]);
    let seen = b.sh(
        "add:1",
        "cat /opt/pkg/bin/tool /opt/pkg/README /gz/pkg/README /notes/notes.txt; ls /copied",
    );
    assert_eq!(seen, "tool\nread me\nread me\nnotes\nbundle.tar\n");
}

#[test]
fn add_of_a_url_downloads_it_and_checks_the_checksum() {
    let b = Berth::new();
    b.busybox("busybox");
    let body = b"downloaded content\n".to_vec();
    let digest = sha256(&body);
    let server = FileServer::start(body);
    let url = server.url("/files/data.txt");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum={digest} {url} /dl/\n"),
        )],
    );
    b.build_ok("url:1", &ctx, &[]);
    assert_eq!(
        b.sh("url:1", "cat /dl/data.txt; stat -c '%a %u' /dl/data.txt"),
        "downloaded content\n600 0\n"
    );
    // With a checksum, the digest stands for the content: a rebuild needs no download.
    let served = server.served();
    let progress = b.build_ok("url:1", &ctx, &[]);
    assert_eq!(
        cached_and_ran(&progress).1,
        Vec::<String>::new(),
        "{progress}"
    );
    assert_eq!(server.served(), served);

    let wrong = format!("sha256:{}", "0".repeat(64));
    let bad = Ctx::new(
        &b,
        "bad",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum={wrong} {url} /dl/\n"),
        )],
    );
    let out = b.build(&["-t", "url:bad", bad.path()]);
    let err = out.fails(1);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(err.contains(&digest), "{err}");
    assert!(!b.tags().contains("url:bad"));

    // Without a checksum the content is fetched to key the step: the same bytes, cached.
    let plain = Ctx::new(
        &b,
        "plain",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD {url} /plain.txt\n"),
        )],
    );
    b.build_ok("url:2", &plain, &[]);
    let progress = b.build_ok("url:2", &plain, &[]);
    assert_eq!(
        cached_and_ran(&progress).1,
        Vec::<String>::new(),
        "{progress}"
    );
    assert_eq!(b.sh("url:2", "cat /plain.txt"), "downloaded content\n");
}

#[test]
fn dockerignore_hides_files_with_double_stars_and_exceptions_where_the_last_match_wins() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY . /ctx\nRUN cd /ctx && find . -type f | sort\n",
            ),
            (
                ".dockerignore",
                "# comments and blank lines are skipped\n\n\
                 **/*.log\n\
                 !keep/*.log\n\
                 keep/drop.log\n\
                 secret?.txt\n\
                 ./build/\n\
                 Dockerfile\n",
            ),
            ("app.log", "x"),
            ("deep/down/trace.log", "x"),
            ("keep/kept.log", "kept"),
            ("keep/drop.log", "x"),
            ("secret1.txt", "x"),
            ("secret10.txt", "not matched by ?"),
            ("build/out.o", "x"),
            ("src/main.c", "int main;"),
        ],
    );
    let progress = b.build_ok("ign:1", &ctx, &["--no-cache"]);
    let listed: Vec<String> = buildcommon::dockerfile_steps(&progress)
        .into_iter()
        .find(|s| s.name.contains("RUN cd /ctx"))
        .expect("the RUN step")
        .output;
    assert_eq!(
        listed,
        [
            "./.dockerignore",
            "./keep/kept.log",
            "./secret10.txt",
            "./src/main.c"
        ],
        "{progress}"
    );
    // Ignored files are no input: changing one keeps the COPY cached.
    ctx.write("app.log", "changed");
    let progress = b.build_ok("ign:1", &ctx, &[]);
    assert_eq!(
        cached_and_ran(&progress).1,
        Vec::<String>::new(),
        "{progress}"
    );
}

#[test]
fn an_ignore_file_beside_the_dockerfile_wins_over_the_contexts() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            ("app.Dockerfile", "FROM busybox\nCOPY . /ctx\n"),
            ("app.Dockerfile.dockerignore", "a.txt\napp.*\n"),
            (".dockerignore", "b.txt\n"),
            ("a.txt", "a"),
            ("b.txt", "b"),
        ],
    );
    let file = ctx.dir.join("app.Dockerfile");
    b.build_ok("beside:1", &ctx, &["-f", file.to_str().expect("utf-8")]);
    assert_eq!(
        b.sh("beside:1", "cd /ctx && ls -A"),
        ".dockerignore\nb.txt\n"
    );
}

#[test]
fn a_symlink_in_the_image_never_leads_a_copy_out_of_the_rootfs() {
    // A relative link that climbs above the root is refused when a layer is made (as Docker's
    // archive code refuses it); links to `/`, to `../..` inside, and to host-looking absolute
    // paths are legal and must resolve inside the image.
    let b = Berth::new();
    b.busybox("busybox");
    let outside = b.path("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    let outside_str = outside.to_str().expect("utf-8");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                &format!(
                    "FROM busybox\n\
                     RUN ln -s / /to-root && ln -s {outside_str} /dotdot \
                     && mkdir -p /app/sub && ln -s ../../etc /app/sub/up \
                     && ln -s {outside_str}/last-element /final\n\
                     COPY payload /to-root{outside_str}/via-root\n\
                     COPY payload /dotdot/via-dotdot\n\
                     COPY payload /app/sub/up/via-up\n\
                     COPY tree/ /dotdot/\n\
                     COPY payload /final\n"
                ),
            ),
            ("payload", "payload\n"),
            ("tree/in-tree", "tree\n"),
        ],
    );
    b.build_ok("hostile:1", &ctx, &[]);
    let host_files: Vec<String> = fs::read_dir(&outside)
        .expect("read outside")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        host_files,
        Vec::<String>::new(),
        "nothing lands on the host"
    );
    assert!(!std::path::Path::new("/etc/via-up").exists());
    // Each copy landed where the link leads inside the image.
    let seen = b.sh(
        "hostile:1",
        &format!(
            "cat {outside_str}/via-root {outside_str}/via-dotdot {outside_str}/in-tree /etc/via-up /final"
        ),
    );
    assert_eq!(seen, "payload\npayload\ntree\npayload\npayload\n");
}

#[test]
fn a_symlink_in_the_context_is_copied_as_a_link_and_never_followed_out() {
    let b = Berth::new();
    b.busybox("busybox");
    let secret = b.write("host-secret", b"host secret\n");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            ("Dockerfile", "FROM busybox\nCOPY dir /dir\n"),
            ("dir/real", "real\n"),
        ],
    );
    std::os::unix::fs::symlink(&secret, ctx.dir.join("dir/link")).expect("symlink");
    b.build_ok("links:1", &ctx, &[]);
    let seen = b.sh(
        "links:1",
        "readlink /dir/link; cat /dir/link 2>/dev/null || echo dangling",
    );
    assert_eq!(seen, format!("{}\ndangling\n", secret.display()));

    // Named as a source, a link is followed inside the context only.
    let direct = Ctx::new(
        &b,
        "direct",
        &[("Dockerfile", "FROM busybox\nCOPY link /x\n")],
    );
    std::os::unix::fs::symlink(&secret, direct.dir.join("link")).expect("symlink");
    let err = b.build(&[direct.path()]);
    assert!(err.fails(1).contains("not found"), "{err:?}");
}

#[test]
fn copy_exclude_parents_and_link_place_files_as_buildkit_does() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[
            (
                "Dockerfile",
                "FROM busybox\n\
                 COPY --exclude=*.log src/ /excluded/\n\
                 COPY --parents src/a/one.txt src/b/two.txt /tree/\n\
                 COPY --link src/a/one.txt /linked/\n",
            ),
            ("src/a/one.txt", "1\n"),
            ("src/b/two.txt", "2\n"),
            ("src/debug.log", "noise\n"),
        ],
    );
    b.build_ok("flags:1", &ctx, &[]);
    assert_eq!(
        b.sh(
            "flags:1",
            "cd /excluded && find . -type f | sort; \
             cd /tree && find . -type f | sort; cat /linked/one.txt"
        ),
        "./a/one.txt\n./b/two.txt\n./src/a/one.txt\n./src/b/two.txt\n1\n"
    );
}

#[test]
fn platform_args_proxy_args_and_maintainer_are_as_docker_sets_them() {
    let b = Berth::new();
    b.busybox("busybox");
    let ctx = Ctx::new(
        &b,
        "ctx",
        &[(
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM busybox\n\
             MAINTAINER someone@example.com\n\
             ARG TARGETPLATFORM\n\
             ARG TARGETARCH\n\
             RUN echo \"$TARGETPLATFORM $TARGETARCH proxy=$HTTP_PROXY\" > /seen\n",
        )],
    );
    b.build_ok(
        "plat:1",
        &ctx,
        &["--build-arg", "HTTP_PROXY=http://proxy:3128"],
    );
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(
        b.sh("plat:1", "cat /seen"),
        format!("linux/{arch} {arch} proxy=http://proxy:3128\n")
    );
    let author = b
        .run_t(&["image", "inspect", "-f", "{{.Author}}", "plat:1"])
        .ok()
        .to_string();
    assert_eq!(author.trim(), "someone@example.com");
    // The predefined proxy args stay out of the image's history, as in Docker.
    let history = b
        .run_t(&["history", "--no-trunc", "plat:1"])
        .ok()
        .to_string();
    assert!(!history.contains("proxy:3128"), "{history}");
}
