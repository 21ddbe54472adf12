//! Crash and restart on turmoil's simulated disk (unsynced data lost on a crash,
//! torn writes, I/O latency): a crash at any moment of a SAVE or a BGSAVE leaves the
//! last completed save on disk, and the restarted server's keyspace is that save's —
//! or, when the crash hit a save whose completion the client never heard of, that
//! one's.
//!
//! `RDB_CRASH_SEED=<seed> cargo test -p cinnabar-sim-tests --release --test rdb_crash --
//! --nocapture` replays one seed (`tests/rdb_crash.rs`).

use super::{FaultCut, RunInfo};
use cinnabar_core::testing::{decode, encode_command, Frame};
use cinnabar_core::Config;
use cinnabar_io_sim::{serve, Recorder, ServerOptions, WallOffset, SERVER_PORT};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

type Keyspace = BTreeMap<String, String>;

/// What the writer knows about its saves.
#[derive(Default, Debug)]
struct Saves {
    /// The dataset of the last save whose success the client saw.
    acked: Keyspace,
    /// The dataset of a save issued whose outcome the client has not seen.
    pending: Option<Keyspace>,
    completed: usize,
    /// BGSAVEs that completed with writes taken while they ran.
    bgsaves_with_writes: usize,
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect() -> std::io::Result<Conn> {
        Ok(Conn {
            stream: TcpStream::connect(("server", SERVER_PORT)).await?,
            buf: Vec::new(),
        })
    }

