//! cinnabar-core: the whole Redis server logic as a deterministic, I/O-free state machine.
//!
//! # The contract
//!
//! A backend (real sockets and files in `cinnabar-io-real`, turmoil's simulated ones in
//! `cinnabar-io-sim`) owns every socket, file, clock and thread. It drives one
//! [`Server`] through four calls, in this order, forever:
//!
//! 1. **Inputs** — [`Server::handle`] for each [`Event`] that happened (a connection
//!    accepted, bytes read, bytes written, a peer closed, a signal), and
//!    [`Server::handle_timeout`] when the deadline from `poll_timeout` has passed.
//!    Every input carries a [`Now`]: the monotonic clock (never decreasing — asserted)
//!    and the wall clock (free to jump either way). The backend reports every byte of
//!    every `Send` once written ([`Event::Sent`]): what is handed over and unreported
//!    is output the peer has not taken, which client-output-buffer-limit bounds.
//! 2. **Outputs** — [`Server::poll_effect`] until it returns `None`. Replies are
//!    coalesced per connection: all replies produced by the inputs since the last drain
//!    leave as one [`Effect::Send`] per connection (Redis's `beforeSleep` flush).
//! 3. **Sleep** — [`Server::poll_timeout`] names the monotonic instant at which the
//!    backend must call `handle_timeout` next, if nothing else happens first.
//!
//! The core never reads a clock, never touches a file or socket, never spawns a thread
//! and never draws randomness from the OS: all randomness comes from one ChaCha RNG
//! seeded by the backend. `core/clippy.toml` makes those rules checked. The same seed
//! and the same inputs therefore give the same effects, byte for byte.
//!
//! The one window onto the host is [`HostProbe`], read only for observability (INFO's
//! memory and CPU fields, command durations in SLOWLOG and commandstats); a simulated
//! backend answers it deterministically.

pub mod aof;
pub mod buggify;
pub mod client;
pub mod cmd;
pub mod command;
pub mod config;
pub mod db;
pub mod dict;
pub mod digest;
pub mod fuzz_checks;
pub mod glob;
pub mod hll;
#[cfg(feature = "injected-bugs")]
pub mod injected;
pub mod intset;
pub mod io;
pub mod listpack;
pub mod longdouble;
pub mod lzf;
pub mod object;
pub mod rdb;
pub mod resp;
pub mod rng;
pub mod server;
pub mod slowlog;
pub mod stats;
pub mod testing;
pub mod types;
pub mod util;

pub use config::Config;
pub use io::{
    ConnId, Effect, Event, FileId, HostInfo, HostProbe, IoError, IoErrorKind, IoId, IoOp, IoOutput,
    IoQueue, LogLevel, MonoNs, Now, OpenMode, Signal, UnixUs,
};
pub use server::Server;

/// The Redis version cinnabar reports (INFO, HELLO, the startup log) and behaves like.
pub const REDIS_VERSION: &str = "7.0.15";
/// cinnabar's own version.
pub const CINNABAR_VERSION: &str = env!("CARGO_PKG_VERSION");
