//! Sizes and durations in Docker's words (the `go-units` package).

use chrono::{DateTime, TimeDelta, Utc};

use crate::format::gofloat::format_g;

const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY_UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// Divides by `base` while the size is at least `base`, stopping at the largest unit.
fn scale(mut size: f64, base: f64, units: &'static [&'static str; 9]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

/// `units.HumanSizeWithPrecision`: decimal units, `precision` significant digits in Go's `%g`
/// form. Go's `%g` turns 999.5 into `1e+03`, and so does this (`1e+03kB`).
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    let (size, unit) = scale(size, 1000.0, &DECIMAL_UNITS);
    format!("{}{unit}", format_g(size, Some(precision)))
}

/// The size column of `docker images`, `ps -s`, `system df`: three significant digits,
/// decimal units (`4.26MB`, `1.24GB`, `0B`, `999B`, `1kB`).
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes as f64, 3)
}

/// `units.BytesSize`: binary units, four significant digits (`1.5MiB`), as `docker stats`
/// prints memory.
pub fn bytes_size(bytes: f64) -> String {
    let (size, unit) = scale(bytes, 1024.0, &BINARY_UNITS);
    format!("{}{unit}", format_g(size, Some(4)))
}

const SECOND: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SECOND;
const HOUR: i128 = 60 * MINUTE;

/// `units.HumanDuration`: "Less than a second", "1 second", "3 seconds", "About a minute",
/// "5 minutes", "About an hour", "2 hours", "2 days", "3 weeks", "4 months", "2 years".
///
/// Seconds and minutes are truncated; hours are rounded (half up) before the hour, day, week
/// and month thresholds; years count truncated hours. Negative durations (a clock behind the
/// timestamp) are "Less than a second".
pub fn human_duration(d: TimeDelta) -> String {
    let nanos = i128::from(d.num_seconds()) * SECOND + i128::from(d.subsec_nanos());
    let seconds = nanos / SECOND;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = nanos / MINUTE;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (nanos + HOUR / 2) / HOUR;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", nanos / HOUR / 24 / 365)
}

/// "<duration> ago", as the CREATED column of `images` and `ps` shows `then` at `now`.
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", human_duration(now - then))
}

/// Go's `time.Time.String()` of a UTC time, as `CreatedAt` columns print it:
/// `2024-01-02 03:04:05 +0000 UTC`, with a fraction of a second (trailing zeros dropped) only
/// when there is one. Docker prints the local zone; berth prints UTC, which is the same on
/// hosts that run in UTC.
pub fn go_time_string(t: DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_size_boundaries() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1), "1B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1001), "1kB");
        assert_eq!(human_size(1005), "1kB");
        assert_eq!(human_size(1006), "1.01kB");
        // 1.125 is exact in binary: Go rounds the tie to even.
        assert_eq!(human_size(1125), "1.12kB");
        assert_eq!(human_size(1135), "1.14kB");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(12_345), "12.3kB");
        assert_eq!(human_size(123_456), "123kB");
        assert_eq!(human_size(999_499), "999kB");
        assert_eq!(human_size(999_500), "1e+03kB");
        assert_eq!(human_size(999_999), "1e+03kB");
        assert_eq!(human_size(1_000_000), "1MB");
        assert_eq!(human_size(4_261_000), "4.26MB");
        assert_eq!(human_size(4_265_000), "4.26MB");
        assert_eq!(human_size(4_266_000), "4.27MB");
        assert_eq!(human_size(1_240_000_000), "1.24GB");
        assert_eq!(human_size(7_800_000_000_000), "7.8TB");
        assert_eq!(human_size(u64::MAX), "18.4EB");
    }

    #[test]
    fn human_size_precision() {
        assert_eq!(human_size_with_precision(1_234_567.0, 4), "1.235MB");
        assert_eq!(human_size_with_precision(1e27, 3), "1e+03YB");
    }

    #[test]
    fn bytes_size_boundaries() {
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(bytes_size(1023.0), "1023B");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(1536.0 * 1024.0), "1.5MiB");
        assert_eq!(bytes_size(1_048_575.0), "1024KiB");
        assert_eq!(bytes_size(10_485_760_000.0), "9.766GiB");
    }

    fn dur(s: i64) -> String {
        human_duration(TimeDelta::seconds(s))
    }

    #[test]
    fn seconds_and_minutes_truncate() {
        assert_eq!(
            human_duration(TimeDelta::milliseconds(999)),
            "Less than a second"
        );
        assert_eq!(dur(-5), "Less than a second");
        assert_eq!(dur(0), "Less than a second");
        assert_eq!(dur(1), "1 second");
        assert_eq!(human_duration(TimeDelta::milliseconds(1999)), "1 second");
        assert_eq!(dur(2), "2 seconds");
        assert_eq!(dur(59), "59 seconds");
        assert_eq!(
            human_duration(TimeDelta::milliseconds(59_999)),
            "59 seconds"
        );
        assert_eq!(dur(60), "About a minute");
        assert_eq!(dur(119), "About a minute");
        assert_eq!(dur(120), "2 minutes");
        assert_eq!(dur(59 * 60 + 59), "59 minutes");
    }

    #[test]
    fn hours_round_half_up() {
        assert_eq!(dur(3600), "About an hour");
        assert_eq!(dur(3600 + 29 * 60 + 59), "About an hour");
        assert_eq!(dur(3600 + 30 * 60), "2 hours");
        assert_eq!(dur(47 * 3600 + 29 * 60), "47 hours");
        assert_eq!(dur(47 * 3600 + 30 * 60), "2 days");
    }

    #[test]
    fn days_weeks_months_years() {
        const H: i64 = 3600;
        const D: i64 = 24 * H;
        assert_eq!(dur(13 * D + 23 * H), "13 days");
        assert_eq!(dur(13 * D + 23 * H + 30 * 60), "2 weeks");
        assert_eq!(dur(59 * D + 23 * H), "8 weeks");
        assert_eq!(dur(60 * D), "2 months");
        assert_eq!(dur(729 * D + 23 * H), "24 months");
        assert_eq!(dur(730 * D), "2 years");
        // Years use truncated hours: 3 years minus a minute is still 2 years.
        assert_eq!(dur(3 * 365 * D - 60), "2 years");
        assert_eq!(dur(3 * 365 * D), "3 years");
    }

    #[test]
    fn go_time_string_trims_the_fraction() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(go_time_string(t), "2023-11-14 22:13:20 +0000 UTC");
        let t = DateTime::from_timestamp(1_700_000_000, 120_000_000).unwrap();
        assert_eq!(go_time_string(t), "2023-11-14 22:13:20.12 +0000 UTC");
    }

    #[test]
    fn ago_appends_ago() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let then = DateTime::from_timestamp(1_700_000_000 - 300, 0).unwrap();
        assert_eq!(ago(then, now), "5 minutes ago");
        assert_eq!(ago(now, then), "Less than a second ago");
    }
}
