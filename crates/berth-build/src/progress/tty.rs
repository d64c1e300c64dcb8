//! The live view of a build on a terminal, as BuildKit's `--progress tty` shows it:
//!
//! ```text
//! [+] Building 1.4s (5/7)
//!  => [internal] load build definition from Dockerfile                 0.0s
//!  => CACHED [2/4] WORKDIR /app                                         0.0s
//!  => [4/4] RUN make                                                    1.2s
//!  => => # cc -o app main.c
//! ```
//!
//! The frame is redrawn in place after every event: the cursor goes back up over the lines
//! drawn last time. Lines are cut to the terminal's width so none wraps (a wrapped line would
//! throw the count off), and when the frame would be taller than the terminal, the finished
//! steps at its top are printed for good and leave the frame.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::Event;

/// Lines of output shown under a running step.
const LOG_LINES: usize = 6;

#[derive(Clone, Copy, PartialEq)]
enum State {
    Running,
    Done(f64),
    Cached,
    Error(f64),
}

struct Step {
    id: usize,
    name: String,
    state: State,
    started: Instant,
    logs: VecDeque<String>,
}

pub(super) struct Frame {
    width: usize,
    height: usize,
    started: Instant,
    steps: Vec<Step>,
    /// Steps before this one were printed for good and are not redrawn.
    settled: usize,
    /// Lines of the frame on the screen now.
    drawn: usize,
    last_drawn: Option<Instant>,
}

impl Frame {
    pub(super) fn new(width: usize, height: usize) -> Frame {
        Frame {
            width: width.max(20),
            height: height.max(4),
            started: Instant::now(),
            steps: Vec::new(),
            settled: 0,
            drawn: 0,
            last_drawn: None,
        }
    }

    pub(super) fn apply(&mut self, id: usize, event: &Event) {
        if let Event::Started(name) = event {
            self.steps.push(Step {
                id,
                name: name.to_string(),
                state: State::Running,
                started: Instant::now(),
                logs: VecDeque::new(),
            });
            return;
        }
        let Some(step) = self.steps.iter_mut().rev().find(|s| s.id == id) else {
            return;
        };
        match event {
            Event::Started(_) => {}
            Event::Log { text, .. } | Event::Status(text) => {
                if step.logs.len() == LOG_LINES {
                    step.logs.pop_front();
                }
                step.logs.push_back(text.to_string());
            }
            Event::Done(secs) => {
                step.state = State::Done(*secs);
                step.logs.clear();
            }
            Event::Cached => {
                step.state = State::Cached;
                step.logs.clear();
            }
            Event::Error(message) => {
                step.state = State::Error(step.started.elapsed().as_secs_f64());
                step.logs.push_back(format!("ERROR: {message}"));
            }
        }
    }

    /// Time since the last redraw (forever before the first).
    pub(super) fn since_drawn(&self) -> Duration {
        self.last_drawn.map_or(Duration::MAX, |t| t.elapsed())
    }

    /// Redraws the frame over the one drawn last.
    pub(super) fn draw(&mut self, sink: &mut dyn Write) -> io::Result<()> {
        self.last_drawn = Some(Instant::now());
        let mut out = String::new();
        if self.drawn > 0 {
            out.push_str(&format!("\x1b[{}A", self.drawn));
        }
        // Settle finished steps at the top while the frame is too tall for the terminal.
        while self.settled < self.steps.len()
            && self.live_lines() >= self.height
            && self.steps[self.settled].state != State::Running
        {
            let line = self.step_line(&self.steps[self.settled]);
            push_line(&mut out, &line, self.width);
            self.settled += 1;
        }
        let mut lines = vec![self.header()];
        for step in &self.steps[self.settled..] {
            lines.push(self.step_line(step));
            if step.state == State::Running || matches!(step.state, State::Error(_)) {
                lines.extend(step.logs.iter().map(|l| format!(" => => # {l}")));
            }
        }
        for line in &lines {
            push_line(&mut out, line, self.width);
        }
        // Whatever the last frame had below this one goes.
        out.push_str("\x1b[J");
        self.drawn = lines.len();
        sink.write_all(out.as_bytes())?;
        sink.flush()
    }

