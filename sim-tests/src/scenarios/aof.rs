//! The AOF under crashes, for each `appendfsync` policy: one writer issues acknowledged
//! SET/INCR/RPUSH/DEL (pipelined bursts, values it knows) and now and then
//! BGREWRITEAOF, with automatic rewrites as the file grows, on a simulated disk with
//! I/O latency, slow fsyncs, torn tails, write and fsync errors and a full disk
//! (io-sim's `DiskFaults`); the host crashes (turmoil drops what was not synced) at
//! random moments and restarts, a few times per seed.
//!
//! After each restart the keyspace must equal the writer's model at some prefix of the
//! writes it issued, and that prefix must include every write the policy promises:
//! under `always` every acknowledged one; under `everysec` every one acknowledged a
//! bounded time (about two seconds, plus the injected fsync delays) before the crash
//! with no disk fault meanwhile; under `no` every one followed by a BGREWRITEAOF that
//! had time to finish on a healthy disk (a rewrite fsyncs its base). A crash in the
//! middle of a rewrite must therefore keep the previous durable state. With
//! `aof-load-truncated no`, a torn tail makes the restart exit as Redis does (status 1,
//! "Unexpected end of file"); the test then restarts with `yes` and checks the data.
//!
//! A failure names its seed; `AOF_CRASH_SEED=<seed> cargo test -p cinnabar-sim-tests
//! --release --test aof_crash -- --nocapture` replays it alone (`tests/aof_crash.rs`),
//! as does the soak runner's `--scenario aof --from <seed> --seeds 1`.

use cinnabar_core::config::AppendFsync;
use cinnabar_core::testing::Frame;
use cinnabar_core::Config;
use cinnabar_io_sim::{
    serve_with_faults, DiskFaults, FaultConfig, Recorder, ServerOptions, TraceEntry, WallOffset,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use super::conn::{Conn, Rng};
use super::{FaultCut, RunInfo};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
}

type Keyspace = BTreeMap<Vec<u8>, Val>;

#[derive(Debug, Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Incr(Vec<u8>),
    Rpush(Vec<u8>, Vec<u8>),
    Del(Vec<u8>),
}

impl Op {
    fn argv(&self) -> Vec<&[u8]> {
        match self {
            Op::Set(k, v) => vec![b"SET", k, v],
            Op::Incr(k) => vec![b"INCR", k],
            Op::Rpush(k, v) => vec![b"RPUSH", k, v],
            Op::Del(k) => vec![b"DEL", k],
        }
    }

    /// Apply to the model; the reply Redis gives.
    fn apply(&self, ks: &mut Keyspace) -> Frame {
        match self {
            Op::Set(k, v) => {
                ks.insert(k.clone(), Val::Str(v.clone()));
                Frame::ok()
            }
            Op::Incr(k) => {
                let n = match ks.get(k) {
                    Some(Val::Str(s)) => std::str::from_utf8(s).unwrap().parse::<i64>().unwrap(),
                    _ => 0,
                } + 1;
                ks.insert(k.clone(), Val::Str(n.to_string().into_bytes()));
                Frame::Int(n)
            }
            Op::Rpush(k, v) => {
                let Val::List(l) = ks.entry(k.clone()).or_insert(Val::List(Vec::new())) else {
                    unreachable!("list keys hold lists")
                };
                l.push(v.clone());
                Frame::Int(l.len() as i64)
            }
            Op::Del(k) => Frame::Int(ks.remove(k).is_some() as i64),
        }
    }
}

/// What happened to one issued write.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Sent; no reply seen (yet).
    Unknown,
    /// Acknowledged at this simulated time.
    Acked(Duration),
    /// Refused (MISCONF): not applied.
    Refused,
}

/// The writer's record of one cycle (from one start of the server to its crash).
#[derive(Debug, Default)]
struct Cycle {
    /// The keyspace the cycle started from (what the previous restart loaded).
    start: Keyspace,
    ops: Vec<(Op, Outcome)>,
    /// BGREWRITEAOFs acknowledged: (writes issued before it, when).
    rewrites: Vec<(usize, Duration)>,
}

