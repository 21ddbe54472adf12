//! Switching one of the core's deliberately broken decisions
//! (`cinnabar_core::injected`, test-only, compiled only with the `injected-bugs`
//! feature) on for the simulated servers of one run: a test calls [`inject`] on its
//! thread before it steps the simulation, and every server host booted on that
//! thread until the returned guard drops runs with the bug. Thread-local, like
//! `buggify.rs`, because turmoil boots the hosts far from the code that chose the
//! run.

use cinnabar_core::injected::Bug;
use std::cell::Cell;

thread_local! {
    static BUG: Cell<Option<Bug>> = const { Cell::new(None) };
}

/// While alive, servers booted on this thread run with the bug switched on.
pub struct Injected {
    previous: Option<Bug>,
}

impl Drop for Injected {
    fn drop(&mut self) {
        BUG.with(|b| b.set(self.previous));
    }
}

/// Switch `bug` on for the servers this thread boots from now on.
pub fn inject(bug: Bug) -> Injected {
    Injected {
        previous: BUG.with(|b| b.replace(Some(bug))),
    }
}

/// The bug a booting host switches on, if any.
pub(crate) fn for_host() -> Option<Bug> {
    BUG.with(Cell::get)
}
