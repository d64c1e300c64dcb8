//! Build progress as BuildKit shows it: plain lines where each step (a "vertex") gets a
//! number and its lines start with it, or on a terminal a live view redrawn in place
//! ([`Progress::tty`]).
//!
//! ```text
//! #5 [2/4] COPY . /app
//! #5 DONE 0.1s
//!
//! #6 [3/4] RUN make
//! #6 0.213 cc -o app main.c
//! #6 DONE 1.4s
//! ```
//!
//! Steps of parallel stages print as they go; the `#N` says which line is whose.
//!
//! ```
//! use berth_build::progress::Progress;
//!
//! let (progress, output) = Progress::to_buffer();
//! let v = progress.vertex("[1/2] FROM busybox");
//! v.done();
//! let v = progress.vertex("[2/2] RUN echo hi");
//! v.log(b"hi\n");
//! v.cached();
//! let text = output.text();
//! assert!(text.starts_with("#1 [1/2] FROM busybox\n#1 DONE "), "{text}");
//! assert!(text.contains("\n\n#2 [2/2] RUN echo hi\n#2 0."), "{text}");
//! assert!(text.ends_with("#2 CACHED\n"), "{text}");
//! ```

mod tty;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tty::Frame;

/// How many lines of a step's output are kept for the error summary.
const KEPT_LINES: usize = 20;

/// How often output alone redraws the live view.
const REDRAW_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Where progress lines go.
pub struct Progress {
    out: Mutex<Printer>,
    next: AtomicUsize,
}

/// Something that happened to a step.
enum Event<'a> {
    Started(&'a str),
    /// Output of the step's process, `elapsed` seconds after it started.
    Log {
        elapsed: f64,
        text: &'a str,
    },
    Status(&'a str),
    Done(f64),
    Cached,
    Error(&'a str),
}

struct Printer {
    sink: Option<Box<dyn Write + Send>>,
    /// The vertex whose line was printed last: a blank line separates vertices.
    last: usize,
    /// The live view of a terminal, redrawn on every event; `None` prints plain lines.
    frame: Option<Frame>,
}

impl Printer {
    fn event(&mut self, vertex: usize, event: Event) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        // Progress is informational: a closed stderr must not fail the build.
        if let Some(frame) = self.frame.as_mut() {
            frame.apply(vertex, &event);
            // A step that prints a lot must not redraw the whole frame per line: output waits
            // for the next redraw; a step starting or ending is shown at once.
            let output = matches!(event, Event::Log { .. } | Event::Status(_));
            if !output || frame.since_drawn() >= REDRAW_EVERY {
                let _ = frame.draw(sink);
            }
            return;
        }
        let text = match event {
            Event::Started(name) => name.to_string(),
            Event::Log { elapsed, text } => format!("{elapsed:.3} {text}"),
            Event::Status(text) => text.to_string(),
            Event::Done(secs) => format!("DONE {secs:.1}s"),
            Event::Cached => "CACHED".to_string(),
            Event::Error(message) => format!("ERROR: {message}"),
        };
        let gap = if self.last != 0 && self.last != vertex {
            "\n"
        } else {
            ""
        };
        self.last = vertex;
        let _ = writeln!(sink, "{gap}#{vertex} {text}");
        let _ = sink.flush();
    }
}

/// A shared buffer a [`Progress`] can write to (for tests and for `-q`).
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Progress {
    fn with(sink: Option<Box<dyn Write + Send>>, frame: Option<Frame>) -> Progress {
        Progress {
            out: Mutex::new(Printer {
                sink,
                last: 0,
                frame,
            }),
            next: AtomicUsize::new(1),
        }
    }

    /// Plain lines written to `sink` (usually stderr), as `--progress plain` prints them.
    pub fn new(sink: Box<dyn Write + Send>) -> Progress {
        Progress::with(Some(sink), None)
    }

    /// A live view for a terminal of `width` x `height`, as `--progress tty` shows it: a
    /// header with the time and the count of finished steps, a line per step, and the last
    /// lines of output of the steps that run, redrawn in place.
    pub fn tty(sink: Box<dyn Write + Send>, width: usize, height: usize) -> Progress {
        Progress::with(Some(sink), Some(Frame::new(width, height)))
    }

    /// No output at all (`-q`).
    pub fn silent() -> Progress {
        Progress::with(None, None)
    }

    /// Progress kept in memory.
    pub fn to_buffer() -> (Progress, Buffer) {
        let buffer = Buffer::default();
        (Progress::new(Box::new(buffer.clone())), buffer)
    }

    /// Starts a step: prints `#N name`.
    pub fn vertex(&self, name: &str) -> Vertex<'_> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        self.event(id, Event::Started(name));
        Vertex {
            progress: self,
            id,
            name: name.to_string(),
            started: Instant::now(),
            state: Mutex::new(VertexLog::default()),
        }
    }

    fn event(&self, vertex: usize, event: Event) {
        self.out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .event(vertex, event);
    }
}

