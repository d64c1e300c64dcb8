//! Decompressing on a helper thread, so decoding overlaps with writing files.
//!
//! Unpacking spends its time in the kernel creating files; decoding is a second, separate cost.
//! On the two-core development machine, running them side by side took a 285 MB layer of 13,000
//! files from about 2.2 s to 1.8 s (gzip) and from 1.8 s to 1.55 s (zstd), sync included.

use std::io::{self, Cursor, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

use crate::compression::{decompress, Compression};
use crate::error::{ArchiveError, Result};

const CHUNK: usize = 256 * 1024;
/// Chunks decoded ahead of the reader: a few MiB of memory at most.
const AHEAD: usize = 4;

/// A reader of the uncompressed stream, decoded on its own thread. See
/// [`decompress_in_background`].
pub struct BackgroundDecoder<R> {
    compression: Compression,
    chunks: Receiver<io::Result<Vec<u8>>>,
    /// Emptied chunks go back to the decoding thread to be filled again.
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
    thread: Option<JoinHandle<io::Result<R>>>,
}

/// Like [`decompress`](crate::decompress), but decodes on a helper thread. When the stream is
/// read to its end, [`BackgroundDecoder::finish`] hands back `r` (a hashing reader, say), read to
/// its end too.
pub fn decompress_in_background<R: Read + Send + 'static>(
    mut r: R,
) -> Result<BackgroundDecoder<R>> {
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut r, &mut magic).map_err(ArchiveError::Read)?;
    let compression = Compression::detect(&magic[..n]);
    let (chunk_tx, chunks) = mpsc::sync_channel(AHEAD);
    let (spare, spare_rx) = mpsc::sync_channel::<Vec<u8>>(AHEAD + 2);
    let thread = thread::Builder::new()
        .name("layer-decode".into())
        .spawn(move || {
            let mut input = Cursor::new(magic).take(n as u64).chain(r);
            match decode(&mut input, &chunk_tx, &spare_rx) {
                // Whatever follows the compressed data still belongs to the blob (and its
                // digest).
                Ok(Decoded::All) => {
                    io::copy(&mut input, &mut io::sink())?;
                }
                Ok(Decoded::Abandoned) => {}
                Err(e) => {
                    // The reader sees the error in its stream; the handle reports it again.
                    let _ = chunk_tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(e);
                }
            }
            Ok(input.into_inner().1)
        })
        .map_err(|e| ArchiveError::io("starting", "the decoding thread", e))?;
    Ok(BackgroundDecoder {
        compression,
        chunks,
        spare,
        current: Vec::new(),
        pos: 0,
        done: false,
        thread: Some(thread),
    })
}

/// How far the decoding thread got.
enum Decoded {
    /// To the end of the compressed stream.
    All,
    /// The reader went away first.
    Abandoned,
}

fn decode<R: Read + Send>(
    input: &mut R,
    chunks: &SyncSender<io::Result<Vec<u8>>>,
    spare: &Receiver<Vec<u8>>,
) -> io::Result<Decoded> {
    let mut decoder = decompress(input).map_err(|e| match e {
        ArchiveError::Read(e) => e,
        other => io::Error::other(other.to_string()),
    })?;
    loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let filled = read_up_to(&mut decoder, &mut chunk)?;
        if filled == 0 {
            return Ok(Decoded::All);
        }
        chunk.truncate(filled);
        if chunks.send(Ok(chunk)).is_err() {
            return Ok(Decoded::Abandoned);
        }
    }
}

impl<R> BackgroundDecoder<R> {
    /// The compression found at the start of the stream.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Waits for the decoding thread and returns the original reader. After the stream was read
    /// to its end, that reader is at its end too; earlier, decoding just stops where it was.
    pub fn finish(mut self) -> Result<R> {
        // Unblock a thread waiting to send: drop our end of the channel.
        let thread = self.thread.take();
        drop(self);
        match thread.map(JoinHandle::join) {
            Some(Ok(result)) => result.map_err(ArchiveError::Read),
            _ => Err(ArchiveError::Read(io::Error::other(
                "the decoding thread panicked",
            ))),
        }
    }
}

impl<R> Read for BackgroundDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.current, chunk);
                    let _ = self.spare.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the stream ends.
pub(crate) fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Counts what was read through it, to prove `finish` hands back the reader at its end.
    struct Counting<R>(R, usize);

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n;
            Ok(n)
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn decodes_everything_and_returns_the_reader_at_its_end() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let blob = gzip(&data);
        let mut r = decompress_in_background(Counting(Cursor::new(blob.clone()), 0)).unwrap();
        assert_eq!(r.compression(), Compression::Gzip);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        assert_eq!(r.finish().unwrap().1, blob.len());
    }

    #[test]
    fn a_corrupt_stream_is_an_error_for_the_reader_and_finish() {
        let mut blob = gzip(&[7u8; 100_000]);
        let mid = blob.len() / 2;
        blob[mid..].fill(0xff);
        let mut r = decompress_in_background(Cursor::new(blob)).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(r.finish().is_err());
    }

    #[test]
    fn finishing_early_does_not_hang() {
        let blob = gzip(&vec![1u8; 20 << 20]);
        let mut r = decompress_in_background(Cursor::new(blob)).unwrap();
        let mut first = [0u8; 10];
        r.read_exact(&mut first).unwrap();
        assert_eq!(first, [1u8; 10]);
        r.finish().unwrap();
    }
}
