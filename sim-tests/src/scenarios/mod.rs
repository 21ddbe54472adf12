//! Every simulation scenario behind one entry point, for the soak runner and the
//! tests: the model-checked single server (`model`, [`crate::runner`]), the RDB
//! crash cycles ([`rdb`]), the AOF under crashes and disk faults per fsync policy
//! ([`aof`]), replication under partitions, crashes, clock jumps and failovers
//! ([`replication`]) and concurrent clients' histories checked for
//! linearizability ([`crate::linear`]).
//!
//! [`run`] runs one seed of one scenario and reports, whatever happened, the same
//! things: the scenario as drawn from the seed, whether every checker passed (or the
//! first failure), the trace digest, simulated time, and how often each fault and
//! each interesting event occurred, under names shared by all scenarios (`fault: …`,
//! `event: …`) so a soak can sum them. The older scenarios report a failure by
//! panicking (they began as `#[test]`s); `run` catches the panic and keeps its
//! message.

pub mod aof;
pub mod conn;
pub mod rdb;
pub mod replication;

use cinnabar_io_sim::{FootprintWatch, Recorder, TraceEntry};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// The scenarios, in the order the default soak mix rotates through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Model,
    Aof,
    Rdb,
    Replication,
    Linear,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Model,
        Kind::Aof,
        Kind::Rdb,
        Kind::Replication,
        Kind::Linear,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Model => "model",
            Kind::Aof => "aof",
            Kind::Rdb => "rdb",
            Kind::Replication => "replication",
            Kind::Linear => "linear",
        }
    }

    /// The command that replays one seed of this scenario with every diagnostic on.
    pub fn replay_command(self, seed: u64) -> String {
        match self {
            Kind::Model => crate::runner::replay_command(seed, "strings_and_keys"),
            Kind::Aof => format!(
                "AOF_CRASH_SEED={seed} cargo test -p cinnabar-sim-tests --release --test aof_crash -- --nocapture"
            ),
            Kind::Rdb => format!(
                "RDB_CRASH_SEED={seed} cargo test -p cinnabar-sim-tests --release --test rdb_crash -- --nocapture"
            ),
            Kind::Replication => format!(
                "REPL_SIM_SEED={seed} cargo test -p cinnabar-sim-tests --release --test replication -- --nocapture"
            ),
            Kind::Linear => crate::linear::replay_command(seed),
        }
    }

    /// Seeds that once failed (or reach a path fresh seeds rarely do).
    pub fn fixed_seeds(self) -> Vec<u64> {
        match self {
            Kind::Model => crate::seeds::SEEDS.to_vec(),
            Kind::Aof => aof::FIXED_SEEDS.to_vec(),
            Kind::Rdb => Vec::new(),
            Kind::Replication => replication::FIXED_SEEDS.to_vec(),
            Kind::Linear => crate::linear::FIXED_SEEDS.to_vec(),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown scenario {s:?} (known: {})", names.join(", "))
            })
    }
}

/// What a scenario run tells its caller besides pass or fail; filled as it goes, so
/// that a run that fails half-way still says what it was.
#[derive(Debug, Default)]
pub struct RunInfo {
    /// The scenario drawn from the seed, one line.
    pub description: String,
    /// Every host's recorder, for the trace's tail on a failure.
    pub recorders: Vec<(String, Recorder)>,
    /// Digest of every trace the run took (folded in the order taken).
    pub digest: u64,
    pub events: BTreeMap<String, u64>,
    /// Print per-cycle progress and diagnostics (a test's or a replay's run).
    pub verbose: bool,
    /// A fault scenario's schedule: how long it runs (ms) uncut, and how many
    /// faults it drew (what a [`FaultCut`] can leave out).
    pub schedule_ms: u64,
    pub faults_drawn: u32,
}

/// A fault scenario's run cut down by a shrink: its fault schedule ended early and
/// some of its faults, by the order they were drawn, left out. Every draw is still
/// made, so a fault left out leaves the others as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCut {
    /// End the fault schedule (and with it the workload) after this many ms.
    pub until_ms: Option<u64>,
    /// Half-open ranges of fault indices left out, sorted.
    pub skip: Vec<(u32, u32)>,
}

impl FaultCut {
    pub fn is_empty(&self) -> bool {
        self.until_ms.is_none() && self.skip.is_empty()
    }

    /// Whether the fault drawn `index`-th is applied.
    pub fn keeps(&self, index: u32) -> bool {
        !self
            .skip
            .iter()
            .any(|&(from, to)| (from..to).contains(&index))
    }

