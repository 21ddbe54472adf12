//! Linearizability of a cinnabar server under concurrent clients: the history of
//! every client's GET/SET/DEL/INCRBY/APPEND/GETSET/SETNX on a few shared keys,
//! stamped with turmoil's simulated clock at invocation and at reply, checked by
//! [`checker`] (Wing & Gong / Lowe search, key by key).
//!
//! One seed draws 3 to 6 clients, 2 to 5 keys, each client's program (random
//! commands with random think times, sometimes a long pause, a quarter of them
//! pipelined in batches of two to four), the network's
//! latency jitter, and one of three variants:
//!
//! 1. `healthy`: one server, no faults but latency jitter;
//! 2. `aof-crash`: `appendonly yes` with `appendfsync always` (or another policy
//!    when a caller asks, see [`Options::fsync`]), with auto-rewrites, fsync delays
//!    and torn writes on the simulated disk, and one to three crashes of the server
//!    host (turmoil drops what was not synced) followed by a restart from the AOF;
//!    the one history spans every restart, so a write acknowledged before a crash
//!    must be seen after it;
//! 3. `replicas`: a master and one or two replicas replicating it, with the links
//!    between the master and the replicas partitioned (both ways, one way) or held
//!    at random; the clients read and write on the master only, whose history must be
//!    linearizable whatever the replication links do.
//!
//! A request whose reply never came (the crash broke the connection, or no reply
//! within [`REPLY_TIMEOUT`]) maybe happened; a request refused with `-LOADING`
//! certainly did not and is left out. The client then reconnects and goes on.
//!
//! [`run`] checks one seed and panics on a violation, naming the seed, the key, the
//! operations the search could not explain and the replay command
//! (`LINEAR_SEED=<seed> cargo test -p cinnabar-sim-tests --release --test linear --
//! --nocapture`, see `tests/linear.rs`). [`record`] runs the simulation alone and
//! returns the history, for tests that doctor it.

pub mod checker;

use checker::{Op, Operation, Ret};
use cinnabar_core::config::AppendFsync;
use cinnabar_core::testing::Frame;
use cinnabar_core::Config;
use cinnabar_io_sim::{
    serve, serve_with_faults, DiskFaults, FaultConfig, Recorder, ServerOptions, TraceEntry,
    WallOffset, SERVER_PORT,
};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use crate::scenarios::conn::{Conn, Rng};
use crate::scenarios::{FaultCut, RunInfo};

/// Seeds that once failed (none yet), run with every batch.
pub const FIXED_SEEDS: &[u64] = &[];

/// How long a client waits for a reply before it counts the request as maybe
/// happened and reconnects.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Which servers and faults a seed runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Healthy,
    AofCrash,
    Replicas,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Healthy, Variant::AofCrash, Variant::Replicas];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Healthy => "healthy",
            Variant::AofCrash => "aof-crash",
            Variant::Replicas => "replicas",
        }
    }
}

/// Everything one run is drawn from, besides the seed itself (which also seeds
/// turmoil, the servers and the clients' programs).
#[derive(Debug, Clone)]
pub struct Options {
    pub variant: Variant,
    pub clients: usize,
    pub keys: usize,
    pub ops_per_client: usize,
    /// The longest pause between a client's requests (besides rare long ones).
    pub think_max_ms: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// `aof-crash`: the fsync policy (always, unless a test asks otherwise).
    pub fsync: AppendFsync,
    /// `aof-crash`: crashes, each at a simulated millisecond, down for a while
    /// (drawn for every seed, used by this variant only).
    pub crashes: Vec<(u64, u64)>,
    /// `replicas`: how many.
    pub replicas: usize,
    /// A shrink's cut: no request is sent and no fault applied after `until_ms`,
    /// and the faults it skips (crashes or link cuts, by the order drawn) are not
    /// applied. Empty as drawn.
    pub cut: FaultCut,
}

impl Options {
    pub fn from_seed(seed: u64) -> Options {
        let mut rng = Rng::new(seed ^ 0x11AE_A412);
        let variant = Variant::ALL[(seed % 3) as usize];
        let clients = 3 + rng.below(4) as usize;
        let keys = 2 + rng.below(4) as usize;
        let ops_per_client = 40 + rng.below(161) as usize;
        let think_max_ms = rng.below(31);
        let latency_min_ms = rng.below(3);
        let latency_max_ms = latency_min_ms + 1 + rng.below(25);
        let mut crashes: Vec<(u64, u64)> = (0..1 + rng.below(3))
            .map(|_| (100 + rng.below(4000), 20 + rng.below(800)))
            .collect();
        crashes.sort_unstable();
        Options {
            variant,
            clients,
            keys,
            ops_per_client,
            think_max_ms,
            latency_min_ms,
            latency_max_ms,
            fsync: AppendFsync::Always,
            crashes,
            replicas: 1 + rng.below(2) as usize,
            cut: FaultCut::default(),
        }
    }
}

impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "linear: {}, {} clients x {} ops on {} keys, think <= {} ms, latency {}..{} ms",
            self.variant.name(),
            self.clients,
            self.ops_per_client,
            self.keys,
            self.think_max_ms,
            self.latency_min_ms,
            self.latency_max_ms
        )?;
        if !self.cut.is_empty() {
            write!(f, ", cut {}", self.cut)?;
        }
        match self.variant {
            Variant::Healthy => Ok(()),
            Variant::AofCrash => {
                let crashes: Vec<String> = self
                    .crashes
                    .iter()
                    .map(|(at, down)| format!("{at} ms (down {down} ms)"))
                    .collect();
                write!(
                    f,
                    ", appendfsync {:?}, crashes at {}",
                    self.fsync,
                    crashes.join(", ")
                )
            }
            Variant::Replicas => write!(
                f,
                ", {} replicas of the master, links partitioned and held",
                self.replicas
            ),
        }
    }
}

/// Counts over the seeds run.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub seeds: usize,
    /// Per-key sub-histories checked.
    pub histories: usize,
    pub ops: usize,
    /// Operations whose reply never came, among `ops`.
    pub maybe: usize,
    pub nodes: u64,
    pub backtracks: u64,
    pub inconclusive: usize,
    pub crashes: usize,
    /// `aof-crash`: the disk's injected faults.
    pub fsync_delays: u64,
    pub torn_writes: u64,
    /// `aof-crash`: AOF rewrites that finished while the clients ran.
    pub rewrites: usize,
    pub partitions: usize,
    /// Requests refused with -LOADING (certainly not executed, left out).
    pub loading: usize,
    pub reconnects: usize,
}

impl Tally {
    /// This tally's counts under the soak's shared names.
    pub fn report(&self, info: &mut RunInfo) {
        let n = |v: usize| v as u64;
        info.count("linear: histories checked", n(self.histories));
        info.count("linear: ops checked", n(self.ops));
        info.count("linear: maybe-happened ops", n(self.maybe));
        info.count("linear: search nodes", self.nodes);
        info.count("linear: search backtracks", self.backtracks);
        info.count("linear: inconclusive histories", n(self.inconclusive));
        info.count("fault: crash", n(self.crashes));
        info.count("fault: fsync delay", self.fsync_delays);
        info.count("fault: torn write", self.torn_writes);
        info.count("event: AOF rewrite during writes", n(self.rewrites));
        info.count(
            "fault: partition, one-way partition or held link",
            n(self.partitions),
        );
        info.count("event: request refused while loading", n(self.loading));
        info.count("event: client reconnected", n(self.reconnects));
    }
}

fn now() -> Duration {
    turmoil::sim_elapsed().expect("inside the simulation")
}

/// A value only this client's `n`th request writes: ends with `.`, which APPEND
/// (digits only) never leaves at the end, and is not a number.
fn unique(client: usize, n: usize) -> Vec<u8> {
    format!("v{client}.{n}.").into_bytes()
}

fn random_op(rng: &mut Rng, client: usize, n: usize) -> Op {
    let value = |rng: &mut Rng| {
        if rng.below(2) == 0 {
            unique(client, n)
        } else {
            // A number, so INCRBY has something to add to.
            ((client as u64 + 1) * 1000 + rng.below(100))
                .to_string()
                .into_bytes()
        }
    };
    match rng.below(100) {
        0..=34 => Op::Get,
        35..=54 => Op::Set(value(rng)),
        55..=64 => Op::IncrBy(1),
        65..=69 => Op::IncrBy(rng.below(11) as i64 - 5),
        70..=77 => Op::Append(vec![b'0' + rng.below(10) as u8]),
        78..=84 => Op::Del,
        85..=92 => Op::GetSet(value(rng)),
        _ => Op::SetNx(value(rng)),
    }
}

fn argv<'a>(key: &'a [u8], op: &'a Op, by: &'a [u8]) -> Vec<&'a [u8]> {
    match op {
        Op::Get => vec![b"GET", key],
        Op::Set(v) => vec![b"SET", key, v],
        Op::Del => vec![b"DEL", key],
        Op::IncrBy(1) => vec![b"INCR", key],
        Op::IncrBy(_) => vec![b"INCRBY", key, by],
        Op::Append(v) => vec![b"APPEND", key, v],
        Op::GetSet(v) => vec![b"GETSET", key, v],
        Op::SetNx(v) => vec![b"SETNX", key, v],
    }
}

