//! The soak runner: many seeds of every simulation scenario in parallel, with
//! progress, the figures of the batch, and everything needed to replay a failure.
//!
//! ```text
//! cargo run -p cinnabar-sim-tests --release --bin soak -- [--seeds N] [--from S] [--jobs J]
//!     [--scenario model,aof,rdb,replication,linear] [--time-budget 10m] [--fixed] [--shrink]
//!     [--cut <cut>] [--fault-cut <cut>]
//! ```
//!
//! Seed `k` of the batch runs scenario `k % scenarios` with seed `from + k / scenarios`,
//! so every scenario gets consecutive seeds from `from` (drawn from the OS and printed
//! when not given). The batch stops after `--seeds` seeds of each scenario or when
//! `--time-budget` (`90s`, `10m`, `1h`) runs out, whichever is first (`--seeds 100` when
//! neither is given). `--fixed` first runs every scenario's regression seeds.
//! `--shrink` cuts each failing model seed down to fewer steps that still fail the
//! same way, and each failing seed of the fault scenarios (aof, rdb, replication,
//! linear) down to a shorter fault schedule with fewer faults; `--cut` replays a model
//! cut (with `--scenario model --from <seed> --seeds 1`), `--fault-cut` a fault cut
//! (with `--scenario <fault scenario> --from <seed> --seeds 1`). The exit status is 1
//! when any seed failed.

use cinnabar_sim_tests::scenario::{Cut, Scenario};
use cinnabar_sim_tests::scenarios::{self, FaultCut, Kind, SeedOutcome};
use cinnabar_sim_tests::{runner, shrink};
use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often the progress line is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Time a shrink may take per failing seed.
const SHRINK_BUDGET: Duration = Duration::from_secs(300);

struct Options {
    seeds: Option<u64>,
    from: Option<u64>,
    jobs: usize,
    kinds: Vec<Kind>,
    budget: Option<Duration>,
    fixed: bool,
    shrink: bool,
    cut: Option<Cut>,
    fault_cut: Option<FaultCut>,
}

fn usage() -> String {
    "usage: soak [--seeds N] [--from S] [--jobs J] [--scenario model,aof,rdb,replication] \
     [--time-budget 10m] [--fixed] [--shrink] [--cut <cut>] [--fault-cut <cut>]"
        .into()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("bad duration {s:?} (use 90s, 10m, 1h)")),
    };
    Ok(Duration::from_secs(secs))
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        seeds: None,
        from: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kinds: Kind::ALL.to_vec(),
        budget: None,
        fixed: false,
        shrink: false,
        cut: None,
        fault_cut: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{a} needs a value\n{}", usage()))
        };
        match a.as_str() {
            "--seeds" => o.seeds = Some(value()?.parse().map_err(|_| "--seeds takes a count")?),
            "--from" => o.from = Some(value()?.parse().map_err(|_| "--from takes a seed")?),
            "--jobs" => o.jobs = value()?.parse().map_err(|_| "--jobs takes a count")?,
            "--scenario" => {
                o.kinds = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<Vec<Kind>, String>>()?
            }
            "--time-budget" => o.budget = Some(parse_duration(&value()?)?),
            "--fixed" => o.fixed = true,
            "--shrink" => o.shrink = true,
            "--cut" => o.cut = Some(Cut::parse(&value()?)?),
            "--fault-cut" => o.fault_cut = Some(FaultCut::parse(&value()?)?),
            "--help" | "-h" => return Err(usage()),
            _ => return Err(format!("unknown argument {a:?}\n{}", usage())),
        }
    }
    if o.jobs == 0 || o.kinds.is_empty() {
        return Err(usage());
    }
    if o.seeds.is_none() && o.budget.is_none() {
        o.seeds = Some(100);
    }
    Ok(o)
}

/// A seed from the OS: the batch's only non-replayable choice, printed first.
fn fresh_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    // Small enough to type, far enough apart to be fresh.
    h.finish() % 1_000_000_000_000
}

/// Per scenario: seeds run and failed, simulated and real time.
#[derive(Default)]
struct Totals {
    seeds: u64,
    failed: u64,
    sim: Duration,
    real: Duration,
    events: BTreeMap<String, u64>,
}

