//! Differential test of propagation: a script of commands runs against a real
//! redis-server 7 with `appendonly yes` and, in process, against cinnabar's core with
//! an AOF consumer attached; the commands Redis appended to its incr file must equal
//! the stream cinnabar propagates, encoded as the AOF would write it (SELECT included).
//!
//! Scripts live in `tests/propagation/*.redis` (redis-cli syntax, `#` comments).
//! `@conn <name>` switches connection (opened on first use), `@send <command>` sends
//! without waiting for the reply (a command that blocks), `@blocked <n>` waits until
//! Redis has `n` blocked clients (so a push cannot overtake the command that blocks),
//! `@sleep <ms>` waits.
//! Absolute deadlines (the argument after PXAT, PEXPIREAT's time) are compared with a
//! tolerance: the two servers do not read the clock at the same instant.

mod support;

use cinnabar_core::config::Protected;
use cinnabar_core::io::{MonoNs, UnixUs};
use cinnabar_core::resp::splitargs::split_args;
use cinnabar_core::server::propagate::{FeedEncoder, TARGET_AOF};
use cinnabar_core::testing::{encode_command, TestServer};
use cinnabar_core::ConnId;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::{RawConn, ServerProcess};

/// How far apart the two servers' clocks may be when they compute a deadline.
const DEADLINE_TOLERANCE_MS: i64 = 3_000;

/// A fresh directory for one redis-server's AOF.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cinnabar-propagation-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Split an AOF byte stream into commands.
fn parse_commands(mut buf: &[u8]) -> Vec<Vec<Vec<u8>>> {
    fn line<'a>(buf: &mut &'a [u8]) -> &'a [u8] {
        let end = buf
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a CRLF-terminated line");
        let l = &buf[..end];
        *buf = &buf[end + 2..];
        l
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let head = line(&mut buf);
        assert_eq!(head[0], b'*', "a command starts with *");
        let n: usize = std::str::from_utf8(&head[1..]).unwrap().parse().unwrap();
        let mut argv = Vec::with_capacity(n);
        for _ in 0..n {
            let len_line = line(&mut buf);
            assert_eq!(len_line[0], b'$');
            let len: usize = std::str::from_utf8(&len_line[1..])
                .unwrap()
                .parse()
                .unwrap();
            argv.push(buf[..len].to_vec());
            buf = &buf[len + 2..];
        }
        out.push(argv);
    }
    out
}

/// Is argument `i` of `argv` an absolute deadline in milliseconds?
fn is_deadline(argv: &[Vec<u8>], i: usize) -> bool {
    (i > 0 && argv[i - 1].eq_ignore_ascii_case(b"PXAT"))
        || (i == 2 && argv[0].eq_ignore_ascii_case(b"PEXPIREAT"))
        || (i == 2 && argv[0].eq_ignore_ascii_case(b"RESTORE"))
}

fn same_command(ours: &[Vec<u8>], theirs: &[Vec<u8>]) -> bool {
    ours.len() == theirs.len()
        && (0..ours.len()).all(|i| {
            if ours[i] == theirs[i] {
                return true;
            }
            if !is_deadline(theirs, i) {
                return false;
            }
            let num = |a: &[u8]| std::str::from_utf8(a).ok()?.parse::<i64>().ok();
            matches!((num(&ours[i]), num(&theirs[i])),
                (Some(a), Some(b)) if (a - b).abs() <= DEADLINE_TOLERANCE_MS)
        })
}