#[derive(Default)]
struct VertexLog {
    /// Output not yet ended by a newline.
    partial: Vec<u8>,
    /// The last lines, for the error summary.
    kept: Vec<String>,
}

/// One step in progress.
pub struct Vertex<'a> {
    progress: &'a Progress,
    id: usize,
    name: String,
    started: Instant,
    state: Mutex<VertexLog>,
}

impl Vertex<'_> {
    pub fn id(&self) -> usize {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A status line of the step (`writing image sha256:... done`).
    pub fn status(&self, text: &str) {
        self.progress.event(self.id, Event::Status(text));
    }

    /// Output of the step's process; complete lines are printed with their time.
    pub fn log(&self, bytes: &[u8]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.partial.extend_from_slice(bytes);
        while let Some(end) = state.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = state.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            self.print_log(&mut state, text);
        }
    }

    fn print_log(&self, state: &mut VertexLog, text: String) {
        let elapsed = self.started.elapsed().as_secs_f64();
        self.progress.event(
            self.id,
            Event::Log {
                elapsed,
                text: &text,
            },
        );
        if state.kept.len() == KEPT_LINES {
            state.kept.remove(0);
        }
        state.kept.push(format!("{elapsed:.3} {text}"));
    }

    /// The last lines of output (with their times), for an error summary.
    pub fn last_lines(&self) -> Vec<String> {
        self.flush();
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .kept
            .clone()
    }

    fn flush(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.partial.is_empty() {
            let text = String::from_utf8_lossy(&std::mem::take(&mut state.partial)).into_owned();
            self.print_log(&mut state, text);
        }
    }

    /// The step reused a cached result.
    pub fn cached(self) {
        self.flush();
        self.progress.event(self.id, Event::Cached);
    }

    /// The step finished.
    pub fn done(self) {
        self.flush();
        let elapsed = self.started.elapsed().as_secs_f64();
        self.progress.event(self.id, Event::Done(elapsed));
    }

    /// The step failed.
    pub fn error(&self, message: &str) {
        self.flush();
        self.progress.event(self.id, Event::Error(message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_lines_are_joined_and_flushed() {
        let (progress, out) = Progress::to_buffer();
        let v = progress.vertex("[1/1] RUN x");
        v.log(b"par");
        v.log(b"tial\nlast");
        assert_eq!(v.last_lines().len(), 2);
        v.error("exit code: 1");
        let text = out.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#1 [1/1] RUN x");
        assert!(lines[1].starts_with("#1 0.") && lines[1].ends_with(" partial"));
        assert!(lines[2].ends_with(" last"));
        assert_eq!(lines[3], "#1 ERROR: exit code: 1");
    }

    #[test]
    fn silent_prints_nothing() {
        let p = Progress::silent();
        p.vertex("x").done();
    }
}
