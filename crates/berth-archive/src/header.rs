//! The metadata of one tar entry, gathered from its header and its PAX records.

use std::io::Read;

use rustix::fs::{Timespec, Timestamps};

use crate::dirfd::Xattr;

/// PAX records carrying extended attributes, as GNU tar, libarchive's star mode and Go write them.
const PAX_XATTR_PREFIX: &str = "SCHILY.xattr.";

/// Owner, mode, times, device number and extended attributes of an entry.
#[derive(Debug)]
pub(crate) struct EntryMeta {
    /// Permission bits with setuid, setgid and sticky.
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) times: Timestamps,
    pub(crate) device: (u32, u32),
    pub(crate) xattrs: Vec<Xattr>,
}

impl EntryMeta {
    /// Reads the metadata of `entry`; `owner` replaces the tar's uid/gid when given.
    pub(crate) fn read<R: Read>(
        entry: &mut tar::Entry<'_, R>,
        owner: Option<(u32, u32)>,
    ) -> Result<Self, String> {
        let header = entry.header();
        let raw = header.as_old();
        let mode = numeric(header.mode().map(u64::from), &raw.mode, "mode")? as u32 & 0o7777;
        // The tar crate has already applied PAX uid/gid records to the header.
        let uid = numeric(header.uid(), &raw.uid, "uid")?;
        let gid = numeric(header.gid(), &raw.gid, "gid")?;
        let (uid, gid) = match owner {
            Some(owner) => owner,
            None => (
                u32::try_from(uid).map_err(|_| format!("uid {uid} is out of range"))?,
                u32::try_from(gid).map_err(|_| format!("gid {gid} is out of range"))?,
            ),
        };
        let header_mtime = numeric(header.mtime(), &raw.mtime, "mtime")?;
        let mut mtime = Timespec {
            tv_sec: i64::try_from(header_mtime).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        let mut atime = header
            .as_gnu()
            .and_then(|gnu| gnu.atime().ok())
            .filter(|t| *t != 0)
            .map(|t| Timespec {
                tv_sec: i64::try_from(t).unwrap_or(i64::MAX),
                tv_nsec: 0,
            });
        let device = (
            header.device_major().ok().flatten().unwrap_or(0),
            header.device_minor().ok().flatten().unwrap_or(0),
        );

        let mut xattrs = Vec::new();
        if let Some(records) = entry
            .pax_extensions()
            .map_err(|e| format!("bad PAX header: {e}"))?
        {
            for record in records {
                let record = record.map_err(|e| format!("bad PAX record: {e}"))?;
                let Ok(key) = record.key() else { continue };
                if let Some(name) = key.strip_prefix(PAX_XATTR_PREFIX) {
                    xattrs.push((name.as_bytes().to_vec(), record.value_bytes().to_vec()));
                } else if key == "mtime" {
                    mtime = parse_pax_time(record.value_bytes())
                        .ok_or_else(|| "bad PAX mtime".to_string())?;
                } else if key == "atime" {
                    atime = Some(
                        parse_pax_time(record.value_bytes())
                            .ok_or_else(|| "bad PAX atime".to_string())?,
                    );
                }
            }
        }

        // As Docker: without an access time, or with one older than the modification, use the
        // modification time for both.
        let atime = match atime {
            Some(a) if (a.tv_sec, a.tv_nsec) >= (mtime.tv_sec, mtime.tv_nsec) => a,
            _ => mtime,
        };
        Ok(Self {
            mode,
            uid,
            gid,
            times: Timestamps {
                last_access: atime,
                last_modification: mtime,
            },
            device,
            xattrs,
        })
    }
}

/// A numeric header field; an empty one (all NUL or spaces) reads as 0, as Go's archive/tar
/// (and so Docker) reads it.
fn numeric(parsed: std::io::Result<u64>, raw: &[u8], what: &str) -> Result<u64, String> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Ok(0),
        Err(e) => Err(format!("bad {what}: {e}")),
    }
}

/// A PAX time: decimal seconds since the epoch, optionally signed and with a fraction.
fn parse_pax_time(value: &[u8]) -> Option<Timespec> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (secs, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: i64 = 0;
    for (i, digit) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(digit - b'0') * 10_i64.pow(8 - i as u32);
    }
    Some(if !negative {
        Timespec {
            tv_sec: secs,
            tv_nsec: nanos,
        }
    } else if nanos == 0 {
        Timespec {
            tv_sec: -secs,
            tv_nsec: 0,
        }
    } else {
        Timespec {
            tv_sec: -secs - 1,
            tv_nsec: 1_000_000_000 - nanos,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(value: &str) -> Option<(i64, i64)> {
        parse_pax_time(value.as_bytes()).map(|t| (t.tv_sec, t.tv_nsec))
    }

    #[test]
    fn pax_times_are_parsed_with_fractions_and_signs() {
        assert_eq!(t("1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(t("1700000000.5"), Some((1_700_000_000, 500_000_000)));
        assert_eq!(t("1.123456789123"), Some((1, 123_456_789)));
        assert_eq!(t("-1.25"), Some((-2, 750_000_000)));
        assert_eq!(t("-3"), Some((-3, 0)));
        assert_eq!(t("x"), None);
        assert_eq!(t(".5"), None);
        assert_eq!(t("1.2.3"), None);
    }
}
