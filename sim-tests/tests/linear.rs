//! The linearizability scenario (`src/linear/`): seeds 1..=N (`LINEAR_SEEDS=<n>`
//! for more), or `LINEAR_SEED=<seed>` alone and verbosely; a determinism check;
//! and proof that the checker bites: histories from real runs doctored into
//! violations must be rejected, and so must some history of the AOF variant run
//! with `appendfsync everysec`, which may lose acknowledged writes in a crash.

use cinnabar_core::config::AppendFsync;
use cinnabar_sim_tests::linear::checker::{self, Op, Operation, Ret};
use cinnabar_sim_tests::linear::{self, Options, Tally, Variant};
use cinnabar_sim_tests::scenarios::{Kind, RunInfo};
use std::time::Instant;

/// Seeds in the default batch: well under a minute in a release build; fewer in a
/// debug build (`cargo test --workspace`), which is several times slower.
const DEFAULT_SEEDS: u64 = if cfg!(debug_assertions) { 40 } else { 300 };

fn run_seed(seed: u64, tally: &mut Tally, verbose: bool) -> RunInfo {
    let mut info = RunInfo {
        verbose,
        ..RunInfo::default()
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        linear::run(seed, tally, &mut info)
    }));
    if let Err(e) = result {
        eprintln!("scenario: {}", info.description);
        eprintln!("replay: {}", Kind::Linear.replay_command(seed));
        std::panic::resume_unwind(e);
    }
    info
}

#[test]
fn concurrent_clients_see_a_linearizable_server() {
    let seeds: Vec<u64> = match std::env::var("LINEAR_SEED") {
        Ok(s) => vec![s.parse().expect("LINEAR_SEED is a number")],
        Err(_) => {
            let n = std::env::var("LINEAR_SEEDS")
                .map_or(DEFAULT_SEEDS, |n| n.parse().expect("a count"));
            (1..=n)
                .chain(Kind::Linear.fixed_seeds().into_iter().filter(|s| *s > n))
                .collect()
        }
    };
    let verbose = std::env::var("LINEAR_SEED").is_ok();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut sim_ms = 0;
    for seed in &seeds {
        let info = run_seed(*seed, &mut tally, verbose);
        sim_ms += info.events.get("sim ms").copied().unwrap_or(0);
    }
    let wall = started.elapsed().as_secs_f64();
    eprintln!(
        "linear: {} seeds in {wall:.1} s ({:.1} seeds/s, {:.1} simulated s per wall s): {tally:?}",
        seeds.len(),
        seeds.len() as f64 / wall,
        sim_ms as f64 / 1000.0 / wall
    );
    if seeds.len() > 1 {
        // The interesting paths were taken.
        assert!(tally.ops > 1000, "{tally:?}");
        assert!(tally.crashes > 0 && tally.maybe > 0, "{tally:?}");
        assert!(tally.rewrites > 0 && tally.torn_writes > 0, "{tally:?}");
        assert!(tally.partitions > 0, "{tally:?}");
        assert_eq!(tally.inconclusive, 0, "{tally:?}");
        // Requests overlapped enough that the search had to backtrack.
        assert!(tally.backtracks > 0, "{tally:?}");
    }
}

#[test]
fn determinism() {
    // One seed of each variant, or the one asked for.
    let seeds: Vec<u64> = match std::env::var("LINEAR_SEED") {
        Ok(s) => vec![s.parse().expect("LINEAR_SEED is a number")],
        Err(_) => vec![1, 2, 3],
    };
    for seed in seeds {
        let a = run_seed(seed, &mut Tally::default(), false);
        let b = run_seed(seed, &mut Tally::default(), false);
        assert_eq!(a.digest, b.digest, "seed {seed}: {}", a.description);
        assert_eq!(a.events, b.events, "seed {seed}");
    }
}

/// A real run's history, of the healthy variant.
fn real_history(seed: u64) -> Vec<Operation> {
    let mut opts = Options::from_seed(seed);
    opts.variant = Variant::Healthy;
    let h = linear::record(seed, &opts, &mut Tally::default(), &mut RunInfo::default());
    assert!(
        checker::check(&h, checker::DEFAULT_BUDGET).linearizable(),
        "seed {seed}: the undoctored history"
    );
    h
}

