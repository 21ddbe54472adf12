//! cinnabar-sim-tests: seeded simulations of a cinnabar server and its clients inside
//! turmoil, checked against a reference model of the commands.
//!
//! One `u64` seed decides everything: the [`scenario`] (how many clients, network
//! latencies, keyspace, TTL use, encoding thresholds, wall-clock jumps), every
//! client's [`workload`], and the seeds handed to turmoil and to the core. [`runner`] builds the simulation from
//! it (the server is `cinnabar-io-sim`, the production loop on simulated TCP) and
//! collects the server's trace and what each [`client`] sent and received. [`checker`]
//! then replays the trace through the [`model`]: the server is single-threaded, so the
//! order in which it handled inputs is the order of truth.
//!
//! Beside it, [`scenarios`] holds the fault scenarios (AOF and RDB crashes,
//! replication) and [`linear`] checks concurrent clients' histories for
//! linearizability, all behind `scenarios::run` for the soak runner.
//!
//! A failure names its seed and the command that replays it (see `README.md`).

pub mod checker;
pub mod client;
pub mod gen;
pub mod glob;
pub mod linear;
pub mod model;
pub mod numbers;
pub mod resp;
pub mod runner;
pub mod scenario;
pub mod scenarios;
pub mod seeds;
pub mod shrink;
pub mod workload;
