//! A cap on what the tar crate reads to reach the next entry.
//!
//! Between two entries the tar crate reads extension members (PAX records, GNU long names) whole
//! into memory, however large they claim to be; a small compressed layer could thus ask for
//! gigabytes. Go's archive/tar, and so Docker, refuses such members over 1 MiB. We count the
//! bytes read while the tar crate looks for the next entry and fail past a few MiB, which no real
//! header needs (a Linux extended attribute value is at most 64 KiB).

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Bytes the tar crate may read to reach one entry: headers, PAX records and long names.
const HEADER_BUDGET: u64 = 4 * 1024 * 1024;

/// A reader that, while armed, fails once the budget is spent.
pub(super) struct Budgeted<R> {
    inner: R,
    remaining: Rc<Cell<Option<u64>>>,
}

/// The switch of a [`Budgeted`] reader, kept by the entry loop.
#[derive(Clone)]
pub(super) struct Budget(Rc<Cell<Option<u64>>>);

impl<R: Read> Budgeted<R> {
    pub(super) fn new(inner: R) -> (Self, Budget) {
        let remaining = Rc::new(Cell::new(None));
        let budget = Budget(Rc::clone(&remaining));
        (Self { inner, remaining }, budget)
    }

    pub(super) fn into_inner(self) -> R {
        self.inner
    }
}

impl Budget {
    /// Starts counting: the next entry's headers must fit.
    pub(super) fn arm(&self) {
        self.0.set(Some(HEADER_BUDGET));
    }

    /// Stops counting: entry data is read freely.
    pub(super) fn disarm(&self) {
        self.0.set(None);
    }
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(remaining) = self.remaining.get() else {
            return self.inner.read(buf);
        };
        if remaining == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "tar header or extension member larger than 4 MiB",
            ));
        }
        let limit = buf
            .len()
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..limit])?;
        self.remaining.set(Some(remaining - n as u64));
        Ok(n)
    }
}
