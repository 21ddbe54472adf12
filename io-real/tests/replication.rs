//! Replication interoperability, master side: a real redis-server 7.0 replicates
//! from cinnabar-server. It does a full resync (FULLRESYNC + the RDB from a
//! background save), follows the live stream (several databases, MULTI/EXEC,
//! expiries as DEL), then after a broken link (CLIENT KILL TYPE replica) and after a
//! replica restart from its own RDB it continues with a partial resync (+CONTINUE
//! and the backlog). Datasets are compared with DEBUG DIGEST after each step; WAIT
//! is answered by the replica's REPLCONF ACK.

mod support;

use std::time::{Duration, Instant};
use support::{fresh_dir, ServerProcess};

/// The `field:value` lines of an INFO section.
fn info_field(server: &ServerProcess, section: &str, field: &str) -> Option<String> {
    let mut conn = server.raw();
    let reply = conn.cmd(&["INFO", section]);
    String::from_utf8_lossy(&reply)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait for the replica's link to be up and its offset to reach the master's, then
/// compare the datasets.
fn wait_in_sync(master: &ServerProcess, replica: &ServerProcess) {
    wait_until("the replica's link", Duration::from_secs(30), || {
        info_field(replica, "replication", "master_link_status").as_deref() == Some("up")
    });
    wait_until("the replica to catch up", Duration::from_secs(30), || {
        let ours = info_field(master, "replication", "master_repl_offset");
        let theirs = info_field(replica, "replication", "slave_repl_offset");
        ours.is_some() && ours == theirs
    });
    let want = master.raw().cmd(&["DEBUG", "DIGEST"]);
    let got = replica.raw().cmd(&["DEBUG", "DIGEST"]);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "the replica's dataset differs from the master's"
    );
}

