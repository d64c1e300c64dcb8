//! Telling a missing command from other failures, by the words runtimes use for it.
//! Docker does the same with runc's messages; the embedded runtime's executor writes
//! runc's words too, so one reading serves both.

use crate::error::Error;

pub(crate) const NOT_FOUND: &str = "executable file not found in $PATH";
pub(crate) const NOT_FOUND_PATH: &str = "no such file or directory";
pub(crate) const NOT_EXECUTABLE: &str = "permission denied";

/// Classifies a runtime's error text about starting `command`.
pub(crate) fn classify(action: &'static str, command: &str, message: String) -> Error {
    let lower = message.to_ascii_lowercase();
    let about_exec = lower.contains("exec") || lower.contains("executable");
    let says = |words: &str| lower.contains(&words.to_ascii_lowercase());
    if says(NOT_FOUND) || (about_exec && says(NOT_FOUND_PATH)) {
        Error::CommandNotFound {
            command: command.to_string(),
        }
    } else if about_exec && says(NOT_EXECUTABLE) {
        Error::CommandNotExecutable {
            command: command.to_string(),
        }
    } else {
        Error::Runtime { action, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_messages_are_classified_like_docker_does() {
        let missing = r#"runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH"#;
        assert!(matches!(
            classify("create", "nosuch", missing.into()),
            Error::CommandNotFound { .. }
        ));
        let no_file = r#"unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory"#;
        assert!(matches!(
            classify("create", "/nosuch", no_file.into()),
            Error::CommandNotFound { .. }
        ));
        let denied = r#"unable to start container process: exec: "/etc/passwd": permission denied"#;
        assert!(matches!(
            classify("create", "/etc/passwd", denied.into()),
            Error::CommandNotExecutable { .. }
        ));
        let other = "unable to apply cgroup configuration: permission denied".to_string();
        assert!(matches!(
            classify("create", "true", other),
            Error::Runtime { .. }
        ));
    }
}
