//! Detach keys: a byte sequence in the client's input that ends the attached session
//! and leaves the container running (Docker's `--detach-keys`, ctrl-p ctrl-q by default).

use crate::error::{Error, Result};

/// ctrl-p ctrl-q.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

/// Parses Docker's `--detach-keys` syntax: keys separated by commas, each a single
/// character or `ctrl-<c>` with `<c>` one of `a`-`z`, `@`, `[`, `\`, `]`, `^`, `_`.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    let invalid = || Error::InvalidSpec(format!("invalid detach keys: {spec:?}"));
    spec.split(',')
        .map(|key| {
            let lower = key.to_ascii_lowercase();
            match (lower.strip_prefix("ctrl-"), key.as_bytes()) {
                (Some(rest), _) => match rest.as_bytes() {
                    [c @ b'a'..=b'z'] => Ok(c - b'a' + 1),
                    [b'@'] => Ok(0),
                    [c @ (b'[' | b'\\' | b']' | b'^' | b'_')] => Ok(c - b'[' + 27),
                    _ => Err(invalid()),
                },
                (None, [single]) => Ok(*single),
                _ => Err(invalid()),
            }
        })
        .collect()
}

/// Watches the client's input for the detach sequence. Bytes that may start the
/// sequence are held back until it is clear whether they do.
#[derive(Debug, Clone)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    /// An empty `keys` never detaches.
    pub fn new(keys: &[u8]) -> Self {
        Self {
            keys: keys.to_vec(),
            matched: 0,
        }
    }

    /// Appends to `forward` what of `input` goes to the container, and says whether
    /// the sequence is complete (the sequence itself and whatever follows it are dropped).
    pub fn feed(&mut self, input: &[u8], forward: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            forward.extend_from_slice(input);
            return false;
        }
        for &byte in input {
            if byte != self.keys[self.matched] {
                // A false start: the held-back bytes were input after all.
                forward.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
            }
            if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return true;
                }
            } else {
                forward.push(byte);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_key_names_parse() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            DEFAULT_DETACH_KEYS
        );
        assert_eq!(parse_detach_keys("ctrl-a,x").unwrap(), vec![1, b'x']);
        assert_eq!(parse_detach_keys("ctrl-@,ctrl-_").unwrap(), vec![0, 31]);
        assert_eq!(parse_detach_keys("ctrl-\\").unwrap(), vec![28]);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("ab").is_err());
    }

    #[test]
    fn the_sequence_detaches_and_is_not_forwarded() {
        let mut matcher = DetachMatcher::new(DEFAULT_DETACH_KEYS);
        let mut out = Vec::new();
        assert!(!matcher.feed(b"ls\x10", &mut out));
        assert_eq!(out, b"ls");
        assert!(matcher.feed(b"\x11after", &mut out));
        assert_eq!(out, b"ls");
    }

    #[test]
    fn a_false_start_is_forwarded_whole() {
        let mut matcher = DetachMatcher::new(DEFAULT_DETACH_KEYS);
        let mut out = Vec::new();
        assert!(!matcher.feed(b"\x10x\x10\x10", &mut out));
        assert_eq!(out, b"\x10x\x10");
        assert!(matcher.feed(b"\x11", &mut out));
        assert_eq!(out, b"\x10x\x10");
    }

    #[test]
    fn no_keys_never_detach() {
        let mut matcher = DetachMatcher::new(&[]);
        let mut out = Vec::new();
        assert!(!matcher.feed(b"\x10\x11", &mut out));
        assert_eq!(out, b"\x10\x11");
    }
}