fn now() -> Duration {
    turmoil::sim_elapsed().expect("inside the simulation")
}

fn random_op(rng: &mut Rng, round: u64) -> Op {
    let pick = rng.below(10);
    match pick {
        0..=3 => {
            let key = format!("s{}", rng.below(20)).into_bytes();
            let len = [1, 10, 200, 1500][rng.below(4) as usize];
            let mut v = format!("{round}:").into_bytes();
            v.extend(std::iter::repeat_n(b'a' + (rng.below(26) as u8), len));
            Op::Set(key, v)
        }
        4..=5 => Op::Incr(format!("n{}", rng.below(8)).into_bytes()),
        6..=7 => Op::Rpush(
            format!("l{}", rng.below(8)).into_bytes(),
            format!("{round}-{}", rng.below(1000)).into_bytes(),
        ),
        _ => {
            let space = ["s", "n", "l"][rng.below(3) as usize];
            Op::Del(format!("{space}{}", rng.below(8)).into_bytes())
        }
    }
}

/// Writes until the connection breaks (the crash), checking every reply against the
/// model it keeps.
async fn writer(seed: u64, cycle: Rc<RefCell<Cycle>>) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut c = loop {
        match Conn::connect("server").await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    let mut live = cycle.borrow().start.clone();
    for round in 0.. {
        let burst: Vec<Op> = (0..1 + rng.below(8))
            .map(|_| random_op(&mut rng, round))
            .collect();
        let first = {
            let mut cy = cycle.borrow_mut();
            let first = cy.ops.len();
            cy.ops
                .extend(burst.iter().map(|op| (op.clone(), Outcome::Unknown)));
            first
        };
        c.send(&burst.iter().map(Op::argv).collect::<Vec<_>>())
            .await?;
        for (i, op) in burst.iter().enumerate() {
            let reply = c.read().await?;
            let outcome = match &reply {
                Frame::Error(e) if e.starts_with("MISCONF ") => Outcome::Refused,
                _ => {
                    let want = op.apply(&mut live);
                    assert_eq!(reply, want, "seed {seed}: {op:?}");
                    Outcome::Acked(now())
                }
            };
            cycle.borrow_mut().ops[first + i].1 = outcome;
        }
        if rng.below(40) == 0 {
            let issued = cycle.borrow().ops.len();
            match c.cmd(&[b"BGREWRITEAOF"]).await? {
                Frame::Simple(s) if s == "Background append only file rewriting started" => {
                    cycle.borrow_mut().rewrites.push((issued, now()));
                }
                Frame::Simple(s) if s.contains("scheduled") => {}
                Frame::Error(e) if e.contains("already in progress") => {}
                other => panic!("seed {seed}: BGREWRITEAOF answered {other:?}"),
            }
        }
        if rng.below(4) == 0 {
            tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        }
    }
    Ok(())
}

fn value_of(ty: &str, reply: Frame) -> Val {
    match (ty, reply) {
        ("string", Frame::Bulk(b)) => Val::Str(b),
        ("list", Frame::Array(items)) => Val::List(
            items
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => b,
                    other => panic!("LRANGE item {other:?}"),
                })
                .collect(),
        ),
        (ty, other) => panic!("a {ty} read back as {other:?}"),
    }
}

