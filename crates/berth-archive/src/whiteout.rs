//! The two spellings of a deletion: OCI layer tars use AUFS-style `.wh.` files, overlayfs uses
//! 0/0 character devices and the `trusted.overlay.opaque` attribute.

use crate::name::RelPath;

/// Prefix of a whiteout file: `dir/.wh.NAME` deletes `dir/NAME` of the layers below.
pub(crate) const PREFIX: &[u8] = b".wh.";
/// `dir/.wh..wh..opq` hides everything the layers below have in `dir`.
pub(crate) const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";
/// AUFS kept its own bookkeeping under names starting with this (`.wh..wh.plnk`, `.wh..wh.aufs`);
/// it means nothing to an overlay layer.
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";
/// Overlay's mark of an opaque directory, with the value `y`.
pub(crate) const OPAQUE_XATTR: &str = "trusted.overlay.opaque";
/// Overlay keeps its metadata (opaque, redirect, origin, metacopy ...) under these prefixes. A tar
/// never gets to set them directly, and we never write them out: the only overlay metadata that
/// crosses the tar boundary is the whiteout conversion itself.
const OVERLAY_XATTR_PREFIXES: [&[u8]; 2] = [b"trusted.overlay.", b"user.overlay."];

/// What a file name means to the layer format.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Whiteout<'a> {
    /// Not a whiteout.
    No,
    /// `.wh..wh..opq`: the directory holding it is opaque.
    Opaque,
    /// `.wh.NAME`: `NAME` is deleted.
    Remove(&'a [u8]),
}

pub(crate) fn classify(name: &[u8]) -> Whiteout<'_> {
    if name == OPAQUE_MARKER {
        Whiteout::Opaque
    } else if let Some(target) = name.strip_prefix(PREFIX) {
        Whiteout::Remove(target)
    } else {
        Whiteout::No
    }
}

/// Whether any component is AUFS bookkeeping, to be skipped whole.
pub(crate) fn is_aufs_meta(path: &RelPath) -> bool {
    path.parts()
        .iter()
        .any(|p| p.starts_with(AUFS_META_PREFIX) && p.as_slice() != OPAQUE_MARKER)
}

pub(crate) fn is_overlay_xattr(key: &[u8]) -> bool {
    OVERLAY_XATTR_PREFIXES.iter().any(|p| key.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        assert_eq!(classify(b".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(classify(b".wh.passwd"), Whiteout::Remove(b"passwd"));
        assert_eq!(classify(b"passwd"), Whiteout::No);
        assert_eq!(classify(b"x.wh.y"), Whiteout::No);
    }

    #[test]
    fn aufs_bookkeeping_is_recognised_at_any_depth() {
        assert!(is_aufs_meta(
            &RelPath::parse(b".wh..wh.plnk/123.4").unwrap()
        ));
        assert!(is_aufs_meta(&RelPath::parse(b"a/.wh..wh.aufs").unwrap()));
        assert!(!is_aufs_meta(&RelPath::parse(b"a/.wh..wh..opq").unwrap()));
        assert!(!is_aufs_meta(&RelPath::parse(b"a/.wh.b").unwrap()));
    }
}
