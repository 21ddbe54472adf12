//! The collection types through the real binary and a real client (the `redis` crate):
//! typed replies decode as a client library expects, in RESP2 and RESP3, pipelined.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use support::ServerProcess;

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(con)
        .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")))
}

fn resp3_client(server: &ServerProcess) -> redis::Connection {
    redis::Client::open(format!("{}?protocol=resp3", server.url()))
        .unwrap()
        .get_connection()
        .unwrap()
}

#[test]
fn hashes_round_trip() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let added: i64 = query(&mut con, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(added, 3);
    let all: BTreeMap<String, i64> = query(&mut con, &["HGETALL", "h"]);
    assert_eq!(
        all,
        BTreeMap::from([("a".into(), 1), ("b".into(), 2), ("c".into(), 3)])
    );
    let n: i64 = query(&mut con, &["HINCRBY", "h", "a", "41"]);
    assert_eq!(n, 42);
    let f: f64 = query(&mut con, &["HINCRBYFLOAT", "h", "b", "0.5"]);
    assert_eq!(f, 2.5);
    let got: Vec<Option<String>> = query(&mut con, &["HMGET", "h", "a", "zz", "c"]);
    assert_eq!(got, vec![Some("42".into()), None, Some("3".into())]);

    let mut con3 = resp3_client(&server);
    let all3: BTreeMap<String, String> = query(&mut con3, &["HGETALL", "h"]);
    assert_eq!(all3.len(), 3);
    let picks: Vec<String> = query(&mut con3, &["HRANDFIELD", "h", "-10"]);
    assert_eq!(picks.len(), 10);
    assert!(picks.iter().all(|p| all3.contains_key(p)));
}

#[test]
fn wrong_type_errors_reach_the_client() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let () = query(&mut con, &["SET", "s", "v"]);
    let err = redis::cmd("HGET")
        .arg("s")
        .arg("f")
        .query::<Option<String>>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Operation against a key holding the wrong kind of value"),
        "{err}"
    );
    let t: String = query(&mut con, &["TYPE", "s"]);
    assert_eq!(t, "string");
}

#[test]
fn a_big_hash_over_the_wire() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("HSET")
            .arg("big")
            .arg(format!("f{i}"))
            .arg(i)
            .ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    let enc: String = query(&mut con, &["OBJECT", "ENCODING", "big"]);
    assert_eq!(enc, "hashtable");
    let keys: BTreeSet<String> = query(&mut con, &["HKEYS", "big"]);
    assert_eq!(keys.len(), 2000);
    let mut cursor = 0u64;
    let mut seen = BTreeSet::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("HSCAN")
            .arg("big")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query(&mut con)
            .unwrap();
        for pair in batch.chunks(2) {
            seen.insert(pair[0].clone());
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, keys);
}