/// The restarted server's keyspace, once it has loaded.
async fn read_keyspace(out: Rc<RefCell<Option<Keyspace>>>) -> turmoil::Result {
    let mut c = loop {
        match Conn::connect("server").await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    let keys = loop {
        match c.cmd(&[b"KEYS", b"*"]).await {
            Ok(Frame::Error(e)) if e.starts_with("LOADING") => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Ok(Frame::Array(keys)) => break keys,
            Ok(other) => panic!("KEYS answered {other:?}"),
            // The server refused its files and exited: the test restarts it.
            Err(_) => {
                c = loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    if let Ok(c) = Conn::connect("server").await {
                        break c;
                    }
                };
            }
        }
    };
    let mut ks = Keyspace::new();
    for k in keys {
        let Frame::Bulk(k) = k else {
            panic!("a key {k:?}")
        };
        let ty = c.cmd(&[b"TYPE", &k]).await?.as_str();
        let v = match ty.as_str() {
            "string" => c.cmd(&[b"GET", &k]).await?,
            "list" => c.cmd(&[b"LRANGE", &k, b"0", b"-1"]).await?,
            other => panic!("key of type {other}"),
        };
        ks.insert(k, value_of(&ty, v));
    }
    *out.borrow_mut() = Some(ks);
    Ok(())
}

/// A span of simulated time during which the disk misbehaved.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: Duration,
    to: Duration,
}

/// The policy's lower bound on the prefix a restart must hold.
fn promised(
    policy: AppendFsync,
    cycle: &Cycle,
    crash: Duration,
    faults: &[Window],
    bound: Duration,
) -> usize {
    let healthy = |from: Duration, to: Duration| {
        to <= crash && !faults.iter().any(|w| w.from <= to && w.to >= from)
    };
    match policy {
        AppendFsync::Always => cycle
            .ops
            .iter()
            .rposition(|(_, o)| matches!(o, Outcome::Acked(_)))
            .map_or(0, |i| i + 1),
        AppendFsync::Everysec => cycle
            .ops
            .iter()
            .rposition(|(_, o)| matches!(o, Outcome::Acked(t) if healthy(*t, *t + bound)))
            .map_or(0, |i| i + 1),
        AppendFsync::No => 0,
    }
    .max(
        // A rewrite's base is fsynced whatever the policy.
        cycle
            .rewrites
            .iter()
            .rev()
            .find(|(_, t)| healthy(*t, *t + bound))
            .map_or(0, |(n, _)| *n),
    )
}

#[derive(Debug, Default)]
pub struct Tally {
    pub cycles: usize,
    pub acked: usize,
    pub lost_unpromised: usize,
    pub refused_torn: usize,
    pub cut_back: usize,
    pub exits: usize,
    pub rewrites: usize,
    pub misconf: usize,
    /// Cycles whose promise (under everysec or no) covered some writes.
    pub promised_partly: usize,
    pub delayed_fsync: usize,
    pub failed_rewrites: usize,
}

