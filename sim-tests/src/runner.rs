//! Builds a turmoil simulation from a [`Scenario`], runs it, and checks it.
//!
//! Hosts: `server` (cinnabar through `cinnabar-io-sim`), `client-0`.. (the workload),
//! and `final`, which waits until every workload client is done, moves the wall
//! clock an hour ahead, lets simulated time pass and asks DBSIZE: by then active
//! expiry must have removed every key past its deadline, which shows the timers kept
//! firing through every jump. Before that, while every workload client left is
//! blocked in a pop with a timeout of 0, the final client serves the first of them:
//! it deletes the key that client waits for and pushes one element to it (RPUSH, or
//! ZADD for a sorted-set pop), which wakes one of the clients blocked on that key, so
//! that every run ends. Scheduled wall-clock jumps are applied between simulation
//! steps, while the workload runs.

use crate::checker::{self, CheckStats};
use crate::client::{self, ClientLog, Connection, SharedLog};
use crate::resp;
use crate::scenario::{Cut, Scenario};
use cinnabar_core::Config;
use cinnabar_io_sim::{FootprintWatch, Recorder, ServerOptions, SimWallClock, Trace, WallOffset};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Name of the client host that runs the liveness check at the end.
pub const FINAL_CLIENT: &str = "final";
/// The final forward jump: past every deadline the workload can set, even after
/// the scenario's backward jumps.
const FINAL_JUMP_MS: i64 = 3_600_000;
/// Simulated time the final client waits after its jump. At hz 10 this is twenty
/// slow expire cycles, each sampling 20 keys: far more than a keyspace of 20 needs.
const FINAL_WAIT: Duration = Duration::from_secs(2);
/// How often the final client looks whether the workload is done.
const FINAL_POLL: Duration = Duration::from_millis(10);
/// How long the final client lets a push it made to wake a forever-blocked client
/// travel (both ways, up to 25 ms each) before it looks again.
const UNBLOCK_WAIT: Duration = Duration::from_millis(100);
/// Simulated time allowed beyond the scenario's expected duration before a run
/// counts as stuck.
const STUCK_AFTER: Duration = Duration::from_secs(120);

/// What a run left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub trace: Trace,
    pub clients: Vec<ClientLog>,
    pub sim_elapsed: Duration,
    pub jumps_applied: usize,
    /// How often each BUGGIFY point fired, when it was on.
    pub buggify: Option<Vec<(&'static str, u64)>>,
    /// What the memory-growth checker saw of the server at rest.
    pub footprint: FootprintWatch,
}

thread_local! {
    /// Panics on this thread (simulations run on the test's thread; a panic in a task
    /// tokio catches would otherwise go unnoticed).
    static PANICS: Cell<usize> = const { Cell::new(0) };
    /// The first panic's message and location since the last reset.
    static FIRST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            FIRST_PANIC.with(|f| {
                f.borrow_mut().get_or_insert_with(|| info.to_string());
            });
            previous(info);
        }));
    });
}

/// Run the scenario's simulation to its end.
pub fn simulate(sc: &Scenario) -> Result<Outcome, String> {
    count_panics();
    let panics_before = PANICS.with(|p| p.get());
    FIRST_PANIC.with(|f| f.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(|| simulate_inner(sc)));
    let panics = PANICS.with(|p| p.get()) - panics_before;
    let first = FIRST_PANIC
        .with(|f| f.borrow_mut().take())
        .unwrap_or_default();
    match result {
        Ok(_) | Err(_) if panics > 0 => Err(format!(
            "{panics} panic(s) during the run, the first: {first}"
        )),
        Ok(outcome) => outcome,
        Err(_) => Err("the simulation panicked".into()),
    }
}

