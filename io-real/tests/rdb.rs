//! RDB interoperability with a real redis-server 7.0:
//!
//! * a file redis-server SAVEs, with every type and encoding, loads through our
//!   loader into values whose DEBUG DIGEST(-VALUE)s equal Redis's;
//! * a file our writer produces passes `redis-check-rdb` and loads into
//!   redis-server with the dataset digest ours has;
//! * ziplist, zipmap, old-quicklist and text-score zset fixtures (Redis 7 no longer
//!   writes them; built by `rdb::legacy::build`, written independently of the
//!   readers) load into redis-server and into our loader with equal digests.

mod support;

use cinnabar_core::db::Db;
use cinnabar_core::digest::{dataset_digest, hex, object_digest};
use cinnabar_core::object::Object;
use cinnabar_core::rdb::encode::write_len;
use cinnabar_core::rdb::legacy::build;
use cinnabar_core::rdb::{
    crc64, AuxFields, EncodeOpts, Evict, Item, LoadLimits, Loader, RdbWriter, WriterOpts,
};
use cinnabar_core::rng::CoreRng;
use cinnabar_core::testing::TestServer;
use cinnabar_core::Config;
use std::path::PathBuf;
use support::{RawConn, ServerProcess};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cinnabar-rdb-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The first 40-hex-digit run in a reply (DEBUG DIGEST / DIGEST-VALUE).
fn digest_in(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    text.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40)
        .unwrap_or_else(|| panic!("no digest in {text:?}"))
        .to_string()
}

fn cmd(c: &mut RawConn, args: &[&str]) -> Vec<u8> {
    let reply = c.cmd(args);
    assert!(
        !reply.starts_with(b"-"),
        "{args:?}: {}",
        String::from_utf8_lossy(&reply)
    );
    reply
}

/// Every loaded key in its database, plus the checksum outcome.
fn load_file(data: &[u8]) -> Vec<Db> {
    let limits = LoadLimits::from_config(&Config::default(), 1 << 30);
    let mut loader = Loader::new(data, limits, true).expect("header");
    let mut rng = CoreRng::from_seed(1);
    let mut dbs: Vec<Db> = (0..16).map(|i| Db::new(i, i as u64)).collect();
    while let Some(item) = loader.next_item(&mut rng).expect("loads") {
        if let Item::Key(k) = item {
            let db = &mut dbs[k.db as usize];
            db.add(&k.key, k.value, 0);
            if let Some(ms) = k.expire_ms {
                db.set_expire(&k.key, ms);
            }
        }
    }
    dbs
}

fn key_digest(db: &Db, key: &[u8]) -> String {
    let mut d = [0u8; 20];
    let obj: &Object = db.peek(key).expect("loaded");
    object_digest(&mut d, obj, db.get_expire(key).is_some());
    hex(&d)
}

