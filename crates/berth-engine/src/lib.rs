//! berth-engine: the use cases of berth (import, run, build, rmi ...). The CLI and the API
//! server are thin faces over this crate.