fn simulate_inner(sc: &Scenario) -> Result<Outcome, String> {
    let buggify = sc.buggify.then(cinnabar_io_sim::buggify::enable);
    let mut sim = turmoil::Builder::new()
        .rng_seed(sc.turmoil_seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(sc.epoch_secs))
        .min_message_latency(sc.latency_min)
        .max_message_latency(sc.latency_max)
        .simulation_duration(sc.expected_duration * 4 + FINAL_WAIT + STUCK_AFTER)
        .build();

    let wall = WallOffset::new();
    let recorder = Recorder::new();
    let mut config = Config::default();
    let notify = if sc.notify_classes.is_empty() {
        String::new()
    } else {
        format!("notify-keyspace-events {}\n", sc.notify_classes)
    };
    config
        .load_from_string(&format!(
            "hz {}\nactive-expire-effort {}\n{notify}{}",
            sc.hz,
            sc.active_expire_effort,
            sc.limits.config_lines()
        ))
        .map_err(|e| e.report())?;
    let options = ServerOptions {
        config,
        seed: sc.server_seed,
        wall: wall.clone(),
        recorder: recorder.clone(),
    };
    sim.host("server", move || cinnabar_io_sim::serve(options.clone()));

    let done = Rc::new(Cell::new(0usize));
    let ids = client::SharedIds::default();
    let mut logs: Vec<SharedLog> = Vec::new();
    for (i, program) in sc.programs.iter().enumerate() {
        let log: SharedLog = Rc::new(RefCell::new(ClientLog {
            name: format!("client-{i}"),
            ..ClientLog::default()
        }));
        logs.push(log.clone());
        let (program, clock, done, ids) = (
            program.clone(),
            SimWallClock::new(wall.clone()),
            done.clone(),
            ids.clone(),
        );
        sim.client(format!("client-{i}"), async move {
            let result = client::run_program(program, clock, log, i, ids).await;
            done.set(done.get() + 1);
            result
        });
    }
    let workload_logs = logs.clone();
    let final_log: SharedLog = Rc::new(RefCell::new(ClientLog {
        name: FINAL_CLIENT.into(),
        ..ClientLog::default()
    }));
    logs.push(final_log.clone());
    let (workers, final_wall, final_done) = (sc.clients(), wall.clone(), done.clone());
    sim.client(FINAL_CLIENT, async move {
        let mut conn = None;
        while final_done.get() < workers {
            let waiting: Vec<Vec<Vec<u8>>> = workload_logs
                .iter()
                .filter_map(|l| l.borrow().waiting_forever.clone())
                .collect();
            if waiting.is_empty() || final_done.get() + waiting.len() < workers {
                tokio::time::sleep(FINAL_POLL).await;
                continue;
            }
            let (key, zset) = crate::model::blocking::forever_wait(&waiting[0])
                .expect("only forever-blocking pops are waiting_forever");
            if conn.is_none() {
                conn = Some(Connection::open(final_log.clone()).await?);
            }
            let c = conn.as_mut().expect("opened");
            let push: Vec<Vec<u8>> = if zset {
                vec![b"ZADD".to_vec(), key.clone(), b"0".to_vec(), b"x".to_vec()]
            } else {
                vec![b"RPUSH".to_vec(), key.clone(), b"x".to_vec()]
            };
            let mut bytes = Vec::new();
            resp::encode_request(&[b"DEL".to_vec(), key], &mut bytes);
            resp::encode_request(&push, &mut bytes);
            c.send(&bytes, 2, None).await?;
            c.reply().await?;
            c.reply().await?;
            tokio::time::sleep(UNBLOCK_WAIT).await;
        }
        final_wall.jump_ms(FINAL_JUMP_MS);
        tokio::time::sleep(FINAL_WAIT).await;
        let mut conn = match conn {
            Some(c) => c,
            None => Connection::open(final_log.clone()).await?,
        };
        let mut bytes = Vec::new();
        resp::encode_request(&[b"DBSIZE".to_vec()], &mut bytes);
        conn.send(&bytes, 1, None).await?;
        let reply = conn.reply().await?;
        final_log.borrow_mut().last_reply = Some(reply);
        conn.finish().await
    });

    let mut next_jump = 0;
    loop {
        let elapsed = sim.elapsed();
        while next_jump < sc.jumps.len()
            && sc.jumps[next_jump].at <= elapsed
            && done.get() < sc.clients()
        {
            wall.jump_ms(sc.jumps[next_jump].delta_ms);
            next_jump += 1;
        }
        match sim.step() {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => return Err(format!("simulation failed: {e}")),
        }
    }
    let sim_elapsed = sim.elapsed();
    drop(sim);
    let clients = logs.iter().map(|l| l.borrow().clone()).collect();
    Ok(Outcome {
        footprint: recorder.footprint(),
        trace: recorder.take(),
        clients,
        sim_elapsed,
        jumps_applied: next_jump,
        buggify: buggify.map(|b| b.counts()),
    })
}

/// A checked run.
#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub digest: u64,
    pub stats: CheckStats,
    pub trace_entries: usize,
    pub jumps_applied: usize,
    pub sim_elapsed: Duration,
    pub real_elapsed: Duration,
    pub buggify: Option<Vec<(&'static str, u64)>>,
    pub footprint: FootprintWatch,
}

