//! Reading a json-file log for `berth logs`: `--since`, `--until`, `--tail`,
//! `--timestamps`, `--follow`.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::SystemTime;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;
use serde::Deserialize;

use super::format::format_time_fixed;
use super::Stream;
use crate::error::{Error, Result};

/// How long a follower waits for news before asking whether the container still runs.
const FOLLOW_RECHECK: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 250_000_000,
};

/// What to read, as `berth logs` flags say.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries before this time; reading stops at the first entry past it.
    pub until: Option<SystemTime>,
    /// Only the last N entries (before `since`/`until` are applied, as Docker does).
    pub tail: Option<usize>,
    /// Prefix each entry with its time (`2026-11-28T00:00:00.123000000Z `).
    pub timestamps: bool,
    /// Keep reading as the log grows, until the container stops.
    pub follow: bool,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Passes the entries of the log at `path` to `out`, in order. With `follow`, waits
/// for more until `still_running()` says no and everything written before is read;
/// a stopped container's log is simply read to its end. A missing log is an empty
/// one. An error from `out` (a closed pipe) stops the reading and is returned.
pub fn read_logs(
    path: &Path,
    options: &LogOptions,
    still_running: &dyn Fn() -> bool,
    out: &mut dyn FnMut(Stream, &[u8]) -> std::io::Result<()>,
) -> Result<()> {
    let Some(file) = open_log(path, options.follow, still_running)? else {
        return Ok(());
    };
    let start = match options.tail {
        Some(lines) => tail_offset(&file, lines)?,
        None => 0,
    };
    let mut reader = BufReader::new(file);
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|e| Error::io("seeking in the log", e))?;
    let mut session = Session {
        options,
        out,
        line: Vec::new(),
        finished: false,
    };
    if !options.follow {
        session.read_available(&mut reader, true)?;
        return Ok(());
    }
    let watch = watch(path)?;
    loop {
        // Asked before reading: whatever a stopped container wrote is then in the file.
        let running = still_running();
        session.read_available(&mut reader, !running)?;
        if !running || session.finished {
            return Ok(());
        }
        wait_for_change(&watch);
    }
}

struct Session<'a> {
    options: &'a LogOptions,
    out: &'a mut dyn FnMut(Stream, &[u8]) -> std::io::Result<()>,
    /// A line read so far; the writer may be in the middle of it.
    line: Vec<u8>,
    /// `until` was reached.
    finished: bool,
}

impl Session<'_> {
    /// Reads entries up to the end of the file. A last line without its newline is
    /// kept for the next call, unless this is the `last` read.
    fn read_available(&mut self, reader: &mut BufReader<File>, last: bool) -> Result<()> {
        while !self.finished {
            let n = reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| Error::io("reading the log", e))?;
            let complete = self.line.last() == Some(&b'\n');
            if n == 0 || !complete {
                if last && !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    self.emit(&line)?;
                }
                return Ok(());
            }
            let line = std::mem::take(&mut self.line);
            self.emit(&line)?;
            self.line = line;
            self.line.clear();
        }
        Ok(())
    }

    fn emit(&mut self, line: &[u8]) -> Result<()> {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        if text.is_empty() {
            return Ok(());
        }
        let entry: Entry = serde_json::from_slice(text)
            .map_err(|err| Error::Protocol(format!("unreadable log entry: {err}")))?;
        let time = chrono::DateTime::parse_from_rfc3339(&entry.time)
            .map(SystemTime::from)
            .map_err(|err| Error::Protocol(format!("bad time {:?}: {err}", entry.time)))?;
        if self.options.since.is_some_and(|since| time < since) {
            return Ok(());
        }
        if self.options.until.is_some_and(|until| time >= until) {
            self.finished = true;
            return Ok(());
        }
        let stream = match &*entry.stream {
            "stderr" => Stream::Stderr,
            _ => Stream::Stdout,
        };
        let result = if self.options.timestamps {
            let mut stamped = format_time_fixed(time).into_bytes();
            stamped.push(b' ');
            stamped.extend_from_slice(entry.log.as_bytes());
            (self.out)(stream, &stamped)
        } else {
            (self.out)(stream, entry.log.as_bytes())
        };
        result.map_err(|e| Error::io("writing log output", e))
    }
}

/// Opens the log; a follower of a container that has not written one yet waits for it.
fn open_log(path: &Path, follow: bool, still_running: &dyn Fn() -> bool) -> Result<Option<File>> {
    loop {
        let running = follow && still_running();
        match File::open(path) {
            Ok(file) => return Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !running {
                    return Ok(None);
                }
                let _ = poll(&mut [], Some(&FOLLOW_RECHECK));
            }
            Err(e) => return Err(Error::io(format!("opening log {}", path.display()), e)),
        }
    }
}

/// Where the last `lines` entries start, read backwards from the end in blocks.
fn tail_offset(file: &File, lines: usize) -> Result<u64> {
    const BLOCK: u64 = 64 * 1024;
    let len = file
        .metadata()
        .map_err(|e| Error::io("reading the log's size", e))?
        .len();
    if lines == 0 {
        return Ok(len);
    }
    let mut reader = file;
    let mut block = vec![0u8; BLOCK as usize];
    let mut end = len;
    let mut found = 0;
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let size = (end - start) as usize;
        reader
            .seek(SeekFrom::Start(start))
            .map_err(|e| Error::io("seeking in the log", e))?;
        reader
            .read_exact(&mut block[..size])
            .map_err(|e| Error::io("reading the log", e))?;
        for (i, &byte) in block[..size].iter().enumerate().rev() {
            let at = start + i as u64;
            // The newline that ends the file ends the last entry; it starts none.
            if byte == b'\n' && at + 1 != len {
                found += 1;
                if found == lines {
                    return Ok(at + 1);
                }
            }
        }
        end = start;
    }
    Ok(0)
}

