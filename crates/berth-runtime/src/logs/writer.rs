//! The monitor's log writer: output in, json-file lines out.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::SystemTime;

use super::format::{encode_entry, format_time};
use super::Stream;
use crate::error::{Error, Result};

/// A line longer than this is written in pieces of this size (Docker's buffer size).
pub const MAX_LINE: usize = 16 * 1024;

/// Appends a container's output to its json-file log. Lines are written as they
/// complete, each batch with one `write` on an `O_APPEND` file (no fsync: a log is
/// not worth a disk flush per line, and Docker does not flush either).
#[derive(Debug)]
pub struct LogWriter {
    file: File,
    /// The unfinished line of each stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    encoded: Vec<u8>,
}

impl LogWriter {
    /// Opens (creating, mode 0640) `path` for appending.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path)
            .map_err(|e| Error::io(format!("opening log {}", path.display()), e))?;
        Ok(Self {
            file,
            pending: [Vec::new(), Vec::new()],
            encoded: Vec::new(),
        })
    }

    /// Takes output of `stream`; writes every line it completes.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> Result<()> {
        let pending = &mut self.pending[index(stream)];
        pending.extend_from_slice(data);
        let time = format_time(SystemTime::now());
        let mut start = 0;
        while let Some(newline) = pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + newline + 1;
            // A long line is cut into pieces even when its newline came in this chunk.
            while end - start > MAX_LINE {
                encode_entry(
                    &mut self.encoded,
                    stream,
                    &pending[start..start + MAX_LINE],
                    &time,
                );
                start += MAX_LINE;
            }
            encode_entry(&mut self.encoded, stream, &pending[start..end], &time);
            start = end;
        }
        while pending.len() - start >= MAX_LINE {
            encode_entry(
                &mut self.encoded,
                stream,
                &pending[start..start + MAX_LINE],
                &time,
            );
            start += MAX_LINE;
        }
        pending.drain(..start);
        self.write_encoded()
    }

    /// Writes what is left of unfinished lines (at the container's exit).
    pub fn flush_partial(&mut self) -> Result<()> {
        let time = format_time(SystemTime::now());
        for stream in [Stream::Stdout, Stream::Stderr] {
            let pending = &mut self.pending[index(stream)];
            if !pending.is_empty() {
                encode_entry(&mut self.encoded, stream, pending, &time);
                pending.clear();
            }
        }
        self.write_encoded()
    }

    fn write_encoded(&mut self) -> Result<()> {
        if self.encoded.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.encoded);
        self.encoded.clear();
        // A burst of output must not pin a large buffer for the life of the monitor.
        if self.encoded.capacity() > 4 * MAX_LINE {
            self.encoded.shrink_to(MAX_LINE);
        }
        result.map_err(|e| Error::io("writing the container log", e))
    }
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(path: &Path) -> Vec<(String, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                (
                    v["stream"].as_str().unwrap().to_string(),
                    v["log"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn lines_are_split_at_newlines_per_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = LogWriter::open(&path).unwrap();
        log.write(Stream::Stdout, b"one\ntw").unwrap();
        log.write(Stream::Stderr, b"err\n").unwrap();
        log.write(Stream::Stdout, b"o\nthree").unwrap();
        assert_eq!(
            entries(&path),
            vec![
                ("stdout".into(), "one\n".into()),
                ("stderr".into(), "err\n".into()),
                ("stdout".into(), "two\n".into()),
            ]
        );
        log.flush_partial().unwrap();
        assert_eq!(entries(&path)[3], ("stdout".into(), "three".into()));
    }

    #[test]
    fn long_lines_are_cut_at_16k() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = LogWriter::open(&path).unwrap();
        let mut long = vec![b'x'; MAX_LINE * 2 + 10];
        long.push(b'\n');
        log.write(Stream::Stdout, &long[..MAX_LINE + 5]).unwrap();
        assert_eq!(entries(&path).len(), 1, "a full buffer is written at once");
        log.write(Stream::Stdout, &long[MAX_LINE + 5..]).unwrap();
        let logs: Vec<usize> = entries(&path).iter().map(|(_, l)| l.len()).collect();
        assert_eq!(logs, vec![MAX_LINE, MAX_LINE, 11]);
    }

    #[test]
    fn appends_to_an_existing_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        LogWriter::open(&path)
            .unwrap()
            .write(Stream::Stdout, b"first run\n")
            .unwrap();
        LogWriter::open(&path)
            .unwrap()
            .write(Stream::Stdout, b"second run\n")
            .unwrap();
        assert_eq!(entries(&path).len(), 2);
    }
}
