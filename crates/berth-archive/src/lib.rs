//! berth-archive: the layer tar formats — unpacking a layer safely into a directory (never
//! writing outside it), overlay whiteouts, and writing a directory or a container diff as a tar.
