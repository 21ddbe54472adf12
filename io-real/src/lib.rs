//! cinnabar-io-real: runs the deterministic core on real TCP sockets with tokio.
//!
//! `driver` is the one event loop, generic over the stream type and the wall clock so
//! that `cinnabar-io-sim` runs the very same loop on turmoil's simulated network.
//! The rest is what only a real process needs: command-line and config-file loading
//! (`args`), listening sockets (`listen`), log lines (`log`), host readings (`probe`) and
//! the real disk behind the core's `Effect::Io` (`disk`).

pub mod args;
pub mod disk;
pub mod driver;
pub mod listen;
pub mod log;
pub mod probe;
