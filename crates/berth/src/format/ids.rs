//! Short IDs and the COMMAND column, as `docker ps` and `docker images` shorten them.

use crate::format::text::{ellipsis, go_quote};

/// Docker's `TruncateID`: drops an algorithm prefix (`sha256:`) and keeps 12 characters.
pub fn short_id(id: &str) -> &str {
    let id = id.split_once(':').map_or(id, |(_, hex)| hex);
    match id.char_indices().nth(12) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// An ID column: short unless `--no-trunc`, in which case the ID is shown as stored
/// (`docker images --no-trunc` keeps `sha256:`).
pub fn display_id(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        short_id(id)
    }
}

/// The command a container runs as Docker lists it: the path, then the arguments, each
/// argument that contains a space wrapped in single quotes (`sh -c 'sleep 1000'`).
pub fn command_line(path: &str, args: &[String]) -> String {
    if args.is_empty() {
        return path.to_string();
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    format!("{path} {}", args.join(" "))
}

/// The COMMAND column of `docker ps`: cut to 20 columns with `…` unless `--no-trunc`, then
/// quoted as Go's `strconv.Quote` does.
pub fn ps_command(command: &str, no_trunc: bool) -> String {
    if no_trunc {
        go_quote(command)
    } else {
        go_quote(&ellipsis(command, 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "4f6b1c3e9a2d7c8b0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";

    #[test]
    fn short_ids_drop_the_algorithm_and_keep_twelve() {
        assert_eq!(short_id(FULL), "4f6b1c3e9a2d");
        assert_eq!(short_id(&format!("sha256:{FULL}")), "4f6b1c3e9a2d");
        assert_eq!(short_id("0123456789ab"), "0123456789ab");
        assert_eq!(short_id("0123456789abc"), "0123456789ab");
        assert_eq!(short_id("sha256:abc"), "abc");
        assert_eq!(
            display_id(&format!("sha256:{FULL}"), true),
            format!("sha256:{FULL}")
        );
        assert_eq!(display_id(FULL, false), "4f6b1c3e9a2d");
    }

    #[test]
    fn command_line_quotes_arguments_with_spaces() {
        let args = vec!["-c".to_string(), "sleep 1000".to_string()];
        assert_eq!(command_line("sh", &args), "sh -c 'sleep 1000'");
        assert_eq!(command_line("/bin/sh", &[]), "/bin/sh");
    }

    #[test]
    fn ps_command_cuts_at_twenty_columns() {
        assert_eq!(
            ps_command("sh -c 'sleep 1000'", false),
            "\"sh -c 'sleep 1000'\""
        );
        // 20 characters fit; 21 become 19 and an ellipsis.
        assert_eq!(
            ps_command("12345678901234567890", false),
            "\"12345678901234567890\""
        );
        assert_eq!(
            ps_command("sh -c 'sleep 100000'", false),
            "\"sh -c 'sleep 100000'\""
        );
        assert_eq!(
            ps_command("sh -c 'sleep 1000000'", false),
            "\"sh -c 'sleep 100000…\""
        );
        assert_eq!(
            ps_command("sh -c 'sleep 1000000'", true),
            "\"sh -c 'sleep 1000000'\""
        );
        assert_eq!(ps_command("echo \"hi\"", false), r#""echo \"hi\"""#);
    }
}
