//! Replication under faults: a master, two replicas of it and a third replica of
//! the first (chained), all the production core and event loop inside turmoil. A
//! writer sends SET/INCR/RPUSH/DEL/EXPIRE and MULTI/EXEC blocks to the master, now
//! and then WAIT, and now and then a write to a replica; meanwhile the schedule
//! partitions links (both ways or one way), holds them, with full resyncs through
//! the disk or streamed to the sockets (diskless) as the seed draws, crashes and restarts
//! replicas (which come back from the RDB their last full resync wrote) and the
//! master, and jumps replicas' wall clocks.
//!
//! Checkers: a replica never accepts a write from a client (READONLY, or LOADING
//! while it loads); WAIT never counts more replicas than hold the write it waited
//! for (each counted replica is asked for the key right after, through a healed
//! network, and must have it); once the network heals and writes stop, every
//! replica's DEBUG DIGEST equals the master's. Across the seeds both partial and
//! full resyncs must occur (counted from INFO stats), so neither path goes untested.
//!
//! A failure names its seed; `REPL_SIM_SEED=<seed> cargo test -p cinnabar-io-sim
//! --test replication -- --nocapture` replays it (`REPL_SIM_SEEDS=<n>` runs n).

use cinnabar_core::testing::Frame;
use cinnabar_core::Config;
use cinnabar_io_sim::{serve, Recorder, ServerOptions, TraceEntry, WallOffset, SERVER_PORT};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

mod support;
use support::{Conn, Rng};

const MASTER: &str = "master";
/// Replicas and whom each replicates.
const REPLICAS: [(&str, &str); 3] = [("r1", MASTER), ("r2", MASTER), ("r3", "r1")];

/// A command with a deadline (a partitioned server never answers).
async fn ask(host: &str, args: &[&[u8]], within: Duration) -> Option<Frame> {
    let attempt = async {
        let mut c = Conn::connect(host).await.ok()?;
        c.cmd(args).await.ok()
    };
    tokio::time::timeout(within, attempt).await.ok().flatten()
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(s) | Frame::Error(s) => s.clone(),
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

fn info_field(info: &str, field: &str) -> Option<i64> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
}

/// What the writer saw, checked at the end.
#[derive(Default)]
struct Seen {
    writes: usize,
    waits: usize,
    wait_counted: usize,
    replica_refusals: usize,
    violations: Vec<String>,
    stop: bool,
    done: bool,
}

