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

#[test]
fn lists_round_trip() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let n: i64 = query(&mut con, &["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(n, 4);
    let n: i64 = query(&mut con, &["LPUSH", "l", "z"]);
    assert_eq!(n, 5);
    let all: Vec<String> = query(&mut con, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all, ["z", "a", "b", "c", "d"]);
    let popped: Vec<String> = query(&mut con, &["RPOP", "l", "2"]);
    assert_eq!(popped, ["d", "c"]);
    let none: Option<Vec<String>> = query(&mut con, &["LPOP", "nope", "2"]);
    assert_eq!(none, None);
    let moved: String = query(&mut con, &["LMOVE", "l", "other", "LEFT", "RIGHT"]);
    assert_eq!(moved, "z");
    let (key, items): (String, Vec<String>) = query(
        &mut con,
        &["LMPOP", "2", "nope", "l", "RIGHT", "COUNT", "5"],
    );
    assert_eq!((key.as_str(), items), ("l", vec!["b".into(), "a".into()]));
    let exists: i64 = query(&mut con, &["EXISTS", "l"]);
    assert_eq!(exists, 0, "an emptied list is deleted");

    // A long list over the wire: pipelined pushes, then reads near both ends.
    let mut pipe = redis::pipe();
    for chunk in 0..100 {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg("big");
        for i in 0..1000 {
            cmd.arg(chunk * 1000 + i);
        }
        pipe.add_command(cmd).ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    let enc: String = query(&mut con, &["OBJECT", "ENCODING", "big"]);
    assert_eq!(enc, "quicklist");
    let tail: Vec<i64> = query(&mut con, &["LRANGE", "big", "-3", "-1"]);
    assert_eq!(tail, [99_997, 99_998, 99_999]);
    let at: i64 = query(&mut con, &["LINDEX", "big", "50000"]);
    assert_eq!(at, 50_000);
    let pos: i64 = query(&mut con, &["LPOS", "big", "99999"]);
    assert_eq!(pos, 99_999);
}

#[test]
fn sets_round_trip() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let n: i64 = query(&mut con, &["SADD", "a", "1", "2", "3", "4"]);
    assert_eq!(n, 4);
    let n: i64 = query(&mut con, &["SADD", "b", "3", "4", "5", "x"]);
    assert_eq!(n, 4);
    let inter: BTreeSet<String> = query(&mut con, &["SINTER", "a", "b"]);
    assert_eq!(inter, BTreeSet::from(["3".into(), "4".into()]));
    let union: BTreeSet<String> = query(&mut con, &["SUNION", "a", "b"]);
    assert_eq!(union.len(), 6);
    let diff: BTreeSet<String> = query(&mut con, &["SDIFF", "a", "b"]);
    assert_eq!(diff, BTreeSet::from(["1".into(), "2".into()]));
    let card: i64 = query(&mut con, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]);
    assert_eq!(card, 1);
    let flags: Vec<bool> = query(&mut con, &["SMISMEMBER", "b", "x", "y"]);
    assert_eq!(flags, [true, false]);
    let stored: i64 = query(&mut con, &["SUNIONSTORE", "u", "a", "b"]);
    assert_eq!(stored, 6);

    let mut con3 = resp3_client(&server);
    let members: BTreeSet<String> = query(&mut con3, &["SMEMBERS", "u"]);
    assert_eq!(members, union);
    let popped: Vec<String> = query(&mut con3, &["SPOP", "u", "4"]);
    assert_eq!(popped.len(), 4);
    let left: i64 = query(&mut con3, &["SCARD", "u"]);
    assert_eq!(left, 2);
    let picks: Vec<String> = query(&mut con3, &["SRANDMEMBER", "a", "-20"]);
    assert_eq!(picks.len(), 20);
    assert!(picks
        .iter()
        .all(|p| ["1", "2", "3", "4"].contains(&p.as_str())));
}

#[test]
fn sorted_sets_round_trip() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let n: i64 = query(&mut con, &["ZADD", "z", "1", "a", "2.5", "b", "-3", "c"]);
    assert_eq!(n, 3);
    let ranked: Vec<(String, f64)> = query(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(
        ranked,
        [("c".into(), -3.0), ("a".into(), 1.0), ("b".into(), 2.5)]
    );
    let by_score: Vec<String> = query(
        &mut con,
        &["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "5"],
    );
    assert_eq!(by_score, ["b"]);
    let rank: i64 = query(&mut con, &["ZREVRANK", "z", "c"]);
    assert_eq!(rank, 2);
    let score: f64 = query(&mut con, &["ZINCRBY", "z", "10", "c"]);
    assert_eq!(score, 7.0);
    let popped: Vec<(String, f64)> = query(&mut con, &["ZPOPMAX", "z"]);
    assert_eq!(popped, [("c".into(), 7.0)]);
    let err = redis::cmd("ZADD")
        .arg("z")
        .arg("nan")
        .arg("x")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("not a valid float"), "{err}");

    // RESP3: scores arrive as doubles, WITHSCORES as pairs.
    let mut con3 = resp3_client(&server);
    let score: f64 = query(&mut con3, &["ZSCORE", "z", "b"]);
    assert_eq!(score, 2.5);
    let pairs: Vec<(String, f64)> = query(&mut con3, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(pairs, [("a".into(), 1.0), ("b".into(), 2.5)]);
    let n: i64 = query(
        &mut con3,
        &["ZUNIONSTORE", "u", "2", "z", "z", "WEIGHTS", "1", "2"],
    );
    assert_eq!(n, 2);
    let top: Vec<(String, f64)> = query(&mut con3, &["ZRANGE", "u", "0", "0", "REV", "WITHSCORES"]);
    assert_eq!(top, [("b".into(), 7.5)]);
}

#[test]
fn sort_through_the_client() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let _: i64 = query(&mut con, &["RPUSH", "ids", "3", "1", "2"]);
    let () = query(&mut con, &["MSET", "w_1", "30", "w_2", "10", "w_3", "20"]);
    let _: i64 = query(&mut con, &["HSET", "u_1", "name", "ann"]);
    let sorted: Vec<i64> = query(&mut con, &["SORT", "ids"]);
    assert_eq!(sorted, [1, 2, 3]);
    let by: Vec<Option<String>> =
        query(&mut con, &["SORT", "ids", "BY", "w_*", "GET", "u_*->name"]);
    assert_eq!(by, [None, None, Some("ann".into())]);
    let n: i64 = query(&mut con, &["SORT", "ids", "DESC", "STORE", "out"]);
    assert_eq!(n, 3);
    let out: Vec<i64> = query(&mut con, &["LRANGE", "out", "0", "-1"]);
    assert_eq!(out, [3, 2, 1]);
}