    fn live_lines(&self) -> usize {
        1 + self.steps[self.settled..]
            .iter()
            .map(|s| match s.state {
                State::Running | State::Error(_) => 1 + s.logs.len(),
                _ => 1,
            })
            .sum::<usize>()
    }

    fn header(&self) -> String {
        let finished = self
            .steps
            .iter()
            .filter(|s| s.state != State::Running)
            .count();
        let total = self.steps.len();
        let word = if finished == total && total > 0 {
            " FINISHED"
        } else {
            ""
        };
        format!(
            "[+] Building {:.1}s ({finished}/{total}){word}",
            self.started.elapsed().as_secs_f64()
        )
    }

    fn step_line(&self, step: &Step) -> String {
        let (prefix, secs) = match step.state {
            State::Running => ("", step.started.elapsed().as_secs_f64()),
            State::Done(s) => ("", s),
            State::Cached => ("CACHED ", 0.0),
            State::Error(s) => ("ERROR ", s),
        };
        let time = format!("{secs:.1}s");
        let text = format!(" => {prefix}{}", step.name);
        // The time goes at the right edge; the name gives way when the line is too long.
        let room = self.width.saturating_sub(time.len() + 2);
        let text: String = text.chars().take(room).collect();
        let pad = room.saturating_sub(text.chars().count());
        format!("{text}{} {time}", " ".repeat(pad))
    }
}

/// A line cut to the width (one column spare, so the cursor never wraps), after erasing the
/// line under it.
fn push_line(out: &mut String, line: &str, width: usize) {
    out.push_str("\x1b[2K");
    out.extend(line.chars().filter(|c| !c.is_control()).take(width - 1));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(frame: &mut Frame) -> String {
        let mut out = Vec::new();
        frame.draw(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_frame_redraws_over_the_last_and_shows_output_of_running_steps_only() {
        let mut f = Frame::new(60, 24);
        f.apply(1, &Event::Started("[1/2] FROM busybox"));
        f.apply(1, &Event::Done(0.0));
        f.apply(2, &Event::Started("[2/2] RUN make"));
        f.apply(
            2,
            &Event::Log {
                elapsed: 0.1,
                text: "cc -o app main.c",
            },
        );
        let first = screen(&mut f);
        assert!(!first.contains("\x1b[3A"), "nothing to go back over yet");
        assert!(first.contains("[+] Building "), "{first:?}");
        assert!(first.contains("(1/2)"), "{first:?}");
        assert!(first.contains(" => => # cc -o app main.c\n"), "{first:?}");
        f.apply(2, &Event::Cached);
        let second = screen(&mut f);
        assert!(second.starts_with("\x1b[4A"), "{second:?}");
        assert!(second.contains("(2/2) FINISHED"), "{second:?}");
        assert!(second.contains(" => CACHED [2/2] RUN make"), "{second:?}");
        assert!(!second.contains("cc -o app"), "{second:?}");
        let step = second
            .split('\n')
            .find(|l| l.contains("RUN make"))
            .unwrap()
            .trim_start_matches("\x1b[2K");
        assert_eq!(step.chars().count(), 59, "one column spare: {step:?}");
        assert!(
            step.ends_with(" 0.0s"),
            "the time at the right edge: {step:?}"
        );
    }

    #[test]
    fn a_frame_taller_than_the_terminal_settles_its_finished_steps() {
        let mut f = Frame::new(40, 5);
        for id in 1..=6 {
            f.apply(id, &Event::Started(&format!("step {id}")));
            f.apply(id, &Event::Done(0.1));
            screen(&mut f);
        }
        f.apply(7, &Event::Started("step 7"));
        let last = screen(&mut f);
        assert!(f.drawn < 5, "the live part fits: {}", f.drawn);
        assert!(f.settled >= 3, "{}", f.settled);
        assert!(last.contains("step 7"), "{last:?}");
    }
}
