//! A deterministic [`HostProbe`]: constants for memory, and simulated time for the
//! durations the core measures (commandstats, SLOWLOG). Nothing is read from the
//! machine running the simulation, so INFO and SLOWLOG replies are replayable.

use cinnabar_core::io::{CpuUsage, HostProbe};

/// Reported as used_memory: what an empty Redis 7.0 reports, give or take.
const USED_MEMORY_BYTES: u64 = 875_000;
/// Reported as used_memory_rss.
const RSS_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Default, Clone)]
pub struct SimProbe;

impl SimProbe {
    fn elapsed_us() -> u64 {
        turmoil::sim_elapsed().map_or(0, |d| d.as_micros() as u64)
    }
}

impl HostProbe for SimProbe {
    fn used_memory(&self) -> u64 {
        USED_MEMORY_BYTES
    }

    fn rss_bytes(&self) -> u64 {
        RSS_BYTES
    }

    fn cpu_usage(&self) -> CpuUsage {
        // A simulated host spends all its time in user space.
        CpuUsage {
            sys_us: 0,
            user_us: Self::elapsed_us(),
        }
    }

    fn elapsed_ns(&self) -> u64 {
        turmoil::sim_elapsed().map_or(0, |d| d.as_nanos() as u64)
    }
}
