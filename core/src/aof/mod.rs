//! The append-only file's formats, apart from the server: the multi-part manifest
//! and file naming (`manifest.rs`), a dataset as commands for a base without the
//! RDB preamble (`rewrite.rs`), and reading a file's commands back (`load.rs`). The
//! server side (feeding, flushing, fsync policies, loading) is `server/aof.rs`; what
//! is fed comes from `server/propagate.rs`.

pub mod load;
pub mod manifest;
pub mod rewrite;
