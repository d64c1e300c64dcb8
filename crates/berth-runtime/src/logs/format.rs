//! Encoding one log entry exactly as Docker's json-file driver does.

use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::Stream;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `{"log":...,"stream":...,"time":...}\n` to `out`.
pub(crate) fn encode_entry(out: &mut Vec<u8>, stream: Stream, log: &[u8], time: &str) {
    out.extend_from_slice(b"{\"log\":");
    encode_string(out, log);
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// A JSON string as Docker writes log bytes: `"` and `\` escaped, `\n` and `\r` by
/// name, other control characters and `<`, `>`, `&` as `\u00XX`, each byte that is not
/// part of valid UTF-8 as U+FFFD (as Go decodes them), and U+2028/U+2029 escaped.
fn encode_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        encode_valid(out, chunk.valid());
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

fn encode_valid(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            other => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

/// RFC 3339 in UTC with the fraction's trailing zeros dropped (Go's RFC3339Nano), as
/// json-file stores times.
pub fn format_time(time: SystemTime) -> String {
    let utc: DateTime<Utc> = time.into();
    let mut text = utc.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = utc.timestamp_subsec_nanos();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// RFC 3339 in UTC with all nine fraction digits, as `docker logs -t` prints times.
pub fn format_time_fixed(time: SystemTime) -> String {
    let utc: DateTime<Utc> = time.into();
    utc.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn entry(log: &[u8]) -> String {
        let mut out = Vec::new();
        encode_entry(&mut out, Stream::Stdout, log, "T");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_lines_are_docker_shaped() {
        assert_eq!(
            entry(b"hello\n"),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn escaping_follows_dockers_encoder() {
        assert_eq!(
            entry(b"a\"b\\c\r\t<&>\x1b\x7f"),
            "{\"log\":\"a\\\"b\\\\c\\r\\u0009\\u003c\\u0026\\u003e\\u001b\x7f\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
        assert_eq!(
            entry("é\u{2028}".as_bytes()),
            "{\"log\":\"é\\u2028\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            entry(b"a\xff\xfeb\xe2\x82"),
            "{\"log\":\"a\\ufffd\\ufffdb\\ufffd\\ufffd\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn times_are_gos_rfc3339nano() {
        let base = UNIX_EPOCH + Duration::from_secs(1_795_824_000); // 2026-11-28T00:00:00Z
        assert_eq!(format_time(base), "2026-11-28T00:00:00Z");
        assert_eq!(
            format_time(base + Duration::from_nanos(123_456_789)),
            "2026-11-28T00:00:00.123456789Z"
        );
        assert_eq!(
            format_time(base + Duration::from_millis(120)),
            "2026-11-28T00:00:00.12Z"
        );
        assert_eq!(
            format_time_fixed(base + Duration::from_millis(120)),
            "2026-11-28T00:00:00.120000000Z"
        );
    }
}