fn completed(o: &Operation) -> Option<(std::time::Duration, &Ret)> {
    o.ret.as_ref().map(|(t, r)| (*t, r))
}

#[test]
fn the_checker_rejects_a_stale_read_doctored_into_a_real_history() {
    let mut doctored = 0;
    for seed in 1..=10 {
        let h = real_history(seed);
        // A completed GET g, a completed SET s returned before g was sent, and a
        // completed SET s0 of a value no other request writes, returned before s
        // was sent: g reading s0's value is stale.
        let found = h.iter().enumerate().find_map(|(gi, g)| {
            let (_, Ret::Bulk(_)) = completed(g)? else {
                return None;
            };
            if g.op != Op::Get {
                return None;
            }
            let s = h
                .iter()
                .filter(|s| {
                    s.key == g.key
                        && matches!(s.op, Op::Set(_))
                        && completed(s).is_some_and(|(t, _)| t < g.call)
                })
                .max_by_key(|s| s.call)?;
            let old = h.iter().find_map(|s0| match &s0.op {
                Op::Set(v)
                    if s0.key == g.key
                        && v.ends_with(b".")
                        && completed(s0).is_some_and(|(t, _)| t < s.call) =>
                {
                    Some(v.clone())
                }
                _ => None,
            })?;
            Some((gi, old))
        });
        let Some((gi, old)) = found else { continue };
        let mut bad = h.clone();
        bad[gi].ret.as_mut().expect("completed").1 = Ret::Bulk(Some(old));
        let summary = checker::check(&bad, checker::DEFAULT_BUDGET);
        assert!(
            !summary.linearizable(),
            "seed {seed}: a stale read at #{gi} was accepted"
        );
        let text = summary.violations[0].describe(&bad);
        assert!(text.contains(&format!("#{gi} ")), "{text}");
        doctored += 1;
    }
    assert!(
        doctored >= 5,
        "only {doctored} histories had a stale read to plant"
    );
}

#[test]
fn the_checker_rejects_a_read_of_a_later_write_doctored_into_a_real_history() {
    let mut doctored = 0;
    for seed in 11..=20 {
        let h = real_history(seed);
        // A completed GET g and a SET of a unique value sent after g returned.
        let found = h.iter().enumerate().find_map(|(gi, g)| {
            let (gret, _) = completed(g)?;
            if g.op != Op::Get {
                return None;
            }
            h.iter().find_map(|s| match &s.op {
                Op::Set(v) if s.key == g.key && v.ends_with(b".") && s.call > gret => {
                    Some((gi, v.clone()))
                }
                _ => None,
            })
        });
        let Some((gi, later)) = found else { continue };
        let mut bad = h.clone();
        bad[gi].ret.as_mut().expect("completed").1 = Ret::Bulk(Some(later));
        assert!(
            !checker::check(&bad, checker::DEFAULT_BUDGET).linearizable(),
            "seed {seed}: a read from the future at #{gi} was accepted"
        );
        doctored += 1;
    }
    assert!(
        doctored >= 5,
        "only {doctored} histories had a read to plant"
    );
}

#[test]
fn the_checker_rejects_everysec_losing_acknowledged_writes() {
    // Under everysec a crash may lose the last second of acknowledged writes: a
    // read after the restart then misses a write that completed before it.
    let mut rejected = 0;
    let mut tally = Tally::default();
    let seeds = 1..=8u64;
    for seed in seeds.clone() {
        let mut opts = Options::from_seed(seed);
        opts.variant = Variant::AofCrash;
        opts.fsync = AppendFsync::Everysec;
        let h = linear::record(seed, &opts, &mut tally, &mut RunInfo::default());
        let summary = linear::check(&h, &mut tally);
        if !summary.linearizable() {
            rejected += 1;
            if rejected == 1 {
                eprintln!(
                    "everysec, seed {seed}:\n{}",
                    summary.violations[0].describe(&h)
                );
            }
        }
    }
    eprintln!(
        "everysec: {rejected} of {} seeds rejected; {tally:?}",
        seeds.count()
    );
    assert!(
        rejected > 0,
        "no everysec history rejected: the checker is blind"
    );
}
