//! Helpers of the build tests: contexts written from a list of files, `berth build` under a
//! deadline, the progress output read back as steps, and small HTTP peers (a file server for
//! `ADD <url>`, a client for a published port).

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{eventually, Berth, Run};

/// A build context directory in the test's private directory.
pub struct Ctx {
    pub dir: PathBuf,
}

impl Ctx {
    /// A new context `name` holding `files` (path, content); parents are made.
    pub fn new(b: &Berth, name: &str, files: &[(&str, &str)]) -> Ctx {
        let dir = b.path(name);
        fs::create_dir_all(&dir).expect("context dir");
        let ctx = Ctx { dir };
        for (path, content) in files {
            ctx.write(path, content);
        }
        ctx
    }

    /// Writes (or rewrites) one file of the context.
    pub fn write(&self, path: &str, content: &str) -> PathBuf {
        let p = self.dir.join(path);
        fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir in context");
        fs::write(&p, content).expect("write context file");
        p
    }

    /// Writes one file of the context from bytes.
    pub fn write_bytes(&self, path: &str, content: &[u8]) -> PathBuf {
        let p = self.dir.join(path);
        fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir in context");
        fs::write(&p, content).expect("write context file");
        p
    }

    pub fn path(&self) -> &str {
        self.dir.to_str().expect("utf-8 path")
    }
}

/// One step of a build as its progress showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `[2/4] COPY . /app`
    pub name: String,
    /// `CACHED`, `DONE` or `ERROR`.
    pub state: String,
    /// The output lines of the step (times stripped).
    pub output: Vec<String>,
}

/// Reads BuildKit's plain progress (`#5 [2/4] COPY . /app`, `#5 0.123 text`, `#5 CACHED`)
/// back into steps, in the order they started.
pub fn steps(progress: &str) -> Vec<Step> {
    let mut out: Vec<(String, Step)> = Vec::new();
    for line in progress.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((id, text)) = rest.split_once(' ') else {
            continue;
        };
        if id.parse::<u32>().is_err() {
            continue;
        }
        let existing = out.iter_mut().find(|(i, _)| i == id);
        let Some((_, step)) = existing else {
            out.push((
                id.to_string(),
                Step {
                    name: text.to_string(),
                    state: String::new(),
                    output: Vec::new(),
                },
            ));
            continue;
        };
        if text == "CACHED" {
            step.state = "CACHED".into();
        } else if text.starts_with("DONE ") {
            step.state = "DONE".into();
        } else if text.starts_with("ERROR") {
            step.state = "ERROR".into();
        } else if let Some((time, said)) = text.split_once(' ') {
            if time.parse::<f64>().is_ok() {
                step.output.push(said.to_string());
            }
        }
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// The Dockerfile steps of a build (`[n/m] ...`), leaving out the internal ones.
pub fn dockerfile_steps(progress: &str) -> Vec<Step> {
    steps(progress)
        .into_iter()
        .filter(|s| s.name.starts_with('['))
        .filter(|s| !s.name.starts_with("[internal]"))
        .collect()
}

/// The names of the Dockerfile steps (FROM aside) that were `CACHED`, and of those that ran.
pub fn cached_and_ran(progress: &str) -> (Vec<String>, Vec<String>) {
    let mut cached = Vec::new();
    let mut ran = Vec::new();
    for s in dockerfile_steps(progress) {
        let instruction = s.name.split_once("] ").map_or("", |(_, i)| i);
        if instruction.starts_with("FROM ") {
            continue;
        }
        if s.state == "CACHED" {
            cached.push(instruction.to_string());
        } else {
            ran.push(instruction.to_string());
        }
    }
    (cached, ran)
}

impl Berth {
    /// `berth build ARGS...` under the test deadline.
    #[track_caller]
    pub fn build(&self, args: &[&str]) -> Run {
        let mut all = vec!["build"];
        all.extend(args);
        self.run_t(&all)
    }

    /// `berth build -t TAG CONTEXT` (plus `extra` flags) that must succeed; its progress.
    #[track_caller]
    pub fn build_ok(&self, tag: &str, ctx: &Ctx, extra: &[&str]) -> String {
        let mut args = vec!["-t", tag];
        args.extend(extra);
        args.push(ctx.path());
        let out = self.build(&args);
        out.ok();
        out.stderr
    }

    /// `berth run --rm IMAGE sh -c SCRIPT`, which must succeed; its stdout.
    #[track_caller]
    pub fn sh(&self, image: &str, script: &str) -> String {
        self.run_t(&[
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "sh",
            "-c",
            script,
        ])
        .ok()
        .to_string()
    }

    /// The image ID a tag names.
    #[track_caller]
    pub fn image_id(&self, name: &str) -> String {
        self.run_t(&["image", "inspect", "-f", "{{.Id}}", name])
            .ok()
            .trim()
            .to_string()
    }
}

/// A port no one listens on now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// `GET path` on 127.0.0.1:port; the body when the answer is a 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.")
        .then_some(())
        .filter(|_| head.lines().next().is_some_and(|l| l.contains(" 200 ")))?;
    Some(body.to_string())
}

/// Asks for `path` until the answer is a 200 or the deadline passes.
pub fn http_get_eventually(port: u16, path: &str) -> Option<String> {
    let mut body = None;
    eventually(crate::common::DEADLINE, || {
        body = http_get(port, path);
        body.is_some()
    });
    body
}

/// A tiny HTTP server on 127.0.0.1 that answers every GET with `body` (and a
/// `Last-Modified`); counts the requests it served. It lives as long as the test.
pub struct FileServer {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
}

impl FileServer {
    pub fn start(body: Vec<u8>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the file server");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                // Read the request head; its content does not matter.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            }
        });
        FileServer { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn served(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The examples directory of the repository.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}