/// A failed run, with everything needed to replay it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub seed: u64,
    pub scenario: String,
    pub message: String,
}

impl Failure {
    /// The failure report: seed, scenario, what went wrong, and how to replay it.
    pub fn report(&self, test_name: &str) -> String {
        format!(
            "simulation failed: seed={seed}\n  scenario: {scenario}\n  {message}\n  replay: {cmd}",
            seed = self.seed,
            scenario = self.scenario,
            message = self.message.replace('\n', "\n  "),
            cmd = replay_command(self.seed, test_name),
        )
    }
}

/// The command that replays `seed` exactly.
pub fn replay_command(seed: u64, test_name: &str) -> String {
    format!("SIM_SEED={seed} cargo test -p cinnabar-sim-tests --release -- {test_name} --nocapture")
}

/// Simulate and check one seed.
pub fn run_seed(seed: u64) -> Result<Report, Failure> {
    run_scenario(&Scenario::from_seed(seed))
}

/// Simulate and check one seed's scenario less what a shrink removed.
pub fn run_cut(seed: u64, cut: &Cut) -> Result<Report, Failure> {
    run_scenario(&Scenario::from_seed(seed).with_cut(cut))
}

/// Simulate and check a scenario (a seed's, or one cut down from it).
pub fn run_scenario(sc: &Scenario) -> Result<Report, Failure> {
    let started = Instant::now();
    let seed = sc.seed;
    let fail = |message: String| Failure {
        seed,
        scenario: sc.to_string(),
        message,
    };
    let outcome = simulate(sc).map_err(fail)?;
    crate::scenarios::check_footprint("server", &outcome.footprint).map_err(fail)?;
    let cron_period = Duration::from_millis(1000 / sc.hz as u64);
    let stats = checker::check(
        &outcome.trace,
        &outcome.clients,
        FINAL_CLIENT,
        cron_period,
        sc.limits,
        crate::model::notify::parse_flags(sc.notify_classes.as_bytes())
            .expect("the scenario draws valid classes"),
    )
    .map_err(fail)?;
    Ok(Report {
        seed,
        digest: outcome.trace.digest(),
        stats,
        trace_entries: outcome.trace.entries.len(),
        jumps_applied: outcome.jumps_applied,
        sim_elapsed: outcome.sim_elapsed,
        real_elapsed: started.elapsed(),
        buggify: outcome.buggify.clone(),
        footprint: outcome.footprint.clone(),
    })
}

impl Report {
    /// How often the interleaving paths happened in this run: transactions run and
    /// aborted by WATCH, clients blocked, served and timed out, messages delivered.
    pub fn interleavings(&self) -> String {
        interleavings(&self.stats.events)
    }

    pub fn line(&self) -> String {
        format!(
            "sim seed={} ok: {} requests on {} connections, {} timer runs, {} jumps, {} replies \
             checked against uncertain keys, {} keys left ({} uncertain), {} trace entries, \
             digest {:016x}, {:.1}s simulated in {}ms; {}",
            self.seed,
            self.stats.requests,
            self.stats.connections,
            self.stats.timeouts,
            self.jumps_applied,
            self.stats.uncertain_checks,
            self.stats.keys,
            self.stats.uncertain_keys,
            self.trace_entries,
            self.digest,
            self.sim_elapsed.as_secs_f64(),
            self.real_elapsed.as_millis(),
            self.interleavings(),
        )
    }
}

/// How often the interleaving paths happened in a run (or a batch, from its summed
/// events): transactions run and aborted by WATCH, clients blocked, served and timed
/// out, messages delivered.
pub fn interleavings(events: &std::collections::BTreeMap<String, usize>) -> String {
    let n = |e: &str| events.get(e).copied().unwrap_or(0);

    format!(
        "exec {} (watch aborts {}, unsure {}), blocked {} (served {}, timed out {}), \
             messages delivered {}",
        n("multi: EXEC ran"),
        n("watch: EXEC aborted by a touched key")
            + n("watch: EXEC aborted by a watched key that expired"),
        n("watch: EXEC aborted (the model was unsure)")
            + n("watch: EXEC ran (the model was unsure)"),
        n("blocking: a client blocked"),
        n("blocking: served by another client's write"),
        n("blocking: timed out"),
        n("pubsub: a message delivered"),
    )
}
