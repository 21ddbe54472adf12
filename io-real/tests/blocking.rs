//! Blocking commands over real sockets: one connection blocks, another wakes it.
//! Each scenario runs against cinnabar-server and, when installed, redis-server 7.0,
//! and the raw bytes every connection received must be the same.

mod support;

use std::time::{Duration, Instant};
use support::{RawConn, ServerProcess};

/// Wait until the server reports `n` blocked clients (so the next push really finds
/// the other connection blocked, not still on its way).
fn wait_blocked(conn: &mut RawConn, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info = conn.cmd(&["INFO", "clients"]);
        if String::from_utf8_lossy(&info).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn send(conn: &mut RawConn, args: &[&str]) {
    let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.send_cmd(&raw);
}

/// Client id of a connection.
fn id_of(conn: &mut RawConn) -> String {
    let r = conn.cmd(&["CLIENT", "ID"]);
    String::from_utf8_lossy(&r[1..r.len() - 2]).into_owned()
}

/// A scenario on one server: what each waiting connection received, in order.
fn scenario(server: &ServerProcess) -> Vec<Vec<u8>> {
    let mut pusher = server.raw();
    let mut a = server.raw();
    let mut b = server.raw();
    let mut c = server.raw();
    let mut seen = Vec::new();

    // BLPOP woken by a push from another connection; FIFO between two waiters.
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut pusher, 1);
    send(&mut b, &["BRPOP", "other", "q", "0"]);
    wait_blocked(&mut pusher, 2);
    seen.push(pusher.cmd(&["RPUSH", "q", "one", "two", "three"]));
    seen.push(a.read_reply());
    seen.push(b.read_reply());
    seen.push(pusher.cmd(&["LRANGE", "q", "0", "-1"]));

    // A BLMOVE chain: the move into `mid` serves the BLPOP waiting there.
    send(&mut a, &["BLMOVE", "src", "mid", "LEFT", "RIGHT", "0"]);
    wait_blocked(&mut pusher, 1);
    send(&mut b, &["BLPOP", "mid", "0"]);
    wait_blocked(&mut pusher, 2);
    seen.push(pusher.cmd(&["LPUSH", "src", "moved"]));
    seen.push(a.read_reply());
    seen.push(b.read_reply());
    seen.push(pusher.cmd(&["EXISTS", "src", "mid"]));

    // Sorted sets, in RESP3 for one waiter.
    assert!(c.cmd(&["HELLO", "3"]).starts_with(b"%"));
    send(&mut c, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut pusher, 1);
    send(&mut a, &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"]);
    wait_blocked(&mut pusher, 2);
    seen.push(pusher.cmd(&[
        "ZADD", "z", "1", "low", "2.5", "mid", "3", "high", "4", "top",
    ]));
    seen.push(c.read_reply());
    seen.push(a.read_reply());

    // A pipeline sent while blocked runs once the client is served.
    let mut batch = cinnabar_core::testing::encode_command(&[b"BLPOP", b"p", b"0"]);
    batch.extend(cinnabar_core::testing::encode_command(&[b"ECHO", b"after"]));
    b.send(&batch);
    wait_blocked(&mut pusher, 1);
    seen.push(pusher.cmd(&["RPUSH", "p", "x"]));
    seen.push(b.read_reply());
    seen.push(b.read_reply());

    // A timeout, and CLIENT UNBLOCK with both reasons.
    seen.push(a.cmd(&["BLPOP", "never", "0.05"]));
    seen.push(c.cmd(&["BLMOVE", "never", "d", "LEFT", "LEFT", "0.05"]));
    let a_id = id_of(&mut a);
    send(&mut a, &["BRPOPLPUSH", "never", "d", "0"]);
    wait_blocked(&mut pusher, 1);
    seen.push(pusher.cmd(&["CLIENT", "UNBLOCK", &a_id]));
    seen.push(a.read_reply());
    send(&mut a, &["BZPOPMAX", "never", "0"]);
    wait_blocked(&mut pusher, 1);
    seen.push(pusher.cmd(&["CLIENT", "UNBLOCK", &a_id, "ERROR"]));
    seen.push(a.read_reply());
    seen.push(pusher.cmd(&["CLIENT", "UNBLOCK", &a_id]));

    // A blocked connection that goes away takes nothing with it.
    send(&mut b, &["BLPOP", "kept", "0"]);
    wait_blocked(&mut pusher, 1);
    drop(b);
    wait_blocked(&mut pusher, 0);
    seen.push(pusher.cmd(&["RPUSH", "kept", "v"]));
    seen.push(pusher.cmd(&["LLEN", "kept"]));
    seen
}

#[test]
fn one_connection_blocks_and_another_wakes_it() {
    let ours = ServerProcess::cinnabar(&[]);
    let got = scenario(&ours);
    let text: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert_eq!(text[1], "*2\r\n$1\r\nq\r\n$3\r\none\r\n");
    assert_eq!(text[2], "*2\r\n$1\r\nq\r\n$5\r\nthree\r\n");
    assert_eq!(text[3], "*1\r\n$3\r\ntwo\r\n");
    assert_eq!(text[5], "$5\r\nmoved\r\n");
    assert_eq!(text[6], "*2\r\n$3\r\nmid\r\n$5\r\nmoved\r\n");
    assert_eq!(text[7], ":0\r\n");
    assert_eq!(text[9], "*3\r\n$1\r\nz\r\n$3\r\nlow\r\n,1\r\n");
    assert_eq!(
        text[10],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$3\r\ntop\r\n$1\r\n4\r\n*2\r\n$4\r\nhigh\r\n$1\r\n3\r\n"
    );
    assert_eq!(text[12], "*2\r\n$1\r\np\r\n$1\r\nx\r\n");
    assert_eq!(text[13], "$5\r\nafter\r\n");
    assert_eq!(text[14], "*-1\r\n");
    assert_eq!(text[15], "_\r\n");
    assert_eq!(text[16], ":1\r\n");
    assert_eq!(text[17], "*-1\r\n");
    assert_eq!(
        text[19],
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(text[20], ":0\r\n");
    assert_eq!(text[22], ":1\r\n");
    if let Some(redis) = ServerProcess::redis(&[]) {
        let want = scenario(&redis);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(w),
                "reply {i} differs from redis-server"
            );
        }
        assert_eq!(got.len(), want.len());
    }
}

