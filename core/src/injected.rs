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
    /// backlog from one write past the offset the replica asked for (past the
    /// first command that is not a PING, SELECT or REPLCONF): the replica silently
    /// misses that write. Site: `Server::try_partial_resync`.
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
    /// An RDB save renames its temp file into place without the fsync that makes
    /// its bytes durable first: a crash soon after a save that reported success can
    /// leave a torn `dump.rdb`. Site: `Server::finish_save_file`.
    RdbRenameBeforeFsync,
}

impl Bug {
    pub const ALL: [Bug; 6] = [
        Bug::AofReplyBeforeFsync,
        Bug::PsyncStaleOffset,
        Bug::ReplicaExpires,
        Bug::ForgetWatch,
        Bug::TimersOnWallClock,
        Bug::RdbRenameBeforeFsync,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::AofReplyBeforeFsync => "reply before the AOF fsync",
            Bug::PsyncStaleOffset => "PSYNC continues from a stale offset",
            Bug::ReplicaExpires => "a replica expires keys itself",
            Bug::ForgetWatch => "a write forgets to flag its watchers",
            Bug::TimersOnWallClock => "blocking timeouts on the wall clock",
            Bug::RdbRenameBeforeFsync => "an RDB file renamed before its fsync",
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
    use crate::testing::{decode, encode_command, Frame, TestServer};

    fn server(bug: Option<Bug>) -> TestServer {
        let mut t = TestServer::new();
        if let Some(bug) = bug {
            t.server.inject_bug(bug);
        }
        t
    }

    #[test]
    fn forget_watch_lets_exec_run_after_a_write_to_the_watched_key() {
        for bug in [None, Some(Bug::ForgetWatch)] {
            let mut t = server(bug);
            let (a, b) = (t.connect(), t.connect());
            assert_eq!(t.cmd_on(a, &["WATCH", "k"]), Frame::ok());
            assert_eq!(t.cmd_on(b, &["SET", "k", "1"]), Frame::ok());
            assert_eq!(t.cmd_on(a, &["MULTI"]), Frame::ok());
            assert_eq!(t.cmd_on(a, &["GET", "k"]), Frame::Simple("QUEUED".into()));
            let want = match bug {
                None => Frame::Null,
                Some(_) => Frame::Array(vec![Frame::bulk("1")]),
            };
            assert_eq!(t.cmd_on(a, &["EXEC"]), want, "{bug:?}");
        }
    }

    #[test]
    fn timers_on_wall_clock_fire_a_timeout_early_after_a_jump_forwards() {
        for bug in [None, Some(Bug::TimersOnWallClock)] {
            let mut t = server(bug);
            let c = t.connect();
            t.send_raw(c, &encode_command(&[b"BLPOP", b"k", b"10"]));
            t.drain();
            assert_eq!(t.take_output(c), b"", "{bug:?}");
            // The next timer (a cron) sees the jumped clock.
            t.jump_wall_ms(60_000);
            t.advance_ms(200);
            let out = t.take_output(c);
            match bug {
                None => assert_eq!(out, b"", "a jump of the wall clock fires nothing"),
                Some(_) => assert_eq!(decode(&out).map(|(f, _)| f), Some(Frame::Null)),
            }
        }
    }

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