    /// The schedule's length under this cut.
    pub fn end(&self, schedule_ms: u64) -> u64 {
        self.until_ms.map_or(schedule_ms, |u| u.min(schedule_ms))
    }

    /// `self` with `from..to` left out too, ranges merged.
    pub fn skipping(&self, from: u32, to: u32) -> FaultCut {
        let mut skip = self.skip.clone();
        skip.push((from, to));
        skip.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::new();
        for (f, t) in skip {
            match merged.last_mut() {
                Some(last) if f <= last.1 => last.1 = last.1.max(t),
                _ => merged.push((f, t)),
            }
        }
        FaultCut {
            until_ms: self.until_ms,
            skip: merged,
        }
    }

    /// Read `until:<ms>,f:<from>-<to>,…`, the form `Display` writes.
    pub fn parse(text: &str) -> Result<FaultCut, String> {
        let mut cut = FaultCut::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(ms) = part.strip_prefix("until:") {
                cut.until_ms = Some(ms.parse().map_err(|_| format!("bad until in {part:?}"))?);
            } else if let Some(range) = part.strip_prefix("f:") {
                let (from, to) = range
                    .split_once('-')
                    .ok_or_else(|| format!("a fault range is <from>-<to>: {part:?}"))?;
                let from: u32 = from.parse().map_err(|_| format!("bad range {part:?}"))?;
                let to: u32 = to.parse().map_err(|_| format!("bad range {part:?}"))?;
                if from >= to {
                    return Err(format!("empty fault range {part:?}"));
                }
                cut = cut.skipping(from, to);
            } else {
                return Err(format!("unknown part {part:?} of a fault cut"));
            }
        }
        Ok(cut)
    }
}

impl fmt::Display for FaultCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(ms) = self.until_ms {
            parts.push(format!("until:{ms}"));
        }
        for (from, to) in &self.skip {
            parts.push(format!("f:{from}-{to}"));
        }
        f.write_str(&parts.join(","))
    }
}

impl RunInfo {
    pub fn fold_digest(&mut self, digest: u64) {
        self.digest = (self.digest ^ digest)
            .wrapping_mul(0x0100_0000_01b3)
            .rotate_left(17);
    }

    /// Keep the largest `n` seen under `event` (a peak, not a count).
    pub fn max(&mut self, event: &str, n: u64) {
        let e = self.events.entry(event.to_string()).or_default();
        *e = (*e).max(n);
    }

    pub fn count(&mut self, event: &str, n: u64) {
        if n > 0 {
            *self.events.entry(event.to_string()).or_default() += n;
        }
    }
}

/// Mixed into a seed for the draw of whether its run has BUGGIFY on, so the draw
/// leaves the rest of the scenario as it was.
const BUGGIFY_SALT: u64 = 0xb0_6619;

/// Whether `seed`'s run has the core's BUGGIFY fault points on: half the seeds, but
/// never a regression seed found before BUGGIFY existed (`before`: it replays the
/// run that failed).
pub fn buggify_drawn(seed: u64, before: &[u64]) -> bool {
    !before.contains(&seed) && crate::gen::Gen::new(seed ^ BUGGIFY_SALT).chance(0.5)
}

/// BUGGIFY for the servers of one run of a fault scenario, when its seed draws it.
pub struct Buggify(Option<cinnabar_io_sim::buggify::Enabled>);

impl Buggify {
    pub fn for_seed(seed: u64, before: &[u64]) -> Buggify {
        Buggify(buggify_drawn(seed, before).then(cinnabar_io_sim::buggify::enable))
    }

    pub fn describe(&self) -> &'static str {
        if self.0.is_some() {
            "BUGGIFY on"
        } else {
            "BUGGIFY off"
        }
    }

    /// How often each point fired, into the run's events.
    pub fn report(&self, info: &mut RunInfo) {
        if let Some(on) = &self.0 {
            info.count("buggify: runs with BUGGIFY on", 1);
            for (name, n) in on.counts() {
                info.count(&format!("buggify: {name}"), n);
            }
        }
    }
}