fn logs(trace: &cinnabar_io_sim::Trace) -> Vec<String> {
    trace
        .entries
        .iter()
        .filter_map(|e| match e {
            TraceEntry::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

pub fn run(seed: u64, tally: &mut Tally, info: &mut RunInfo) {
    run_cut(seed, &FaultCut::default(), tally, info)
}

/// [`run`] cut down by a shrink: the crash cycles end once `cut.until_ms` steps
/// (about a millisecond each) have run in all, the cycle then cut crashing there,
/// and the fault windows it leaves out (numbered in the order drawn) stay healthy.
pub fn run_cut(seed: u64, cut: &FaultCut, tally: &mut Tally, info: &mut RunInfo) {
    // Every fixed seed predates BUGGIFY.
    let buggify = super::Buggify::for_seed(seed, FIXED_SEEDS);
    let policy = [AppendFsync::Always, AppendFsync::Everysec, AppendFsync::No][seed as usize % 3];
    let mut rng = Rng::new(seed ^ 0xA0F);
    let load_truncated = rng.below(4) != 0;
    let fsync_delay_max = Duration::from_millis(rng.below(3000));
    // Everysec: postponed writes (2 s), the once-a-second fsync, and two slow fsyncs
    // (one running, the next covering the write).
    let bound = Duration::from_secs(4) + fsync_delay_max * 2;

    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(3600))
        .max_message_latency(Duration::from_millis(5));
    builder
        .fs()
        .io_latency()
        .max_latency(Duration::from_millis(1 + rng.below(20)));
    builder.fs().sync_probability(0.05);
    let mut sim = builder.build();
    let aof_use_rdb_preamble = rng.below(2) == 0;
    info.description = format!(
        "aof: one server, appendfsync {policy:?}, aof-use-rdb-preamble {aof_use_rdb_preamble}, \
         aof-load-truncated {load_truncated}, fsync delays up to {fsync_delay_max:?}, torn writes 20%"
    );
    info.description += &format!(", {}", buggify.describe());

    let config = Rc::new(RefCell::new(Config {
        save: Vec::new(),
        appendonly: true,
        appendfsync: policy,
        aof_use_rdb_preamble,
        aof_load_truncated: load_truncated,
        auto_aof_rewrite_percentage: 100,
        auto_aof_rewrite_min_size: 16 * 1024,
        ..Default::default()
    }));
    let faults = DiskFaults::new(seed);
    let recorder = Recorder::new();
    info.recorders.push(("server".into(), recorder.clone()));
    let (c, f, r) = (config.clone(), faults.clone(), recorder.clone());
    sim.host("server", move || {
        let options = ServerOptions {
            config: c.borrow().clone(),
            seed,
            wall: WallOffset::new(),
            recorder: r.clone(),
        };
        serve_with_faults(options, f.clone())
    });

    let mut start = Keyspace::new();
    let cycles = 1 + rng.below(3);
    info.description += &format!(", {cycles} crash cycles");
    if !cut.is_empty() {
        info.description += &format!(", cut {cut}");
    }
    let mut steps_left = cut.until_ms.unwrap_or(u64::MAX);
    let mut drawn = 0u32;
    for n in 0..cycles {
        if steps_left == 0 {
            break;
        }
        let cycle = Rc::new(RefCell::new(Cycle {
            start: start.clone(),
            ..Default::default()
        }));
        let w = cycle.clone();
        let wseed = seed.wrapping_mul(31).wrapping_add(n);
        sim.client(format!("writer{n}"), async move {
            // The crash breaks the connection: that is how the writer ends.
            let _ = writer(wseed, w).await;
            Ok(())
        });
        let base = FaultConfig {
            fsync_delay_probability: 0.1,
            fsync_delay_max,
            torn_write_probability: 0.2,
            ..Default::default()
        };
        faults.set(base.clone());
        // Crash after a while; maybe a fault window first. Under `always` a failed
        // write or fsync makes the server exit (as Redis): that is a crash too.
        let drawn_run_for = 1000 + rng.below(14000);
        info.schedule_ms += drawn_run_for;
        let run_for = drawn_run_for.min(steps_left);
        steps_left -= run_for;
        let window = (rng.below(3) == 0)
            .then(|| {
                let from = rng.below(drawn_run_for);
                (from, from + 1 + rng.below(2000), rng.below(2) == 0)
            })
            .filter(|_| {
                drawn += 1;
                cut.keeps(drawn - 1)
            });
        info.description += &format!("; cycle {n}: crash at step {run_for}");
        if let Some((from, to, full)) = window {
            let what = if full { "disk full" } else { "I/O errors 30%" };
            info.description += &format!(", {what} in steps {from}..{to}");
        }
        let mut windows = Vec::new();
        let mut exited = false;
        for step in 0..run_for {
            if let Some((from, to, full)) = window {
                if step == from {
                    windows.push(Window {
                        from: sim.elapsed(),
                        to: Duration::MAX,
                    });
                    faults.update(|c| {
                        if full {
                            c.full = true
                        } else {
                            c.io_error_probability = 0.3
                        }
                    });
                }
                if step == to {
                    windows.last_mut().expect("opened").to = sim.elapsed();
                    faults.set(base.clone());
                }
            }
            if let Err(e) = sim.step() {
                assert!(
                    e.to_string().contains("server exited with status 1"),
                    "seed {seed}: {e}"
                );
                exited = true;
                break;
            }
        }
        let crash = sim.elapsed();
        if let Some(w) = windows.last_mut() {
            w.to = w.to.min(crash);
        }
        sim.crash("server");
        faults.set(FaultConfig::default());
        let trace = take(&recorder, info);
        let lines = logs(&trace);
        if info.verbose {
            for l in &lines {
                eprintln!("  log: {}", l.trim_end());
            }
        }
        if exited {
            tally.exits += 1;
            // Under `always` a failed write or fsync is fatal, as in Redis; under any
            // policy, failing to create the AOF files at startup is.
            assert!(
                lines.iter().any(|l| (policy == AppendFsync::Always
                    && (l.starts_with("Can't recover from AOF write error")
                        || l.starts_with("Can't persist AOF for fsync error")))
                    || l.starts_with("Can't create the append only file")),
                "seed {seed}: the server exited: {:?}",
                &lines[lines.len().saturating_sub(8)..]
            );
        }
        let delayed = lines
            .iter()
            .filter(|l| l.starts_with("Asynchronous AOF fsync is taking too long"))
            .count();
        tally.delayed_fsync += delayed;
        tally.failed_rewrites += lines
            .iter()
            .filter(|l| *l == "Background AOF rewrite terminated with error")
            .count();
        tally.misconf += cycle
            .borrow()
            .ops
            .iter()
            .filter(|(_, o)| *o == Outcome::Refused)
            .count();

        // Restart and read the keyspace back.
        sim.bounce("server");
        let seen = Rc::new(RefCell::new(None));
        let out = seen.clone();
        sim.client(format!("checker{n}"), read_keyspace(out));
        let mut refused = false;
        while seen.borrow().is_none() {
            match sim.step() {
                Ok(_) => {}
                Err(e) => {
                    // Refused at load: only a torn tail under aof-load-truncated no.
                    let lines = logs(&take(&recorder, info));
                    assert!(
                        !load_truncated
                            && !refused
                            && lines.iter().any(|l| l.starts_with(
                                "Unexpected end of file reading the append only file"
                            )),
                        "seed {seed}: the restart failed ({e}): {:?}",
                        &lines[lines.len().saturating_sub(8)..]
                    );
                    refused = true;
                    tally.refused_torn += 1;
                    config.borrow_mut().aof_load_truncated = true;
                    sim.bounce("server");
                }
            }
        }
        config.borrow_mut().aof_load_truncated = load_truncated;
        let lines = logs(&take(&recorder, info));
        if info.verbose {
            for l in &lines {
                eprintln!("  restart log: {}", l.trim_end());
            }
        }
        tally.cut_back += lines
            .iter()
            .filter(|l| l.starts_with("!!! Truncating the AOF"))
            .count();
        let got = seen.borrow_mut().take().expect("read");

        let cy = cycle.borrow();
        let lower = promised(policy, &cy, crash, &windows, bound);
        let mut state = cy.start.clone();
        let mut matched = None;
        for p in 0..=cy.ops.len() {
            if p > 0 {
                let (op, outcome) = &cy.ops[p - 1];
                if *outcome != Outcome::Refused {
                    op.apply(&mut state);
                }
            }
            if p >= lower && state == got {
                matched = Some(p);
                break;
            }
        }
        let acked = cy
            .ops
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Acked(_)))
            .count();
        let Some(p) = matched else {
            // The closest prefix, to show what differs.
            let mut state = cy.start.clone();
            let mut best = (usize::MAX, 0, String::new());
            for p in 0..=cy.ops.len() {
                if p > 0 && cy.ops[p - 1].1 != Outcome::Refused {
                    cy.ops[p - 1].0.apply(&mut state);
                }
                let diff: Vec<String> = state
                    .keys()
                    .chain(got.keys())
                    .filter(|k| state.get(*k) != got.get(*k))
                    .map(|k| {
                        let show = |v: Option<&Val>| match v {
                            Some(Val::Str(s)) => format!("{:.40}", String::from_utf8_lossy(s)),
                            Some(Val::List(l)) => format!("list of {}", l.len()),
                            None => "none".into(),
                        };
                        format!(
                            "{}: model {} got {}",
                            String::from_utf8_lossy(k),
                            show(state.get(k)),
                            show(got.get(k))
                        )
                    })
                    .collect();
                if diff.len() < best.0 {
                    best = (diff.len(), p, diff.join("; "));
                }
            }
            eprintln!("closest prefix {}: {}", best.1, best.2);
            panic!(
                "seed {seed} ({policy:?}, cycle {n}): after the crash at {crash:?} the keyspace ({} keys) is not the model's at any prefix from {lower} (promised) to {} (issued); {acked} acknowledged, rewrites {:?}, fault windows {windows:?}",
                got.len(),
                cy.ops.len(),
                cy.rewrites,
            );
        };
        tally.cycles += 1;
        tally.promised_partly += (policy != AppendFsync::Always && lower > 0) as usize;
        tally.acked += acked;
        tally.lost_unpromised += cy.ops.len() - p;
        tally.rewrites += cy.rewrites.len();
        if info.verbose {
            eprintln!(
                "seed {seed} ({policy:?}) cycle {n}: {} writes issued, {acked} acked, promised {lower}, restart holds {p}{}{}",
                cy.ops.len(),
                if exited { " (server exited)" } else { "" },
                if delayed > 0 { " (delayed fsync)" } else { "" }
            );
        }
        start = got;
    }
    let f = faults.counts();
    info.count("fault: crash", cycles);
    info.count("fault: fsync delay", f.fsync_delays);
    info.count("fault: torn write", f.torn_writes);
    info.count("fault: write on a full disk", f.full_writes);
    info.count("fault: write error", f.write_errors);
    info.count("fault: fsync error", f.fsync_errors);
    info.faults_drawn = drawn;
    info.count("sim ms", sim.elapsed().as_millis() as u64);
    buggify.report(info);
}

