//! Checks the reference model against a real redis-server: the simulation's workload
//! (every family on, one client, no TTLs) is sent to a fresh `redis-server` and every
//! reply is fed to the model, which must agree. This is how the model's Redis 7.0
//! behaviour is verified; what differs in Redis 7.2 (list and set encodings, ZRANK
//! WITHSCORE) is left out when the server is 7.0, and what the model takes from 7.0
//! (hashes, sorted sets) is left out when it is 7.2. With 7.0, sets are modelled with
//! `set-max-listpack-entries 0` (7.0 has no listpack sets), OBJECT ENCODING is not
//! asked of lists and sets, and ZRANK/ZREVRANK are sent without WITHSCORE.
//!
//! ```sh
//! cargo run -p cinnabar-sim-tests --release --example against_redis -- [seeds] [redis-server] [7.2]
//! ```
//! `seeds` (`N` for seeds 0..N, `=N` for seed N alone, `A..B` for seeds A to B-1) defaults to 200, `redis-server` to the one on the PATH; a third argument
//! `7.2` says the server is Redis 7.2 (listpack sets and lists, WITHSCORE are kept).

use cinnabar_sim_tests::gen::Gen;
use cinnabar_sim_tests::model::blocking::{forever_wait, Moment};
use cinnabar_sim_tests::model::{notify, Dbsize, Limits, Model, Outboxes, Session};
use cinnabar_sim_tests::resp::{self, take_reply, Reply};
use cinnabar_sim_tests::workload::{self, Families, Step, WorkloadShape};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REQUESTS_PER_SEED: usize = 400;
const SCAN_CALLS_MAX: usize = 200;
/// How far the server's cached clock may be from ours.
const CLOCK_SLACK_MS: i64 = 2;
/// How late a blocked client's timeout may come: two cron periods at Redis's
/// default hz 10, and some slack for this process.
const LATE_NS: u64 = 250_000_000;
/// How long a frame a subscribed connection was not sent may take to arrive
/// before the harness decides it will not.
const QUIET_MS: u64 = 50;
/// The blocking pops, checked through the model's frame entry point.
const BLOCKING: &[&str] = &[
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
];