/// Which writes signal a waited key (Redis 7.0's `signalKeyAsReady`): only adding a
/// list or a sorted set while some client blocks for that type, whatever it holds
/// when the command ends; an overwrite signals nothing. Each case ends the wait with
/// CLIENT UNBLOCK when the key was not served, so what the waiter got tells.
fn signal_scenario(server: &ServerProcess) -> Vec<Vec<u8>> {
    let mut w = server.raw();
    let mut z = server.raw();
    let mut p = server.raw();
    let w_id = id_of(&mut w);
    let z_id = id_of(&mut z);
    let mut seen = Vec::new();
    seen.push(p.cmd(&["RPUSH", "src", "3", "1", "2"]));

    // A hash overwritten by a list (SORT ... STORE): not served.
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    seen.push(p.cmd(&["HSET", "k", "f", "v"]));
    seen.push(p.cmd(&["SORT", "src", "STORE", "k"]));
    seen.push(p.cmd(&["CLIENT", "UNBLOCK", &w_id]));
    seen.push(w.read_reply());

    // A sorted set added while only list clients block, then overwritten by a list
    // in the same transaction: not signalled, not served.
    seen.push(p.cmd(&["DEL", "k"]));
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    seen.push(p.cmd(&["MULTI"]));
    seen.push(p.cmd(&["ZADD", "k", "1", "a"]));
    seen.push(p.cmd(&["SORT", "src", "STORE", "k"]));
    seen.push(p.cmd(&["EXEC"]));
    seen.push(p.cmd(&["CLIENT", "UNBLOCK", &w_id]));
    seen.push(w.read_reply());

    // The same while another client blocks for a sorted set elsewhere: signalled,
    // and served from the list the key holds at EXEC's end.
    seen.push(p.cmd(&["DEL", "k"]));
    send(&mut z, &["BZPOPMIN", "elsewhere", "0"]);
    wait_blocked(&mut p, 1);
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 2);
    seen.push(p.cmd(&["MULTI"]));
    seen.push(p.cmd(&["ZADD", "k", "1", "a"]));
    seen.push(p.cmd(&["SORT", "src", "STORE", "k"]));
    seen.push(p.cmd(&["EXEC"]));
    seen.push(w.read_reply());
    seen.push(p.cmd(&["CLIENT", "UNBLOCK", &z_id]));
    seen.push(z.read_reply());

    // SWAPDB brings in a hash at the waited key, then a list overwrites it: the
    // swap signals only keys holding a type someone blocks for, so not served.
    seen.push(p.cmd(&["DEL", "k"]));
    seen.push(p.cmd(&["SELECT", "1"]));
    seen.push(p.cmd(&["HSET", "k", "f", "v"]));
    seen.push(p.cmd(&["SELECT", "0"]));
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    seen.push(p.cmd(&["MULTI"]));
    seen.push(p.cmd(&["SWAPDB", "0", "1"]));
    seen.push(p.cmd(&["SORT", "src", "STORE", "k"]));
    seen.push(p.cmd(&["EXEC"]));
    seen.push(p.cmd(&["CLIENT", "UNBLOCK", &w_id]));
    seen.push(w.read_reply());

    // SWAPDB bringing in a list at the waited key serves it.
    seen.push(p.cmd(&["SELECT", "1"]));
    seen.push(p.cmd(&["DEL", "k"]));
    seen.push(p.cmd(&["RPUSH", "k", "swapped"]));
    seen.push(p.cmd(&["SELECT", "0"]));
    send(&mut w, &["BLPOP", "k", "0"]);
    wait_blocked(&mut p, 1);
    seen.push(p.cmd(&["SWAPDB", "0", "1"]));
    seen.push(w.read_reply());
    seen.push(p.cmd(&["FLUSHALL"]));
    seen
}

