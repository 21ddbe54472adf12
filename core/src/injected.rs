//! Deliberately broken builds, for tests only: each [`Bug`] is a known way to get a
//! decision of the core wrong, and the simulation's checkers must catch every one of
//! them within a bounded number of seeds (`sim-tests/tests/checkers_bite.rs`). A
//! checker that never fails on a known bug is a defect.
//!
//! This module, and every branch that consults it, is compiled only with the
//! `injected-bugs` feature (off by default, and never on in a release of the
//! server): without it none of this code exists. With it, a bug is still off unless
//! a backend switches it on for one server (`Server::inject_bug`), which only the
//! simulation does (`cinnabar_io_sim::injected`).

/// The bugs, each a small branch at the real decision point it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// With `appendfsync always`, a write's reply leaves once the AOF write is done,
    /// before the fsync covering it completes (no group commit): a crash can lose an
    /// acknowledged write. Site: `Server::aof_release_offset`.
    AofReplyBeforeFsync,
    /// A master accepting a partial resync answers `+CONTINUE` but streams its
    /// backlog from one command past the offset the replica asked for: the replica
    /// silently misses a write. Site: `Server::try_partial_resync`.
    PsyncStaleOffset,
    /// A replica deletes keys whose deadline passed by its own clock (lazily and in
    /// the active expire cycle) instead of only hiding them until its master's DEL.
    /// Sites: `Server::expire_if_needed_with`, `Server::server_cron`,
    /// `Server::before_sleep`.
    ReplicaExpires,
    /// A write to a WATCHed key does not flag the watching clients, so their EXEC
    /// runs where it must abort. Site: `Server::signal_modified_key`.
    ForgetWatch,
    /// Blocking commands' timeouts are deadlines on the wall clock instead of the
    /// monotonic one, so a wall-clock jump forwards fires them early and one
    /// backwards fires them late. Sites: `Server::block_for_keys`,
    /// `Server::handle_blocked_timeouts`, `Server::poll_timeout`.
    TimersOnWallClock,
}

impl Bug {
    pub const ALL: [Bug; 5] = [
        Bug::AofReplyBeforeFsync,
        Bug::PsyncStaleOffset,
        Bug::ReplicaExpires,
        Bug::ForgetWatch,
        Bug::TimersOnWallClock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::AofReplyBeforeFsync => "reply before the AOF fsync",
            Bug::PsyncStaleOffset => "PSYNC continues from a stale offset",
            Bug::ReplicaExpires => "a replica expires keys itself",
            Bug::ForgetWatch => "a write forgets to flag its watchers",
            Bug::TimersOnWallClock => "blocking timeouts on the wall clock",
        }
    }
}

/// The bug switched on for one server, if any.
#[derive(Debug, Default, Clone, Copy)]
pub struct Injected {
    bug: Option<Bug>,
}

impl Injected {
    pub fn new(bug: Bug) -> Injected {
        Injected { bug: Some(bug) }
    }

    /// Is `bug` the one switched on?
    #[inline]
    pub fn is(self, bug: Bug) -> bool {
        self.bug == Some(bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_injected_bug_is_on() {
        assert!(Bug::ALL.iter().all(|b| !Injected::default().is(*b)));
        for bug in Bug::ALL {
            let on = Injected::new(bug);
            for other in Bug::ALL {
                assert_eq!(on.is(other), other == bug);
            }
        }
    }
}