fn report_failure(o: &SeedOutcome) {
    eprintln!("\n=== FAILED: scenario {} seed {}", o.kind, o.seed);
    eprintln!("  scenario: {}", o.description);
    let failure = o.failure.as_deref().unwrap_or_default();
    eprintln!("  checker: {}", failure.replace('\n', "\n  "));
    if !o.trace_tail.is_empty() {
        eprintln!("  last trace lines:");
        for l in &o.trace_tail {
            eprintln!("    {l}");
        }
    }
    eprintln!("  replay: {}", o.kind.replay_command(o.seed));
    eprintln!(
        "  or:     cargo run -p cinnabar-sim-tests --release --bin soak -- --scenario {} --from {} --seeds 1",
        o.kind, o.seed
    );
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    scenarios::quiet_panics();
    if let Some(cut) = &opts.cut {
        return replay_cut(&opts, cut);
    }
    if let Some(cut) = &opts.fault_cut {
        return replay_fault_cut(&opts, cut);
    }
    let from = opts.from.unwrap_or_else(fresh_seed);
    let kinds = opts.kinds.clone();
    let mut work: Vec<(Kind, u64)> = Vec::new();
    if opts.fixed {
        for k in &kinds {
            work.extend(k.fixed_seeds().into_iter().map(|s| (*k, s)));
        }
    }
    let fixed_count = work.len();
    let per_kind = opts.seeds.unwrap_or(u64::MAX);
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    eprintln!(
        "soak: scenarios {} from seed {from}, {} jobs, {}{}{}",
        names.join(","),
        opts.jobs,
        match opts.seeds {
            Some(n) => format!("{n} seeds each"),
            None => "seeds without limit".into(),
        },
        match opts.budget {
            Some(b) => format!(", time budget {}s", b.as_secs()),
            None => String::new(),
        },
        if fixed_count > 0 {
            format!(", {fixed_count} fixed seeds first")
        } else {
            String::new()
        }
    );

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<SeedOutcome>();
    let total_work = fixed_count as u64 + per_kind.saturating_mul(kinds.len() as u64);
    let mut totals: BTreeMap<Kind, Totals> = BTreeMap::new();
    let mut failures: Vec<SeedOutcome> = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs {
            let (tx, next, stop, work, kinds) = (tx.clone(), &next, &stop, &work, &kinds);
            let budget = opts.budget;
            scope.spawn(move || {
                scenarios::quiet_panics();
                loop {
                    if stop.load(Ordering::Relaxed)
                        || budget.is_some_and(|b| started.elapsed() >= b)
                    {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k as u64 >= total_work {
                        return;
                    }
                    let (kind, seed) = match work.get(k) {
                        Some(&w) => w,
                        None => {
                            let i = (k - work.len()) as u64;
                            let n = kinds.len() as u64;
                            (kinds[(i % n) as usize], from.wrapping_add(i / n))
                        }
                    };
                    if tx.send(scenarios::run(kind, seed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut last_progress = Instant::now();
        let mut done = 0u64;
        loop {
            match rx.recv_timeout(Duration::from_millis(500)) {
                Ok(o) => {
                    done += 1;
                    let t = totals.entry(o.kind).or_default();
                    t.seeds += 1;
                    t.sim += o.sim_elapsed;
                    t.real += o.real_elapsed;
                    for (e, n) in &o.events {
                        merge_event(&mut t.events, e, *n);
                    }
                    if o.failure.is_some() {
                        t.failed += 1;
                        report_failure(&o);
                        failures.push(o);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                let sim: f64 = totals.values().map(|t| t.sim.as_secs_f64()).sum();
                let per: Vec<String> = totals
                    .iter()
                    .map(|(k, t)| format!("{k} {}", t.seeds))
                    .collect();
                eprintln!(
                    "[{secs:.0}s] {done} seeds ({:.1}/s; {}), {:.0} simulated s ({:.1}x wall), {} failed",
                    done as f64 / secs,
                    per.join(", "),
                    sim,
                    sim / secs,
                    failures.len()
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
    });

    print_figures(&totals, started.elapsed(), opts.jobs);
    if opts.shrink {
        for f in &failures {
            match f.kind {
                Kind::Model => shrink_one(f.seed),
                kind => shrink_faults_of(kind, f.seed),
            }
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("\n{} seed(s) failed:", failures.len());
        for f in &failures {
            eprintln!("  {} seed {}: {}", f.kind, f.seed, first_line(f));
        }
        ExitCode::FAILURE
    }
}

fn first_line(o: &SeedOutcome) -> &str {
    o.failure
        .as_deref()
        .and_then(|f| f.lines().next())
        .unwrap_or_default()
}

fn print_figures(totals: &BTreeMap<Kind, Totals>, wall: Duration, jobs: usize) {
    let secs = wall.as_secs_f64().max(1e-9);
    println!("\nsoak figures ({jobs} jobs, {secs:.1} s wall):");
    println!(
        "  {:<12} {:>7} {:>7} {:>10} {:>12} {:>14}",
        "scenario", "seeds", "failed", "seeds/s", "simulated s", "sim/wall (1 job)"
    );
    let mut all = Totals::default();
    for (k, t) in totals {
        println!(
            "  {:<12} {:>7} {:>7} {:>10.2} {:>12.0} {:>14.1}",
            k.name(),
            t.seeds,
            t.failed,
            t.seeds as f64 / secs,
            t.sim.as_secs_f64(),
            t.sim.as_secs_f64() / t.real.as_secs_f64().max(1e-9),
        );
        all.seeds += t.seeds;
        all.failed += t.failed;
        all.sim += t.sim;
        all.real += t.real;
        for (e, n) in &t.events {
            merge_event(&mut all.events, e, *n);
        }
    }
    println!(
        "  {:<12} {:>7} {:>7} {:>10.2} {:>12.0} {:>14.1}   ({:.1} simulated s per wall s over all jobs)",
        "all",
        all.seeds,
        all.failed,
        all.seeds as f64 / secs,
        all.sim.as_secs_f64(),
        all.sim.as_secs_f64() / all.real.as_secs_f64().max(1e-9),
        all.sim.as_secs_f64() / secs,
    );
    println!("\n  faults and events (summed over the scenarios; peaks are the largest):");
    for (e, n) in &all.events {
        println!("    {n:>10}  {e}");
    }
}

/// Counts add up over seeds; peaks (`memory: peak …`) keep the largest.
fn merge_event(events: &mut BTreeMap<String, u64>, name: &str, n: u64) {
    let e = events.entry(name.to_string()).or_default();
    if name.contains(": peak ") {
        *e = (*e).max(n);
    } else {
        *e += n;
    }
}

fn shrink_one(seed: u64) {
    eprintln!("\n=== shrinking model seed {seed}");
    let Some(s) = shrink::shrink_model(seed, SHRINK_BUDGET, |line| eprintln!("  {line}")) else {
        eprintln!("  seed {seed} no longer fails");
        return;
    };
    eprintln!(
        "  shrunk from {} to {} steps and jumps in {} tries; cut: {}",
        s.size_before, s.size_after, s.tries, s.cut
    );
    eprintln!("  still fails: {}", s.failure.message.replace('\n', "\n  "));
    eprintln!(
        "  replay: cargo run -p cinnabar-sim-tests --release --bin soak -- --scenario model --from {seed} --seeds 1 --cut '{}'",
        s.cut
    );
    eprintln!(
        "      or: SIM_SEED={seed} SIM_CUT='{}' cargo test -p cinnabar-sim-tests --release -- strings_and_keys --nocapture",
        s.cut
    );
}

fn shrink_faults_of(kind: Kind, seed: u64) {
    eprintln!("\n=== shrinking {kind} seed {seed}");
    let Some(s) = shrink::shrink_faults(kind, seed, SHRINK_BUDGET, |line| eprintln!("  {line}"))
    else {
        eprintln!("  seed {seed} no longer fails");
        return;
    };
    eprintln!(
        "  shrunk from {} ms and {} faults to {} ms and {} faults in {} tries; cut: {}",
        s.before.0, s.before.1, s.after.0, s.after.1, s.tries, s.cut
    );
    eprintln!("  still fails: {}", s.failure.replace('\n', "\n  "));
    eprintln!(
        "  replay: cargo run -p cinnabar-sim-tests --release --bin soak -- --scenario {kind} --from {seed} --seeds 1 --fault-cut '{}'",
        s.cut
    );
}

fn replay_fault_cut(opts: &Options, cut: &FaultCut) -> ExitCode {
    let (Some(seed), [kind]) = (opts.from, opts.kinds.as_slice()) else {
        eprintln!(
            "--fault-cut replays one seed of a fault scenario: --scenario aof|rdb|replication|linear --from <seed> --seeds 1 --fault-cut <cut>"
        );
        return ExitCode::from(2);
    };
    if *kind == Kind::Model {
        eprintln!("the model scenario takes --cut, not --fault-cut");
        return ExitCode::from(2);
    };
    let (o, ms, drawn) = scenarios::run_cut(*kind, seed, cut);
    eprintln!("scenario (seed {seed}): {}", o.description);
    eprintln!("{} ms of faults uncut, {drawn} faults drawn", ms);
    match &o.failure {
        None => {
            println!("seed {seed} with cut {cut}: every checker passed");
            ExitCode::SUCCESS
        }
        Some(_) => {
            report_failure(&o);
            ExitCode::FAILURE
        }
    }
}

fn replay_cut(opts: &Options, cut: &Cut) -> ExitCode {
    let (Some(seed), [Kind::Model]) = (opts.from, opts.kinds.as_slice()) else {
        eprintln!(
            "--cut replays one model seed: --scenario model --from <seed> --seeds 1 --cut <cut>"
        );
        return ExitCode::from(2);
    };
    let sc = Scenario::from_seed(seed).with_cut(cut);
    eprintln!("scenario (seed {seed}, cut {cut}): {sc}");
    match runner::run_cut(seed, cut) {
        Ok(r) => {
            println!("{}", r.line());
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("{}", f.report("strings_and_keys"));
            ExitCode::FAILURE
        }
    }
}
