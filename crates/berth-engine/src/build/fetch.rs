//! `ADD https://...`: downloads, with the digest checked when `--checksum` gives one.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::error::BuildError;

/// A downloaded file.
pub(crate) struct Downloaded {
    /// The name `ADD` gives it: the last element of the URL's path.
    pub name: String,
    /// `Last-Modified`, when the server sent one.
    pub mtime: Option<(i64, i64)>,
    /// `sha256:...` of the content.
    pub digest: String,
}

/// Downloads `url` into `dest`; fails when `checksum` (`sha256:hex`) does not match.
pub(crate) fn download(
    url: &str,
    dest: &Path,
    checksum: Option<&str>,
) -> Result<Downloaded, BuildError> {
    if let Some(c) = checksum {
        let valid = c
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !valid {
            return Err(BuildError::new(format!(
                "invalid checksum digest format {c:?}: expected sha256:<64 hex digits>"
            )));
        }
    }
    let fail = |e: String| BuildError::new(format!("failed to load {url}: {e}"));
    let mut response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
    let mtime = response
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|t| (t.timestamp(), 0));
    let mut body = response.body_mut().as_reader();
    let mut file = File::create(dest).map_err(|e| fail(e.to_string()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 128 * 1024];
    loop {
        let n = body.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| fail(e.to_string()))?;
    }
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    if let Some(expected) = checksum {
        if !expected.eq_ignore_ascii_case(&digest) {
            return Err(BuildError::new(format!(
                "digest mismatch for {url}: expected {expected}, got {digest}"
            )));
        }
    }
    Ok(Downloaded {
        name: url_file_name(url),
        mtime,
        digest,
    })
}

/// The file name of a URL: its path's last element (`__unnamed__` when it has none).
pub(crate) fn url_file_name(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let path = without_query
        .split_once("://")
        .map_or(without_query, |(_, rest)| rest);
    let path = path.split_once('/').map_or("", |(_, p)| p);
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "__unnamed__".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_urls() {
        assert_eq!(url_file_name("http://h:8/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_file_name("http://h/"), "__unnamed__");
        assert_eq!(url_file_name("https://h"), "__unnamed__");
    }
}
