//! Recognising and undoing the compression of a layer blob.

use std::io::{BufReader, Cursor, Read};

use crate::background::read_up_to;
use crate::error::{ArchiveError, Result};

/// Buffer between the compressed input and the decoder.
const INPUT_BUF: usize = 128 * 1024;

/// The compressions a layer blob comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`), possibly several members one after another.
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

impl Compression {
    /// Recognises a compression by the first bytes of a blob (four are enough); anything else is
    /// taken as a plain tar.
    pub fn detect(magic: &[u8]) -> Self {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

/// Returns a reader of the uncompressed tar in `r`, whatever its compression. The reader is
/// `Send`, so a pull can decode on another thread than the one that downloads.
pub fn decompress<'a, R: Read + Send + 'a>(r: R) -> Result<Box<dyn Read + Send + 'a>> {
    decompress_detected(r).map(|(_, reader)| reader)
}

/// Like [`decompress`], also telling which compression was found.
pub fn decompress_detected<'a, R: Read + Send + 'a>(
    mut r: R,
) -> Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut r, &mut magic).map_err(ArchiveError::Read)?;
    let kind = Compression::detect(&magic[..n]);
    // The peeked bytes go back in front of the stream.
    let stream = Cursor::new(magic).take(n as u64).chain(r);
    let reader: Box<dyn Read + Send + 'a> = match kind {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(INPUT_BUF, stream),
        )),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(INPUT_BUF, stream))
                .map_err(ArchiveError::Read)?,
        ),
    };
    Ok((kind, reader))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn magic_numbers_are_recognised() {
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(b"etc/"), Compression::None);
        assert_eq!(Compression::detect(&[0x28, 0xb5]), Compression::None);
        assert_eq!(Compression::detect(&[]), Compression::None);
    }

    /// Hands out one byte per read, as a slow network stream may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn a_trickling_stream_is_detected_and_passed_through_whole() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, b"hello layer").unwrap();
        let gz = gz.finish().unwrap();
        let (kind, mut r) = decompress_detected(Trickle(&gz)).unwrap();
        assert_eq!(kind, Compression::Gzip);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello layer");

        let (kind, mut r) = decompress_detected(Trickle(b"abc")).unwrap();
        assert_eq!(kind, Compression::None);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "abc");
    }
}
