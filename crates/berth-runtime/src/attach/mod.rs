//! Talking to a container's monitor over its unix socket: attaching to the container's
//! stdio, and control requests (stop, kill, resize, pause, wait, ping). And the same
//! session with a process the caller started itself ([`pump_process`], for `exec`).
//!
//! # The protocol
//!
//! A client connects to the monitor's socket and sends **one header line**: a JSON
//! [`Request`] followed by `\n`. The monitor answers with **one JSON [`Response`] line**.
//!
//! ```text
//! {"attach":{"stdin":true,"stdout":true,"stderr":true}}   -> "ok", then frames both ways
//! {"stop":{"timeout_ms":10000,"signal":15}}               -> {"exited":{...}} once the container is gone
//! {"kill":{"signal":9}}                                   -> "ok"
//! {"resize":{"rows":24,"cols":80}}                        -> "ok"
//! "pause" / "resume"                                      -> "ok"
//! "wait"                                                  -> {"exited":{"code":0,"oom_killed":false}} at the exit
//! "ping"                                                  -> {"pong":{"pid":123,"state":"running"}}
//! ```
//!
//! Any request may be answered with `{"error":{"message":"..."}}` instead. Control
//! connections end after the response. An attach connection goes on with **frames**:
//! `[kind: u8][length: u32 big-endian][payload]`.
//!
//! | direction | kind | payload |
//! | --- | --- | --- |
//! | client → monitor | 0 stdin | bytes for the container's stdin |
//! | client → monitor | 1 stdin EOF | empty: with `stdin_once` the container's stdin is closed |
//! | client → monitor | 2 resize | rows u16 BE, cols u16 BE (tty only) |
//! | client → monitor | 3 detach | empty: the monitor closes this connection, the container goes on |
//! | monitor → client | 1 stdout | bytes the container wrote (all output with a tty) |
//! | monitor → client | 2 stderr | bytes the container wrote to stderr |
//! | monitor → client | 3 exit | exit code i32 BE (Docker's number); the last frame |
//! | monitor → client | 4 error | UTF-8 message: the container could not start; an exit frame follows |
//!
//! Attach connections end at every exit of the container, also when a restart policy
//! starts it again: as with Docker, an attached session follows one run.

mod client;
mod detach;
mod local;
mod protocol;

pub use client::{request, AttachClient, PumpEnd};
pub use detach::{parse_detach_keys, DetachMatcher, DEFAULT_DETACH_KEYS};
pub use local::{pump_process, ProcessStdio, UserIo};
pub use protocol::{Frame, Input, MonitorState, Request, Response, Streams};

pub(crate) use protocol::{decode, encode, read_line, FrameKind};
