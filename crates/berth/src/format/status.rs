//! The STATUS column of `docker ps` (the daemon's `State.String()`) and the `.State` word.

use chrono::{DateTime, Utc};

use crate::format::units::human_duration;

/// What the status text is made from; a container record supplies it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerState<'a> {
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    pub removal_in_progress: bool,
    pub dead: bool,
    pub exit_code: i64,
    /// `None` if never started (Go's zero time).
    pub started_at: Option<DateTime<Utc>>,
    /// `None` if never finished (Go's zero time).
    pub finished_at: Option<DateTime<Utc>>,
    /// The health check status (`starting`, `healthy`, `unhealthy`), if the container has a
    /// health check.
    pub health: Option<&'a str>,
}

fn since(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    // A running container always has a start time; Go's zero time would give "N years".
    human_duration(now - t.unwrap_or(DateTime::UNIX_EPOCH))
}

impl ContainerState<'_> {
    /// Docker's status text at `now`: `Up 3 seconds`, `Up 3 seconds (Paused)`,
    /// `Up 2 hours (healthy)`, `Up 1 second (health: starting)`, `Restarting (1) 2 seconds ago`,
    /// `Removal In Progress`, `Dead`, `Created`, `Exited (0) 5 seconds ago`.
    pub fn status(&self, now: DateTime<Utc>) -> String {
        if self.running {
            let up = format!("Up {}", since(self.started_at, now));
            if self.paused {
                return format!("{up} (Paused)");
            }
            if self.restarting {
                return format!(
                    "Restarting ({}) {} ago",
                    self.exit_code,
                    since(self.finished_at, now)
                );
            }
            return match self.health {
                Some("starting") => format!("{up} (health: starting)"),
                Some("") => format!("{up} (unhealthy)"),
                Some(h) => format!("{up} ({h})"),
                None => up,
            };
        }
        if self.removal_in_progress {
            return "Removal In Progress".into();
        }
        if self.dead {
            return "Dead".into();
        }
        if self.started_at.is_none() {
            return "Created".into();
        }
        let Some(finished) = self.finished_at else {
            return String::new();
        };
        format!(
            "Exited ({}) {} ago",
            self.exit_code,
            human_duration(now - finished)
        )
    }

    /// Docker's one-word state (`.State` in `ps --format`, `State.Status` in inspect):
    /// created, running, paused, restarting, removing, exited, dead.
    pub fn state_word(&self) -> &'static str {
        if self.running {
            if self.paused {
                return "paused";
            }
            if self.restarting {
                return "restarting";
            }
            return "running";
        }
        if self.removal_in_progress {
            return "removing";
        }
        if self.dead {
            return "dead";
        }
        if self.started_at.is_none() {
            return "created";
        }
        "exited"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn ago(secs: i64) -> Option<DateTime<Utc>> {
        Some(now() - TimeDelta::seconds(secs))
    }

    fn running() -> ContainerState<'static> {
        ContainerState {
            running: true,
            started_at: ago(3),
            ..Default::default()
        }
    }

    #[test]
    fn running_states() {
        assert_eq!(running().status(now()), "Up 3 seconds");
        assert_eq!(running().state_word(), "running");
        let paused = ContainerState {
            paused: true,
            ..running()
        };
        assert_eq!(paused.status(now()), "Up 3 seconds (Paused)");
        assert_eq!(paused.state_word(), "paused");
        let restarting = ContainerState {
            restarting: true,
            exit_code: 1,
            finished_at: ago(2),
            ..running()
        };
        assert_eq!(restarting.status(now()), "Restarting (1) 2 seconds ago");
        assert_eq!(restarting.state_word(), "restarting");
        // Paused wins over restarting, as in Docker.
        let both = ContainerState {
            paused: true,
            ..restarting
        };
        assert_eq!(both.status(now()), "Up 3 seconds (Paused)");
    }

    #[test]
    fn health_suffixes() {
        let h = |s| {
            ContainerState {
                health: Some(s),
                ..running()
            }
            .status(now())
        };
        assert_eq!(h("healthy"), "Up 3 seconds (healthy)");
        assert_eq!(h("unhealthy"), "Up 3 seconds (unhealthy)");
        assert_eq!(h("starting"), "Up 3 seconds (health: starting)");
        assert_eq!(h(""), "Up 3 seconds (unhealthy)");
    }

    #[test]
    fn stopped_states() {
        let exited = ContainerState {
            started_at: ago(60),
            finished_at: ago(5),
            ..Default::default()
        };
        assert_eq!(exited.status(now()), "Exited (0) 5 seconds ago");
        assert_eq!(exited.state_word(), "exited");
        let code = ContainerState {
            exit_code: 137,
            ..exited.clone()
        };
        assert_eq!(code.status(now()), "Exited (137) 5 seconds ago");
        assert_eq!(ContainerState::default().status(now()), "Created");
        assert_eq!(ContainerState::default().state_word(), "created");
        let dead = ContainerState {
            dead: true,
            ..exited.clone()
        };
        assert_eq!(dead.status(now()), "Dead");
        assert_eq!(dead.state_word(), "dead");
        let removing = ContainerState {
            removal_in_progress: true,
            dead: true,
            ..exited
        };
        assert_eq!(removing.status(now()), "Removal In Progress");
        assert_eq!(removing.state_word(), "removing");
        let started_never_finished = ContainerState {
            started_at: ago(9),
            ..Default::default()
        };
        assert_eq!(started_never_finished.status(now()), "");
    }
}