/// One seed of one scenario, checked.
#[derive(Debug, Clone)]
pub struct SeedOutcome {
    pub kind: Kind,
    pub seed: u64,
    pub description: String,
    /// The first checker that failed, with its message.
    pub failure: Option<String>,
    /// The last trace lines of every host, on a failure.
    pub trace_tail: Vec<String>,
    pub digest: u64,
    pub sim_elapsed: Duration,
    pub real_elapsed: Duration,
    pub events: BTreeMap<String, u64>,
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keep panic messages (with their location) for [`run`] instead of printing them,
/// unless `SIM_PRINT_PANICS` is set; the model runner's hook counts them too.
pub fn quiet_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        let print = std::env::var_os("SIM_PRINT_PANICS").is_some();
        panic::set_hook(Box::new(move |info| {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
            if print {
                previous(info);
            }
        }));
    });
}

/// The memory-growth checker's verdict on one host: a table entry that outlived
/// what it belonged to (`Server::footprint`) is memory that grows with every
/// client that comes and goes.
pub fn check_footprint(host: &str, watch: &FootprintWatch) -> Result<(), String> {
    if watch.leaks.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = watch
        .leaks
        .iter()
        .map(|(now, leak)| format!("  at {} ms: {leak}", now.mono.0 / 1_000_000))
        .collect();
    Err(format!(
        "memory-growth checker: {host} keeps entries nothing will free (after {} checks):\n{}",
        watch.checks,
        lines.join("\n")
    ))
}

/// The memory-growth checker's counts for a run, under the shared names.
fn footprint_events(watch: &FootprintWatch, info: &mut RunInfo) {
    info.count("memory: server states checked at rest", watch.checks);
    let peak = &watch.peak;
    for (name, v) in [
        ("memory: peak clients", peak.clients),
        ("memory: peak query buffer bytes", peak.query_bytes),
        ("memory: peak reply bytes", peak.reply_bytes),
        ("memory: peak blocking entries", peak.blocking_entries),
        ("memory: peak WATCH entries", peak.watch_entries),
        ("memory: peak subscriptions", peak.subscription_entries),
    ] {
        info.max(name, v as u64);
    }
}

/// How many trace lines of each host a failure shows.
const TAIL_LINES: usize = 12;

/// Run one seed of `kind`.
pub fn run(kind: Kind, seed: u64) -> SeedOutcome {
    run_cut(kind, seed, &FaultCut::default()).0
}

/// Run one seed of `kind` with `cut` applied to its fault schedule (every
/// scenario but the model's, whose shrink cuts its programs instead), and say how
/// long its schedule was uncut and how many faults it drew.
pub fn run_cut(kind: Kind, seed: u64, cut: &FaultCut) -> (SeedOutcome, u64, u32) {
    let started = Instant::now();
    let mut info = RunInfo::default();
    let mut failure = None;
    let mut sim_elapsed = Duration::ZERO;
    match kind {
        Kind::Model => match crate::runner::run_seed(seed) {
            Ok(report) => {
                info.description = crate::scenario::Scenario::from_seed(seed).to_string();
                info.fold_digest(report.digest);
                sim_elapsed = report.sim_elapsed;
                model_events(&report, &mut info);
            }
            Err(f) => {
                info.description = f.scenario.clone();
                failure = Some(f.message);
            }
        },
        _ => {
            LAST_PANIC.with(|p| p.borrow_mut().take());
            let result = panic::catch_unwind(AssertUnwindSafe(|| match kind {
                Kind::Aof => {
                    let mut tally = aof::Tally::default();
                    aof::run_cut(seed, cut, &mut tally, &mut info);
                    tally.report(&mut info);
                }
                Kind::Rdb => {
                    let mut tally = rdb::Tally::default();
                    rdb::run_cut(seed, cut, &mut tally, &mut info);
                    tally.report(&mut info);
                }
                Kind::Replication => {
                    let mut tally = replication::Tally::default();
                    replication::run_cut(seed, cut, &mut tally, &mut info);
                    tally.report(&mut info);
                }
                Kind::Linear => {
                    let mut tally = crate::linear::Tally::default();
                    crate::linear::run_cut(seed, cut, &mut tally, &mut info);
                    tally.report(&mut info);
                }
                Kind::Model => unreachable!("handled above"),
            }));
            if result.is_ok() {
                for (host, r) in &info.recorders {
                    if let Err(leak) = check_footprint(host, &r.footprint()) {
                        failure.get_or_insert(leak);
                    }
                }
            }
            let watches: Vec<FootprintWatch> =
                info.recorders.iter().map(|(_, r)| r.footprint()).collect();
            for w in &watches {
                footprint_events(w, &mut info);
            }
            if let Err(payload) = result {
                let message = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                failure = Some(message);
            }
            sim_elapsed = Duration::from_millis(info.events.get("sim ms").copied().unwrap_or(0));
            info.events.remove("sim ms");
        }
    }
    let trace_tail = if failure.is_some() {
        trace_tail(&info.recorders, TAIL_LINES)
    } else {
        Vec::new()
    };
    let schedule = (info.schedule_ms, info.faults_drawn);
    let outcome = SeedOutcome {
        kind,
        seed,
        description: info.description,
        failure,
        trace_tail,
        digest: info.digest,
        sim_elapsed,
        real_elapsed: started.elapsed(),
        events: info.events,
    };
    (outcome, schedule.0, schedule.1)
}

