//! berth-store: content-addressed blobs, unpacked layers, the metadata database and image
//! references. Every other part of berth stands on it.
