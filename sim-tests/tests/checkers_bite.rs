//! Proof that the simulation's checkers bite (issue 7): for each deliberately broken
//! build of the core (`cinnabar_core::injected::Bug`, behind the test-only
//! `injected-bugs` feature), the scenario whose checker should catch it runs over
//! seeds 1..=K with the bug switched on, and some seed must fail; the first failing
//! seed, how many seeds that took and the checker's message are printed. The same
//! seeds, run without the bug, must all pass (the control), so a failure is the
//! bug's and not the scenario's.
//!
//! ```sh
//! cargo test -p cinnabar-sim-tests --release --features injected-bugs --test checkers_bite -- --nocapture
//! ```
//!
//! `BITE_SEEDS=<k>` changes every bound (a longer search when measuring),
//! `BITE_COUNT=1` also counts how many of the seeds catch each bug, and
//! `BITE_SEED=<seed>` runs that seed alone with the checker's whole message and
//! each host's last trace lines.
#![cfg(feature = "injected-bugs")]

use cinnabar_core::injected::Bug;
use cinnabar_io_sim::injected::inject;
use cinnabar_sim_tests::scenarios::{self, Kind, SeedOutcome};

/// The scenario that must catch `bug`, and within how many seeds.
fn plan(bug: Bug) -> (Kind, u64) {
    let (kind, k) = match bug {
        Bug::AofReplyBeforeFsync => (Kind::Aof, 60),
        Bug::PsyncStaleOffset => (Kind::Replication, 30),
        Bug::ReplicaExpires => (Kind::Replication, 60),
        Bug::ForgetWatch => (Kind::Model, 100),
        Bug::TimersOnWallClock => (Kind::Model, 100),
        Bug::RdbRenameBeforeFsync => (Kind::Rdb, 100),
    };
    let k = std::env::var("BITE_SEEDS").map_or(k, |n| n.parse().expect("BITE_SEEDS is a count"));
    (kind, k)
}

/// Run seeds 1..=k of `kind` (or only `BITE_SEED`) with `bug` switched on until
/// one fails.
fn first_failure(bug: Bug, kind: Kind, k: u64) -> Option<SeedOutcome> {
    let _on = inject(bug);
    seeds(k)
        .map(|seed| scenarios::run(kind, seed))
        .find(|o| o.failure.is_some())
}

fn seeds(k: u64) -> Box<dyn Iterator<Item = u64>> {
    match std::env::var("BITE_SEED") {
        Ok(s) => Box::new(std::iter::once(s.parse().expect("BITE_SEED is a seed"))),
        Err(_) => Box::new(1..=k),
    }
}

/// The checker's verdict: the message's first line and, for the model checker, the
/// failing request and the reason after the history it shows (all of it with
/// `BITE_SEED`).
fn verdict(message: &str) -> String {
    let lines: Vec<&str> = message.lines().collect();
    if std::env::var("BITE_SEED").is_ok() {
        return lines.join("\n    ");
    }
    let from = lines
        .iter()
        .rposition(|l| l.starts_with("  failing:") || l.starts_with("  at the end of a step:"))
        .unwrap_or(lines.len());
    let mut shown: Vec<&str> = lines.iter().take(4.min(from)).copied().collect();
    if from < lines.len() {
        if from > 4 {
            shown.push("  …");
        }
        shown.extend(&lines[from..]);
    }
    shown.join("\n    ")
}

/// The bug is caught within the bound, and the seeds up to the catch pass without
/// it.
fn bites(bug: Bug, test: &str) {
    scenarios::quiet_panics();
    let (kind, k) = plan(bug);
    let Some(caught) = first_failure(bug, kind, k) else {
        // Panics are kept quiet for the scenarios' sake: say it before panicking.
        let why = format!(
            "{}: no checker of the {kind} scenario failed over seeds 1..={k} — a checker that never fails on a known bug is a defect",
            bug.name()
        );
        eprintln!("{why}");
        panic!("{why}");
    };
    if std::env::var("BITE_COUNT").is_ok() {
        // A measurement: how many of the seeds catch the bug.
        let _on = inject(bug);
        let caught_by = (1..=k)
            .filter(|seed| scenarios::run(kind, *seed).failure.is_some())
            .count();
        eprintln!("{}: caught by {caught_by} of seeds 1..={k}", bug.name());
    }
    let message = caught.failure.as_deref().unwrap_or_default();
    eprintln!(
        "{}: caught by the {kind} scenario at seed {} ({} seed{} run)\n    {}\n    replay: BITE_SEED={} cargo test -p cinnabar-sim-tests --release --features injected-bugs --test checkers_bite -- {test} --nocapture",
        bug.name(),
        caught.seed,
        caught.seed,
        if caught.seed == 1 { "" } else { "s" },
        verdict(message),
        caught.seed,
    );
    if std::env::var("BITE_SEED").is_ok() {
        for line in &caught.trace_tail {
            eprintln!("    {line}");
        }
    }
    // The control: without the bug, the same seeds pass.
    for seed in seeds(caught.seed) {
        let o = scenarios::run(kind, seed);
        if let Some(f) = o.failure {
            let why = format!("control: {kind} seed {seed} fails without any injected bug: {f}");
            eprintln!("{why}");
            panic!("{why}");
        }
    }
}