    async fn cmd(&mut self, args: &[&str]) -> std::io::Result<Frame> {
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&encode_command(&raw)).await?;
        loop {
            if let Some((frame, used)) = decode(&self.buf) {
                self.buf.drain(..used);
                return Ok(frame);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn info_field(info: &Frame, name: &str) -> Option<String> {
    let text = info.as_str();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
}

/// Writes and saves until the connection breaks (the crash).
async fn writer(seed: u64, saves: Rc<RefCell<Saves>>) -> std::io::Result<()> {
    let mut c = Conn::connect().await?;
    let mut model = Keyspace::new();
    let mut x = seed | 1;
    let mut next = move || {
        // xorshift: the workload is a function of the seed.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0.. {
        for _ in 0..(next() % 20) {
            let key = format!("k{}", next() % 50);
            if next() % 4 == 0 {
                c.cmd(&["DEL", &key]).await?;
                model.remove(&key);
            } else {
                let value = format!("{round}-{}", "v".repeat((next() % 3000) as usize));
                c.cmd(&["SET", &key, &value]).await?;
                model.insert(key, value);
            }
        }
        if next() % 2 == 0 {
            saves.borrow_mut().pending = Some(model.clone());
            let reply = c.cmd(&["SAVE"]).await?;
            assert_eq!(reply, Frame::ok());
            let mut s = saves.borrow_mut();
            s.acked = s.pending.take().expect("issued");
            s.completed += 1;
        } else {
            saves.borrow_mut().pending = Some(model.clone());
            let reply = c.cmd(&["BGSAVE"]).await?;
            assert_eq!(reply, Frame::Simple("Background saving started".into()));
            // Writes go on while it runs; they are not in the file.
            saves.borrow_mut().bgsaves_with_writes += 1;
            loop {
                let key = format!("k{}", next() % 50);
                c.cmd(&["SET", &key, "during"]).await?;
                model.insert(key, "during".into());
                let info = c.cmd(&["INFO", "persistence"]).await?;
                if info_field(&info, "rdb_bgsave_in_progress").as_deref() == Some("0") {
                    assert_eq!(
                        info_field(&info, "rdb_last_bgsave_status").as_deref(),
                        Some("ok")
                    );
                    break;
                }
            }
            let mut s = saves.borrow_mut();
            s.acked = s.pending.take().expect("issued");
            s.completed += 1;
        }
    }
    Ok(())
}

/// The restarted server's keyspace, once it has loaded.
async fn read_keyspace(out: Rc<RefCell<Option<Keyspace>>>) -> turmoil::Result {
    let mut c = loop {
        match Conn::connect().await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    };
    let keys = loop {
        match c.cmd(&["KEYS", "*"]).await? {
            Frame::Error(e) if e.starts_with("LOADING") => {
                tokio::time::sleep(Duration::from_millis(10)).await
            }
            Frame::Array(keys) => break keys,
            other => panic!("KEYS answered {other:?}"),
        }
    };
    let mut ks = Keyspace::new();
    for k in keys {
        let k = k.as_str();
        let v = c.cmd(&["GET", &k]).await?.as_str();
        ks.insert(k, v);
    }
    *out.borrow_mut() = Some(ks);
    Ok(())
}

/// Saves completed before the crashes, and crashes that hit a save in flight.
#[derive(Debug, Default)]
pub struct Tally {
    pub completed: usize,
    pub during: usize,
    pub bgsaves_with_writes: usize,
}

impl Tally {
    /// This tally's counts under the soak's shared event names.
    pub fn report(&self, info: &mut RunInfo) {
        info.count(
            "event: RDB save completed before a crash",
            self.completed as u64,
        );
        info.count("event: crash during an RDB save", self.during as u64);
        info.count(
            "event: BGSAVE during writes",
            self.bgsaves_with_writes as u64,
        );
    }
}

pub fn run(seed: u64, tally: &mut Tally, info: &mut RunInfo) {
    run_cut(seed, &FaultCut::default(), tally, info)
}

/// [`run`] cut down by a shrink: the crash, this scenario's one fault and the end of
/// its workload, comes at step `cut.until_ms` if that is earlier than drawn (a step
/// is a simulated millisecond). There is nothing to leave out: without its crash
/// the run checks nothing.
pub fn run_cut(seed: u64, cut: &FaultCut, tally: &mut Tally, info: &mut RunInfo) {
    let buggify = super::Buggify::for_seed(seed, &[]);
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(seed)
        .simulation_duration(Duration::from_secs(600));
    builder.fs().block_size(512).io_latency();
    builder.fs().sync_probability(0.2);
    let mut sim = builder.build();
    let config = Config {
        save: Vec::new(),
        ..Default::default()
    };
    let recorder = Recorder::new();
    info.recorders.push(("server".into(), recorder.clone()));
    let options = ServerOptions {
        config,
        seed,
        wall: WallOffset::new(),
        recorder: recorder.clone(),
    };
    sim.host("server", move || serve(options.clone()));
    let saves = Rc::new(RefCell::new(Saves::default()));
    let w = saves.clone();
    sim.client("writer", async move {
        // The crash breaks the connection: that is how the writer ends.
        let _ = writer(seed, w).await;
        Ok(())
    });
    // Crash at a point the seed picks, somewhere in the first few saves.
    let drawn_crash_after = 200 + (seed.wrapping_mul(7919)) % 3000;
    info.schedule_ms = drawn_crash_after;
    let crash_after = cut.end(drawn_crash_after);
    info.description = format!(
        "rdb: one server, SAVE and BGSAVE under SETs, 512-byte blocks torn at a crash, \
         syncs 20%, crash at step {crash_after}"
    );
    info.description += &format!(", {}", buggify.describe());
    if !cut.is_empty() {
        info.description += &format!(", cut {cut}");
    }
    for _ in 0..crash_after {
        sim.step().expect("the simulation runs");
    }
    sim.crash("server");
    sim.bounce("server");
    let seen = Rc::new(RefCell::new(None));
    let out = seen.clone();
    sim.client("checker", read_keyspace(out));
    sim.run().expect("the checker finishes");
    let got = seen
        .borrow_mut()
        .take()
        .expect("the checker read the keyspace");
    let s = saves.borrow();
    let ok = got == s.acked || s.pending.as_ref() == Some(&got);
    assert!(
        ok,
        "seed {seed}: after the crash the keyspace ({} keys) is neither the last acknowledged save ({} keys) nor the one in flight ({:?} keys)",
        got.len(),
        s.acked.len(),
        s.pending.as_ref().map(|p| p.len())
    );
    if info.verbose {
        eprintln!(
            "seed {seed}: {} saves done, crash {} a save, {} keys after restart",
            s.completed,
            if s.pending.is_some() {
                "during"
            } else {
                "between"
            },
            got.len()
        );
    }
    tally.completed += s.completed;
    tally.bgsaves_with_writes += s.bgsaves_with_writes;
    tally.during += s.pending.is_some() as usize;
    info.fold_digest(recorder.snapshot().digest());
    info.count("fault: crash", 1);
    info.count("sim ms", sim.elapsed().as_millis() as u64);
    buggify.report(info);
}