/// An inotify watch on the log, to wake a follower when it grows.
fn watch(path: &Path) -> Result<OwnedFd> {
    let fd = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
        .map_err(|e| Error::io("creating an inotify instance", e.into()))?;
    inotify::add_watch(&fd, path, inotify::WatchFlags::MODIFY)
        .map_err(|e| Error::io(format!("watching {}", path.display()), e.into()))?;
    Ok(fd)
}

fn wait_for_change(watch: &OwnedFd) {
    let mut fds = [PollFd::new(watch, PollFlags::IN)];
    if matches!(poll(&mut fds, Some(&FOLLOW_RECHECK)), Ok(n) if n > 0) {
        let mut events = [0u8; 4096];
        while matches!(rustix::io::read(watch, &mut events), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    const LOG: &str = concat!(
        r#"{"log":"one\n","stream":"stdout","time":"2026-11-28T00:00:01Z"}"#,
        "\n",
        r#"{"log":"two\n","stream":"stderr","time":"2026-11-28T00:00:02.5Z"}"#,
        "\n",
        r#"{"log":"three\n","stream":"stdout","time":"2026-11-28T00:00:03.123456789Z"}"#,
        "\n",
    );

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_824_000 + secs)
    }

    fn read(text: &str, options: LogOptions) -> Vec<(Stream, String)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, text).unwrap();
        let mut seen = Vec::new();
        read_logs(&path, &options, &|| false, &mut |stream, bytes| {
            seen.push((stream, String::from_utf8_lossy(bytes).into_owned()));
            Ok(())
        })
        .unwrap();
        seen
    }

    #[test]
    fn all_entries_in_order_with_their_streams() {
        assert_eq!(
            read(LOG, LogOptions::default()),
            vec![
                (Stream::Stdout, "one\n".into()),
                (Stream::Stderr, "two\n".into()),
                (Stream::Stdout, "three\n".into()),
            ]
        );
    }

    #[test]
    fn tail_since_until_and_timestamps() {
        let logs = |o| read(LOG, o).into_iter().map(|(_, l)| l).collect::<Vec<_>>();
        let tail = |n| LogOptions {
            tail: Some(n),
            ..Default::default()
        };
        assert_eq!(logs(tail(2)), vec!["two\n", "three\n"]);
        assert_eq!(logs(tail(0)), Vec::<String>::new());
        assert_eq!(logs(tail(10)).len(), 3);
        assert_eq!(
            logs(LogOptions {
                since: Some(at(2)),
                until: Some(at(3)),
                ..Default::default()
            }),
            vec!["two\n"]
        );
        assert_eq!(
            logs(LogOptions {
                timestamps: true,
                tail: Some(1),
                ..Default::default()
            }),
            vec!["2026-11-28T00:00:03.123456789Z three\n"]
        );
    }

    #[test]
    fn tail_reads_across_blocks() {
        let line = r#"{"log":"x\n","stream":"stdout","time":"2026-11-28T00:00:01Z"}"#;
        let mut text = String::new();
        for _ in 0..5000 {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(r#"{"log":"last\n","stream":"stdout","time":"2026-11-28T00:00:01Z"}"#);
        text.push('\n');
        let seen = read(
            &text,
            LogOptions {
                tail: Some(3),
                ..Default::default()
            },
        );
        let logs: Vec<&str> = seen.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(logs, vec!["x\n", "x\n", "last\n"]);
    }

    #[test]
    fn follow_reads_what_is_appended_until_the_container_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, &LOG[..LOG.find('\n').unwrap() + 1]).unwrap();
        let rest = &LOG[LOG.find('\n').unwrap() + 1..];
        let checks = Cell::new(0);
        // The "container" writes the rest of its log in two pieces, one line cut in
        // half, and stops after the third check.
        let still_running = || {
            let n = checks.get() + 1;
            checks.set(n);
            match n {
                2 => {
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .open(&path)
                        .unwrap();
                    std::io::Write::write_all(&mut file, &rest.as_bytes()[..20]).unwrap();
                }
                3 => {
                    let mut file = std::fs::OpenOptions::new()
                        .append(true)
                        .open(&path)
                        .unwrap();
                    std::io::Write::write_all(&mut file, &rest.as_bytes()[20..]).unwrap();
                }
                _ => {}
            }
            n < 3
        };
        let mut seen = Vec::new();
        let options = LogOptions {
            follow: true,
            ..Default::default()
        };
        read_logs(&path, &options, &still_running, &mut |_, bytes| {
            seen.push(String::from_utf8_lossy(bytes).into_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec!["one\n", "two\n", "three\n"]);
    }

    #[test]
    fn a_missing_log_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut called = false;
        read_logs(
            &dir.path().join("none"),
            &LogOptions::default(),
            &|| false,
            &mut |_, _| {
                called = true;
                Ok(())
            },
        )
        .unwrap();
        assert!(!called);
    }
}
