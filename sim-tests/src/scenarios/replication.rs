//! Replication under faults: a master, two replicas of it and a third replica of
//! the first (chained), all the production core and event loop inside turmoil. A
//! writer sends SET/INCR/RPUSH/DEL/EXPIRE (some followed by a PERSIST of the key a
//! few rounds later) and MULTI/EXEC blocks to the master, now and then WAIT, and
//! now and then a write to a replica; meanwhile the schedule
//! partitions links (both ways or one way), holds them, with full resyncs through
//! the disk or streamed to the sockets (diskless) as the seed draws, crashes and restarts
//! replicas (which come back from the RDB their last full resync wrote) and the
//! master, jumps replicas' wall clocks (back and forward), and gives one link at a
//! time a latency spike (every packet 50 ms to 6 s late for a while, a replication
//! link or the writer's).
//!
//! In about half the seeds an operator fails over once or twice, as Sentinel does
//! with Redis 7: at a seed-drawn moment, `REPLICAOF NO ONE` on a running replica of
//! the master (the old master may be down then), then `REPLICAOF <it> 6379` on the
//! old master and on the old master's other replicas; a replica chained under the
//! promoted one stays under it (it reconnects by itself), one chained under a
//! sibling stays under that sibling. The writer moves to the new master; every
//! fault, the checkers and each host's configuration at its next boot (as Sentinel
//! rewrites the config) follow the new topology.
//!
//! Checkers: a replica never accepts a write from a client (READONLY, or LOADING
//! while it loads), the demoted old master included once its REPLICAOF was
//! answered; WAIT never counts more replicas than hold the write it waited for
//! (each counted replica is asked for the key right after, through a healed
//! network, and must have it); a write WAIT acknowledged for every replica of the
//! master is on the replica promoted after it (unless that replica or the old
//! master restarted in between: both can lose it legitimately); once the network
//! heals and writes stop, every host has the role the topology gives it and every
//! replica's DEBUG DIGEST equals the (possibly new) master's. Across the seeds both
//! partial and full resyncs must occur (counted from INFO stats), so neither path
//! goes untested, and so must a partial resync with a promoted replica (its
//! `sync_partial_ok` counted from its promotion until its replicas are linked:
//! PSYNC with the old replication id, accepted because the promoted one kept it
//! as replid2), and acknowledged writes checked on a promoted replica.
//!
//! Every PSYNC a host answered is checked from its trace (`check_psyncs`): the
//! request as it came in, the state the core logged as it took it up (a debug
//! line: replid, replid2, second_replid_offset, master offset, backlog bounds) and
//! the answer as it went out. The test decides with its own copy of Redis's rule
//! whether the backlog covered the request, and requires `+CONTINUE` exactly then,
//! `+FULLRESYNC` otherwise; across the seeds both must occur. In some seeds the
//! master's backlog is resized (CONFIG SET) now and then, and in some it is freed
//! after a few seconds without replicas (repl-backlog-ttl).
//!
//! A failure names its seed; `REPL_SIM_SEED=<seed> cargo test -p cinnabar-sim-tests
//! --release --test replication -- --nocapture` replays it (`REPL_SIM_SEEDS=<n>` runs seeds
//! 1 to n; `REPL_SIM_TRACE=<bytes>` added to a replay prints every host's trace
//! where it mentions them). Seeds that once failed are in `FIXED_SEEDS` and run
//! every time.

use cinnabar_core::testing::{decode, Frame};
use cinnabar_core::{Config, ConnId, LogLevel};
use cinnabar_io_sim::{serve, Recorder, ServerOptions, TraceEntry, WallOffset, SERVER_PORT};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use super::conn::{Conn, Rng};
use super::{FaultCut, RunInfo};

const MASTER: &str = "master";
/// Every server host; the first is the master at the start.
const HOSTS: [&str; 4] = [MASTER, "r1", "r2", "r3"];
/// Replicas at the start and whom each replicates.
const REPLICAS: [(&str, &str); 3] = [("r1", MASTER), ("r2", MASTER), ("r3", "r1")];

/// Who replicates whom, as the operator set it up: what every boot reads (Sentinel
/// rewrites the configuration of each instance it reconfigures), what the writer
/// writes to, what faults and checkers follow.
struct Topology {
    master: &'static str,
    /// Each replica and its master, in `HOSTS` order.
    parent: Vec<(&'static str, &'static str)>,
    /// Replicas whose role a client may rely on: the operator's REPLICAOF was
    /// answered, or the host booted with it.
    settled: Vec<&'static str>,
    /// Bumped as a promotion starts: a check that straddles one is void.
    generation: u64,
    /// A promotion's operator is still at work.
    promoting: bool,
    /// Boots per host (`HOSTS` order): a restart may lose what it had.
    boots: [u64; 4],
}

impl Topology {
    fn new() -> Topology {
        Topology {
            master: MASTER,
            parent: REPLICAS.to_vec(),
            settled: Vec::new(),
            generation: 0,
            promoting: false,
            boots: [0; 4],
        }
    }

    fn index(host: &str) -> usize {
        HOSTS
            .iter()
            .position(|h| *h == host)
            .expect("a server host")
    }

    fn parent_of(&self, host: &str) -> Option<&'static str> {
        self.parent
            .iter()
            .find(|(h, _)| *h == host)
            .map(|(_, p)| *p)
    }

    /// Every replica with its master, in `HOSTS` order.
    fn links(&self) -> Vec<(&'static str, &'static str)> {
        let mut l = self.parent.clone();
        l.sort_by_key(|(h, _)| Topology::index(h));
        l
    }

    /// The replicas of `of` itself (not chained under another replica).
    fn direct(&self, of: &str) -> Vec<&'static str> {
        self.links()
            .into_iter()
            .filter(|(_, p)| *p == of)
            .map(|(h, _)| h)
            .collect()
    }

    fn boots_of(&self, host: &str) -> u64 {
        self.boots[Topology::index(host)]
    }

    /// The failover's new topology: `new` a master, the old master and its other
    /// replicas its replicas; who must be told (REPLICAOF), old master first.
    fn promote(&mut self, new: &'static str) -> Vec<&'static str> {
        let old = self.master;
        let mut moved = vec![old];
        moved.extend(self.direct(old).into_iter().filter(|h| *h != new));
        self.parent.retain(|(h, _)| *h != new);
        for m in &moved {
            self.parent.retain(|(h, _)| h != m);
            self.parent.push((m, new));
        }
        self.master = new;
        self.settled.retain(|h| *h != new && !moved.contains(h));
        self.generation += 1;
        self.promoting = true;
        moved
    }
}