fn stat(master: &ServerProcess, field: &str) -> u64 {
    info_field(master, "stats", field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO stats"))
}

/// Writes of every kind the stream carries, tagged so rounds do not overlap.
fn write_round(master: &ServerProcess, tag: &str, keys: usize) {
    let mut c = master.raw();
    for i in 0..keys {
        c.cmd(&["SET", &format!("{tag}:s:{i}"), &format!("value-{i}")]);
    }
    c.cmd(&["RPUSH", &format!("{tag}:list"), "a", "b", "c"]);
    c.cmd(&["HSET", &format!("{tag}:hash"), "f1", "v1", "f2", "v2"]);
    c.cmd(&["ZADD", &format!("{tag}:zset"), "1", "x", "2.5", "y"]);
    c.cmd(&["SADD", &format!("{tag}:set"), "m1", "m2", "3"]);
    c.cmd(&["INCRBYFLOAT", &format!("{tag}:float"), "1.5"]);
    c.cmd(&["SET", &format!("{tag}:ttl"), "v", "EX", "1000"]);
    // Expires on the master, reaches the replica as a DEL.
    c.cmd(&["SET", &format!("{tag}:short"), "v", "PX", "50"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", &format!("{tag}:counter")]);
    c.cmd(&["LPUSH", &format!("{tag}:list"), "z"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["SET", &format!("{tag}:in-db-3"), "x"]);
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["DEL", &format!("{tag}:s:0")]);
    std::thread::sleep(Duration::from_millis(100));
    // Touch the short key so lazy expiry deletes it too (if cron did not already).
    c.cmd(&["GET", &format!("{tag}:short")]);
}

fn start_replica(master: &ServerProcess, dir: &str) -> Option<ServerProcess> {
    let port = master.port.to_string();
    ServerProcess::redis(&[
        "--replicaof",
        "127.0.0.1",
        &port,
        "--dir",
        dir,
        "--enable-debug-command",
        "yes",
    ])
}

#[test]
fn redis_replica_full_then_partial_resync() {
    let master = ServerProcess::cinnabar(&["--enable-debug-command", "yes"]);
    write_round(&master, "before", 500);
    let dir = fresh_dir("replica");
    let Some(replica) = start_replica(&master, &dir) else {
        return;
    };

    // Full resync: the snapshot, then whatever was written meanwhile.
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_full"), 1);
    assert_eq!(
        info_field(&master, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    let slave0 = info_field(&master, "replication", "slave0").expect("slave0 line");
    assert!(
        slave0.starts_with(&format!("ip=127.0.0.1,port={},state=online,", replica.port)),
        "{slave0}"
    );

    // The live stream, and WAIT answered by the replica's ACK.
    write_round(&master, "live", 200);
    let mut c = master.raw();
    c.cmd(&["SET", "waited", "1"]);
    assert_eq!(c.cmd(&["WAIT", "1", "10000"]), b":1\r\n");
    assert_eq!(c.cmd(&["WAIT", "2", "200"]), b":1\r\n");
    wait_in_sync(&master, &replica);

    // A broken link, writes during the break, then a partial resync.
    let killed = master.raw().cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    assert_eq!(killed, b":1\r\n");
    write_round(&master, "break", 100);
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 1);
    assert_eq!(stat(&master, "sync_full"), 1);

    // The replica restarts from its own RDB (which names the replication id and
    // offset), while the master takes more writes: a partial resync again.
    let mut replica = replica;
    // No reply: the connection closes as the server exits.
    replica.raw().send_cmd(&[b"SHUTDOWN", b"SAVE"]);
    assert!(replica.wait_exit(Duration::from_secs(10)).is_some());
    drop(replica);
    write_round(&master, "down", 100);
    let replica = start_replica(&master, &dir).expect("redis-server is installed");
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 2);
    assert_eq!(stat(&master, "sync_full"), 1);
    assert_eq!(stat(&master, "sync_partial_err"), 0);

    let role = master.raw().cmd(&["ROLE"]);
    let text = String::from_utf8_lossy(&role);
    assert!(text.starts_with("*3\r\n$6\r\nmaster\r\n:"), "{text}");
    assert!(text.contains(&replica.port.to_string()), "{text}");
}

/// cinnabar as the replica of a real redis-server 7.0: the handshake, a full
/// resync loaded from the RDB Redis sends, the live stream, a partial resync after
/// the link breaks (from either side), and one after cinnabar restarts from the RDB
/// it saved (whose aux fields name the master's history). A second cinnabar
/// replicates from the first (chained) and ends with the same data.
#[test]
fn cinnabar_replica_of_redis_full_then_partial_resync() {
    let Some(master) = ServerProcess::redis(&["--enable-debug-command", "yes"]) else {
        return;
    };
    write_round(&master, "before", 500);
    let dir = fresh_dir("cinnabar-replica");
    let port = master.port.to_string();
    let args = [
        "--replicaof",
        "127.0.0.1",
        port.as_str(),
        "--dir",
        dir.as_str(),
        "--enable-debug-command",
        "yes",
    ];
    let replica = ServerProcess::cinnabar(&args);
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_full"), 1);
    assert_eq!(
        info_field(&replica, "replication", "role").as_deref(),
        Some("slave")
    );
    assert_eq!(
        replica.raw().cmd(&["SET", "k", "v"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );

    // The live stream, and Redis's WAIT answered by our ACKs.
    write_round(&master, "live", 200);
    let mut c = master.raw();
    c.cmd(&["SET", "waited", "1"]);
    assert_eq!(c.cmd(&["WAIT", "1", "10000"]), b":1\r\n");
    wait_in_sync(&master, &replica);

    // A chained replica of the replica.
    let sub_dir = fresh_dir("cinnabar-sub-replica");
    let replica_port = replica.port.to_string();
    let sub = ServerProcess::cinnabar(&[
        "--replicaof",
        "127.0.0.1",
        replica_port.as_str(),
        "--dir",
        sub_dir.as_str(),
        "--enable-debug-command",
        "yes",
    ]);
    wait_in_sync(&replica, &sub);

    // The master drops the link; then the replica drops it: both times the
    // writes of the break come by a partial resync.
    assert_eq!(
        master.raw().cmd(&["CLIENT", "KILL", "TYPE", "replica"]),
        b":1\r\n"
    );
    write_round(&master, "break", 100);
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 1);
    assert_eq!(
        replica.raw().cmd(&["CLIENT", "KILL", "TYPE", "master"]),
        b":1\r\n"
    );
    write_round(&master, "break2", 100);
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 2);
    assert_eq!(stat(&master, "sync_full"), 1);
    wait_in_sync(&replica, &sub);
    wait_in_sync(&master, &sub);

    // Restarted from its own RDB, the replica continues the stream.
    let mut replica = replica;
    replica.raw().send_cmd(&[b"SHUTDOWN", b"SAVE"]);
    assert!(replica.wait_exit(Duration::from_secs(10)).is_some());
    drop(replica);
    write_round(&master, "down", 100);
    let replica = ServerProcess::cinnabar(&args);
    wait_in_sync(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 3);
    assert_eq!(stat(&master, "sync_full"), 1);
    assert_eq!(stat(&master, "sync_partial_err"), 0);
    let role = replica.raw().cmd(&["ROLE"]);
    let text = String::from_utf8_lossy(&role);
    assert!(
        text.starts_with(&format!(
            "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{port}\r\n$9\r\nconnected\r\n:"
        )),
        "{text}"
    );

    // Failover: cinnabar is promoted (its old history becomes replid2) and the old
    // redis master turns into its replica: a partial resync, not a full one.
    wait_in_sync(&master, &replica);
    drop(sub);
    assert_eq!(replica.raw().cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    let old_id = info_field(&master, "replication", "master_replid").unwrap();
    assert_eq!(
        info_field(&replica, "replication", "master_replid2").as_deref(),
        Some(old_id.as_str())
    );
    replica.raw().cmd(&["SET", "after-failover", "1"]);
    let replica_port = replica.port.to_string();
    assert_eq!(
        master.raw().cmd(&["REPLICAOF", "127.0.0.1", &replica_port]),
        b"+OK\r\n"
    );
    wait_in_sync(&replica, &master);
    assert_eq!(stat(&replica, "sync_partial_ok"), 1);
    assert_eq!(stat(&replica, "sync_full"), 0);
    assert_eq!(master.raw().cmd(&["GET", "after-failover"]), b"$1\r\n1\r\n");
}
