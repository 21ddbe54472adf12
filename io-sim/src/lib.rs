//! cinnabar-io-sim: the production core and the production event loop
//! (`cinnabar_io_real::driver`), run inside a turmoil host.
//!
//! Nothing here re-implements the server: a simulated run differs from a real one only
//! in what the loop is plugged into — turmoil's TCP instead of the kernel's
//! (`host`), turmoil's simulated filesystem instead of the host's (`disk`), a wall clock the simulation can jump in either direction (`clock`), a
//! deterministic host probe (`probe`), and an observer that records every event and
//! effect with its time (`trace`), which is what determinism tests hash and what model
//! checkers replay.
//!
//! **Invariant:** given the same seed for turmoil, the core and the workload, a run
//! produces the same trace, byte for byte. Everything random in a run is drawn from a
//! seeded generator; nothing reads the host's clock.

pub mod buggify;
pub mod clock;
pub mod disk;
pub mod host;
pub mod probe;
pub mod trace;

pub use clock::{SimWallClock, WallOffset};
pub use disk::{DiskFaults, FaultConfig, FaultCounts, SimDisk};
pub use host::{serve, serve_with_faults, ServerOptions, SERVER_PORT};
pub use probe::SimProbe;
pub use trace::{FootprintWatch, Recorder, Trace, TraceEntry, Written};