/// The model scenario's counts under the shared names.
fn model_events(report: &crate::runner::Report, info: &mut RunInfo) {
    let e = &report.stats.events;
    let n = |k: &str| e.get(k).copied().unwrap_or(0) as u64;
    info.count("requests checked", report.stats.requests as u64);
    info.count("fault: wall-clock jump", report.jumps_applied as u64);
    info.count(
        "event: blocked client woken by a write",
        n("blocking: served by another client's write"),
    );
    info.count("event: blocked client timed out", n("blocking: timed out"));
    info.count(
        "event: WATCH abort",
        n("watch: EXEC aborted by a touched key")
            + n("watch: EXEC aborted by a watched key that expired"),
    );
    info.count("event: EXEC ran", n("multi: EXEC ran"));
    info.count(
        "event: pub/sub message delivered",
        n("pubsub: a message delivered"),
    );
    info.count(
        "event: reply checked against an uncertain key",
        report.stats.uncertain_checks as u64,
    );
    footprint_events(&report.footprint, info);
    if let Some(counts) = &report.buggify {
        info.count("buggify: runs with BUGGIFY on", 1);
        for (name, n) in counts {
            info.count(&format!("buggify: {name}"), *n);
        }
    }
}

/// The last `n` lines of each host's trace: inputs, effects and log lines, bytes
/// shortened.
pub fn trace_tail(recorders: &[(String, Recorder)], n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (host, r) in recorders {
        let t = r.snapshot();
        let start = t.entries.len().saturating_sub(n);
        for e in &t.entries[start..] {
            out.push(format!("{host} {}", describe_entry(e)));
        }
    }
    out
}

fn describe_entry(e: &TraceEntry) -> String {
    let now = e.now();
    let short = |d: &[u8]| {
        let s = String::from_utf8_lossy(&d[..d.len().min(120)])
            .escape_debug()
            .to_string();
        if d.len() > 120 {
            format!("{s}… ({} bytes)", d.len())
        } else {
            s
        }
    };
    let what = match e {
        TraceEntry::Received { conn, data, .. } => format!("in {:x} {}", conn.0, short(data)),
        TraceEntry::Send { conn, data, .. } => format!("out {:x} {}", conn.0, short(data)),
        TraceEntry::Log { message, .. } => format!("log {}", message.trim_end()),
        TraceEntry::Accepted { conn, .. } => format!("accepted {:x}", conn.0),
        TraceEntry::Connected { conn, .. } => format!("connected {:x}", conn.0),
        TraceEntry::Closed { conn, .. } => format!("closed {:x}", conn.0),
        TraceEntry::Close { conn, .. } => format!("close {:x}", conn.0),
        other => {
            let s = format!("{other:?}");
            s[..s.len().min(160)].to_string()
        }
    };
    format!(
        "mono={}ms wall={}ms {what}",
        now.mono.0 / 1_000_000,
        now.wall.0 / 1000
    )
}

#[cfg(test)]
mod tests {
    use super::FaultCut;

    #[test]
    fn a_fault_cut_reads_back_what_it_prints_with_ranges_merged() {
        let cut = FaultCut::parse("until:3341,f:6-47,f:0-3,f:2-5").expect("a valid cut");
        assert_eq!(cut.until_ms, Some(3341));
        assert_eq!(cut.skip, vec![(0, 5), (6, 47)]);
        assert_eq!(cut.to_string(), "until:3341,f:0-5,f:6-47");
        assert_eq!(FaultCut::parse(&cut.to_string()), Ok(cut.clone()));
        assert!(cut.keeps(5) && !cut.keeps(4) && !cut.keeps(46) && cut.keeps(47));
        assert_eq!(cut.end(10_000), 3341);
        assert!(FaultCut::parse("f:4-4").is_err());
        assert!(FaultCut::parse("x:1").is_err());
        assert!(FaultCut::parse("").expect("empty").is_empty());
    }
}