#[test]
fn only_adding_a_type_someone_blocks_for_signals_a_key() {
    let ours = ServerProcess::cinnabar(&[]);
    let got = signal_scenario(&ours);
    let text: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    assert_eq!(text[4], "*-1\r\n", "an overwrite serves nobody");
    assert_eq!(
        text[11], "*-1\r\n",
        "no zset waiter: the ZADD signals nothing"
    );
    assert_eq!(text[17], "*2\r\n$1\r\nk\r\n$1\r\n1\r\n");
    assert_eq!(text[29], "*-1\r\n", "a swapped-in hash signals nothing");
    assert_eq!(text[35], "*2\r\n$1\r\nk\r\n$7\r\nswapped\r\n");
    if let Some(redis) = ServerProcess::redis(&[]) {
        let want = signal_scenario(&redis);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(w),
                "reply {i} differs from redis-server"
            );
        }
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn the_redis_crate_blocks_and_is_served() {
    let server = ServerProcess::cinnabar(&[]);
    let waiter = std::thread::spawn({
        let url = server.url();
        move || {
            let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
            let got: Option<(String, String)> = redis::cmd("BLPOP")
                .arg("jobs")
                .arg(0)
                .query(&mut con)
                .unwrap();
            let none: Option<(String, String)> = redis::cmd("BRPOP")
                .arg("nothing")
                .arg(0.05)
                .query(&mut con)
                .unwrap();
            (got, none)
        }
    });
    let mut watcher = server.raw();
    wait_blocked(&mut watcher, 1);
    let mut con = server.client();
    let n: i64 = redis::cmd("RPUSH")
        .arg("jobs")
        .arg("job-1")
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 1);
    let (got, none) = waiter.join().unwrap();
    assert_eq!(got, Some(("jobs".into(), "job-1".into())));
    assert_eq!(none, None);
}
