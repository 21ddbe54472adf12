//! RDB codec throughput next to redis-server's, on the same dataset.
//!
//! Builds a mixed dataset in an in-memory core (strings, listpack and hashtable
//! hashes, lists, sets, listpack and skiplist sorted sets), then measures:
//!
//! * ours: encoding the whole keyspace with `RdbWriter` into memory, and decoding
//!   that file with `Loader` (no disk: the codec's ceiling);
//! * redis-server 7.0: loading the same file at startup (spawn until it answers
//!   PING, minus an empty-server start), and SAVE (which writes and fsyncs).
//!
//! Usage: `cargo run --release -p cinnabar-io-real --example rdb_throughput [scale]`
//! (scale 1.0 is about 100 MB of RDB).

use cinnabar_core::rdb::{AuxFields, Evict, Item, LoadLimits, Loader, RdbWriter, WriterOpts};
use cinnabar_core::rng::CoreRng;
use cinnabar_core::testing::TestServer;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn build(scale: f64) -> TestServer {
    let mut t = TestServer::new();
    let n = |base: f64| (base * scale) as usize;
    let value = "v".repeat(90);
    for i in 0..n(300_000.0) {
        t.cmd(&["SET", &format!("str:{i}"), &format!("{value}{i}")]);
    }
    let fields: Vec<String> = (0..50).map(|f| format!("field{f}")).collect();
    for i in 0..n(20_000.0) {
        let mut args = vec!["HSET".to_string(), format!("hash:{i}")];
        for f in &fields {
            args.push(f.clone());
            args.push(format!("{f}-{i}"));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    for i in 0..n(500.0) {
        let mut args = vec!["HSET".to_string(), format!("bighash:{i}")];
        for f in 0..1000 {
            args.push(format!("f{f}"));
            args.push(format!("value-{f}-{i}"));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    for i in 0..n(20_000.0) {
        let mut args = vec!["RPUSH".to_string(), format!("list:{i}")];
        args.extend((0..100).map(|e| format!("element-{e}")));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    for i in 0..n(5_000.0) {
        let mut args = vec!["SADD".to_string(), format!("set:{i}")];
        args.extend((0..200).map(|e| format!("member-{e}-{i}")));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    for i in 0..n(20_000.0) {
        let mut args = vec!["ZADD".to_string(), format!("zset:{i}")];
        for e in 0..100 {
            args.push(format!("{}", e as f64 * 1.5));
            args.push(format!("m{e}"));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    for i in 0..n(500.0) {
        let mut args = vec!["ZADD".to_string(), format!("bigzset:{i}")];
        for e in 0..1000 {
            args.push(format!("{}", e as f64 / 3.0));
            args.push(format!("member-{e}"));
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        t.cmd(&a);
    }
    t
}

fn encode(t: &TestServer) -> Vec<u8> {
    let aux = AuxFields {
        redis_ver: cinnabar_core::REDIS_VERSION,
        redis_bits: 64,
        ctime: 0,
        used_mem: 0,
        repl: None,
        aof_base: false,
    };
    let mut out = Vec::new();
    let mut w = RdbWriter::new(WriterOpts::default(), &aux, &mut out);
    for (id, db) in t.server.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        w.select_db(
            id as u64,
            db.len() as u64,
            db.expires_len() as u64,
            &mut out,
        );
        for (key, obj) in db.keys.iter() {
            w.key(key, &obj.value, db.get_expire(key), Evict::None, &mut out);
        }
    }
    w.finish(&mut out);
    out
}

fn decode(data: &[u8]) -> usize {
    let limits = LoadLimits::from_config(&cinnabar_core::Config::default(), 1 << 30);
    let mut loader = Loader::new(data, limits, true).expect("header");
    let mut rng = CoreRng::from_seed(1);
    let mut keys = 0;
    while let Some(item) = loader.next_item(&mut rng).expect("loads") {
        keys += matches!(item, Item::Key(_)) as usize;
    }
    keys
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1 << 20) as f64 / d.as_secs_f64()
}

fn send(port: u16, cmd: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(600))).ok()?;
    s.write_all(cmd).ok()?;
    let mut buf = vec![0u8; 256];
    let n = s.read(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Seconds from spawning redis-server until it answers PING (it does not answer
/// while loading), and the port it listens on.
fn redis_start(dir: &std::path::Path, file: &str, port: u16) -> (Duration, std::process::Child) {
    let start = Instant::now();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args([
            "--appendonly",
            "no",
            "--dir",
            dir.to_str().unwrap(),
            "--dbfilename",
            file,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    while start.elapsed() < Duration::from_secs(600) {
        if let Some(r) = send(port, b"PING\r\n") {
            if r.starts_with(b"+PONG") {
                return (start.elapsed(), child);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server did not answer within 600 s");
}

fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("scale"))
        .unwrap_or(1.0);
    let t0 = Instant::now();
    let t = build(scale);
    let keys = t.server.dbs[0].len();
    eprintln!("dataset: {keys} keys built in {:.1?}", t0.elapsed());

    let t0 = Instant::now();
    let data = encode(&t);
    let enc = t0.elapsed();
    let t0 = Instant::now();
    assert_eq!(decode(&data), keys);
    let dec = t0.elapsed();
    println!(
        "RDB file: {:.1} MB, {keys} keys",
        data.len() as f64 / (1 << 20) as f64
    );
    println!(
        "cinnabar encode (in memory): {:.2?}  {:.0} MB/s",
        enc,
        mbps(data.len(), enc)
    );
    println!(
        "cinnabar decode (in memory): {:.2?}  {:.0} MB/s",
        dec,
        mbps(data.len(), dec)
    );

    let dir = std::env::temp_dir().join(format!("cinnabar-rdb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("data.rdb"), &data).unwrap();
    let port = 20_000 + (std::process::id() % 10_000) as u16;
    let (empty, mut c) = redis_start(&dir, "none.rdb", port);
    let _ = c.kill();
    let _ = c.wait();
    let (full, mut c) = redis_start(&dir, "data.rdb", port + 1);
    let load = full.saturating_sub(empty);
    println!(
        "redis-server load (startup, file cached): {:.2?}  {:.0} MB/s",
        load,
        mbps(data.len(), load)
    );
    let t0 = Instant::now();
    let r = send(port + 1, b"SAVE\r\n").expect("SAVE");
    let save = t0.elapsed();
    assert!(r.starts_with(b"+OK"), "{}", String::from_utf8_lossy(&r));
    let saved = std::fs::metadata(dir.join("data.rdb")).unwrap().len() as usize;
    println!(
        "redis-server SAVE (to disk, fsynced): {:.2?}  {:.0} MB/s ({:.1} MB)",
        save,
        mbps(saved, save),
        saved as f64 / (1 << 20) as f64
    );
    let _ = c.kill();
    let _ = c.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
