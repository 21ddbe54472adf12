//! RDB files through the real binary and the real disk: save and restart, files
//! written by redis-server loaded by cinnabar and the other way round (same DEBUG
//! DIGEST), and a corrupt file refused with a message and exit status 1.

mod support;

use std::time::{Duration, Instant};
use support::{fresh_dir, RawConn, ServerProcess};

/// Wait until the server has finished loading (-LOADING no more).
fn wait_loaded(raw: &mut RawConn) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = raw.cmd(&["DBSIZE"]);
        if !r.starts_with(b"-LOADING") {
            return;
        }
        assert!(Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Strings in each encoding, small and big lists, hashes, sets, sorted sets, TTLs,
/// two databases.
fn populate(raw: &mut RawConn) {
    let mut batch = Vec::new();
    let mut n = 0;
    let mut cmd = |args: &[&str]| {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        batch.extend(cinnabar_core::testing::encode_command(&a));
        n += 1;
    };
    cmd(&["SET", "int", "12345"]);
    cmd(&["SET", "short", "hello"]);
    let long = "abcdefgh".repeat(200);
    cmd(&["SET", "long", &long]);
    cmd(&["SET", "ttl", "v"]);
    cmd(&["PEXPIRE", "ttl", "1000000"]);
    cmd(&["RPUSH", "smalllist", "a", "b", "1"]);
    cmd(&["HSET", "smallhash", "f", "v", "n", "1"]);
    cmd(&["SADD", "intset", "1", "2", "3"]);
    cmd(&["SADD", "strset", "a", "b"]);
    cmd(&["ZADD", "smallz", "1", "a", "2.5", "b"]);
    for i in 0..600 {
        let (i_s, v) = (i.to_string(), format!("value-{i}"));
        cmd(&["RPUSH", "biglist", &v]);
        cmd(&["HSET", "bighash", &i_s, &v]);
        cmd(&["SADD", "bigset", &v]);
        cmd(&["ZADD", "bigz", &i_s, &v]);
    }
    cmd(&["SELECT", "5"]);
    cmd(&["SET", "other", "db"]);
    cmd(&["SELECT", "0"]);
    raw.send(&batch);
    for _ in 0..n {
        let r = raw.read_reply();
        assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
    }
}

#[test]
fn save_restart_and_the_data_is_back() {
    let dir = fresh_dir("restart");
    let digest = {
        let server = ServerProcess::cinnabar(&["--dir", &dir, "--enable-debug-command", "yes"]);
        let mut raw = server.raw();
        populate(&mut raw);
        assert_eq!(raw.cmd(&["SAVE"]), b"+OK\r\n");
        let digest = raw.cmd(&["DEBUG", "DIGEST"]);
        // Data changed after the save is not in the file.
        raw.cmd(&["SET", "after", "save"]);
        digest
    };
    assert!(std::path::Path::new(&dir).join("dump.rdb").exists());
    assert!(!std::path::Path::new(&dir).read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with("temp-")));
    let server = ServerProcess::cinnabar(&["--dir", &dir, "--enable-debug-command", "yes"]);
    let mut raw = server.raw();
    wait_loaded(&mut raw);
    assert_eq!(raw.cmd(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(raw.cmd(&["EXISTS", "after"]), b":0\r\n");
    let info = String::from_utf8(raw.cmd(&["INFO", "persistence"])).unwrap();
    assert!(info.contains("rdb_last_load_keys_loaded:14\r\n"), "{info}");
}

#[test]
fn shutdown_with_save_points_saves_and_a_restart_loads() {
    let dir = fresh_dir("shutdown");
    let mut server = ServerProcess::cinnabar(&["--dir", &dir, "--save", "3600 1"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    raw.send_cmd(&[b"SHUTDOWN"]);
    let status = server.wait_exit(Duration::from_secs(10)).expect("exited");
    assert_eq!(status.code(), Some(0));
    let server = ServerProcess::cinnabar(&["--dir", &dir]);
    let mut raw = server.raw();
    wait_loaded(&mut raw);
    assert_eq!(raw.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
}

#[test]
fn a_file_written_by_redis_server_loads_with_the_same_digest() {
    let dir = fresh_dir("from-redis");
    let Some(redis) = ServerProcess::redis(&["--dir", &dir, "--enable-debug-command", "yes"])
    else {
        return;
    };
    let mut raw = redis.raw();
    populate(&mut raw);
    assert_eq!(raw.cmd(&["SAVE"]), b"+OK\r\n");
    let digest = raw.cmd(&["DEBUG", "DIGEST"]);
    drop(redis);
    let ours = ServerProcess::cinnabar(&["--dir", &dir, "--enable-debug-command", "yes"]);
    let mut raw = ours.raw();
    wait_loaded(&mut raw);
    assert_eq!(raw.cmd(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(raw.cmd(&["LLEN", "biglist"]), b":600\r\n");
    let ttl = String::from_utf8(raw.cmd(&["PTTL", "ttl"])).unwrap();
    assert!(ttl.starts_with(":9"), "{ttl}");
}

#[test]
fn a_file_written_by_cinnabar_loads_in_redis_server_with_the_same_digest() {
    let dir = fresh_dir("to-redis");
    let ours = ServerProcess::cinnabar(&["--dir", &dir, "--enable-debug-command", "yes"]);
    let mut raw = ours.raw();
    populate(&mut raw);
    assert_eq!(raw.cmd(&["SAVE"]), b"+OK\r\n");
    let digest = raw.cmd(&["DEBUG", "DIGEST"]);
    drop(ours);
    let Some(redis) = ServerProcess::redis(&["--dir", &dir, "--enable-debug-command", "yes"])
    else {
        return;
    };
    let mut raw = redis.raw();
    wait_loaded(&mut raw);
    assert_eq!(raw.cmd(&["DEBUG", "DIGEST"]), digest);
    assert_eq!(raw.cmd(&["DBSIZE"]), b":13\r\n");
    // redis-check-rdb accepts it too.
    let check = std::process::Command::new("redis-check-rdb")
        .arg(std::path::Path::new(&dir).join("dump.rdb"))
        .output();
    if let Ok(out) = check {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("RDB looks OK!"), "{text}");
    }
}

#[test]
fn a_corrupt_file_is_refused_with_a_message_and_status_1() {
    let dir = fresh_dir("corrupt");
    {
        let ours = ServerProcess::cinnabar(&["--dir", &dir]);
        let mut raw = ours.raw();
        populate(&mut raw);
        assert_eq!(raw.cmd(&["SAVE"]), b"+OK\r\n");
    }
    let path = std::path::Path::new(&dir).join("dump.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&path, &bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args(["--port", "0", "--dir", &dir])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("Internal error in RDB reading offset "),
        "{log}"
    );
    assert!(log.contains("dump.rdb -> "), "{log}");
    assert!(
        log.contains("Terminating server after rdb file reading failure."),
        "{log}"
    );
}
