//! Switching the core's BUGGIFY fault points (`cinnabar_core::buggify`) on for the
//! simulated servers of one run: a run that wants them calls [`enable`] on its
//! thread before it steps the simulation, and every server host booted on that
//! thread until the returned guard drops has them on, its points drawn from its own
//! seed. Thread-local, because a simulation runs on one thread and its hosts are
//! booted by turmoil, far from the code that chose the run's scenario.

use cinnabar_core::buggify::{new_counts, FiredCounts};
use std::cell::RefCell;

/// Mixed into a host's seed for its BUGGIFY generator, so that it draws apart from
/// the core's main generator.
const SALT: u64 = 0xb0_6619_f1ed;

thread_local! {
    static COUNTS: RefCell<Option<FiredCounts>> = const { RefCell::new(None) };
}

/// While alive, servers booted on this thread run with BUGGIFY on.
pub struct Enabled {
    counts: FiredCounts,
}

impl Enabled {
    /// How often each point fired so far, over every host of the run.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        cinnabar_core::buggify::read_counts(&self.counts)
    }
}

impl Drop for Enabled {
    fn drop(&mut self) {
        COUNTS.with(|c| c.borrow_mut().take());
    }
}

/// Turn BUGGIFY on for the servers this thread boots from now on.
pub fn enable() -> Enabled {
    let counts = new_counts();
    COUNTS.with(|c| *c.borrow_mut() = Some(counts.clone()));
    Enabled { counts }
}

/// What a booting host passes to `Server::enable_buggify`, if BUGGIFY is on.
pub(crate) fn for_host(seed: u64) -> Option<(u64, FiredCounts)> {
    COUNTS.with(|c| c.borrow().clone().map(|counts| (seed ^ SALT, counts)))
}