/// The trace so far, folded into the run's digest.
fn take(recorder: &Recorder, info: &mut RunInfo) -> cinnabar_io_sim::Trace {
    let trace = recorder.take();
    info.fold_digest(trace.digest());
    trace
}

impl Tally {
    /// This tally's counts under the soak's shared event names.
    pub fn report(&self, info: &mut RunInfo) {
        let n = |v: usize| v as u64;
        info.count(
            "event: acknowledged write checked after a crash",
            n(self.acked),
        );
        info.count("event: AOF rewrite during writes", n(self.rewrites));
        info.count("event: AOF rewrite failed", n(self.failed_rewrites));
        info.count(
            "event: unacknowledged write lost in a crash",
            n(self.lost_unpromised),
        );
        info.count("event: torn AOF tail cut back at load", n(self.cut_back));
        info.count("event: torn AOF tail refused at load", n(self.refused_torn));
        info.count("event: server exited on a disk error", n(self.exits));
        info.count("event: write refused with MISCONF", n(self.misconf));
        info.count("event: everysec fsync delayed", n(self.delayed_fsync));
    }
}

/// Seeds that once failed, run every time.
pub const FIXED_SEEDS: &[u64] = &[
    // `appendfsync no`: a failed rewrite's temp base was removed without a directory
    // sync and the next rewrite's base, created under the same name, came back empty
    // after the crash (turmoil's path-keyed filesystem; io-sim's disk.rs now syncs the
    // directory before a name is created again).
    314,
    // `appendfsync no` again: the same lost base, the removal's note cleared by a
    // directory sync on another queue that had started before it.
    56,
    // Not a failure: an everysec run whose fsync outlasts two seconds of postponed
    // writes (aof_delayed_fsync), a path the default seeds stopped reaching once
    // replies waited for their writes.
    226,
];
