//! Go's duration syntax (`time.ParseDuration`), used by `HEALTHCHECK --interval=1m30s`.

use std::time::Duration;

use crate::parser::go_quote;

/// A parsed duration; Go durations may be negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GoDuration {
    pub(super) negative: bool,
    pub(super) magnitude: Duration,
}

/// Nanoseconds per unit, longest unit names first so `ms` is not read as `m`.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses `[-+]?(<number>[.<fraction>]<unit>)+` or a bare `0`, e.g. `300ms`, `1.5h`, `2h45m`.
/// Errors use Go's wording.
pub(super) fn parse_go_duration(text: &str) -> Result<GoDuration, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(GoDuration {
            negative,
            magnitude: Duration::ZERO,
        });
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_number
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after_number.len());
        let (unit, remaining) = after_number.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(text)));
        }
        let Some(&(_, per_unit)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "time: unknown unit {} in duration {}",
                go_quote(unit),
                go_quote(text)
            ));
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(per_unit).ok_or_else(invalid)?;
        // The fraction, to nanosecond precision (Go truncates the same way).
        let mut scale = per_unit;
        for digit in frac_part.bytes() {
            scale /= 10;
            nanos += u128::from(digit - b'0') * scale;
        }
        total_nanos = total_nanos.checked_add(nanos).ok_or_else(invalid)?;
        // Go's Duration is an int64 of nanoseconds.
        if total_nanos > i64::MAX as u128 {
            return Err(invalid());
        }
        rest = remaining;
    }
    let secs = (total_nanos / 1_000_000_000) as u64;
    let subsec = (total_nanos % 1_000_000_000) as u32;
    Ok(GoDuration {
        negative,
        magnitude: Duration::new(secs, subsec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        let parsed = parse_go_duration(text).unwrap();
        assert!(!parsed.negative);
        parsed.magnitude
    }

    #[test]
    fn go_duration_forms() {
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        assert_eq!(ok("300ms"), Duration::from_millis(300));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("2h45m"), Duration::from_secs(9900));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("10us"), Duration::from_micros(10));
        assert_eq!(ok("10µs"), Duration::from_micros(10));
        assert!(parse_go_duration("-1s").unwrap().negative);
    }

    #[test]
    fn go_duration_errors() {
        assert_eq!(
            parse_go_duration("5").unwrap_err(),
            "time: missing unit in duration \"5\""
        );
        assert_eq!(
            parse_go_duration("5x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(
            parse_go_duration("abc").unwrap_err(),
            "time: invalid duration \"abc\""
        );
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("1 s").is_err());
    }
}
