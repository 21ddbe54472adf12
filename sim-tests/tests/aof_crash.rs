//! The AOF crash scenario (`scenarios/aof.rs`) over a batch of seeds: seeds 1..=60
//! (`AOF_CRASH_SEEDS=<n>` for more) and the fixed ones, or `AOF_CRASH_SEED=<seed>`
//! alone; over a batch, every interesting path must have been taken.

use cinnabar_sim_tests::scenarios::aof::{run, Tally, FIXED_SEEDS};
use cinnabar_sim_tests::scenarios::{Kind, RunInfo};

#[test]
fn a_crash_never_loses_what_the_fsync_policy_promises() {
    let seeds: Vec<u64> = match std::env::var("AOF_CRASH_SEED") {
        Ok(s) => vec![s.parse().expect("AOF_CRASH_SEED is a number")],
        // AOF_CRASH_SEEDS=<n> runs seeds 1..=n (a longer search), then the fixed ones.
        Err(_) => {
            let n = std::env::var("AOF_CRASH_SEEDS").map_or(60, |n| n.parse().expect("a count"));
            (1..=n)
                .chain(FIXED_SEEDS.iter().copied().filter(|s| *s > n))
                .collect()
        }
    };
    let mut tally = Tally::default();
    for seed in &seeds {
        let mut info = RunInfo {
            verbose: std::env::var("AOF_CRASH_SEED").is_ok(),
            ..RunInfo::default()
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(*seed, &mut tally, &mut info)
        }));
        if let Err(e) = result {
            eprintln!("scenario: {}", info.description);
            eprintln!("replay: {}", Kind::Aof.replay_command(*seed));
            std::panic::resume_unwind(e);
        }
    }
    eprintln!("{tally:?}");
    if seeds.len() > 1 {
        // The interesting paths were taken.
        assert!(tally.acked > 1000, "{tally:?}");
        assert!(tally.rewrites > 0, "{tally:?}");
        assert!(tally.lost_unpromised > 0, "{tally:?}");
        assert!(tally.promised_partly > 0, "{tally:?}");
        assert!(tally.exits > 0 && tally.misconf > 0, "{tally:?}");
        assert!(tally.cut_back > 0 && tally.refused_torn > 0, "{tally:?}");
        assert!(
            tally.delayed_fsync > 0 && tally.failed_rewrites > 0,
            "{tally:?}"
        );
    }
}
