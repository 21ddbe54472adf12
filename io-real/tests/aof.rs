//! The AOF cinnabar-server writes, checked by Redis's own tools: `redis-check-aof`
//! accepts the directory, and a real redis-server 7 loads it into the same dataset
//! (DEBUG DIGEST). Also the incr file matches what redis-server appends for the same
//! commands, byte for byte apart from absolute deadlines.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use support::ServerProcess;

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cinnabar-aof-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Commands touching every type, expiry, several databases and a transaction.
const SCRIPT: &[&[&str]] = &[
    &["SET", "s", "v"],
    &["SET", "e", "v", "EX", "1000"],
    &["INCRBYFLOAT", "f", "1.25"],
    &["RPUSH", "l", "a", "b", "c"],
    &["LPOP", "l"],
    &["SADD", "set", "x", "y", "z"],
    &["SREM", "set", "y"],
    &["ZADD", "z", "1", "a", "2.5", "b"],
    &["HSET", "h", "f", "v", "g", "w"],
    &["HINCRBYFLOAT", "h", "n", "0.5"],
    &["SELECT", "3"],
    &["SET", "in3", "x"],
    &["MULTI"],
    &["INCR", "c"],
    &["INCR", "c"],
    &["EXEC"],
    &["SELECT", "0"],
    &["PFADD", "hll", "a", "b"],
    &["SETBIT", "bits", "9", "1"],
    &["DEL", "s"],
];

/// DEBUG DIGEST once the server has finished loading (Redis answers DEBUG while it
/// loads, with whatever it has so far).
fn digest(server: &ServerProcess) -> Vec<u8> {
    let mut conn = server.raw();
    let deadline = Instant::now() + Duration::from_secs(10);
    // `loading:0` as a line of its own: `async_loading:0` ends the same way.
    while !String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"]))
        .lines()
        .any(|l| l == "loading:0")
    {
        assert!(
            Instant::now() < deadline,
            "{} never finished loading",
            server.name
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    conn.cmd(&["DEBUG", "DIGEST"])
}

fn wait_for_file(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn redis_checks_and_loads_our_aof() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("redis-server not installed: skipping");
        return;
    }
    for preamble in ["yes", "no"] {
        let dir = scratch_dir(&format!("load-{preamble}"));
        let d = dir.to_str().expect("utf-8 path").to_string();
        let ours = ServerProcess::cinnabar(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            preamble,
            "--dir",
            &d,
            "--enable-debug-command",
            "yes",
        ]);
        let mut conn = ours.raw();
        // Fed to the incr file created at boot.
        for cmd in SCRIPT {
            conn.cmd(cmd);
        }
        let want = digest(&ours);
        // Turn it off and on: a new base holds everything, the old files go.
        conn.cmd(&["CONFIG", "SET", "appendonly", "no"]);
        conn.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        conn.cmd(&["SET", "after", "rewrite"]);
        let want_after = digest(&ours);
        assert_ne!(want, want_after);
        // The rewrite runs in the background: its files are in place once INFO says
        // it ended (killed before, the old files would stay the AOF).
        let deadline = Instant::now() + Duration::from_secs(10);
        while String::from_utf8_lossy(&conn.cmd(&["INFO", "persistence"]))
            .contains("aof_rewrite_in_progress:1")
        {
            assert!(Instant::now() < deadline, "the rewrite never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
        // Under `always` the reply came after the fsync: killing loses nothing.
        drop(conn);
        drop(ours);

        let manifest = dir.join("appendonlydir").join("appendonly.aof.manifest");
        wait_for_file(&manifest);
        let text = std::fs::read_to_string(&manifest).expect("read manifest");
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(
            text,
            format!(
                "file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
            )
        );
        let check = Command::new("redis-check-aof")
            .arg(&manifest)
            .output()
            .expect("run redis-check-aof");
        let out = String::from_utf8_lossy(&check.stdout).into_owned();
        assert!(
            check.status.success(),
            "redis-check-aof refused our AOF:\n{out}"
        );
        assert!(out.contains("is valid"), "{out}");

        let Some(redis) = ServerProcess::redis(&[
            "--appendonly",
            "yes",
            "--dir",
            &d,
            "--enable-debug-command",
            "yes",
        ]) else {
            return;
        };
        let got = digest(&redis);
        if got != want_after {
            let mut rc = redis.raw();
            let keys = rc.cmd(&["KEYS", "*"]);
            let files: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| format!("{:?} {:?}", e.file_name(), e.metadata().map(|m| m.len())))
                        .collect()
                })
                .unwrap_or_default();
            panic!(
                "redis-server loaded a different dataset (preamble {preamble}): {} vs {}; keys {}; files {files:?}; manifest {text:?}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want_after),
                String::from_utf8_lossy(&keys),
            );
        }
        drop(redis);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn our_incr_file_matches_redis_for_the_same_commands() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let ours_dir = scratch_dir("incr-ours");
    let theirs_dir = scratch_dir("incr-theirs");
    let common = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut args: Vec<&str> = common.to_vec();
    let od = ours_dir.to_str().unwrap().to_string();
    args.extend(["--dir", od.as_str()]);
    let ours = ServerProcess::cinnabar(&args);
    let mut args: Vec<&str> = common.to_vec();
    let td = theirs_dir.to_str().unwrap().to_string();
    args.extend(["--dir", td.as_str()]);
    let Some(redis) = ServerProcess::redis(&args) else {
        return;
    };
    // Redis writes its first base in the background: wait for it.
    let mut rc = redis.raw();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = String::from_utf8_lossy(&rc.cmd(&["INFO", "persistence"])).into_owned();
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut oc = ours.raw();
    for cmd in SCRIPT.iter().filter(|c| !c.contains(&"EX")) {
        oc.cmd(cmd);
        rc.cmd(cmd);
    }
    let incr = |d: &PathBuf| {
        std::fs::read(d.join("appendonlydir").join("appendonly.aof.1.incr.aof"))
            .expect("read incr file")
    };
    assert_eq!(
        String::from_utf8_lossy(&incr(&ours_dir)),
        String::from_utf8_lossy(&incr(&theirs_dir))
    );
    drop(oc);
    drop(rc);
    drop(ours);
    drop(redis);
    let _ = std::fs::remove_dir_all(&ours_dir);
    let _ = std::fs::remove_dir_all(&theirs_dir);
}

