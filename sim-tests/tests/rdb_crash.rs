//! The RDB crash scenario (`scenarios/rdb.rs`) over seeds 1..=24, or
//! `RDB_CRASH_SEED=<seed>` alone.

use cinnabar_sim_tests::scenarios::rdb::{run, Tally};
use cinnabar_sim_tests::scenarios::{Kind, RunInfo};

#[test]
fn a_crash_during_saves_never_loses_the_last_durable_file() {
    let seeds: Vec<u64> = match std::env::var("RDB_CRASH_SEED") {
        Ok(s) => vec![s.parse().expect("RDB_CRASH_SEED is a number")],
        Err(_) => (1..=24).collect(),
    };
    let mut tally = Tally::default();
    for seed in &seeds {
        let mut info = RunInfo {
            verbose: std::env::var("RDB_CRASH_SEED").is_ok(),
            ..RunInfo::default()
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(*seed, &mut tally, &mut info)
        }));
        if let Err(e) = result {
            eprintln!("scenario: {}", info.description);
            eprintln!("replay: {}", Kind::Rdb.replay_command(*seed));
            std::panic::resume_unwind(e);
        }
    }
    if seeds.len() > 1 {
        // The crashes landed after some saves completed, and some in the middle of one.
        assert!(tally.completed > 24, "{tally:?}");
        assert!(tally.during > 0, "no crash hit a save in flight: {tally:?}");
    }
}
