//! The replication scenario (`scenarios/replication.rs`) over seeds 1..=12
//! (`REPL_SIM_SEEDS=<n>` for more) and the fixed ones, or `REPL_SIM_SEED=<seed>`
//! alone with every host's log; over a batch, both resync paths, every fault and a
//! failover must have happened.

use cinnabar_sim_tests::scenarios::replication::{run, Tally, FIXED_SEEDS};
use cinnabar_sim_tests::scenarios::{Kind, RunInfo};

#[test]
fn replicas_converge_and_resync_partially_when_the_backlog_allows() {
    let seeds: Vec<u64> = match std::env::var("REPL_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("REPL_SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("REPL_SIM_SEEDS").map_or(12, |n| n.parse().expect("a count"));
            let fixed = FIXED_SEEDS.iter().copied().filter(|s| *s > n);
            (1..=n).chain(fixed).collect()
        }
    };
    let mut tally = Tally::default();
    for seed in &seeds {
        let mut info = RunInfo {
            verbose: std::env::var("REPL_SIM_SEED").is_ok(),
            ..RunInfo::default()
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(*seed, &mut tally, &mut info)
        }));
        if let Err(e) = result {
            eprintln!("scenario: {}", info.description);
            eprintln!("replay: {}", Kind::Replication.replay_command(*seed));
            std::panic::resume_unwind(e);
        }
    }
    eprintln!("{tally:?}");
    if seeds.len() > 1 {
        assert!(tally.full > 0 && tally.partial > 0, "{tally:?}");
        assert!(tally.psync_full > 0 && tally.psync_partial > 0, "{tally:?}");
        assert!(
            tally.partitions > 0 && tally.crashes > 0 && tally.jumps > 0,
            "{tally:?}"
        );
        assert!(tally.waits > 0 && tally.wait_counted > 0, "{tally:?}");
        assert!(tally.refusals > 0, "{tally:?}");
        // Deadlines were taken off keys (what a replica expiring keys itself loses).
        assert!(tally.persisted > 0, "{tally:?}");
        // Failovers happened, a replica continued with a promoted one, and the
        // acknowledged writes were looked for on a promoted one.
        assert!(
            tally.promotions > 0 && tally.promoted_partial > 0 && tally.acked_checked > 0,
            "{tally:?}"
        );
    }
}