fn show(argv: &[Vec<u8>]) -> String {
    argv.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// cinnabar's core in process, on the real clocks so deadlines match Redis's.
struct Ours {
    t: TestServer,
    conns: BTreeMap<String, ConnId>,
    mono_origin: Instant,
    mono_base: u64,
}

impl Ours {
    fn new() -> Ours {
        let mut t = TestServer::new();
        t.server.propagation.active = TARGET_AOF;
        t.server.config.enable_debug_command = Protected::Yes;
        let mono_base = t.now.mono.0;
        let mut ours = Ours {
            t,
            conns: BTreeMap::new(),
            mono_origin: Instant::now(),
            mono_base,
        };
        ours.tick();
        ours
    }

    /// Bring the test server's clocks to the real ones.
    fn tick(&mut self) {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch");
        self.t.now.wall = UnixUs(wall.as_micros() as i64);
        self.t.now.mono = MonoNs(self.mono_base + self.mono_origin.elapsed().as_nanos() as u64);
    }

    fn conn(&mut self, name: &str) -> ConnId {
        if let Some(c) = self.conns.get(name) {
            return *c;
        }
        self.tick();
        let c = self.t.connect();
        self.conns.insert(name.to_string(), c);
        c
    }

    fn send(&mut self, name: &str, args: &[&[u8]]) {
        let c = self.conn(name);
        self.tick();
        // Timers due by now (a blocking command's timeout) fire first, as in Redis.
        self.t.fire_timers();
        self.t.send_raw(c, &encode_command(args));
        self.t.take_output(c);
    }

    fn aof_bytes(&mut self) -> Vec<u8> {
        let mut enc = FeedEncoder::new();
        let mut out = Vec::new();
        for op in self.t.server.propagation.take_stream() {
            enc.feed(&op, &mut out);
        }
        out
    }
}

fn info_field(conn: &mut RawConn, field: &str) -> Option<String> {
    let reply = conn.cmd(&["INFO", "persistence"]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

fn run_script(name: &str, text: &str) {
    let dir = scratch_dir(name);
    let dir_arg = dir.to_str().expect("utf-8 temp dir").to_string();
    let Some(redis) = ServerProcess::redis(&[
        "--appendonly",
        "yes",
        "--dir",
        &dir_arg,
        "--aof-timestamp-enabled",
        "no",
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let mut theirs: BTreeMap<String, RawConn> = BTreeMap::new();
    theirs.insert("main".to_string(), redis.raw());
    // The base is written by a rewrite at startup: commands are compared from its end.
    let main = theirs.get_mut("main").expect("main connection");
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(main, "aof_rewrite_in_progress").as_deref() != Some("0")
        || info_field(main, "aof_rewrite_scheduled").as_deref() != Some("0")
    {
        assert!(
            Instant::now() < deadline,
            "redis never finished its first rewrite"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let incr = dir.join("appendonlydir").join("appendonly.aof.1.incr.aof");
    let start = std::fs::read(&incr).map(|b| b.len()).unwrap_or(0);
    assert_eq!(
        start, 0,
        "the incr file starts empty, so its first command selects"
    );

    let mut ours = Ours::new();
    let mut current = "main".to_string();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("@conn ") {
            current = name.trim().to_string();
            theirs.entry(current.clone()).or_insert_with(|| redis.raw());
            ours.conn(&current);
            continue;
        }
        if let Some(count) = line.strip_prefix("@blocked ") {
            let want = count.trim().to_string();
            let deadline = Instant::now() + Duration::from_secs(10);
            let main = theirs.get_mut("main").expect("main connection");
            loop {
                let reply = main.cmd(&["INFO", "clients"]);
                let text = String::from_utf8_lossy(&reply).into_owned();
                let blocked = text
                    .lines()
                    .find_map(|l| l.strip_prefix("blocked_clients:"))
                    .map(|v| v.trim().to_string());
                if blocked.as_deref() == Some(want.as_str()) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{name}:{}: never {want} blocked",
                    n + 1
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            continue;
        }
        if let Some(ms) = line.strip_prefix("@sleep ") {
            let ms: u64 = ms.trim().parse().expect("@sleep <ms>");
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        let (cmd, wait) = match line.strip_prefix("@send ") {
            Some(cmd) => (cmd, false),
            None => (line, true),
        };
        let args =
            split_args(cmd.as_bytes()).unwrap_or_else(|| panic!("{name}:{}: bad quoting", n + 1));
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        // Ours first: a command that blocks with a timeout then times out on both
        // before the next one (Redis's reply comes after its timeout).
        ours.send(&current, &args);
        let conn = theirs.get_mut(&current).expect("current connection");
        conn.send_cmd(&args);
        if wait {
            conn.read_reply();
        }
    }
    // A round trip on every connection: whatever they made Redis append is written.
    for conn in theirs.values_mut() {
        conn.send_cmd(&[b"PING"]);
    }
    theirs.get_mut("main").expect("main").cmd(&["PING"]);

    let want = parse_commands(&std::fs::read(&incr).expect("read redis's incr file"));
    let got = parse_commands(&ours.aof_bytes());
    let _ = std::fs::remove_dir_all(&dir);
    let mismatch =
        got.len() != want.len() || got.iter().zip(&want).any(|(a, b)| !same_command(a, b));
    if mismatch {
        let mut report = format!("{name}: propagated commands differ\n");
        for i in 0..got.len().max(want.len()) {
            let g = got.get(i).map(|a| show(a)).unwrap_or_default();
            let w = want.get(i).map(|a| show(a)).unwrap_or_default();
            let mark = match (got.get(i), want.get(i)) {
                (Some(a), Some(b)) if same_command(a, b) => "  ",
                _ => "!!",
            };
            report.push_str(&format!("{mark} redis: {w:<50} cinnabar: {g}\n"));
        }
        panic!("{report}");
    }
}

#[test]
fn propagation_scripts() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/propagation");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/propagation exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "redis"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    for path in scripts {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).expect("read script");
        run_script(&name, &text);
    }
}