type Shared = Rc<RefCell<Topology>>;

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
    info_text(info, field).and_then(|v| v.parse().ok())
}

fn info_text<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(str::trim)
}

/// A write WAIT acknowledged for every replica of the master.
#[derive(Clone)]
struct Acked {
    key: String,
    master: &'static str,
    replicas: Vec<&'static str>,
    generation: u64,
    boots: [u64; 4],
}

/// What the writer and the operator saw, checked at the end.
#[derive(Default)]
struct Seen {
    writes: usize,
    waits: usize,
    wait_counted: usize,
    replica_refusals: usize,
    acked: Vec<Acked>,
    acked_checked: usize,
    promotions: usize,
    promoted_partial: i64,
    promoted_full: i64,
    backlog_resizes: usize,
    /// PERSISTs that took a deadline off a key.
    persisted: usize,
    violations: Vec<String>,
    stop: bool,
    done: bool,
}

async fn writer(seed: u64, seen: Rc<RefCell<Seen>>, topo: Shared) -> turmoil::Result {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut round = 0u64;
    let mut conn: Option<(Conn, &'static str)> = None;
    // In some seeds the operator resizes the master's backlog now and then, from
    // a generator of its own so that the other seeds run as they did.
    let mut brng = Rng::new(seed ^ 0xBAC_106);
    let resizing = brng.below(3) == 0 && !FIXED_SEEDS[..1].contains(&seed);
    // Some PEXPIREs are followed, a few rounds later, by a PERSIST of the key while
    // its deadline may be near: the one write whose outcome on a replica depends on
    // the replica having kept a key its own clock says is past its deadline (a
    // replica that expired it itself never gets it back). Its own generator, so
    // the writer's other draws stay as they were.
    let mut prng = Rng::new(seed ^ 0x9E_4515);
    let mut persists: Vec<(u64, String)> = Vec::new();
    while !seen.borrow().stop {
        round += 1;
        tokio::time::sleep(Duration::from_millis(1 + rng.below(30))).await;
        if let Some(i) = persists.iter().position(|(due, _)| *due <= round) {
            let (_, key) = persists.swap_remove(i);
            if let Some((c, _)) = conn.as_mut() {
                match c.cmd(&[b"PERSIST", key.as_bytes()]).await {
                    Ok(Frame::Int(1)) => seen.borrow_mut().persisted += 1,
                    Ok(_) => {}
                    Err(_) => conn = None,
                }
            }
        }
        let master = topo.borrow().master;
        if conn.as_ref().is_some_and(|(_, host)| *host != master) {
            // Failed over: the writer moves to the new master.
            conn = None;
        }
        if conn.is_none() {
            conn = Conn::connect(master).await.ok().map(|c| (c, master));
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let (c, master) = conn.as_mut().expect("connected");
        let master = *master;
        if resizing && brng.below(300) == 0 {
            // 1 is raised to the 16k minimum.
            let size = ["1", "16384", "40000", "65536", "1048576"][brng.below(5) as usize];
            match c
                .cmd(&[b"CONFIG", b"SET", b"repl-backlog-size", size.as_bytes()])
                .await
            {
                Ok(Frame::Simple(ok)) if ok == "OK" => seen.borrow_mut().backlog_resizes += 1,
                Ok(_) => {}
                Err(_) => conn = None,
            }
            continue;
        }
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
                if prng.below(2) == 0 {
                    persists.push((round + 1 + prng.below(80), key.clone()));
                }
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
                // WAIT, for every replica of the master, for a write only this
                // round makes, then ask each replica that could have counted
                // whether it holds it.
                let wkey = format!("w{round}");
                let (generation, direct, boots) = {
                    let t = topo.borrow();
                    (t.generation, t.direct(master), t.boots)
                };
                let want = direct.len().to_string();
                // Without a backlog (a master just booted, none of its replicas
                // back yet) a write does not move the replication offset, so the
                // client's WAIT offset stays where it was and WAIT counts every
                // online replica, as in Redis: such a round proves nothing. A
                // backlog, once there, stays (repl-backlog-ttl).
                let backlog = match c.cmd(&[b"INFO", b"replication"]).await {
                    Ok(f) => info_field(&text(&f), "repl_backlog_active") == Some(1),
                    Err(_) => {
                        conn = None;
                        continue;
                    }
                };
                let r = c.cmd(&[b"SET", wkey.as_bytes(), b"1"]).await;
                // Only a write the master took: a refused one (READONLY from a
                // promoted replica still being told) leaves the client's offset
                // where it was, and WAIT counts every replica for that.
                let w = match r {
                    Ok(Frame::Simple(ok)) if ok == "OK" => {
                        c.cmd(&[b"WAIT", want.as_bytes(), b"200"]).await
                    }
                    other => other,
                };
                if let Ok(Frame::Int(n)) = &w {
                    let n = *n as usize;
                    let mut holders = 0;
                    let mut unknown = 0;
                    for name in &direct {
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
                    // A failover meanwhile re-points (and may resync) the replicas
                    // asked, and a restart meanwhile (a master that lost its data,
                    // a replica back from an older RDB and not yet resynced) takes
                    // the write away again: this round proves nothing. Slow links
                    // (latency spikes) make the questions come late enough for both.
                    let straddled = {
                        let t = topo.borrow();
                        t.generation != generation || t.boots != boots || !backlog
                    };
                    if n > holders + unknown && !straddled {
                        let mut detail = format!(
                            "\nthe master {master} answers EXISTS with {:?}",
                            ask(
                                master,
                                &[b"EXISTS", wkey.as_bytes()],
                                Duration::from_millis(500)
                            )
                            .await
                        );
                        for host in HOSTS {
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
                    if !straddled {
                        s.waits += 1;
                        s.wait_counted += n;
                        if n >= direct.len() && !direct.is_empty() {
                            s.acked.push(Acked {
                                key: wkey.clone(),
                                master,
                                replicas: direct.clone(),
                                generation,
                                boots,
                            });
                        }
                    }
                }
                w
            }
            _ => {
                // A client's write to a replica is refused.
                let (name, settled, generation) = {
                    let t = topo.borrow();
                    let (name, _) = t.links()[rng.below(3) as usize];
                    (name, t.settled.contains(&name), t.generation)
                };
                if let Some(f) = ask(name, &[b"SET", b"x", b"y"], Duration::from_millis(300)).await
                {
                    let t = text(&f);
                    // Until the operator's REPLICAOF is answered the demoted master
                    // is still one; a promotion meanwhile may make this one a master.
                    let replica = settled && topo.borrow().generation == generation;
                    let mut s = seen.borrow_mut();
                    if t.starts_with("READONLY") || t.starts_with("LOADING") {
                        s.replica_refusals += 1;
                    } else if replica {
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
pub struct Tally {
    pub seeds: usize,
    pub full: i64,
    pub partial: i64,
    pub partial_err: i64,
    pub writes: usize,
    pub waits: usize,
    pub wait_counted: usize,
    pub refusals: usize,
    pub partitions: usize,
    pub crashes: usize,
    pub jumps: usize,
    pub latency_spikes: usize,
    pub promotions: usize,
    pub promoted_partial: i64,
    pub promoted_full: i64,
    pub acked_checked: usize,
    /// PSYNCs checked against the master's state (`check_psyncs`).
    pub psync_partial: usize,
    pub psync_full: usize,
    pub psync_full_unanswered: usize,
    pub psync_refused: usize,
    /// CONFIG SET repl-backlog-size answered OK, backlogs freed by repl-backlog-ttl.
    pub backlog_resizes: usize,
    pub backlogs_freed: usize,
    /// PERSISTs that took a deadline off a key (the writer's follow-ups of PEXPIRE).
    pub persisted: usize,
}

impl Tally {
    /// This tally's counts under the soak's shared event names.
    pub fn report(&self, info: &mut RunInfo) {
        let n = |v: usize| v as u64;
        let i = |v: i64| v.max(0) as u64;
        info.count(
            "fault: partition, one-way partition or held link",
            n(self.partitions),
        );
        info.count("fault: crash", n(self.crashes));
        info.count("fault: wall-clock jump", n(self.jumps));
        info.count("fault: packet latency spike", n(self.latency_spikes));
        info.count("event: full resync", i(self.full));
        info.count("event: partial resync", i(self.partial));
        info.count(
            "event: PSYNC checked against the backlog (continue)",
            n(self.psync_partial),
        );
        info.count(
            "event: PSYNC checked against the backlog (full)",
            n(self.psync_full),
        );
        info.count("event: failover", n(self.promotions));
        info.count(
            "event: partial resync with a promoted replica",
            i(self.promoted_partial),
        );
        info.count("event: WAIT", n(self.waits));
        info.count(
            "event: acknowledged write found on a promoted replica",
            n(self.acked_checked),
        );
        info.count("event: write refused by a replica", n(self.refusals));
        info.count("event: backlog resized", n(self.backlog_resizes));
        info.count("event: backlog freed", n(self.backlogs_freed));
        info.count("event: PERSIST of a key with a deadline", n(self.persisted));
    }
}

/// A host's `sync_*` stats (full, partial ok, partial err), if it answers.
async fn host_stats(host: &str) -> Option<(i64, i64, i64)> {
    let f = ask(host, &[b"INFO", b"stats"], Duration::from_secs(2)).await?;
    let info = text(&f);
    Some((
        info_field(&info, "sync_full").unwrap_or(0),
        info_field(&info, "sync_partial_ok").unwrap_or(0),
        info_field(&info, "sync_partial_err").unwrap_or(0),
    ))
}

/// Sum of every host's `sync_*` stats.
async fn sync_stats() -> (i64, i64, i64) {
    let mut sums = (0, 0, 0);
    for host in HOSTS {
        if let Some((f, p, e)) = host_stats(host).await {
            sums.0 += f;
            sums.1 += p;
            sums.2 += e;
        }
    }
    sums
}

/// Sends `args` to `host` until it answers OK (a crashed host comes back with the
/// topology's configuration, so a late answer is still right).
async fn insist(host: &str, args: &[&[u8]], seen: &RefCell<Seen>) {
    let deadline = turmoil::sim_elapsed().unwrap() + Duration::from_secs(300);
    loop {
        match ask(host, args, Duration::from_secs(1)).await {
            Some(Frame::Simple(s)) if s.starts_with("OK") => return,
            Some(Frame::Error(e)) if e.starts_with("LOADING") => {}
            None => {}
            Some(other) => {
                seen.borrow_mut()
                    .violations
                    .push(format!("{host} answered {args:?} with {other:?}"));
                return;
            }
        }
        if turmoil::sim_elapsed().unwrap() > deadline {
            seen.borrow_mut()
                .violations
                .push(format!("{host} never answered {args:?}"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The operator's failover (what Sentinel does once it picked `new`): REPLICAOF NO
/// ONE on it, the acknowledged writes checked on it, then the old master and its
/// other replicas (`moved`) pointed at it; its partial resyncs counted until its
/// replicas are linked.
async fn promote(
    new: &'static str,
    moved: Vec<&'static str>,
    generation: u64,
    topo: Shared,
    seen: Rc<RefCell<Seen>>,
) -> turmoil::Result {
    let old = moved[0];
    insist(new, &[b"REPLICAOF", b"NO", b"ONE"], &seen).await;
    let boots = topo.borrow().boots;
    let stats_before = host_stats(new).await;

    // Every write WAIT saw reach all the old master's replicas, the promoted one
    // included, is on it: it applied the write before it acknowledged it, and
    // kept its data when promoted. A restart of either since the write (a new
    // history on the master, an older RDB on the replica) may lose it.
    let acked: Vec<Acked> = seen
        .borrow()
        .acked
        .iter()
        .filter(|a| a.generation + 1 == generation && a.replicas.contains(&new))
        .filter(|a| {
            let (m, n) = (Topology::index(a.master), Topology::index(new));
            a.master == old && a.boots[m] == boots[m] && a.boots[n] == boots[n]
        })
        .cloned()
        .collect();
    for a in acked {
        for _ in 0..20 {
            let r = ask(new, &[b"EXISTS", a.key.as_bytes()], Duration::from_secs(1)).await;
            if topo.borrow().boots_of(new) != a.boots[Topology::index(new)] {
                break;
            }
            match r {
                Some(Frame::Int(1)) => seen.borrow_mut().acked_checked += 1,
                other => {
                    if other.is_none() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    seen.borrow_mut().violations.push(format!(
                        "{} was acknowledged by WAIT for {:?} of {old}, but the promoted {new} answers EXISTS with {other:?}",
                        a.key, a.replicas
                    ));
                }
            }
            break;
        }
    }

    let port = SERVER_PORT.to_string();
    for host in &moved {
        insist(
            host,
            &[b"REPLICAOF", new.as_bytes(), port.as_bytes()],
            &seen,
        )
        .await;
        topo.borrow_mut().settled.push(host);
    }

    // The replicas (re-pointed, and those chained under the promoted one, which it
    // dropped) reconnect; each one whose offset the backlog covers continues.
    let deadline = turmoil::sim_elapsed().unwrap() + Duration::from_secs(20);
    while turmoil::sim_elapsed().unwrap() < deadline {
        let mut linked = true;
        let replicas = topo.borrow().direct(new);
        for host in replicas {
            let info = ask(host, &[b"INFO", b"replication"], Duration::from_secs(1))
                .await
                .map(|f| text(&f))
                .unwrap_or_default();
            linked &= info_text(&info, "master_host") == Some(new)
                && info_text(&info, "master_link_status") == Some("up");
        }
        if linked {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats_after = host_stats(new).await;
    if let (Some(b), Some(a)) = (stats_before, stats_after) {
        if topo.borrow().boots_of(new) == boots[Topology::index(new)] {
            let mut s = seen.borrow_mut();
            s.promoted_full += a.0 - b.0;
            s.promoted_partial += a.1 - b.1;
        }
    }
    let mut s = seen.borrow_mut();
    s.promotions += 1;
    drop(s);
    topo.borrow_mut().promoting = false;
    Ok(())
}

/// Undoing a fault: a repaired link, a restarted host.
type Heal = Box<dyn Fn(&mut turmoil::Sim<'_>)>;

pub fn run(seed: u64, tally: &mut Tally, info: &mut RunInfo) {
    run_cut(seed, &FaultCut::default(), tally, info)
}

/// [`run`] with `cut`'s faults left out and its schedule ended early (a shrink).
pub fn run_cut(seed: u64, cut: &FaultCut, tally: &mut Tally, info: &mut RunInfo) {
    let buggify = super::Buggify::for_seed(seed, &FIXED_SEEDS[..1]);
    let mut rng = Rng::new(seed);
    let base_latency = Duration::from_millis(1 + rng.below(20));
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(3600))
        .tcp_capacity(1 << 16)
        .max_message_latency(base_latency);
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
        // For the state line a PSYNC is decided on (`check_psyncs`).
        loglevel: LogLevel::Debug,
        // Both full-resync targets: the RDB file, and the replicas' sockets.
        repl_diskless_sync: rng.below(2) == 0,
        repl_diskless_sync_delay: rng.below(3) as i64,
        ..Default::default()
    };
    // In some seeds a master frees its backlog after a few seconds without
    // replicas (and takes a new replication id, as Redis does), from a generator
    // of its own so that the other seeds run as they did.
    let mut base = base;
    let mut trng = Rng::new(seed ^ 0x0077_0077);
    if trng.below(3) == 0 && !FIXED_SEEDS[..1].contains(&seed) {
        base.repl_backlog_ttl = 1 + trng.below(4) as i64;
    }
    let topo: Shared = Rc::new(RefCell::new(Topology::new()));
    let mut walls = Vec::new();
    let mut recorders = Vec::new();
    for (i, name) in HOSTS.into_iter().enumerate() {
        let wall = WallOffset::new();
        walls.push((name, wall.clone()));
        let host_seed = seed.wrapping_add(i as u64 * 1000);
        let recorder = Recorder::new();
        recorders.push((name, recorder.clone()));
        info.recorders.push((name.to_string(), recorder.clone()));
        let base = base.clone();
        let topo = topo.clone();
        sim.host(name, move || {
            // Each boot draws its own core seed, as a real process seeds from the
            // OS: a restarted master that drew its old replication id again would
            // accept partial resyncs into a different history. Its role is the
            // topology's now.
            let mut config = base.clone();
            let boots = {
                let mut t = topo.borrow_mut();
                t.boots[i] += 1;
                config.replicaof = t.parent_of(name).map(|of| (of.to_string(), SERVER_PORT));
                if config.replicaof.is_some() && !t.settled.contains(&name) {
                    t.settled.push(name);
                }
                t.boots[i]
            };
            serve(ServerOptions {
                config,
                seed: host_seed.wrapping_add(boots.wrapping_mul(0x9E37_79B9)),
                wall: wall.clone(),
                recorder: recorder.clone(),
            })
        });
    }
    let seen = Rc::new(RefCell::new(Seen::default()));
    sim.client("writer", writer(seed, seen.clone(), topo.clone()));

    // The fault schedule, a millisecond per step.
    let active_ms = 20_000 + rng.below(20_000);
    // Failovers draw from their own generator, so the rest of a seed's schedule
    // is what it was before they existed: none in half the seeds, two in some.
    let mut frng = Rng::new(seed ^ 0xFA11_0FE5);
    let failovers = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2][frng.below(10) as usize];
    let mut failover_at: Vec<u64> = (0..failovers)
        .map(|_| 3000 + frng.below(active_ms - 6000))
        .collect();
    failover_at.sort_unstable();
    info.schedule_ms = active_ms;
    let active_ms = cut.end(active_ms);
    // Every fault drawn, in order, applied unless the cut leaves it out.
    let mut drawn = 0u32;
    let mut keep = || {
        drawn += 1;
        cut.keeps(drawn - 1)
    };
    info.description = format!(
        "replication: master, r1 and r2 of it, r3 of r1; repl-backlog-size {}, repl-timeout {}, \
         repl-ping-replica-period {}, {}, repl-backlog-ttl {}; {} ms of faults (partitions, \
         one-way partitions, held links, latency spikes, crashes, replica clock jumps), failovers at {:?} ms",
        base.repl_backlog_size,
        base.repl_timeout,
        base.repl_ping_replica_period,
        if base.repl_diskless_sync {
            format!("diskless (delay {})", base.repl_diskless_sync_delay)
        } else {
            "disk-backed full resyncs".to_string()
        },
        base.repl_backlog_ttl,
        active_ms,
        failover_at,
    );
    info.description += &format!(", {}", buggify.describe());
    if !cut.is_empty() {
        info.description += &format!(", cut {cut}");
    }
    let mut healing: Vec<(u64, Heal)> = Vec::new();
    let mut stats_before_master_crash = (0, 0, 0);
    // Latency spikes draw from their own generator, so the rest of a seed's
    // schedule is what it was before they existed (and the seeds found before them
    // replay without them).
    let mut lrng = Rng::new(seed ^ 0x1A7E_5B1C);
    let spiking = !FIXED_SEEDS[..BEFORE_LATENCY_SPIKES].contains(&seed);
    for ms in 0..active_ms {
        if spiking && lrng.below(2500) == 0 {
            // Every packet of one link (a replication link, or the writer's to a
            // server) takes the same long time for a while: a slow switch, a
            // congested path. Slower than repl-timeout now and then.
            let (a, b) = if lrng.below(3) == 0 {
                ("writer", HOSTS[lrng.below(HOSTS.len() as u64) as usize])
            } else {
                topo.borrow().links()[lrng.below(3) as usize]
            };
            let long = lrng.below(4) == 0;
            let spike = Duration::from_millis(50 + lrng.below(if long { 6000 } else { 800 }));
            let until = ms + 100 + lrng.below(4000);
            if keep() {
                sim.set_link_latency(a, b, spike);
                tally.latency_spikes += 1;
                healing.push((
                    until,
                    Box::new(move |s: &mut turmoil::Sim<'_>| {
                        s.set_link_latency(a, b, Duration::ZERO);
                        s.set_link_max_message_latency(a, b, base_latency);
                    }),
                ));
            }
        }
        if failover_at.first().is_some_and(|&at| at <= ms) && !topo.borrow().promoting {
            // Sentinel promotes a replica that runs; the old master may be down.
            let master = topo.borrow().master;
            let running: Vec<&'static str> = topo
                .borrow()
                .direct(master)
                .into_iter()
                .filter(|h| sim.is_host_running(*h))
                .collect();
            if !running.is_empty() {
                failover_at.remove(0);
                let new = running[frng.below(running.len() as u64) as usize];
                if keep() {
                    let moved = topo.borrow_mut().promote(new);
                    let generation = topo.borrow().generation;
                    let (t, s) = (topo.clone(), seen.clone());
                    sim.client(
                        format!("operator{ms}"),
                        promote(new, moved, generation, t, s),
                    );
                }
            }
        }
        if rng.below(1500) == 0 {
            let (name, of) = topo.borrow().links()[rng.below(3) as usize];
            let until = ms + 500 + rng.below(8000);
            let how = rng.below(3);
            if keep() {
                match how {
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
        }
        if rng.below(6000) == 0 {
            let (name, _) = topo.borrow().links()[rng.below(3) as usize];
            if sim.is_host_running(name) {
                let until = ms + 200 + rng.below(3000);
                if keep() {
                    sim.crash(name);
                    tally.crashes += 1;
                    healing.push((
                        until,
                        Box::new(move |s: &mut turmoil::Sim<'_>| s.bounce(name)),
                    ));
                }
            }
        }
        let master = topo.borrow().master;
        if rng.below(40_000) == 0 && sim.is_host_running(master) {
            let until = ms + 200 + rng.below(2000);
            if keep() {
                // The master loses its dataset (no persistence): a new history.
                let s = Rc::new(RefCell::new(None));
                let out = s.clone();
                sim.client(format!("stats{ms}"), async move {
                    *out.borrow_mut() = host_stats(master).await;
                    Ok(())
                });
                let _ = sim.step();
                sim.crash(master);
                tally.crashes += 1;
                if let Some((f, p, e)) = *s.borrow() {
                    stats_before_master_crash.0 += f;
                    stats_before_master_crash.1 += p;
                    stats_before_master_crash.2 += e;
                }
                healing.push((
                    until,
                    Box::new(move |s: &mut turmoil::Sim<'_>| s.bounce(master)),
                ));
            }
        }
        if rng.below(8000) == 0 {
            let (_, wall) = &walls[1 + rng.below(3) as usize];
            let delta = rng.below(120_000) as i64 - 60_000;
            if keep() {
                wall.jump_ms(delta);
                tally.jumps += 1;
            }
        }
        let due: Vec<usize> = (0..healing.len()).filter(|&i| healing[i].0 <= ms).collect();
        for i in due.into_iter().rev() {
            let (_, heal) = healing.remove(i);
            heal(&mut sim);
        }
        sim.step().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    }
    info.faults_drawn = drawn;
    for (_, heal) in healing.drain(..) {
        heal(&mut sim);
    }
    seen.borrow_mut().stop = true;

    // Healed and quiet (the operator done): every host has its role and every
    // replica converges on the master's dataset.
    let digests = Rc::new(RefCell::new(None));
    let out = digests.clone();
    let t = topo.clone();
    sim.client("checker", async move {
        while t.borrow().promoting {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (master, links) = {
            let t = t.borrow();
            (t.master, t.links())
        };
        let names: Vec<(&str, Option<&str>)> = std::iter::once((master, None))
            .chain(links.iter().map(|(h, p)| (*h, Some(*p))))
            .collect();
        let deadline = turmoil::sim_elapsed().unwrap() + Duration::from_secs(120);
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut got = Vec::new();
            for (name, parent) in &names {
                let d = ask(name, &[b"DEBUG", b"DIGEST"], Duration::from_secs(2)).await;
                let info = ask(name, &[b"INFO", b"replication"], Duration::from_secs(2))
                    .await
                    .map(|f| text(&f))
                    .unwrap_or_default();
                // The master's role, or a replica's master and link.
                let role = match parent {
                    None => info_text(&info, "role").map(str::to_string),
                    Some(p) => match info_text(&info, "master_host") {
                        Some(h) if h == *p => {
                            info_text(&info, "master_link_status").map(str::to_string)
                        }
                        Some(h) => Some(format!("of {h}")),
                        None => None,
                    },
                };
                got.push((name.to_string(), d.map(|f| text(&f)), role));
            }
            let all_up = got.iter().zip(&names).all(|((_, _, r), (_, p))| {
                r.as_deref() == Some(if p.is_none() { "master" } else { "up" })
            });
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
    for (_, r) in &recorders {
        info.fold_digest(r.snapshot().digest());
    }
    info.count("sim ms", sim.elapsed().as_millis() as u64);
    buggify.report(info);
    if !converged || info.verbose {
        for (name, r) in &recorders {
            for e in r.snapshot().entries {
                if let TraceEntry::Log { message, level, .. } = e {
                    if level == LogLevel::Debug && !message.starts_with("[PSYNC]") {
                        continue;
                    }
                    eprintln!("  {name}: {}", message.trim_end());
                }
            }
        }
    }
    if let Ok(needle) = std::env::var("REPL_SIM_TRACE") {
        print_trace(&recorders, needle.as_bytes());
    }
    assert!(
        converged,
        "seed {seed}: the replicas did not converge on the master's dataset: {got:?}"
    );
    let s = seen.borrow();
    assert!(s.violations.is_empty(), "seed {seed}: {:?}", s.violations);
    let mut psyncs = PsyncTally::default();
    for (name, r) in &recorders {
        check_psyncs(name, &r.snapshot().entries, &mut psyncs);
    }
    assert!(
        psyncs.violations.is_empty(),
        "seed {seed}: {:#?}",
        psyncs.violations
    );
    tally.psync_partial += psyncs.partial;
    tally.psync_full += psyncs.full;
    tally.psync_full_unanswered += psyncs.full_unanswered;
    tally.psync_refused += psyncs.refused;
    tally.backlog_resizes += s.backlog_resizes;
    tally.persisted += s.persisted;
    for (_, r) in &recorders {
        tally.backlogs_freed += r
            .snapshot()
            .entries
            .iter()
            .filter(|e| matches!(e, TraceEntry::Log { message, .. } if message.starts_with("Replication backlog freed")))
            .count();
    }
    tally.seeds += 1;
    tally.full += stats.0 + stats_before_master_crash.0;
    tally.partial += stats.1 + stats_before_master_crash.1;
    tally.partial_err += stats.2 + stats_before_master_crash.2;
    tally.writes += s.writes;
    tally.waits += s.waits;
    tally.wait_counted += s.wait_counted;
    tally.refusals += s.replica_refusals;
    tally.promotions += s.promotions;
    tally.promoted_partial += s.promoted_partial;
    tally.promoted_full += s.promoted_full;
    tally.acked_checked += s.acked_checked;
    if !info.verbose {
        return;
    }
    eprintln!(
        "seed {seed}: {} writes, syncs full {} partial {}, {} promotions (partial {} full {} after, {} acked writes checked), master {}, digest {:?}",
        s.writes,
        stats.0 + stats_before_master_crash.0,
        stats.1 + stats_before_master_crash.1,
        s.promotions,
        s.promoted_partial,
        s.promoted_full,
        s.acked_checked,
        got[0].0,
        got[0].1
    );
}

/// Every host's trace as it goes (`REPL_SIM_TRACE=<bytes>` with a replayed seed):
/// connections opening and closing, log lines, and the bytes in or out that
/// contain `needle` (a key's name, to follow its writes through the streams), each
/// with the host's monotonic and wall clocks in milliseconds.
fn print_trace(recorders: &[(&str, Recorder)], needle: &[u8]) {
    for (name, r) in recorders {
        for e in r.snapshot().entries {
            let (what, conn, data): (&str, u64, &[u8]) = match &e {
                TraceEntry::Received { conn, data, .. } => ("in", conn.0, data),
                TraceEntry::Send { conn, data, .. } => ("out", conn.0, data),
                TraceEntry::Log { message, .. } => ("log", 0, message.as_bytes()),
                TraceEntry::Accepted { conn, .. } => ("accepted", conn.0, b""),
                TraceEntry::Connected { conn, .. } => ("connected", conn.0, b""),
                TraceEntry::Closed { conn, .. } => ("closed", conn.0, b""),
                TraceEntry::Close { conn, .. } => ("close", conn.0, b""),
                _ => continue,
            };
            let bytes = matches!(e, TraceEntry::Received { .. } | TraceEntry::Send { .. });
            if bytes && !data.windows(needle.len()).any(|w| w == needle) {
                continue;
            }
            let now = e.now();
            let text = String::from_utf8_lossy(&data[..data.len().min(400)])
                .escape_debug()
                .to_string();
            eprintln!(
                "  {name} mono={} wall={} {what} {conn:x} {text}",
                now.mono.0 / 1_000_000,
                now.wall.0 / 1000,
            );
        }
    }
}

/// Seeds that found a bug, run with every batch of fresh ones: 153, a replica
/// whose clock ran ahead of its master's deleted a key the master's PEXPIREAT had
/// set to a moment past on the replica's clock alone (Redis's replicas keep it
/// for the master's DEL); the master, demoted before its own clock got there,
/// kept the key for good.
///
/// 315073506720 (the first found with BUGGIFY on): a master restarted from an old
/// RDB took a PSYNC read while it was suspended at startup up in the batch that
/// resumed it, where the PSYNC check looked for it only among the connections that
/// had just sent something.
///
/// 977125592051 and 977125592059 (a soak): a replica sent PSYNC and hung up in the
/// same read; the core took the PSYNC up before the hang-up (as Redis handles a
/// read's commands before its EOF), but the PSYNC check had already forgotten the
/// connection's requests at the hang-up and found a state line with no request.
///
/// 547141955119, 547141955470 and 547141956512 (a 10-minute soak, the first with
/// latency spikes): a WAIT round's questions to the replicas came late, behind a
/// slow link, after the master had lost its data in a crash or a counted replica
/// had restarted from an older RDB; the WAIT check took the write's absence for an
/// over-count. A round a restart straddles now proves nothing, as one a failover
/// straddles.
///
/// The first entry predates BUGGIFY and runs without it.
pub const FIXED_SEEDS: &[u64] = &[
    153,
    315_073_506_720,
    977_125_592_051,
    977_125_592_059,
    547_141_955_119,
    547_141_955_470,
    547_141_956_512,
];

/// How many of [`FIXED_SEEDS`] predate latency spikes (they replay without them).
const BEFORE_LATENCY_SPIKES: usize = 4;

/// The master side's replication state as a PSYNC found it, from the core's debug
/// line `[PSYNC] Replica <name> asked for '<id>' offset <n>, my replication IDs are
/// '<id>' and '<id2>', second ID up to <n>, master offset <n>, backlog first byte
/// <n>, history len <n>` (or `backlog none`), written before it decides.
#[derive(Debug, Clone)]
struct PsyncState {
    asked_id: String,
    asked_offset: i64,
    replid: String,
    replid2: String,
    second_replid_offset: i64,
    master_repl_offset: i64,
    /// repl_backlog->offset and histlen, if there is a backlog.
    backlog: Option<(i64, i64)>,
}

fn between<'a>(s: &'a str, pre: &str, post: &str) -> Option<&'a str> {
    let rest = &s[s.find(pre)? + pre.len()..];
    Some(&rest[..rest.find(post)?])
}

fn parse_psync_state(line: &str) -> Option<PsyncState> {
    let line = line.strip_prefix("[PSYNC] Replica ")?;
    let line = &line[line.find(" asked for '")?..];
    let backlog = if line.ends_with(", backlog none") {
        None
    } else {
        Some((
            between(line, ", backlog first byte ", ",")?.parse().ok()?,
            line.rsplit(", history len ").next()?.parse().ok()?,
        ))
    };
    Some(PsyncState {
        asked_id: between(line, " asked for '", "'")?.to_string(),
        asked_offset: between(line, "' offset ", ",")?.parse().ok()?,
        replid: between(line, "my replication IDs are '", "'")?.to_string(),
        replid2: between(line, "' and '", "'")?.to_string(),
        second_replid_offset: between(line, ", second ID up to ", ",")?.parse().ok()?,
        master_repl_offset: between(line, ", master offset ", ",")?.parse().ok()?,
        backlog,
    })
}

/// Redis 7.0's masterTryPartialResynchronization, written here from replication.c
/// and not from the core: the history is ours (replid), or our previous one
/// (replid2) up to where we left it (second_replid_offset), and the backlog holds
/// the offset asked for, its end (nothing to send) included.
fn psync_coverable(s: &PsyncState, replid: &str, offset: i64) -> bool {
    let history = replid.eq_ignore_ascii_case(&s.replid)
        || (replid.eq_ignore_ascii_case(&s.replid2) && offset <= s.second_replid_offset);
    history
        && s.backlog
            .is_some_and(|(first, histlen)| first <= offset && offset <= first + histlen)
}

/// PSYNCs checked in a run's traces.
#[derive(Debug, Default)]
struct PsyncTally {
    /// `+CONTINUE`, due.
    partial: usize,
    /// `+FULLRESYNC`, due.
    full: usize,
    /// A full resync due, the connection gone before `+FULLRESYNC` (it is sent
    /// when the snapshot starts).
    full_unanswered: usize,
    /// Answered with an error (no state line: NOMASTERLINK, pending output, ...).
    refused: usize,
    violations: Vec<String>,
}

enum PsyncStage {
    /// The first line of the answer is due: `+CONTINUE` at once, `+FULLRESYNC`
    /// when a snapshot starts.
    Reply,
    /// `+CONTINUE` went out; the backlog's tail, this long, follows at once.
    Tail(usize),
}

struct PendingPsync {
    state: PsyncState,
    coverable: bool,
    stage: PsyncStage,
}

/// Every PSYNC a host answered, from its trace: the request as it came in on the
/// wire, the state line the core logged as it took it up, and the answer as it went
/// out. `+CONTINUE` exactly when `psync_coverable` says so (at once, followed by
/// exactly the backlog from the offset asked for to the master offset),
/// `+FULLRESYNC` otherwise (with the state's replid and an offset not before the
/// state's when there was a backlog; without one a new history starts).
fn check_psyncs(host: &str, entries: &[TraceEntry], tally: &mut PsyncTally) {
    use std::collections::{BTreeMap, VecDeque};
    let mut inbound: BTreeMap<ConnId, Vec<u8>> = BTreeMap::new();
    let mut requests: BTreeMap<ConnId, VecDeque<(String, i64)>> = BTreeMap::new();
    let mut pending: BTreeMap<ConnId, PendingPsync> = BTreeMap::new();
    // Every `+FULLRESYNC <replid> <offset>` sent: a replica attached to a running
    // snapshot gets that snapshot's (replicationSetupSlaveForFullResync with the
    // other replica's psync_initial_offset), earlier than the state it asked in.
    let mut fullresyncs: std::collections::BTreeSet<(String, i64)> = Default::default();
    // The loop hands the core a batch of network events, then drains the effects
    // of them all: the connections that sent something in this batch, in order.
    let mut batch: Vec<ConnId> = Vec::new();
    // Connections whose peer hung up: what they sent before is still taken up (the
    // core handles a read's requests before its EOF), but no reply reaches them.
    let mut hung_up: std::collections::BTreeSet<ConnId> = Default::default();
    let mut draining = false;
    let mut violations = Vec::new();
    for e in entries {
        let ms = e.now().mono.0 / 1_000_000;
        if e.is_input() && draining {
            // A partial resync is answered in the drain that follows its PSYNC.
            draining = false;
            batch.clear();
            for conn in std::mem::take(&mut hung_up) {
                inbound.remove(&conn);
                requests.remove(&conn);
                if pending.remove(&conn).is_some() {
                    tally.full_unanswered += 1;
                }
            }
            pending.retain(|conn, p| {
                let due = match p.stage {
                    PsyncStage::Reply => p.coverable,
                    PsyncStage::Tail(_) => true,
                };
                if due {
                    violations.push(format!(
                        "{host} {conn:?} at {ms} ms: a coverable PSYNC not continued at once ({:?})",
                        p.state
                    ));
                }
                !due
            });
        }
        if !e.is_input() {
            draining = true;
        }
        match e {
            TraceEntry::Closed { conn, .. } => {
                hung_up.insert(*conn);
            }
            TraceEntry::Accepted { conn, .. } | TraceEntry::Close { conn, .. } => {
                // A connection the server closed, or an id reused after a restart.
                inbound.remove(conn);
                requests.remove(conn);
                let peer_gone = hung_up.remove(conn);
                if let Some(p) = pending.remove(conn) {
                    if p.coverable && !peer_gone {
                        violations.push(format!(
                            "{host} {conn:?} at {ms} ms: a coverable PSYNC never continued ({:?})",
                            p.state
                        ));
                    } else {
                        tally.full_unanswered += 1;
                    }
                }
            }
            TraceEntry::Received { conn, data, .. } if conn.0 & ConnId::OUTBOUND_BIT == 0 => {
                batch.push(*conn);
                let buf = inbound.entry(*conn).or_default();
                buf.extend_from_slice(data);
                while let Some((frame, used)) = decode(buf) {
                    buf.drain(..used);
                    let Frame::Array(args) = frame else { continue };
                    let arg = |i: usize| match args.get(i) {
                        Some(Frame::Bulk(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                        _ => None,
                    };
                    if arg(0).is_some_and(|c| c.eq_ignore_ascii_case("psync")) {
                        if let (Some(id), Some(Ok(off))) = (arg(1), arg(2).map(|o| o.parse())) {
                            requests.entry(*conn).or_default().push_back((id, off));
                        }
                    }
                }
            }
            TraceEntry::Log { message, .. }
                if message.starts_with("[PSYNC] Replica ") && message.contains(" asked for '") =>
            {
                let Some(state) = parse_psync_state(message) else {
                    violations.push(format!("{host}: an unreadable state line: {message}"));
                    continue;
                };
                // The first PSYNC of the batch that asked for this: the core
                // takes events in order (a PSYNC refused before this one keeps
                // its request queued until its error goes out).
                let asked = (state.asked_id.clone(), state.asked_offset);
                // A request read while the server was suspended (at startup,
                // before it knows whether there is a file to load) is taken up in
                // the batch that resumes it, where its connection sent nothing.
                let conn = batch
                    .iter()
                    .copied()
                    .find(|c| requests.get(c).is_some_and(|q| q.front() == Some(&asked)))
                    .or_else(|| {
                        requests
                            .iter()
                            .find(|(_, q)| q.front() == Some(&asked))
                            .map(|(c, _)| *c)
                    });
                let request = conn.and_then(|c| Some((c, requests.get_mut(&c)?.pop_front()?)));
                let Some((conn, (id, offset))) = request else {
                    violations.push(format!(
                        "{host} at {ms} ms: a state line with no PSYNC on the wire: {message}"
                    ));
                    continue;
                };
                let coverable = psync_coverable(&state, &id, offset);
                pending.insert(
                    conn,
                    PendingPsync {
                        state,
                        coverable,
                        stage: PsyncStage::Reply,
                    },
                );
            }
            TraceEntry::Send { conn, data, .. } => {
                let Some(p) = pending.get_mut(conn) else {
                    // A PSYNC taken up without a state line may only be refused.
                    if let Some(q) = requests.get_mut(conn).filter(|q| !q.is_empty()) {
                        if data.starts_with(b"-") {
                            q.pop_front();
                            tally.refused += 1;
                        } else if data.starts_with(b"+CONTINUE") || data.starts_with(b"+FULLRESYNC")
                        {
                            violations.push(format!(
                                "{host} {conn:?} at {ms} ms: a PSYNC answered without its state line"
                            ));
                        }
                    }
                    continue;
                };
                let line = String::from_utf8_lossy(&data[..data.len().min(200)]).into_owned();
                let words: Vec<&str> = line.lines().next().unwrap_or("").split(' ').collect();
                let s = &p.state;
                match p.stage {
                    PsyncStage::Tail(len) => {
                        if data.len() != len {
                            violations.push(format!(
                                "{host} {conn:?} at {ms} ms: +CONTINUE followed by {} bytes, the backlog from {} to {} is {len} ({s:?})",
                                data.len(),
                                s.asked_offset,
                                s.master_repl_offset
                            ));
                        }
                        pending.remove(conn);
                    }
                    // Replicas waiting for a snapshot to start get newlines.
                    PsyncStage::Reply if data.iter().all(|b| *b == b'\n') => {}
                    PsyncStage::Reply if words[0] == "+CONTINUE" => {
                        if !p.coverable {
                            violations.push(format!(
                                "{host} {conn:?} at {ms} ms: +CONTINUE for an uncoverable PSYNC ({s:?})"
                            ));
                        }
                        if words.get(1).is_some_and(|id| *id != s.replid) {
                            violations.push(format!(
                                "{host} {conn:?} at {ms} ms: {line:?} with replid {} ({s:?})",
                                s.replid
                            ));
                        }
                        tally.partial += 1;
                        let len = (s.master_repl_offset - s.asked_offset + 1).max(0) as usize;
                        if len == 0 {
                            pending.remove(conn);
                        } else {
                            p.stage = PsyncStage::Tail(len);
                        }
                    }
                    PsyncStage::Reply if words[0] == "+FULLRESYNC" => {
                        if p.coverable {
                            violations.push(format!(
                                "{host} {conn:?} at {ms} ms: {line:?} for a coverable PSYNC ({s:?})"
                            ));
                        }
                        // With a backlog the history goes on: same id, an offset
                        // no earlier (or a running snapshot's, attached to). Without
                        // one the first replica starts a new one.
                        let id = words.get(1).copied().unwrap_or("").to_string();
                        let offset = words.get(2).and_then(|o| o.trim().parse::<i64>().ok());
                        let attached =
                            offset.is_some_and(|o| fullresyncs.contains(&(id.clone(), o)));
                        if s.backlog.is_some()
                            && !(id == s.replid
                                && offset.is_some_and(|o| o >= s.master_repl_offset || attached))
                        {
                            violations
                                .push(format!("{host} {conn:?} at {ms} ms: {line:?} after {s:?}"));
                        }
                        if let Some(o) = offset {
                            fullresyncs.insert((id, o));
                        }
                        tally.full += 1;
                        pending.remove(conn);
                    }
                    PsyncStage::Reply if data.starts_with(b"-") => {
                        tally.refused += 1;
                        pending.remove(conn);
                    }
                    PsyncStage::Reply => {
                        violations.push(format!(
                            "{host} {conn:?} at {ms} ms: PSYNC answered {line:?} ({s:?})"
                        ));
                        pending.remove(conn);
                    }
                }
            }
            _ => {}
        }
    }
    // The end of the trace: answers still due are not known.
    tally.full_unanswered += pending.values().filter(|p| !p.coverable).count();
    tally.violations.extend(violations);
}