#[test]
fn redis_saved_file_loads_with_equal_digests() {
    let dir = temp_dir("from-redis");
    let dir_s = dir.to_str().unwrap();
    let Some(redis) = ServerProcess::redis(&[
        "--dir",
        dir_s,
        "--dbfilename",
        "dump.rdb",
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let mut c = redis.raw();
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter()
            .chain(tail.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |c: &mut RawConn, args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        cmd(c, &a);
    };
    cmd(&mut c, &["SET", "int", "-12345"]);
    cmd(&mut c, &["SET", "embstr", "hello"]);
    cmd(&mut c, &["SET", "lzf", &"abc".repeat(100)]);
    cmd(&mut c, &["SET", "bigint", "123456789012345"]);
    cmd(&mut c, &["RPUSH", "list-small", "a", "1", "-7", "zz"]);
    run(&mut c, with(&["RPUSH", "list-big"], &many));
    cmd(&mut c, &["CONFIG", "SET", "list-compress-depth", "1"]);
    cmd(&mut c, &["CONFIG", "SET", "list-max-listpack-size", "8"]);
    let long: Vec<String> = (0..100).map(|i| format!("{i}-").repeat(20)).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    run(&mut c, with(&["RPUSH", "list-compressed"], &long));
    cmd(&mut c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    cmd(
        &mut c,
        &["RPUSH", "list-plain", "short", &"p".repeat(300), "tail"],
    );
    cmd(&mut c, &["SADD", "set-int", "1", "2", "-5", "9000000000"]);
    cmd(&mut c, &["SADD", "set-str", "a", "b", "c"]);
    run(&mut c, with(&["SADD", "set-big"], &many));
    cmd(&mut c, &["HSET", "hash-small", "f", "v", "n", "12"]);
    let mut pairs = Vec::new();
    for m in &many {
        pairs.push(*m);
        pairs.push(*m);
    }
    run(&mut c, with(&["HSET", "hash-big"], &pairs));
    cmd(
        &mut c,
        &["ZADD", "zset-small", "1", "a", "2.5", "b", "-inf", "c"],
    );
    let mut zargs = Vec::new();
    let scores: Vec<String> = (0..300).map(|i| format!("{}", i as f64 * 0.37)).collect();
    for (s, m) in scores.iter().zip(&many) {
        zargs.push(s.as_str());
        zargs.push(*m);
    }
    run(&mut c, with(&["ZADD", "zset-big"], &zargs));
    cmd(&mut c, &["PEXPIREAT", "embstr", "4102444800000"]);
    cmd(&mut c, &["SELECT", "5"]);
    cmd(&mut c, &["SET", "in-db-5", "x"]);
    cmd(&mut c, &["EXPIRE", "in-db-5", "100000"]);
    cmd(&mut c, &["SELECT", "0"]);
    cmd(&mut c, &["SAVE"]);
    let data = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
    let dbs = load_file(&data);

    for (id, db) in dbs.iter().enumerate() {
        cmd(&mut c, &["SELECT", &id.to_string()]);
        for (key, _) in db.keys.iter() {
            let k = String::from_utf8_lossy(key).into_owned();
            let want = digest_in(&cmd(&mut c, &["DEBUG", "DIGEST-VALUE", &k]));
            assert_eq!(key_digest(db, key), want, "db {id} key {k}");
            let pexp = String::from_utf8_lossy(&cmd(&mut c, &["PEXPIRETIME", &k])).into_owned();
            let ours = db.get_expire(key).unwrap_or(-1);
            assert_eq!(pexp.trim(), format!(":{ours}"), "db {id} key {k}");
        }
    }
    assert_eq!(dbs[0].len(), 15);
    assert_eq!(dbs[5].len(), 1);
    let want = digest_in(&cmd(&mut c, &["DEBUG", "DIGEST"]));
    assert_eq!(hex(&dataset_digest(&dbs)), want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TestServer holding every type in every encoding we have, in two databases.
fn populated_test_server() -> TestServer {
    let mut t = TestServer::new();
    let many: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let push = |t: &mut TestServer, head: &[&str], tail: &[String]| {
        let mut args: Vec<&str> = head.to_vec();
        args.extend(tail.iter().map(String::as_str));
        t.cmd(&args);
    };
    t.cmd(&["SET", "int", "42"]);
    t.cmd(&["SET", "embstr", "hello"]);
    t.cmd(&["SET", "raw", &"xyz".repeat(50)]);
    t.cmd(&["RPUSH", "list-lp", "a", "2", "c"]);
    push(&mut t, &["RPUSH", "list-ql"], &many);
    t.cmd(&["CONFIG", "SET", "list-compress-depth", "2"]);
    t.cmd(&["CONFIG", "SET", "list-max-listpack-size", "5"]);
    let long: Vec<String> = (0..60).map(|i| format!("{i}:").repeat(30)).collect();
    push(&mut t, &["RPUSH", "list-lzf"], &long);
    t.cmd(&["SADD", "set-int", "3", "1", "-2"]);
    t.cmd(&["SADD", "set-lp", "a", "b", "7"]);
    push(&mut t, &["SADD", "set-ht"], &many);
    t.cmd(&["HSET", "hash-lp", "f", "v"]);
    let pairs: Vec<String> = many.iter().flat_map(|m| [m.clone(), m.clone()]).collect();
    t.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "64"]);
    push(&mut t, &["HSET", "hash-ht"], &pairs);
    t.cmd(&["ZADD", "zset-lp", "1", "a", "1", "b", "-3.25", "c"]);
    let zargs: Vec<String> = many
        .iter()
        .enumerate()
        .flat_map(|(i, m)| [format!("{}", i as f64 / 7.0), m.clone()])
        .collect();
    push(&mut t, &["ZADD", "zset-sl"], &zargs);
    t.cmd(&["PEXPIREAT", "raw", "4102444800000"]);
    t.cmd(&["SELECT", "3"]);
    t.cmd(&["SET", "db3", "v"]);
    t.cmd(&["SELECT", "0"]);
    t
}

fn write_file(t: &TestServer, opts: WriterOpts) -> Vec<u8> {
    let aux = AuxFields {
        redis_ver: cinnabar_core::REDIS_VERSION,
        redis_bits: 64,
        ctime: 1_767_225_600,
        used_mem: 1 << 20,
        repl: None,
        aof_base: false,
    };
    let mut out = Vec::new();
    let mut w = RdbWriter::new(opts, &aux, &mut out);
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

fn check_with_redis(dir: &std::path::Path, file: &str, want_digest: &str) {
    let status = std::process::Command::new("redis-check-rdb")
        .arg(dir.join(file))
        .output();
    let Ok(out) = status else {
        eprintln!("redis-check-rdb not installed: skipping");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-check-rdb: {text}");
    assert!(text.contains("RDB looks OK!"), "{text}");
    let Some(redis) = ServerProcess::redis(&[
        "--dir",
        dir.to_str().unwrap(),
        "--dbfilename",
        file,
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let mut c = redis.raw();
    assert_eq!(digest_in(&cmd(&mut c, &["DEBUG", "DIGEST"])), want_digest);
}

#[test]
fn our_file_passes_redis_check_rdb_and_loads_into_redis() {
    let t = populated_test_server();
    let want = hex(&dataset_digest(&t.server.dbs));
    let dir = temp_dir("to-redis");
    for (name, opts) in [
        ("default.rdb", WriterOpts::default()),
        (
            "plain.rdb",
            WriterOpts {
                encode: EncodeOpts { compress: false },
                checksum: false,
            },
        ),
    ] {
        let data = write_file(&t, opts);
        std::fs::write(dir.join(name), &data).unwrap();
        check_with_redis(&dir, name, &want);
        // And our loader reads back the same dataset.
        assert_eq!(hex(&dataset_digest(&load_file(&data))), want, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A version-9 file of keys in the encodings Redis 7 reads but no longer writes.
fn legacy_file() -> Vec<u8> {
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(b"\xfe\x00");
    let key = |f: &mut Vec<u8>, t: u8, name: &str, body: &[u8]| {
        f.push(t);
        write_len(name.len() as u64, f);
        f.extend_from_slice(name.as_bytes());
        f.extend_from_slice(body);
    };
    let blob = |b: &[u8]| {
        let mut out = Vec::new();
        write_len(b.len() as u64, &mut out);
        out.extend_from_slice(b);
        out
    };
    let long = vec![b'L'; 300];
    let zl_list = build::ziplist(&[
        Err(b"a"),
        Ok(7),
        Ok(-100),
        Ok(70000),
        Ok(5_000_000_000),
        Err(&long),
        Err(b""),
    ]);
    key(&mut f, 10, "ziplist-list", &blob(&zl_list));
    let mut ql = vec![2];
    ql.extend(blob(&build::ziplist(&[Err(b"x"), Ok(1)])));
    ql.extend(blob(&build::ziplist(&[Err(b"y"), Ok(2), Ok(3)])));
    key(&mut f, 14, "quicklist-of-ziplists", &ql);
    let zl_hash = build::ziplist(&[
        Err(b"f"),
        Err(b"v"),
        Err(b"num"),
        Ok(12),
        Err(b"big"),
        Err(&long),
    ]);
    key(&mut f, 13, "ziplist-hash", &blob(&zl_hash));
    let zl_zset = build::ziplist(&[Err(b"a"), Ok(1), Err(b"b"), Err(b"2.5"), Err(b"c"), Ok(3)]);
    key(&mut f, 12, "ziplist-zset", &blob(&zl_zset));
    let zm = build::zipmap(&[(b"a", b"1"), (b"field", b"value"), (b"z", &long)], 3);
    key(&mut f, 9, "zipmap-hash", &blob(&zm));
    key(&mut f, 3, "old-zset", b"\x03\x01a\x031.5\x01b\xfe\x01c\xff");
    key(&mut f, 1, "linked-list", b"\x03\x01x\xc0\x05\xc1\x00\x10");
    key(&mut f, 2, "plain-set", b"\x03\x01x\x01y\xc0\x05");
    key(&mut f, 4, "plain-hash", b"\x02\x01f\x01v\x01g\xc0\x01");
    f.push(0xff);
    let crc = crc64::checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn legacy_fixtures_load_into_redis_and_ours_alike() {
    let data = legacy_file();
    let dbs = load_file(&data);
    assert_eq!(dbs[0].len(), 9);
    let dir = temp_dir("legacy");
    std::fs::write(dir.join("legacy.rdb"), &data).unwrap();
    let Some(redis) = ServerProcess::redis(&[
        "--dir",
        dir.to_str().unwrap(),
        "--dbfilename",
        "legacy.rdb",
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let mut c = redis.raw();
    let keys = String::from_utf8_lossy(&cmd(&mut c, &["DBSIZE"])).into_owned();
    assert_eq!(keys.trim(), ":9");
    for (key, _) in dbs[0].keys.iter() {
        let k = String::from_utf8_lossy(key).into_owned();
        let want = digest_in(&cmd(&mut c, &["DEBUG", "DIGEST-VALUE", &k]));
        assert_eq!(key_digest(&dbs[0], key), want, "{k}");
    }
    let want = digest_in(&cmd(&mut c, &["DEBUG", "DIGEST"]));
    assert_eq!(hex(&dataset_digest(&dbs)), want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every key's eviction metadata as loaded.
fn load_evict(data: &[u8]) -> Vec<(Vec<u8>, Evict)> {
    let limits = LoadLimits::from_config(&Config::default(), 1 << 30);
    let mut loader = Loader::new(data, limits, true).expect("header");
    let mut rng = CoreRng::from_seed(1);
    let mut out = Vec::new();
    while let Some(item) = loader.next_item(&mut rng).expect("loads") {
        if let Item::Key(k) = item {
            out.push((k.key, k.evict));
        }
    }
    out
}

#[test]
fn idle_and_freq_opcodes_both_ways() {
    let dir = temp_dir("evict");
    let dir_s = dir.to_str().unwrap();
    let Some(redis) = ServerProcess::redis(&[
        "--dir",
        dir_s,
        "--dbfilename",
        "dump.rdb",
        "--enable-debug-command",
        "yes",
    ]) else {
        return;
    };
    let mut c = redis.raw();
    cmd(&mut c, &["SET", "a", "1"]);
    cmd(&mut c, &["RPUSH", "b", "x"]);
    // LRU policies save IDLE, LFU policies FREQ (the LFU counter starts at 5).
    cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    cmd(&mut c, &["SAVE"]);
    let keys = load_evict(&std::fs::read(dir.join("dump.rdb")).unwrap());
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|(_, e)| matches!(e, Evict::IdleSecs(s) if *s < 100)),
        "{keys:?}"
    );
    cmd(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    cmd(&mut c, &["SAVE"]);
    let keys = load_evict(&std::fs::read(dir.join("dump.rdb")).unwrap());
    assert!(
        keys.iter().all(|(_, e)| matches!(e, Evict::Freq(_))),
        "{keys:?}"
    );
    drop(c);
    drop(redis);

    // Our IDLE opcodes read by redis-server under an LRU policy.
    let mut t = TestServer::new();
    t.cmd(&["SET", "k", "v"]);
    let aux = AuxFields {
        redis_ver: cinnabar_core::REDIS_VERSION,
        redis_bits: 64,
        ctime: 1_767_225_600,
        used_mem: 1 << 20,
        repl: None,
        aof_base: false,
    };
    let mut out = Vec::new();
    let mut w = RdbWriter::new(WriterOpts::default(), &aux, &mut out);
    w.select_db(0, 1, 0, &mut out);
    let v = &t.server.dbs[0].peek(b"k").unwrap().value;
    w.key(b"k", v, None, Evict::IdleSecs(5000), &mut out);
    w.finish(&mut out);
    std::fs::write(dir.join("idle.rdb"), &out).unwrap();
    let Some(redis) = ServerProcess::redis(&[
        "--dir",
        dir_s,
        "--dbfilename",
        "idle.rdb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]) else {
        return;
    };
    let mut c = redis.raw();
    let idle = String::from_utf8_lossy(&cmd(&mut c, &["OBJECT", "IDLETIME", "k"])).into_owned();
    let idle: i64 = idle.trim().trim_start_matches(':').parse().unwrap();
    assert!((5000..5010).contains(&idle), "{idle}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn function_libraries_both_ways() {
    let code = "#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
    let dir = temp_dir("functions");
    let dir_s = dir.to_str().unwrap();
    let Some(redis) = ServerProcess::redis(&["--dir", dir_s, "--dbfilename", "dump.rdb"]) else {
        return;
    };
    let mut c = redis.raw();
    cmd(&mut c, &["FUNCTION", "LOAD", code]);
    cmd(&mut c, &["SET", "k", "v"]);
    cmd(&mut c, &["SAVE"]);
    drop(c);
    drop(redis);
    let data = std::fs::read(dir.join("dump.rdb")).unwrap();
    let limits = LoadLimits::from_config(&Config::default(), 1 << 30);
    let mut loader = Loader::new(&data, limits, true).unwrap();
    let mut rng = CoreRng::from_seed(1);
    let mut found = Vec::new();
    while let Some(item) = loader.next_item(&mut rng).unwrap() {
        if let Item::Function { code } = item {
            found.push(code);
        }
    }
    assert_eq!(found, [code.as_bytes().to_vec()]);

    // Ours, read by redis-server: the library is there.
    let aux = AuxFields {
        redis_ver: cinnabar_core::REDIS_VERSION,
        redis_bits: 64,
        ctime: 1_767_225_600,
        used_mem: 1 << 20,
        repl: None,
        aof_base: false,
    };
    let mut out = Vec::new();
    let mut w = RdbWriter::new(WriterOpts::default(), &aux, &mut out);
    w.function(code.as_bytes(), &mut out);
    w.finish(&mut out);
    std::fs::write(dir.join("f.rdb"), &out).unwrap();
    let Some(redis) = ServerProcess::redis(&["--dir", dir_s, "--dbfilename", "f.rdb"]) else {
        return;
    };
    let mut c = redis.raw();
    let reply = String::from_utf8_lossy(&cmd(&mut c, &["FCALL", "f", "0"])).into_owned();
    assert_eq!(reply, ":1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}