async fn writer(seed: u64, seen: Rc<RefCell<Seen>>) -> turmoil::Result {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut round = 0u64;
    let mut conn: Option<Conn> = None;
    while !seen.borrow().stop {
        round += 1;
        tokio::time::sleep(Duration::from_millis(1 + rng.below(30))).await;
        if conn.is_none() {
            conn = Conn::connect(MASTER).await.ok();
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let c = conn.as_mut().expect("connected");
        let key = format!("k{}", rng.below(40));
        let value = "v".repeat(1 + rng.below(400) as usize) + &round.to_string();
        let pick = rng.below(20);
        let reply = match pick {
            0..=7 => c.cmd(&[b"SET", key.as_bytes(), value.as_bytes()]).await,
            8..=10 => {
                c.cmd(&[b"INCR", format!("n{}", rng.below(5)).as_bytes()])
                    .await
            }
            11..=12 => c.cmd(&[b"RPUSH", b"list", value.as_bytes()]).await,
            13 => c.cmd(&[b"DEL", key.as_bytes()]).await,
            14 => {
                let ms = (50 + rng.below(3000)).to_string();
                c.cmd(&[b"PEXPIRE", key.as_bytes(), ms.as_bytes()]).await
            }
            15 => {
                let sel = rng.below(3).to_string();
                let r = c.cmd(&[b"SELECT", sel.as_bytes()]).await;
                let r = match r {
                    Ok(_) => c.cmd(&[b"SET", b"in-db", value.as_bytes()]).await,
                    e => e,
                };
                // Back to db 0, where the WAIT check looks for its keys.
                match r {
                    Ok(_) => c.cmd(&[b"SELECT", b"0"]).await,
                    e => e,
                }
            }
            16 => {
                let sent = c
                    .send(&[
                        vec![b"MULTI".as_slice()],
                        vec![b"INCR", b"tx"],
                        vec![b"SET", key.as_bytes(), value.as_bytes()],
                        vec![b"EXEC"],
                    ])
                    .await;
                let mut last = sent.map(|_| Frame::Null);
                for _ in 0..4 {
                    if last.is_err() {
                        break;
                    }
                    last = c.read().await;
                }
                last
            }
            17 => {
                // WAIT for a write only this round makes, then ask each replica
                // that could have counted whether it holds it.
                let wkey = format!("w{round}");
                let r = c.cmd(&[b"SET", wkey.as_bytes(), b"1"]).await;
                let w = match r {
                    Ok(_) => c.cmd(&[b"WAIT", b"2", b"200"]).await,
                    Err(e) => Err(e),
                };
                if let Ok(Frame::Int(n)) = &w {
                    let n = *n as usize;
                    let mut holders = 0;
                    let mut unknown = 0;
                    for (name, of) in REPLICAS {
                        if of != MASTER {
                            continue;
                        }
                        match ask(
                            name,
                            &[b"EXISTS", wkey.as_bytes()],
                            Duration::from_millis(500),
                        )
                        .await
                        {
                            Some(Frame::Int(1)) => holders += 1,
                            Some(Frame::Int(0)) => {
                                // A write made before the replica's snapshot is in
                                // the payload it is still receiving (its ACK of 0
                                // covers it, as in Redis): not known yet.
                                let syncing = ask(
                                    name,
                                    &[b"INFO", b"replication"],
                                    Duration::from_millis(500),
                                )
                                .await
                                .is_none_or(|f| text(&f).contains("master_sync_in_progress:1"));
                                if syncing {
                                    unknown += 1;
                                }
                            }
                            _ => unknown += 1,
                        }
                    }
                    if n > holders + unknown {
                        let mut detail = String::new();
                        for host in [MASTER, "r1", "r2"] {
                            if let Some(f) =
                                ask(host, &[b"INFO", b"replication"], Duration::from_millis(500))
                                    .await
                            {
                                detail.push_str(&format!(
                                    "\n{host}: {}",
                                    text(&f).replace("\r\n", " ")
                                ));
                            }
                        }
                        seen.borrow_mut().violations.push(format!(
                            "WAIT counted {n} replicas for {wkey}, {holders} hold it ({unknown} unreachable){detail}"
                        ));
                    }
                    let mut s = seen.borrow_mut();
                    s.waits += 1;
                    s.wait_counted += n;
                }
                w
            }
            _ => {
                // A client's write to a replica is refused.
                let (name, _) = REPLICAS[rng.below(3) as usize];
                if let Some(f) = ask(name, &[b"SET", b"x", b"y"], Duration::from_millis(300)).await
                {
                    let t = text(&f);
                    let mut s = seen.borrow_mut();
                    if t.starts_with("READONLY") || t.starts_with("LOADING") {
                        s.replica_refusals += 1;
                    } else {
                        s.violations
                            .push(format!("{name} answered a client's SET with {t}"));
                    }
                }
                Ok(Frame::Null)
            }
        };
        match reply {
            Ok(_) => seen.borrow_mut().writes += 1,
            Err(_) => conn = None,
        }
    }
    seen.borrow_mut().done = true;
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    seeds: usize,
    full: i64,
    partial: i64,
    partial_err: i64,
    writes: usize,
    waits: usize,
    wait_counted: usize,
    refusals: usize,
    partitions: usize,
    crashes: usize,
    jumps: usize,
}

/// Sum of the `sync_*` stats of the servers that have replicas.
async fn sync_stats() -> (i64, i64, i64) {
    let mut sums = (0, 0, 0);
    for host in [MASTER, "r1"] {
        if let Some(f) = ask(host, &[b"INFO", b"stats"], Duration::from_secs(2)).await {
            let info = text(&f);
            sums.0 += info_field(&info, "sync_full").unwrap_or(0);
            sums.1 += info_field(&info, "sync_partial_ok").unwrap_or(0);
            sums.2 += info_field(&info, "sync_partial_err").unwrap_or(0);
        }
    }
    sums
}

/// Undoing a fault: a repaired link, a restarted host.
type Heal = Box<dyn Fn(&mut turmoil::Sim<'_>)>;

fn run(seed: u64, tally: &mut Tally) {
    let mut rng = Rng::new(seed);
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(3600))
        .tcp_capacity(1 << 16)
        .max_message_latency(Duration::from_millis(1 + rng.below(20)));
    builder
        .fs()
        .io_latency()
        .max_latency(Duration::from_millis(1 + rng.below(10)));
    let mut sim = builder.build();

    // A small backlog makes long breaks full resyncs, short ones partial.
    let backlog = [16 * 1024, 64 * 1024, 1024 * 1024][rng.below(3) as usize];
    let base = Config {
        save: Vec::new(),
        repl_timeout: 3 + rng.below(4) as i64,
        repl_backlog_size: backlog,
        repl_ping_replica_period: 1 + rng.below(3) as i64,
        enable_debug_command: cinnabar_core::config::Protected::Yes,
        // Both full-resync targets: the RDB file, and the replicas' sockets.
        repl_diskless_sync: rng.below(2) == 0,
        repl_diskless_sync_delay: rng.below(3) as i64,
        ..Default::default()
    };
    let mut walls = Vec::new();
    let mut recorders = Vec::new();
    for (i, name) in std::iter::once(MASTER)
        .chain(REPLICAS.iter().map(|(n, _)| *n))
        .enumerate()
    {
        let mut config = base.clone();
        if let Some((_, of)) = REPLICAS.iter().find(|(n, _)| *n == name) {
            config.replicaof = Some((of.to_string(), SERVER_PORT));
        }
        let wall = WallOffset::new();
        walls.push((name, wall.clone()));
        let host_seed = seed.wrapping_add(i as u64 * 1000);
        let recorder = Recorder::new();
        recorders.push((name, recorder.clone()));
        // Each boot draws its own core seed, as a real process seeds from the OS:
        // a restarted master that drew its old replication id again would accept
        // partial resyncs into a different history.
        let boots = Rc::new(std::cell::Cell::new(0u64));
        sim.host(name, move || {
            boots.set(boots.get() + 1);
            serve(ServerOptions {
                config: config.clone(),
                seed: host_seed.wrapping_add(boots.get().wrapping_mul(0x9E37_79B9)),
                wall: wall.clone(),
                recorder: recorder.clone(),
            })
        });
    }
    let seen = Rc::new(RefCell::new(Seen::default()));
    let w = seen.clone();
    sim.client("writer", writer(seed, w));

    // The fault schedule, a millisecond per step.
    let active_ms = 20_000 + rng.below(20_000);
    let mut healing: Vec<(u64, Heal)> = Vec::new();
    let mut stats_before_master_crash = (0, 0, 0);
    for ms in 0..active_ms {
        if rng.below(1500) == 0 {
            let (name, of) = REPLICAS[rng.below(3) as usize];
            let until = ms + 500 + rng.below(8000);
            match rng.below(3) {
                0 => sim.partition(name, of),
                1 => sim.partition_oneway(of, name),
                _ => sim.hold(name, of),
            }
            tally.partitions += 1;
            healing.push((
                until,
                Box::new(move |s: &mut turmoil::Sim<'_>| {
                    s.repair(name, of);
                    s.release(name, of);
                }),
            ));
        }
        if rng.below(6000) == 0 {
            let (name, _) = REPLICAS[rng.below(3) as usize];
            if sim.is_host_running(name) {
                sim.crash(name);
                tally.crashes += 1;
                let until = ms + 200 + rng.below(3000);
                healing.push((
                    until,
                    Box::new(move |s: &mut turmoil::Sim<'_>| s.bounce(name)),
                ));
            }
        }
        if rng.below(40_000) == 0 && sim.is_host_running(MASTER) {
            // The master loses its dataset (no persistence): a new history.
            let s = Rc::new(RefCell::new(None));
            let out = s.clone();
            sim.client(format!("stats{ms}"), async move {
                *out.borrow_mut() = Some(sync_stats().await);
                Ok(())
            });
            let _ = sim.step();
            sim.crash(MASTER);
            tally.crashes += 1;
            if let Some((f, p, e)) = *s.borrow() {
                stats_before_master_crash.0 += f;
                stats_before_master_crash.1 += p;
                stats_before_master_crash.2 += e;
            }
            let until = ms + 200 + rng.below(2000);
            healing.push((until, Box::new(|s: &mut turmoil::Sim<'_>| s.bounce(MASTER))));
        }
        if rng.below(8000) == 0 {
            let (_, wall) = &walls[1 + rng.below(3) as usize];
            let delta = rng.below(120_000) as i64 - 60_000;
            wall.jump_ms(delta);
            tally.jumps += 1;
        }
        let due: Vec<usize> = (0..healing.len()).filter(|&i| healing[i].0 <= ms).collect();
        for i in due.into_iter().rev() {
            let (_, heal) = healing.remove(i);
            heal(&mut sim);
        }
        sim.step().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    for (_, heal) in healing.drain(..) {
        heal(&mut sim);
    }
    seen.borrow_mut().stop = true;

    // Healed and quiet: every replica converges on the master's dataset.
    let digests = Rc::new(RefCell::new(None));
    let out = digests.clone();
    sim.client("checker", async move {
        let names: Vec<&str> = std::iter::once(MASTER)
            .chain(REPLICAS.iter().map(|(n, _)| *n))
            .collect();
        let deadline = turmoil::sim_elapsed().unwrap() + Duration::from_secs(120);
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut got = Vec::new();
            for name in &names {
                let d = ask(name, &[b"DEBUG", b"DIGEST"], Duration::from_secs(2)).await;
                let link = match *name {
                    MASTER => Some("up".to_string()),
                    _ => ask(name, &[b"INFO", b"replication"], Duration::from_secs(2))
                        .await
                        .map(|f| text(&f))
                        .and_then(|i| {
                            i.lines()
                                .find_map(|l| l.strip_prefix("master_link_status:"))
                                .map(|s| s.trim().to_string())
                        }),
                };
                got.push((name.to_string(), d.map(|f| text(&f)), link));
            }
            let all_up = got.iter().all(|(_, _, l)| l.as_deref() == Some("up"));
            let same = got.iter().all(|(_, d, _)| {
                d.as_ref()
                    .is_some_and(|d| d.len() == 40 && d.bytes().all(|b| b.is_ascii_hexdigit()))
                    && *d == got[0].1
            });
            if (all_up && same) || turmoil::sim_elapsed().unwrap() > deadline {
                let stats = sync_stats().await;
                *out.borrow_mut() = Some((got, all_up && same, stats));
                return Ok(());
            }
        }
    });
    while digests.borrow().is_none() {
        sim.step().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    let (got, converged, stats) = digests.borrow_mut().take().expect("checked");
    if !converged || std::env::var("REPL_SIM_SEED").is_ok() {
        for (name, r) in &recorders {
            for e in r.snapshot().entries {
                if let TraceEntry::Log { message, .. } = e {
                    eprintln!("  {name}: {}", message.trim_end());
                }
            }
        }
    }
    assert!(
        converged,
        "seed {seed}: the replicas did not converge on the master's dataset: {got:?}"
    );
    let s = seen.borrow();
    assert!(s.violations.is_empty(), "seed {seed}: {:?}", s.violations);
    tally.seeds += 1;
    tally.full += stats.0 + stats_before_master_crash.0;
    tally.partial += stats.1 + stats_before_master_crash.1;
    tally.partial_err += stats.2 + stats_before_master_crash.2;
    tally.writes += s.writes;
    tally.waits += s.waits;
    tally.wait_counted += s.wait_counted;
    tally.refusals += s.replica_refusals;
    eprintln!(
        "seed {seed}: {} writes, syncs full {} partial {}, digest {:?}",
        s.writes,
        stats.0 + stats_before_master_crash.0,
        stats.1 + stats_before_master_crash.1,
        got[0].1
    );
}

#[test]
fn replicas_converge_and_resync_partially_when_the_backlog_allows() {
    let seeds: Vec<u64> = match std::env::var("REPL_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("REPL_SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("REPL_SIM_SEEDS").map_or(12, |n| n.parse().expect("a count"));
            (1..=n).collect()
        }
    };
    let mut tally = Tally::default();
    for seed in &seeds {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(*seed, &mut tally)));
        if let Err(e) = result {
            eprintln!(
                "replay: REPL_SIM_SEED={seed} cargo test -p cinnabar-io-sim --test replication -- --nocapture"
            );
            std::panic::resume_unwind(e);
        }
    }
    eprintln!("{tally:?}");
    if seeds.len() > 1 {
        assert!(tally.full > 0 && tally.partial > 0, "{tally:?}");
        assert!(
            tally.partitions > 0 && tally.crashes > 0 && tally.jumps > 0,
            "{tally:?}"
        );
        assert!(tally.waits > 0 && tally.wait_counted > 0, "{tally:?}");
        assert!(tally.refusals > 0, "{tally:?}");
    }
}