/// The reply as the checker compares it; `None` for a refusal that means the
/// command did not run.
fn ret_of(seed: u64, op: &Op, reply: Frame) -> Option<Ret> {
    Some(match reply {
        Frame::Error(e) if e.starts_with("LOADING") => return None,
        Frame::Simple(s) if s == "OK" => Ret::Ok,
        Frame::Int(n) => Ret::Int(n),
        Frame::Bulk(b) => Ret::Bulk(Some(b)),
        Frame::Null => Ret::Bulk(None),
        Frame::Error(e) => Ret::Err(e),
        other => panic!("seed {seed}: {op} answered {other:?}"),
    })
}

/// What the clients share: the history, in the order requests were sent.
#[derive(Default)]
struct Shared {
    history: Vec<Option<Operation>>,
    loading: usize,
    reconnects: usize,
    finished: usize,
}

async fn connect(host: &str) -> Conn {
    loop {
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(1), Conn::connect(host)).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One client's program, against `host`.
async fn client(
    seed: u64,
    id: usize,
    host: &'static str,
    opts: Options,
    shared: Rc<RefCell<Shared>>,
) -> turmoil::Result {
    let mut rng = Rng::new(seed.wrapping_mul(0x100_0193).wrapping_add(id as u64 + 1));
    let mut conn: Option<Conn> = None;
    let mut n = 0;
    while n < opts.ops_per_client {
        if opts
            .cut
            .until_ms
            .is_some_and(|until| now() >= Duration::from_millis(until))
        {
            break;
        }
        let pause = if rng.below(25) == 0 {
            100 + rng.below(400)
        } else {
            rng.below(opts.think_max_ms + 1)
        };
        if pause > 0 {
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        // Now and then a pipeline: several requests in one write.
        let batch = if rng.below(4) == 0 {
            2 + rng.below(3) as usize
        } else {
            1
        }
        .min(opts.ops_per_client - n);
        let requests: Vec<(Vec<u8>, Op, Vec<u8>)> = (0..batch)
            .map(|i| {
                let key = format!("k{}", rng.below(opts.keys as u64)).into_bytes();
                let op = random_op(&mut rng, id, n + i);
                let by = match &op {
                    Op::IncrBy(b) => b.to_string().into_bytes(),
                    _ => Vec::new(),
                };
                (key, op, by)
            })
            .collect();
        n += batch;
        let c = match &mut conn {
            Some(c) => c,
            None => conn.insert(connect(host).await),
        };
        let call = now();
        let slots: Vec<usize> = {
            let mut s = shared.borrow_mut();
            requests
                .iter()
                .map(|(key, op, _)| {
                    s.history.push(Some(Operation {
                        client: id,
                        key: key.clone(),
                        op: op.clone(),
                        call,
                        ret: None,
                    }));
                    s.history.len() - 1
                })
                .collect()
        };
        let commands: Vec<Vec<&[u8]>> = requests
            .iter()
            .map(|(key, op, by)| argv(key, op, by))
            .collect();
        let mut broken = !matches!(
            tokio::time::timeout(REPLY_TIMEOUT, c.send(&commands)).await,
            Ok(Ok(()))
        );
        let mut refused = false;
        for (slot, (_, op, _)) in slots.into_iter().zip(&requests) {
            if broken {
                // The rest maybe happened.
                break;
            }
            let Ok(Ok(frame)) = tokio::time::timeout(REPLY_TIMEOUT, c.read()).await else {
                broken = true;
                break;
            };
            let at = now();
            let mut s = shared.borrow_mut();
            match ret_of(seed, op, frame) {
                Some(ret) => s.history[slot].as_mut().expect("recorded").ret = Some((at, ret)),
                None => {
                    // Refused while loading: it did not run.
                    s.history[slot] = None;
                    s.loading += 1;
                    refused = true;
                }
            }
        }
        if broken {
            conn = None;
            shared.borrow_mut().reconnects += 1;
        }
        if refused {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    shared.borrow_mut().finished += 1;
    Ok(())
}

/// Run the simulation of `seed` with `opts` and return its history (every
/// request in the order sent, with its reply or none). Counts go to `tally`
/// (faults) and `info` (description, recorders, digest).
pub fn record(seed: u64, opts: &Options, tally: &mut Tally, info: &mut RunInfo) -> Vec<Operation> {
    let buggify = crate::scenarios::Buggify::for_seed(seed, &[]);
    info.description = format!("{opts}, {}", buggify.describe());
    if info.verbose {
        eprintln!("seed {seed}: {}", info.description);
    }
    let mut rng = Rng::new(seed ^ 0x5EED_11AE);
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(3600))
        .tcp_capacity(1 << 16)
        .min_message_latency(Duration::from_millis(opts.latency_min_ms))
        .max_message_latency(Duration::from_millis(opts.latency_max_ms));
    builder
        .fs()
        .io_latency()
        .max_latency(Duration::from_millis(1 + rng.below(10)));
    let mut sim = builder.build();

    let base = Config {
        save: Vec::new(),
        ..Default::default()
    };
    let master: &'static str = match opts.variant {
        Variant::Replicas => "master",
        _ => "server",
    };
    let mut recorders = Vec::new();
    let mut disk_faults = None;
    match opts.variant {
        Variant::Healthy => {
            let recorder = Recorder::new();
            recorders.push((master, recorder.clone()));
            let config = base.clone();
            sim.host(master, move || {
                serve(ServerOptions {
                    config: config.clone(),
                    seed,
                    wall: WallOffset::new(),
                    recorder: recorder.clone(),
                })
            });
        }
        Variant::AofCrash => {
            let config = Config {
                appendonly: true,
                appendfsync: opts.fsync,
                aof_use_rdb_preamble: rng.below(2) == 0,
                auto_aof_rewrite_percentage: 100,
                auto_aof_rewrite_min_size: 4 * 1024,
                ..base.clone()
            };
            let faults = DiskFaults::new(seed);
            faults.set(FaultConfig {
                fsync_delay_probability: 0.1,
                fsync_delay_max: Duration::from_millis(rng.below(200)),
                torn_write_probability: 0.2,
                ..Default::default()
            });
            disk_faults = Some(faults.clone());
            let recorder = Recorder::new();
            recorders.push((master, recorder.clone()));
            sim.host(master, move || {
                serve_with_faults(
                    ServerOptions {
                        config: config.clone(),
                        seed,
                        wall: WallOffset::new(),
                        recorder: recorder.clone(),
                    },
                    faults.clone(),
                )
            });
        }
        Variant::Replicas => {
            for (i, name) in ["master", "r1", "r2"]
                .into_iter()
                .take(1 + opts.replicas)
                .enumerate()
            {
                let recorder = Recorder::new();
                recorders.push((name, recorder.clone()));
                let mut config = Config {
                    repl_timeout: 3 + rng.below(4) as i64,
                    repl_ping_replica_period: 1 + rng.below(3) as i64,
                    ..base.clone()
                };
                if i > 0 {
                    config.replicaof = Some(("master".to_string(), SERVER_PORT));
                }
                let host_seed = seed.wrapping_add(i as u64 * 1000);
                sim.host(name, move || {
                    serve(ServerOptions {
                        config: config.clone(),
                        seed: host_seed,
                        wall: WallOffset::new(),
                        recorder: recorder.clone(),
                    })
                });
            }
        }
    }
    for (name, r) in &recorders {
        info.recorders.push((name.to_string(), r.clone()));
    }

    let shared = Rc::new(RefCell::new(Shared::default()));
    for id in 0..opts.clients {
        let (o, s) = (opts.clone(), shared.clone());
        sim.client(format!("client{id}"), client(seed, id, master, o, s));
    }

    // Faults, a millisecond per step, until every client is done.
    let crash_at = match opts.variant {
        Variant::AofCrash => opts.crashes.clone(),
        _ => Vec::new(),
    };
    let mut crashes = crash_at.into_iter().peekable();
    let mut down_until: Option<u64> = None;
    let mut heal_links: Vec<(u64, &'static str)> = Vec::new();
    let replicas = ["r1", "r2"];
    let cut = &opts.cut;
    let mut drawn = 0u32;
    let mut applies = |ms: u64| {
        drawn += 1;
        cut.until_ms.is_none_or(|until| ms < until) && cut.keeps(drawn - 1)
    };
    let mut last_ms = 0;
    for ms in 0u64.. {
        last_ms = ms;
        if let Some(until) = down_until {
            if ms >= until {
                sim.bounce(master);
                down_until = None;
                if info.verbose {
                    eprintln!("  {ms} ms: {master} restarted");
                }
            }
        } else if crashes.peek().is_some_and(|(at, _)| *at <= ms) {
            let (_, down) = crashes.next().expect("peeked");
            if applies(ms) {
                sim.crash(master);
                tally.crashes += 1;
                down_until = Some(ms + down);
                if info.verbose {
                    eprintln!("  {ms} ms: {master} crashed, down {down} ms");
                }
            }
        }
        if opts.variant == Variant::Replicas {
            if rng.below(400) == 0 {
                let r = replicas[rng.below(opts.replicas as u64) as usize];
                if !heal_links.iter().any(|(_, h)| *h == r) {
                    // Drawn whether applied or not, so a cut leaves the others as
                    // they were; healing a link never cut is harmless.
                    let how = rng.below(3);
                    if applies(ms) {
                        match how {
                            0 => sim.partition(master, r),
                            1 => sim.partition_oneway(master, r),
                            _ => sim.hold(master, r),
                        }
                        tally.partitions += 1;
                        if info.verbose {
                            eprintln!("  {ms} ms: link master-{r} cut");
                        }
                    }
                    heal_links.push((ms + 100 + rng.below(3000), r));
                }
            }
            heal_links.retain(|(at, r)| {
                if *at <= ms {
                    sim.repair(master, *r);
                    sim.release(master, *r);
                    false
                } else {
                    true
                }
            });
        }
        let done = sim.step().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if done {
            break;
        }
    }
    info.count("sim ms", sim.elapsed().as_millis() as u64);
    info.schedule_ms = last_ms;
    info.faults_drawn = drawn;
    for (_, r) in &recorders {
        let trace = r.snapshot();
        info.fold_digest(trace.digest());
        tally.rewrites += trace
            .entries
            .iter()
            .filter(|e| matches!(e, TraceEntry::Log { message, .. } if message.starts_with("Background AOF rewrite finished successfully")))
            .count();
    }
    buggify.report(info);
    if let Some(f) = disk_faults {
        let c = f.counts();
        tally.fsync_delays += c.fsync_delays;
        tally.torn_writes += c.torn_writes;
    }
    let mut s = shared.borrow_mut();
    assert_eq!(
        s.finished, opts.clients,
        "seed {seed}: every client finished"
    );
    tally.loading += s.loading;
    tally.reconnects += s.reconnects;
    let history: Vec<Operation> = s.history.drain(..).flatten().collect();
    info.fold_digest(history_digest(&history));
    history
}

/// FNV-1a over the history's operations, times and replies.
pub fn history_digest(history: &[Operation]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for o in history {
        for b in format!("{o:?}").bytes() {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Check one seed's history: the checker's summary, counted into `tally`.
pub fn check(history: &[Operation], tally: &mut Tally) -> checker::Summary {
    let summary = checker::check(history, checker::DEFAULT_BUDGET);
    tally.histories += summary.keys;
    tally.ops += summary.ops;
    tally.maybe += summary.maybe;
    tally.nodes += summary.nodes;
    tally.backtracks += summary.backtracks;
    tally.inconclusive += summary.inconclusive.len();
    summary
}

/// The command that replays one seed with its diagnostics.
pub fn replay_command(seed: u64) -> String {
    format!(
        "LINEAR_SEED={seed} cargo test -p cinnabar-sim-tests --release --test linear -- --nocapture"
    )
}

/// Run and check `seed` as drawn; panics on a violation.
pub fn run(seed: u64, tally: &mut Tally, info: &mut RunInfo) {
    run_with(seed, &Options::from_seed(seed), tally, info)
}

/// [`run`] under a shrink's cut (see [`Options::cut`]).
pub fn run_cut(seed: u64, cut: &FaultCut, tally: &mut Tally, info: &mut RunInfo) {
    let opts = Options {
        cut: cut.clone(),
        ..Options::from_seed(seed)
    };
    run_with(seed, &opts, tally, info)
}

/// Run and check `seed` with `opts`; panics on a violation, naming the seed, the
/// key, the operations and the replay command.
pub fn run_with(seed: u64, opts: &Options, tally: &mut Tally, info: &mut RunInfo) {
    let history = record(seed, opts, tally, info);
    let summary = check(&history, tally);
    tally.seeds += 1;
    if info.verbose {
        eprintln!(
            "seed {seed}: {} ops on {} keys checked ({} maybe happened), {} search nodes, {} inconclusive, digest {:016x}",
            summary.ops,
            summary.keys,
            summary.maybe,
            summary.nodes,
            summary.inconclusive.len(),
            info.digest
        );
    }
    if let Some(v) = summary.violations.first() {
        panic!(
            "seed {seed}: the history is not linearizable ({}).\n{}replay: {}",
            info.description,
            v.describe(&history),
            replay_command(seed)
        );
    }
}