struct Server {
    child: Child,
    conn: TcpStream,
    pending: Vec<u8>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

impl Server {
    fn start(binary: &str, limits: &Limits, redis72: bool, classes: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut args: Vec<String> = vec![
            "--port".into(),
            port.to_string(),
            "--save".into(),
            String::new(),
            "--appendonly".into(),
            "no".into(),
        ];
        if !classes.is_empty() {
            args.push("--notify-keyspace-events".into());
            args.push(classes.to_string());
        }
        for line in limits.config_lines().lines() {
            let (name, value) = line.split_once(' ').expect("name value");
            if !redis72 && name.starts_with("set-max-listpack") {
                continue;
            }
            args.push(format!("--{name}"));
            args.push(value.to_string());
        }
        let mut child = Command::new(binary)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        for _ in 0..200 {
            if let Ok(conn) = TcpStream::connect(("127.0.0.1", port)) {
                return Server {
                    child,
                    conn,
                    pending: Vec::new(),
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server did not listen on {port}");
    }

    /// sortCommandGeneric checks `errno == ERANGE` after strtod without clearing it
    /// first, so once a weight overflowed, every later numeric SORT of strings fails
    /// too, until something sets errno again. Accepting a connection does (the accept
    /// loop ends on EAGAIN): a throwaway client that waits for a PONG. Neither the
    /// model nor cinnabar keeps such state.
    fn reset_errno(&mut self) {
        let port = self.conn.peer_addr().expect("connected").port();
        let mut other = TcpStream::connect(("127.0.0.1", port)).expect("a second client");
        other.write_all(b"PING\r\n").expect("write");
        let mut buf = [0u8; 7];
        other.read_exact(&mut buf).expect("PONG");
        assert_eq!(&buf, b"+PONG\r\n");
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        resp::encode_request(args, &mut bytes);
        self.conn.write_all(&bytes).expect("write");
        self.next_frame()
    }

    /// Send one request and read `n` frames (confirmations of a subscribing
    /// command, or one reply).
    fn call_frames(&mut self, args: &[Vec<u8>], n: usize) -> Vec<Vec<u8>> {
        let mut bytes = Vec::new();
        resp::encode_request(args, &mut bytes);
        self.conn.write_all(&bytes).expect("write");
        (0..n).map(|_| self.next_frame()).collect()
    }

    /// Whether anything more arrives within [`QUIET_MS`] (a frame the model did
    /// not expect).
    fn extra_bytes(&mut self) -> Vec<u8> {
        let timeout = Some(Duration::from_millis(QUIET_MS));
        self.conn.set_read_timeout(timeout).expect("a read timeout");
        let mut chunk = [0u8; 4096];
        let extra = match self.conn.read(&mut chunk) {
            Ok(n) => chunk[..n].to_vec(),
            Err(_) => Vec::new(),
        };
        self.conn.set_read_timeout(None).expect("no read timeout");
        let mut all = std::mem::take(&mut self.pending);
        all.extend(extra);
        all
    }

    fn next_frame(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, len)) = take_reply(&self.pending).expect("a valid reply") {
                return self.pending.drain(..len).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.conn.read(&mut chunk).expect("read");
            assert!(n > 0, "redis-server closed the connection");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A second connection subscribed to keyspace notifications: after each request
/// of the workload it sends PING and reads up to the PONG, so what came before it
/// is what that request published.
struct Subscriber {
    conn: TcpStream,
    pending: Vec<u8>,
    session: Session,
}

/// Seeds the notification draws apart from the workload's, so that a seed runs the
/// same workload with or without them.
const NOTIFY_SALT: u64 = 0x6e6f_7469_6679;

impl Subscriber {
    fn read_frame(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, len)) = take_reply(&self.pending).expect("a valid frame") {
                return self.pending.drain(..len).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.conn.read(&mut chunk).expect("read");
            assert!(n > 0, "redis-server closed the subscriber");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Send `args`, read frames until `replies` non-message ones came; give the
    /// model every frame as the subscriber's outbox and replay the request.
    fn call(&mut self, model: &mut Model, args: &[Vec<u8>], replies: usize) -> Result<(), String> {
        let mut bytes = Vec::new();
        resp::encode_request(args, &mut bytes);
        self.conn.write_all(&bytes).expect("write");
        let mut frames = Vec::new();
        let mut got = 0;
        while got < replies {
            let f = self.read_frame();
            let r = take_reply(&f).expect("valid").expect("whole").0;
            if !cinnabar_sim_tests::model::is_message(&r) {
                got += 1;
            }
            frames.push(f);
        }
        // Active expiry may have run until the frames were read.
        model.after_input(wall_ms() + CLOCK_SLACK_MS);
        let total: usize = frames.iter().map(|f| f.len()).sum();
        let mut out = Outboxes::default();
        out.add(&self.session.name, frames);
        out.sent(&self.session.name, total);
        model.check_notifications(&mut out)?;
        let now = Moment {
            wall_ms: wall_ms(),
            mono_ns: 0,
            group_mono_ns: 0,
        };
        model.exec_request(&mut self.session, now, args, &mut out, Dbsize::Lenient)?;
        if out.left(&self.session.name) > 0 {
            let mut rest = Vec::new();
            while let Some(f) = out.take(&self.session.name) {
                rest.push(resp::show(&f));
            }
            return Err(format!(
                "the subscriber was sent unexpected frames: {}",
                rest.join(" ")
            ));
        }
        Ok(())
    }
}

struct Check {
    /// The keyspace, to pick a failing request's keys out of its arguments.
    keys: Vec<Vec<u8>>,
    /// Every request and reply so far, for failure reports.
    history: Vec<(Vec<Vec<u8>>, Vec<u8>)>,
    model: Model,
    session: Session,
    /// The session as the last agreeing evaluation left it (HELLO changes it).
    next_session: Option<Session>,
    redis72: bool,
    requests: usize,
    subscriber: Option<Subscriber>,
    /// The monotonic clock of blocking timeouts.
    started: Instant,
}

impl Check {
    /// Send one request and check its reply; `Err` describes a disagreement.
    fn send(&mut self, server: &mut Server, mut args: Vec<Vec<u8>>) -> Result<Vec<u8>, String> {
        let mut name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        if self.session.multi.is_some() && !self.redis72 && name == "object" && args.len() == 3 {
            // Queued, it cannot be skipped by its key's type as below: ask the type.
            args = vec![b"TYPE".to_vec(), args[2].clone()];
            name = "type".into();
        }
        if !self.redis72 {
            if (name == "zrank" || name == "zrevrank") && args.len() > 3 {
                return Ok(Vec::new());
            }
            if name == "object" && args.len() == 3 && self.session.multi.is_none() {
                let type_args = [b"TYPE".to_vec(), args[2].clone()];
                let (t, sent) = (server.call(&type_args), wall_ms());
                self.exec(&type_args, &t, sent)?;
                // 7.0 lists are always quicklists, and its sets do not look at how
                // many members the first SADD brings (7.2's size hint).
                if t == b"+list\r\n" || t == b"+set\r\n" {
                    return Ok(Vec::new());
                }
            }
        }
        if self.session.multi.is_none() && BLOCKING.contains(&name.as_str()) {
            // One client: nobody would serve a pop that waits forever.
            if forever_wait(&args).is_some() {
                return Ok(Vec::new());
            }
            let (sent, sent_ns) = (wall_ms(), self.mono_ns());
            let reply = server.call(&args);
            self.exec_frames(&args, vec![reply.clone()], sent, sent_ns)?;
            return Ok(reply);
        }
        let sent = wall_ms();
        let reply = server.call(&args);
        self.exec(&args, &reply, sent)?;
        if name.starts_with("sort") && reply.starts_with(b"-ERR One or more scores") {
            server.reset_errno();
        }
        Ok(reply)
    }

    fn mono_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// One request of a subscribed connection: its frames, and nothing else.
    fn subscribed(
        &mut self,
        server: &mut Server,
        args: Vec<Vec<u8>>,
        n: usize,
    ) -> Result<(), String> {
        let (sent, sent_ns) = (wall_ms(), self.mono_ns());
        let mut frames = server.call_frames(&args, n);
        let extra = server.extra_bytes();
        if !extra.is_empty() {
            // Let the model see it: it must refuse a frame it did not expect.
            frames.push(extra);
        }
        self.exec_frames(&args, frames, sent, sent_ns)
    }

    /// [`Check::exec`] through the model's entry point for frames (a blocking pop,
    /// which may time out, or a subscribing command and its confirmations): the
    /// frames must be exactly what the model expects, consumed by the request or
    /// by a timeout that was due.
    fn exec_frames(
        &mut self,
        args: &[Vec<u8>],
        frames: Vec<Vec<u8>>,
        sent: i64,
        sent_ns: u64,
    ) -> Result<(), String> {
        let received = wall_ms();
        let received_ns = self.mono_ns();
        self.requests += 1;
        // The model checks this request's notifications as it replays it: the
        // subscriber's frames up to its PONG must be in the outboxes already.
        let ping = [b"PING".to_vec()];
        let sub_frames = self.subscriber.as_mut().map(|sub| {
            let mut bytes = Vec::new();
            resp::encode_request(&ping, &mut bytes);
            sub.conn.write_all(&bytes).expect("write");
            let mut frames = Vec::new();
            loop {
                let f = sub.read_frame();
                let r = take_reply(&f).expect("valid").expect("whole").0;
                frames.push(f);
                if !cinnabar_sim_tests::model::is_message(&r) {
                    return frames;
                }
            }
        });
        let mut last = Ok(());
        let mut agreed: Option<(Model, Session, Option<Session>)> = None;
        for w in sent - CLOCK_SLACK_MS..=received + CLOCK_SLACK_MS {
            let (mut m, mut session) = (self.model.clone(), self.session.clone());
            let mut sub_session = self.subscriber.as_ref().map(|s| s.session.clone());
            let mut out = Outboxes::default();
            let total = frames.iter().map(|f| f.len()).sum();
            out.add(&session.name, frames.clone());
            out.sent(&session.name, total);
            if let (Some(sub), Some(f)) = (&sub_session, &sub_frames) {
                out.add(&sub.name, f.clone());
                out.sent(&sub.name, f.iter().map(|f| f.len()).sum());
            }
            let at = Moment {
                wall_ms: w,
                mono_ns: sent_ns,
                group_mono_ns: sent_ns,
            };
            let end = Moment {
                wall_ms: w,
                mono_ns: received_ns,
                group_mono_ns: received_ns,
            };
            let r = m
                .exec_request(&mut session, at, args, &mut out, Dbsize::Lenient)
                .and_then(|()| m.after_step(end, &mut out, LATE_NS))
                .and_then(|()| match (m.still_blocked(), out.left(&session.name)) {
                    (Some(b), _) => Err(format!("{b} is still blocked after its reply")),
                    (None, 0) => Ok(()),
                    (None, n) => Err(format!("{n} frames the model did not expect")),
                })
                .and_then(|()| match &mut sub_session {
                    None => Ok(()),
                    Some(sub) => {
                        m.after_input(wall_ms() + CLOCK_SLACK_MS);
                        m.exec_request(sub, end, &ping, &mut out, Dbsize::Lenient)?;
                        match out.left(&sub.name) {
                            0 => Ok(()),
                            n => Err(format!("{n} subscriber frames the model did not expect")),
                        }
                    }
                });
            match r {
                Ok(()) => {
                    agreed = Some((m, session, sub_session));
                    break;
                }
                Err(why) => last = Err(why),
            }
        }
        let shown: Vec<String> = frames.iter().map(|f| resp::show(f)).collect();
        match agreed {
            Some((m, session, sub_session)) => {
                self.model = m;
                self.session = session;
                if let (Some(sub), Some(s)) = (&mut self.subscriber, sub_session) {
                    sub.session = s;
                }
            }
            None => {
                let why = last.expect_err("no agreeing moment");
                return Err(format!(
                    "  failing: {} -> {}\n  {why}",
                    resp::show_request(args),
                    shown.join(" ")
                ));
            }
        }
        self.history
            .push((args.to_vec(), shown.join(" ").into_bytes()));
        self.model.after_input(received);
        Ok(())
    }

    /// Check a reply against the model at the server's wall time, which lies between
    /// the moment the request was sent and now, give or take the server's cached
    /// clock (a millisecond or two). Every moment that agrees with the reply is kept:
    /// the model becomes the merge of their outcomes (a relative TTL set then has a
    /// few possible deadlines, until a later reply rules some out).
    fn exec(&mut self, args: &[Vec<u8>], reply: &[u8], sent: i64) -> Result<(), String> {
        let received = wall_ms();
        self.requests += 1;
        let mut last = Ok(());
        let mut agreed: Option<Model> = None;
        let mut outcomes: Vec<String> = Vec::new();
        for w in sent - CLOCK_SLACK_MS..=received + CLOCK_SLACK_MS {
            let mut m = self.model.clone();
            let mut session = self.session.clone();
            match m.exec(&mut session, w, args, reply, Dbsize::Lenient) {
                Ok(()) => {
                    let shown = format!("{m:?}");
                    if outcomes.contains(&shown) {
                        continue;
                    }
                    outcomes.push(shown);
                    self.next_session = Some(session);
                    match &mut agreed {
                        None => agreed = Some(m),
                        Some(a) => a.merge(m),
                    }
                }
                Err(why) => last = Err(why),
            }
        }
        if let Some(m) = agreed {
            self.model = m;
            self.session = self.next_session.take().expect("set with the model");
            last = Ok(());
        }
        if let Err(why) = last {
            let mut report = String::from("earlier requests naming its keys:\n");
            for (a, r) in &self.history {
                if a.iter()
                    .skip(1)
                    .any(|x| self.keys.contains(x) && args.contains(x))
                {
                    report.push_str(&format!(
                        "    {} -> {}\n",
                        resp::show_request(a),
                        resp::show(r)
                    ));
                }
            }
            return Err(format!(
                "{report}  failing: {} -> {}\n  {why}",
                resp::show_request(args),
                resp::show(reply)
            ));
        }
        self.history.push((args.to_vec(), reply.to_vec()));
        self.model.after_input(received);
        if let Some(sub) = &mut self.subscriber {
            sub.call(&mut self.model, &[b"PING".to_vec()], 1)
                .map_err(|why| {
                    format!(
                        "after {} -> {}:\n  {why}",
                        resp::show_request(args),
                        resp::show(reply)
                    )
                })?;
        }
        Ok(())
    }
}

fn run_seed(
    seed: u64,
    binary: &str,
    redis72: bool,
    events: &mut BTreeMap<String, usize>,
) -> Result<usize, String> {
    let mut g = Gen::new(seed);
    let limits = Limits {
        hash_max_listpack_entries: *g.pick(&[1, 2, 3, 4, 6, 128]),
        hash_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
        list_max_listpack_size: *g.pick(&[1, 2, 3, 4, 5, 8, -1]),
        set_max_intset_entries: *g.pick(&[1, 2, 3, 5, 8, 512]),
        set_max_listpack_entries: if redis72 {
            *g.pick(&[0, 1, 2, 3, 5, 8, 128])
        } else {
            0
        },
        set_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
        zset_max_listpack_entries: *g.pick(&[0, 1, 2, 3, 4, 6, 128]),
        zset_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
    };
    let keys: Vec<Vec<u8>> = (0..15)
        .map(|i| format!("{}{}", ["k:", "user:", "s"][i % 3], i).into_bytes())
        .collect();
    let shape = WorkloadShape {
        keys,
        patterns: ["*", "k:*", "user:?", "*1*"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect(),
        requests_per_client: REQUESTS_PER_SEED,
        pipeline_max: 1,
        ttl_probability: 0.0,
        long_pause_probability: 0.0,
        long_pause_ms_max: 1,
        split_probability: 0.0,
        // Against 7.2, only what the model takes from 7.2: 7.2's hashes and sorted
        // sets differ from 7.0's (a sorted set's first encoding, for one).
        families: Families {
            hashes: !redis72,
            lists: true,
            sets: true,
            zsets: !redis72,
            zset_lex: !redis72,
            // SORT itself is 7.0's in both; the encoding of what STORE makes is 7.2's
            // (and 7.0's lists are not asked for their encoding).
            sort: true,
            scan_type: true,
            multi: true,
            // Blocking pops time out (one client serves no other), and a single
            // subscriber checks its confirmations, PING and the subscribed-mode
            // restrictions (nobody publishes to it: PUBLISH finds no receiver).
            blocking: true,
            pubsub: true,
            bitmaps: true,
            hll: true,
            swapdb: true,
            // One client: CLIENT UNBLOCK finds nobody blocked (its replies and
            // errors are still Redis's).
            client_unblock: true,
            select: true,
        },
        resp3_probability: 0.5,
        clients: 1,
    };
    // Nobody else's id to learn: every CLIENT UNBLOCK names id 0.
    let ids = workload::ClientIds::new();
    let program = workload::program(&mut g, &shape);
    let keys = shape.keys.clone();
    let mut ng = Gen::new(seed ^ NOTIFY_SALT);
    let classes = workload::notify::classes(&mut ng);
    let mut server = Server::start(binary, &limits, redis72, &classes);
    let mut model = Model::new(limits);
    model.set_notify_flags(notify::parse_flags(classes.as_bytes()).expect("valid classes"));
    let subscriber = if classes.is_empty() {
        None
    } else {
        let port = server.conn.peer_addr().expect("connected").port();
        let conn = TcpStream::connect(("127.0.0.1", port)).expect("a subscriber");
        let mut sub = Subscriber {
            conn,
            pending: Vec::new(),
            session: Session::new("subscriber"),
        };
        if ng.chance(0.5) {
            sub.call(&mut model, &[b"HELLO".to_vec(), b"3".to_vec()], 1)
                .map_err(|why| format!("seed {seed}: HELLO 3: {why}"))?;
        }
        for (pattern, channel) in workload::notify::subscriptions(&mut ng, &shape) {
            let name = if pattern { "PSUBSCRIBE" } else { "SUBSCRIBE" };
            sub.call(&mut model, &[name.as_bytes().to_vec(), channel], 1)
                .map_err(|why| format!("seed {seed}: subscribing: {why}"))?;
        }
        events_seen_flags(events, &classes);
        Some(sub)
    };
    let mut check = Check {
        keys,
        history: Vec::new(),
        model,
        session: Session::new("client"),
        next_session: None,
        redis72,
        requests: 0,
        subscriber,
        started: Instant::now(),
    };
    let fail = |why: String| {
        format!(
            "seed {seed} (notify-keyspace-events {classes:?}, {}):\n  {why}",
            limits.config_lines().replace('\n', ", ")
        )
    };
    for step in program {
        match step {
            Step::Sleep(_) => {}
            Step::Pubsub { requests, frames } => {
                for template in requests {
                    let w = wall_ms();
                    let args: Vec<Vec<u8>> = template.iter().map(|a| a.resolve(w, &ids)).collect();
                    check.subscribed(&mut server, args, frames).map_err(fail)?;
                }
            }
            Step::Batch { requests, .. } => {
                for template in requests {
                    let w = wall_ms();
                    let args: Vec<Vec<u8>> = template.iter().map(|a| a.resolve(w, &ids)).collect();
                    check.send(&mut server, args).map_err(fail)?;
                }
            }
            Step::ScanAll {
                count,
                pattern,
                type_name,
            } => {
                let mut cursor = b"0".to_vec();
                for _ in 0..SCAN_CALLS_MAX {
                    let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
                    if let Some(p) = &pattern {
                        args.extend([b"MATCH".to_vec(), p.clone()]);
                    }
                    args.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
                    if let Some(t) = &type_name {
                        args.extend([b"TYPE".to_vec(), t.clone()]);
                    }
                    let reply = check.send(&mut server, args).map_err(fail)?;
                    match take_reply(&reply).ok().flatten() {
                        Some((Reply::Array(parts), _)) => match parts.first() {
                            Some(Reply::Bulk(c)) if c != b"0" => cursor = c.clone(),
                            _ => break,
                        },
                        _ => break,
                    }
                }
            }
            Step::ScanKey {
                command,
                key,
                count,
                pattern,
            } => {
                let mut cursor = b"0".to_vec();
                for _ in 0..SCAN_CALLS_MAX {
                    let mut args = vec![command.as_bytes().to_vec(), key.clone(), cursor.clone()];
                    if let Some(p) = &pattern {
                        args.extend([b"MATCH".to_vec(), p.clone()]);
                    }
                    args.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
                    let reply = check.send(&mut server, args).map_err(fail)?;
                    match take_reply(&reply).ok().flatten() {
                        Some((Reply::Array(parts), _)) => match parts.first() {
                            Some(Reply::Bulk(c)) if c != b"0" => cursor = c.clone(),
                            _ => break,
                        },
                        _ => break,
                    }
                }
            }
        }
    }
    for (e, n) in &check.model.events {
        *events.entry(e.clone()).or_default() += n;
    }
    Ok(check.requests)
}

/// Count the runs with notifications on, for the summary.
fn events_seen_flags(events: &mut BTreeMap<String, usize>, classes: &str) {
    *events
        .entry("notify: runs with a subscriber".into())
        .or_default() += 1;
    if classes.contains('m') {
        *events
            .entry("notify: runs with keymiss".into())
            .or_default() += 1;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `N` runs seeds 0..N; `=N` runs seed N alone; `A..B` seeds A to B-1.
    let (first, seeds): (u64, u64) = match args.get(1) {
        Some(a) if a.starts_with('=') => (a[1..].parse().expect("a seed"), 1),
        Some(a) if a.contains("..") => {
            let (x, y) = a.split_once("..").expect("a range");
            let (x, y): (u64, u64) = (x.parse().expect("a seed"), y.parse().expect("a seed"));
            (x, y.saturating_sub(x))
        }
        Some(a) => (0, a.parse().expect("a seed count")),
        None => (0, 200),
    };
    let binary = args
        .get(2)
        .map_or("redis-server", |s| s.as_str())
        .to_string();
    let redis72 = args.get(3).is_some_and(|s| s == "7.2");
    let mut failures = 0;
    let mut events = BTreeMap::new();
    let mut requests = 0;
    for seed in first..first + seeds {
        match run_seed(seed, &binary, redis72, &mut events) {
            Ok(n) => requests += n,
            Err(why) => {
                failures += 1;
                eprintln!("{why}");
            }
        }
    }
    // The SORT, SCAN, transaction, bitmap and HLL paths the model took, to show what
    // was compared.
    for (e, n) in &events {
        let shown = [
            "sort", "scan", "multi", "watch", "bitmaps", "hll", "blocking", "pubsub", "swapdb",
            "notify",
        ];
        if shown.iter().any(|s| e.contains(s)) {
            println!("  {n:>6}  {e}");
        }
    }
    println!("{seeds} seeds, {requests} requests agreed with {binary}, {failures} seeds disagreed");
    if failures > 0 {
        std::process::exit(1);
    }
}