#[test]
fn we_load_what_redis_wrote_and_what_we_wrote() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    for preamble in ["yes", "no"] {
        let dir = scratch_dir(&format!("from-redis-{preamble}"));
        let d = dir.to_str().unwrap().to_string();
        let args = [
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-use-rdb-preamble",
            preamble,
            "--dir",
            d.as_str(),
            "--enable-debug-command",
            "yes",
        ];
        let Some(redis) = ServerProcess::redis(&args) else {
            return;
        };
        let mut rc = redis.raw();
        for cmd in &SCRIPT[..10] {
            rc.cmd(cmd);
        }
        // A rewrite puts these in a base; the rest goes to the new incr file.
        rc.cmd(&["BGREWRITEAOF"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let info = String::from_utf8_lossy(&rc.cmd(&["INFO", "persistence"])).into_owned();
            if info.contains("aof_rewrite_in_progress:0")
                && info.contains("aof_rewrite_scheduled:0")
                && info.contains("aof_rewrites:1")
            {
                break;
            }
            assert!(Instant::now() < deadline, "redis never rewrote");
            std::thread::sleep(Duration::from_millis(20));
        }
        for cmd in &SCRIPT[10..] {
            rc.cmd(cmd);
        }
        let want = digest(&redis);
        drop(rc);
        drop(redis);

        let ours = ServerProcess::cinnabar(&args);
        assert_eq!(
            String::from_utf8_lossy(&digest(&ours)),
            String::from_utf8_lossy(&want),
            "we loaded a different dataset from redis's AOF (preamble {preamble})"
        );
        // We append to Redis's files, and load our own appends after a restart.
        ours.raw().cmd(&["SET", "ours", "1"]);
        let want = digest(&ours);
        drop(ours);
        let again = ServerProcess::cinnabar(&args);
        assert_eq!(digest(&again), want);
        drop(again);
        let redis = ServerProcess::redis(&args).expect("redis-server");
        assert_eq!(digest(&redis), want, "redis loads what we appended");
        drop(redis);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// An AOF from before Redis 7 (a single `appendonly.aof` in `dir`): redis-server 7.0
/// and we both move it into the AOF directory under a manifest and add an incr
/// file; the manifests and datasets are the same, and redis-server loads ours.
#[test]
fn an_old_single_file_aof_is_upgraded_as_redis_does() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let mut old = Vec::new();
    for cmd in SCRIPT.iter().chain([&["SELECT", "0"][..]].iter()) {
        if matches!(cmd[0], "MULTI" | "EXEC") {
            continue;
        }
        old.extend_from_slice(format!("*{}\r\n", cmd.len()).as_bytes());
        for a in *cmd {
            old.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    let mut manifests = Vec::new();
    let mut digests = Vec::new();
    let mut dirs = Vec::new();
    for who in ["redis", "ours"] {
        let dir = scratch_dir(&format!("upgrade-{who}"));
        std::fs::write(dir.join("appendonly.aof"), &old).unwrap();
        let d = dir.to_str().unwrap().to_string();
        let args = [
            "--appendonly",
            "yes",
            "--dir",
            d.as_str(),
            "--enable-debug-command",
            "yes",
        ];
        let server = if who == "redis" {
            let Some(s) = ServerProcess::redis(&args) else {
                return;
            };
            s
        } else {
            ServerProcess::cinnabar(&args)
        };
        digests.push(digest(&server));
        // Our incr file is named by a manifest written after the load, while
        // clients are already served (writes wait for it).
        let manifest = dir.join("appendonlydir/appendonly.aof.manifest");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&manifest).is_ok_and(|m| m.contains(" type i")) {
            assert!(Instant::now() < deadline, "{who} never named an incr file");
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(server);
        assert!(!dir.join("appendonly.aof").exists(), "{who} moved it");
        assert_eq!(
            std::fs::read(dir.join("appendonlydir/appendonly.aof")).unwrap(),
            old,
            "{who}"
        );
        manifests.push(
            std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap(),
        );
        dirs.push((dir, d));
    }
    assert_eq!(manifests[0], manifests[1]);
    assert_eq!(
        manifests[1],
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&digests[0]),
        String::from_utf8_lossy(&digests[1])
    );
    let (_, d) = &dirs[1];
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        d.as_str(),
        "--enable-debug-command",
        "yes",
    ];
    let redis = ServerProcess::redis(&args).expect("redis-server");
    assert_eq!(
        digest(&redis),
        digests[1],
        "redis loads our upgraded directory"
    );
    drop(redis);
    for (dir, _) in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