#[test]
fn aof_reply_before_fsync_is_caught() {
    bites(Bug::AofReplyBeforeFsync, "aof_reply_before_fsync_is_caught");
}

#[test]
fn psync_stale_offset_is_caught() {
    bites(Bug::PsyncStaleOffset, "psync_stale_offset_is_caught");
}

#[test]
fn replica_expires_is_caught() {
    bites(Bug::ReplicaExpires, "replica_expires_is_caught");
}

#[test]
fn forget_watch_is_caught() {
    bites(Bug::ForgetWatch, "forget_watch_is_caught");
}

#[test]
fn timers_on_wall_clock_is_caught() {
    bites(Bug::TimersOnWallClock, "timers_on_wall_clock_is_caught");
}

#[test]
fn rdb_rename_before_fsync_is_caught() {
    bites(
        Bug::RdbRenameBeforeFsync,
        "rdb_rename_before_fsync_is_caught",
    );
}

/// The shrinker on a real failure: a replication seed caught with a stale PSYNC
/// offset, cut down to a shorter fault schedule with fewer faults that the same
/// checker still fails, and the cut replays to the same failure.
#[test]
fn a_caught_replication_seed_shrinks_and_its_cut_replays() {
    shrinks_and_replays(Kind::Replication, Bug::PsyncStaleOffset, 30);
}

/// The same for the AOF scenario: a seed caught replying before the fsync, cut to
/// fewer steps of its crash cycles (and fewer fault windows) that still fail.
#[test]
fn a_caught_aof_seed_shrinks_and_its_cut_replays() {
    let s = shrinks_and_replays(Kind::Aof, Bug::AofReplyBeforeFsync, 60);
    assert!(
        s.after.0 < s.before.0,
        "no step of the crash cycles could be cut: {s:?}"
    );
}

/// The same for the RDB scenario: a seed caught with a save renamed before its
/// fsync, its crash (and the workload before it) brought forward as far as it
/// still fails.
#[test]
fn a_caught_rdb_seed_shrinks_and_its_cut_replays() {
    shrinks_and_replays(Kind::Rdb, Bug::RdbRenameBeforeFsync, 100);
}

/// The same for the linearizability scenario: an `aof-crash` seed (seeds 1, 4,
/// 7, … draw that variant) caught replying before the fsync, cut to a shorter
/// schedule with fewer crashes.
#[test]
fn a_caught_linear_seed_shrinks_and_its_cut_replays() {
    shrinks_and_replays(Kind::Linear, Bug::AofReplyBeforeFsync, 150);
}

/// Find the first seed in 1..=k of `kind` that `bug` fails, shrink it, and check
/// the cut is smaller and replays to a failure of the same class; returns the shrink.
fn shrinks_and_replays(kind: Kind, bug: Bug, k: u64) -> cinnabar_sim_tests::shrink::FaultShrunk {
    use cinnabar_sim_tests::shrink::{failure_class, shrink_faults};
    use std::time::Duration;
    scenarios::quiet_panics();
    let _on = inject(bug);
    let caught = (1..=k)
        .find(|&seed| scenarios::run(kind, seed).failure.is_some())
        .unwrap_or_else(|| panic!("{} is caught by {kind} within {k} seeds", bug.name()));
    let s = shrink_faults(kind, caught, Duration::from_secs(60), |line| {
        eprintln!("  {line}")
    })
    .expect("the caught seed fails again");
    eprintln!(
        "{kind} seed {caught}: {} ms and {} faults shrunk to {} ms and {} in {} tries (cut {})",
        s.before.0, s.before.1, s.after.0, s.after.1, s.tries, s.cut
    );
    assert!(
        s.after.0 < s.before.0 || s.after.1 < s.before.1,
        "nothing could be cut: {s:?}"
    );
    let (replayed, _, _) = scenarios::run_cut(kind, caught, &s.cut);
    let failure = replayed.failure.expect("the cut still fails");
    assert_eq!(failure_class(&failure), failure_class(&s.failure));
    s
}
