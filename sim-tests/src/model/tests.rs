//! Unit tests of the model: known Redis replies (checked against redis-server 7.0.15
//! where the behaviour is 7.0's) accepted, wrong ones refused.

use super::*;

fn req(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn run(m: &mut Model, w: i64, parts: &[&str], actual: &[u8]) -> Result<(), String> {
    let mut s = Session::new("c");
    m.exec(&mut s, w, &req(parts), actual, Dbsize::Lenient)
}

#[test]
fn strings_and_ttls() {
    let mut m = Model::new(Limits::default());
    run(&mut m, 1000, &["SET", "k", "v", "PX", "100"], b"+OK\r\n").unwrap();
    run(&mut m, 1050, &["PTTL", "k"], b":50\r\n").unwrap();
    run(&mut m, 1050, &["TTL", "k"], b":0\r\n").unwrap();
    // Redis keeps the key visible at exactly its deadline.
    run(&mut m, 1100, &["GET", "k"], b"$1\r\nv\r\n").unwrap();
    run(&mut m, 1101, &["GET", "k"], b"$-1\r\n").unwrap();
    assert!(run(&mut m, 1101, &["GET", "k"], b"$1\r\nv\r\n").is_err());
    run(&mut m, 1101, &["INCRBY", "n", "5"], b":5\r\n").unwrap();
    run(
        &mut m,
        1101,
        &["INCRBYFLOAT", "n", "0.25"],
        b"$4\r\n5.25\r\n",
    )
    .unwrap();
    run(
        &mut m,
        1101,
        &["INCR", "n"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .unwrap();
    run(
        &mut m,
        1101,
        &["SET", "k", "v", "NX", "XX"],
        b"-ERR syntax error\r\n",
    )
    .unwrap();
    run(
        &mut m,
        1101,
        &["SET", "k", "v", "EX", "0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    )
    .unwrap();
    run(
        &mut m,
        1101,
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .unwrap();
    run(
        &mut m,
        1101,
        &["NOPE", "a", "b"],
        b"-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n",
    )
    .unwrap();
    run(&mut m, 1101, &["SETRANGE", "s", "3", "z"], b":4\r\n").unwrap();
    run(&mut m, 1101, &["GET", "s"], b"$4\r\n\0\0\0z\r\n").unwrap();
    run(
        &mut m,
        1101,
        &["INCRBYFLOAT", "s", "1.5"],
        b"-ERR value is not a valid float\r\n",
    )
    .unwrap();
}

#[test]
fn backward_jump_makes_expired_keys_uncertain() {
    let mut m = Model::new(Limits::default());
    run(&mut m, 1000, &["SET", "k", "v", "PX", "10"], b"+OK\r\n").unwrap();
    m.after_input(1000);
    m.after_input(2000); // active expiry may have deleted it here
                         // The clock jumps back before the deadline: either answer is possible...
    run(&mut m, 1005, &["EXISTS", "k"], b":1\r\n").unwrap();
    // ...and the answer is remembered.
    assert!(run(&mut m, 1005, &["GET", "k"], b"$-1\r\n").is_err());
    run(&mut m, 1005, &["GET", "k"], b"$1\r\nv\r\n").unwrap();

    let mut m2 = Model::new(Limits::default());
    run(&mut m2, 1000, &["SET", "k", "v", "PX", "10"], b"+OK\r\n").unwrap();
    m2.after_input(2000);
    run(&mut m2, 1005, &["DBSIZE"], b":0\r\n").unwrap();
    run(&mut m2, 1005, &["DBSIZE"], b":1\r\n").unwrap();
    assert!(run(&mut m2, 1005, &["DBSIZE"], b":2\r\n").is_err());
    run(&mut m2, 1005, &["GET", "k"], b"$-1\r\n").unwrap();
    run(&mut m2, 1005, &["DBSIZE"], b":0\r\n").unwrap();
}

#[test]
fn randomkey_may_delete_expired_keys_it_draws() {
    let mut m = Model::new(Limits::default());
    run(&mut m, 0, &["SET", "gone", "v", "PX", "5"], b"+OK\r\n").unwrap();
    run(&mut m, 0, &["SET", "k", "v"], b"+OK\r\n").unwrap();
    // No input since the deadline passed: the expired key must still be counted...
    run(&mut m, 10, &["DBSIZE"], b":2\r\n").unwrap();
    // ...until RANDOMKEY may have drawn and deleted it.
    run(&mut m, 10, &["RANDOMKEY"], b"$1\r\nk\r\n").unwrap();
    run(&mut m, 10, &["DBSIZE"], b":1\r\n").unwrap();
}

#[test]
fn keyspace_wide_replies_are_checked_as_sets() {
    let mut m = Model::new(Limits::default());
    run(&mut m, 0, &["MSET", "a", "1", "b", "2"], b"+OK\r\n").unwrap();
    run(&mut m, 0, &["KEYS", "*"], b"*2\r\n$1\r\nb\r\n$1\r\na\r\n").unwrap();
    assert!(run(&mut m, 0, &["KEYS", "*"], b"*1\r\n$1\r\nb\r\n").is_err());
    assert!(run(
        &mut m,
        0,
        &["KEYS", "*"],
        b"*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"
    )
    .is_err());
    run(
        &mut m,
        0,
        &["SCAN", "0", "COUNT", "100"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
    )
    .unwrap();
    run(&mut m, 0, &["RANDOMKEY"], b"$1\r\na\r\n").unwrap();
    assert!(run(&mut m, 0, &["RANDOMKEY"], b"$-1\r\n").is_err());
    run(&mut m, 0, &["FLUSHDB"], b"+OK\r\n").unwrap();
    run(&mut m, 0, &["RANDOMKEY"], b"$-1\r\n").unwrap();
    m.exec(
        &mut Session::new("c"),
        0,
        &req(&["DBSIZE"]),
        b":0\r\n",
        Dbsize::ExpiredGone,
    )
    .unwrap();
}

/// A model and one connection, fed requests with the replies a real server gave.
struct Script {
    m: Model,
    s: Session,
}

impl Script {
    fn new(limits: Limits) -> Script {
        Script {
            m: Model::new(limits),
            s: Session::new("c"),
        }
    }

    fn run(&mut self, parts: &[&str], actual: &str) -> Result<(), String> {
        self.m.exec(
            &mut self.s,
            0,
            &req(parts),
            actual.as_bytes(),
            Dbsize::Lenient,
        )
    }

    /// The reply must be accepted.
    fn ok(&mut self, parts: &[&str], actual: &str) {
        if let Err(why) = self.run(parts, actual) {
            panic!("{parts:?} -> {actual:?} refused: {why}");
        }
    }

    /// The reply must be refused.
    fn bad(&mut self, parts: &[&str], actual: &str) {
        assert!(
            self.run(parts, actual).is_err(),
            "{parts:?} -> {actual:?} accepted"
        );
    }
}

const HELLO3: &str = "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
const HELLO2: &str = "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";

/// Replies recorded from redis-server 7.0.15 with hash-max-listpack-entries 2.
#[test]
fn hashes_keep_listpack_order_and_lose_it_in_a_table() {
    let mut t = Script::new(Limits {
        hash_max_listpack_entries: 2,
        ..Limits::default()
    });
    t.ok(&["HSET", "h", "b", "1", "a", "2"], ":2\r\n");
    t.bad(
        &["HGETALL", "h"],
        "*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n",
    );
    t.ok(
        &["HGETALL", "h"],
        "*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n",
    );
    t.ok(&["HSET", "h", "c", "3"], ":1\r\n");
    t.bad(&["OBJECT", "ENCODING", "h"], "$8\r\nlistpack\r\n");
    t.ok(&["OBJECT", "ENCODING", "h"], "$9\r\nhashtable\r\n");
    t.ok(&["HELLO", "3"], HELLO3);
    // A hash table's order is Redis's business; the pairs are not.
    t.ok(
        &["HGETALL", "h"],
        "%3\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n",
    );
    t.ok(
        &["HGETALL", "h"],
        "%3\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    t.bad(
        &["HGETALL", "h"],
        "%3\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    t.ok(&["GET", "nothing"], "_\r\n");
    t.ok(
        &["HRANDFIELD", "h", "-2", "WITHVALUES"],
        "*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
    );
    t.bad(
        &["HRANDFIELD", "h", "-2", "WITHVALUES"],
        "*2\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n2\r\n",
    );
    t.bad(&["HRANDFIELD", "h", "2"], "*2\r\n$1\r\nc\r\n$1\r\nc\r\n");
    t.ok(
        &["GET", "h"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    assert_eq!(
        t.m.events.get("wrongtype: string command on hash"),
        Some(&1)
    );
    assert_eq!(t.m.events.get("hash listpack->hashtable"), Some(&1));
}

/// Replies recorded from redis-server 7.0.15 with zset-max-listpack-entries 2.
#[test]
fn sorted_sets_reply_in_both_protocols() {
    let mut t = Script::new(Limits {
        zset_max_listpack_entries: 2,
        ..Limits::default()
    });
    t.ok(&["HELLO", "3"], HELLO3);
    t.ok(&["ZADD", "z", "1", "a", "2", "b"], ":2\r\n");
    t.ok(
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    );
    t.ok(&["ZPOPMIN", "z"], "*2\r\n$1\r\na\r\n,1\r\n");
    t.ok(&["ZADD", "z", "1", "a"], ":1\r\n");
    t.ok(
        &["ZPOPMIN", "z", "5"],
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    );
    t.ok(&["ZSCORE", "z", "b"], "_\r\n");
    // A listpack keeps an integral score as an integer: -0 comes back as 0.
    t.ok(&["ZADD", "y", "-0", "m"], ":1\r\n");
    t.bad(&["ZSCORE", "y", "m"], ",-0\r\n");
    t.ok(&["ZSCORE", "y", "m"], ",0\r\n");
    t.ok(&["HELLO", "2"], HELLO2);
    t.ok(&["ZSCORE", "z", "b"], "$-1\r\n");
    t.ok(&["ZRANGE", "z", "0", "-1", "WITHSCORES"], "*0\r\n");
    t.ok(
        &["ZUNION", "2", "z", "y", "WITHSCORES", "AGGREGATE", "MIN"],
        "*2\r\n$1\r\nm\r\n$1\r\n0\r\n",
    );
    assert_eq!(t.m.events.get("emptied zset deleted"), Some(&1));
}

/// Which of two inputs of equal size ZUNION aggregates first is qsort's business;
/// with MIN, `-0` and `0` tell the two orders apart.
#[test]
fn ties_between_inputs_are_chosen_over() {
    let mut t = Script::new(Limits {
        zset_max_listpack_entries: 0,
        ..Limits::default()
    });
    t.ok(&["ZADD", "p", "-0", "m"], ":1\r\n");
    t.ok(&["ZADD", "q", "0", "m"], ":1\r\n");
    let union = ["ZUNION", "2", "p", "q", "AGGREGATE", "MIN", "WITHSCORES"];
    t.ok(&union, "*2\r\n$1\r\nm\r\n$2\r\n-0\r\n");
    t.ok(&union, "*2\r\n$1\r\nm\r\n$1\r\n0\r\n");
    t.bad(&union, "*2\r\n$1\r\nm\r\n$1\r\n1\r\n");
}

/// Replies recorded from redis-server 7.2.5 with list-max-listpack-size 3.
#[test]
fn lists_follow_redis_72_encodings() {
    let mut t = Script::new(Limits {
        list_max_listpack_size: 3,
        ..Limits::default()
    });
    t.ok(&["RPUSH", "l", "a", "b", "c"], ":3\r\n");
    t.ok(&["OBJECT", "ENCODING", "l"], "$8\r\nlistpack\r\n");
    t.ok(&["RPUSH", "l", "d"], ":4\r\n");
    t.ok(&["OBJECT", "ENCODING", "l"], "$9\r\nquicklist\r\n");
    t.ok(&["RPOP", "l", "2"], "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    // Two entries are not under half of three: still a quicklist.
    t.bad(&["OBJECT", "ENCODING", "l"], "$8\r\nlistpack\r\n");
    t.ok(&["OBJECT", "ENCODING", "l"], "$9\r\nquicklist\r\n");
    t.ok(&["RPOP", "l"], "$1\r\nb\r\n");
    t.ok(&["OBJECT", "ENCODING", "l"], "$8\r\nlistpack\r\n");
    t.ok(&["LSET", "l", "0", "x"], "+OK\r\n");
    t.ok(&["LINSERT", "l", "BEFORE", "x", "y"], ":2\r\n");
    t.ok(&["LINSERT", "l", "AFTER", "nothere", "z"], ":-1\r\n");
    t.ok(&["LRANGE", "l", "0", "-1"], "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    assert_eq!(t.m.events.get("list listpack->quicklist"), Some(&1));
    assert_eq!(t.m.events.get("list quicklist->listpack"), Some(&1));
}

/// Replies recorded from redis-server 7.2.5 with set-max-intset-entries 2,
/// set-max-listpack-entries 3 and set-max-listpack-value 4.
#[test]
fn sets_follow_redis_72_encodings() {
    let mut t = Script::new(Limits {
        set_max_intset_entries: 2,
        set_max_listpack_entries: 3,
        set_max_listpack_value: 4,
        ..Limits::default()
    });
    t.ok(&["SADD", "s", "5", "1"], ":2\r\n");
    t.ok(&["OBJECT", "ENCODING", "s"], "$6\r\nintset\r\n");
    t.bad(&["SMEMBERS", "s"], "*2\r\n$1\r\n5\r\n$1\r\n1\r\n");
    t.ok(&["SMEMBERS", "s"], "*2\r\n$1\r\n1\r\n$1\r\n5\r\n");
    t.ok(&["SADD", "s", "b"], ":1\r\n");
    t.ok(&["OBJECT", "ENCODING", "s"], "$8\r\nlistpack\r\n");
    t.ok(
        &["SMEMBERS", "s"],
        "*3\r\n$1\r\n1\r\n$1\r\n5\r\n$1\r\nb\r\n",
    );
    t.ok(&["SADD", "s", "toolong"], ":1\r\n");
    t.ok(&["OBJECT", "ENCODING", "s"], "$9\r\nhashtable\r\n");
    // Three members announced: more than an intset takes, a listpack from the start.
    t.ok(&["SADD", "t", "1", "2", "3"], ":3\r\n");
    t.ok(&["OBJECT", "ENCODING", "t"], "$8\r\nlistpack\r\n");
    t.ok(&["SINTERSTORE", "u", "t", "t"], ":3\r\n");
    t.ok(&["OBJECT", "ENCODING", "u"], "$8\r\nlistpack\r\n");
}

/// SPOP's reply tells the model which members left.
#[test]
fn random_replies_are_checked_and_learned_from() {
    let mut t = Script::new(Limits::default());
    t.ok(&["SADD", "s", "a", "b", "c"], ":3\r\n");
    t.bad(&["SPOP", "s", "2"], "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    t.bad(&["SPOP", "s", "2"], "*2\r\n$1\r\na\r\n$1\r\nz\r\n");
    t.ok(&["SPOP", "s", "2"], "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
    t.bad(&["SMEMBERS", "s"], "*1\r\n$1\r\na\r\n");
    t.ok(&["SMEMBERS", "s"], "*1\r\n$1\r\nb\r\n");
    t.ok(
        &["SRANDMEMBER", "s", "-3"],
        "*3\r\n$1\r\nb\r\n$1\r\nb\r\n$1\r\nb\r\n",
    );
    t.bad(
        &["SRANDMEMBER", "s", "3"],
        "*3\r\n$1\r\nb\r\n$1\r\nb\r\n$1\r\nb\r\n",
    );
    t.ok(&["SPOP", "s"], "$1\r\nb\r\n");
    t.ok(&["EXISTS", "s"], ":0\r\n");
}

/// Redis 7.2's ZRANK WITHSCORE, recorded from redis-server 7.2.5.
#[test]
fn zrank_withscore_as_redis_72() {
    let mut t = Script::new(Limits::default());
    t.ok(&["ZADD", "z", "1", "a", "2", "b"], ":2\r\n");
    t.ok(&["ZRANK", "z", "b", "WITHSCORE"], "*2\r\n:1\r\n$1\r\n2\r\n");
    t.ok(
        &["ZREVRANK", "z", "b", "WITHSCORE"],
        "*2\r\n:0\r\n$1\r\n2\r\n",
    );
    t.ok(&["ZRANK", "z", "nope", "WITHSCORE"], "*-1\r\n");
    t.ok(&["HELLO", "3"], HELLO3);
    t.ok(&["ZRANK", "z", "nope", "WITHSCORE"], "_\r\n");
    t.ok(&["ZRANK", "z", "b", "WITHSCORE"], "*2\r\n:1\r\n,2\r\n");
    t.ok(
        &["ZRANK", "z", "b", "WITHSCORE", "x"],
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    );
}

/// A full HSCAN must return every field present from its start to its end.
#[test]
fn a_full_element_scan_misses_nothing() {
    let mut t = Script::new(Limits {
        hash_max_listpack_entries: 1,
        ..Limits::default()
    });
    t.ok(&["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    t.ok(
        &["HSCAN", "h", "0"],
        "*2\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    t.bad(&["HSCAN", "h", "3"], "*2\r\n$1\r\n0\r\n*0\r\n");
    let mut t = Script::new(Limits {
        hash_max_listpack_entries: 1,
        ..Limits::default()
    });
    t.ok(&["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    t.ok(
        &["HSCAN", "h", "0"],
        "*2\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    // A field deleted meanwhile need not come back.
    t.ok(&["HDEL", "h", "a"], ":1\r\n");
    t.ok(&["HSCAN", "h", "3"], "*2\r\n$1\r\n0\r\n*0\r\n");
    t.bad(
        &["HSCAN", "h", "0"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n9\r\n",
    );
}

/// SORT's replies, recorded from redis-server 7.0.15 with list-max-listpack-size 4,
/// zset-max-listpack-entries 4 and set-max-intset-entries 4.
#[test]
fn sort_as_redis_70() {
    let mut t = Script::new(Limits {
        list_max_listpack_size: 4,
        zset_max_listpack_entries: 4,
        set_max_intset_entries: 4,
        set_max_listpack_entries: 0,
        ..Limits::default()
    });
    t.ok(
        &["RPUSH", "l", "3", "10", "2", "-0", "0", "2.5", "007"],
        ":7\r\n",
    );
    // Numeric, ties (-0 and 0) broken by the elements' bytes.
    t.ok(
        &["SORT", "l"],
        "*7\r\n$2\r\n-0\r\n$1\r\n0\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n$3\r\n007\r\n$2\r\n10\r\n",
    );
    t.bad(
        &["SORT", "l"],
        "*7\r\n$1\r\n0\r\n$2\r\n-0\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n$3\r\n007\r\n$2\r\n10\r\n",
    );
    t.ok(
        &["SORT", "l", "DESC"],
        "*7\r\n$2\r\n10\r\n$3\r\n007\r\n$1\r\n3\r\n$3\r\n2.5\r\n$1\r\n2\r\n$1\r\n0\r\n$2\r\n-0\r\n",
    );
    t.ok(
        &["SORT", "l", "LIMIT", "1", "3"],
        "*3\r\n$1\r\n0\r\n$1\r\n2\r\n$3\r\n2.5\r\n",
    );
    t.ok(
        &["SORT", "l", "LIMIT", "-5", "2"],
        "*2\r\n$2\r\n-0\r\n$1\r\n0\r\n",
    );
    t.ok(
        &["SORT", "l", "LIMIT", "5", "9223372036854775807"],
        "*2\r\n$3\r\n007\r\n$2\r\n10\r\n",
    );
    t.ok(
        &["SORT", "l", "LIMIT", "9223372036854775807", "1"],
        "*0\r\n",
    );
    t.ok(
        &["SORT", "l", "LIMIT", "0", "-9223372036854775808"],
        "*7\r\n$2\r\n-0\r\n$1\r\n0\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n$3\r\n007\r\n$2\r\n10\r\n",
    );
    t.ok(&["SORT", "l", "LIMIT", "2", "0"], "*0\r\n");
    t.ok(
        &["SORT", "l", "ALPHA"],
        "*7\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n007\r\n$2\r\n10\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n",
    );
    // BY a constant: the list's own order, reversed by DESC, ranged by LIMIT; a later
    // BY pattern does not undo it.
    t.ok(
        &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        "*2\r\n$3\r\n2.5\r\n$1\r\n0\r\n",
    );
    t.ok(
        &["SORT", "l", "BY", "nosort", "BY", "w_*"],
        "*7\r\n$1\r\n3\r\n$2\r\n10\r\n$1\r\n2\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n2.5\r\n$3\r\n007\r\n",
    );
    // Missing weights are 0.
    t.ok(
        &["SORT", "l", "BY", "w_*"],
        "*7\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n007\r\n$2\r\n10\r\n$1\r\n2\r\n$3\r\n2.5\r\n$1\r\n3\r\n",
    );
    t.ok(&["SET", "w_3", "-5"], "+OK\r\n");
    t.ok(&["HSET", "h_10", "f", "1e2", "g", "apple"], ":2\r\n");
    t.ok(&["HSET", "h_2", "f", "0x10", "g", "b"], ":2\r\n");
    t.ok(
        &["SORT", "l", "BY", "w_*"],
        "*7\r\n$1\r\n3\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n007\r\n$2\r\n10\r\n$1\r\n2\r\n$3\r\n2.5\r\n",
    );
    t.ok(&["SORT", "l", "BY", "h_*->f", "GET", "#", "GET", "h_*->g", "GET", "w_*"], "*21\r\n$2\r\n-0\r\n$-1\r\n$-1\r\n$1\r\n0\r\n$-1\r\n$-1\r\n$3\r\n007\r\n$-1\r\n$-1\r\n$3\r\n2.5\r\n$-1\r\n$-1\r\n$1\r\n3\r\n$-1\r\n$2\r\n-5\r\n$1\r\n2\r\n$1\r\nb\r\n$-1\r\n$2\r\n10\r\n$5\r\napple\r\n$-1\r\n");
    t.ok(
        &["SORT", "l", "BY", "h_*->g", "ALPHA", "GET", "h_*->g"],
        "*7\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$5\r\napple\r\n$1\r\nb\r\n",
    );
    t.ok(
        &["SORT", "l", "BY", "h_*->g"],
        "-ERR One or more scores can't be converted into double\r\n",
    );
    t.ok(
        &[
            "SORT", "l", "BY", "h_*->f", "LIMIT", "0", "2", "GET", "nokey_*", "GET", "const",
        ],
        "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n",
    );
    t.ok(&["HELLO", "3"], HELLO3);
    t.ok(
        &[
            "SORT", "l", "BY", "h_*->f", "LIMIT", "0", "2", "GET", "nokey_*", "GET", "#",
        ],
        "*4\r\n_\r\n$2\r\n-0\r\n_\r\n$1\r\n0\r\n",
    );
    t.bad(
        &[
            "SORT", "l", "BY", "h_*->f", "LIMIT", "0", "2", "GET", "nokey_*", "GET", "#",
        ],
        "*4\r\n$-1\r\n$2\r\n-0\r\n$-1\r\n$1\r\n0\r\n",
    );
    t.ok(&["HELLO", "2"], HELLO2);
    // SORT converts a listpack sorted set to a skiplist, for good.
    t.ok(&["ZADD", "z", "3", "a", "1", "b", "2", "c"], ":3\r\n");
    t.ok(&["OBJECT", "ENCODING", "z"], "$8\r\nlistpack\r\n");
    t.ok(
        &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "0", "2"],
        "*2\r\n$1\r\na\r\n$1\r\nc\r\n",
    );
    t.bad(&["OBJECT", "ENCODING", "z"], "$8\r\nlistpack\r\n");
    t.ok(&["OBJECT", "ENCODING", "z"], "$8\r\nskiplist\r\n");
    t.ok(
        &["SORT", "z", "ALPHA", "DESC"],
        "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n",
    );
    t.ok(
        &["SORT", "z"],
        "-ERR One or more scores can't be converted into double\r\n",
    );
    // An intset left unsorted is in numeric order.
    t.ok(&["SADD", "si", "5", "-1", "300"], ":3\r\n");
    t.ok(
        &["SORT", "si", "BY", "nosort"],
        "*3\r\n$2\r\n-1\r\n$1\r\n5\r\n$3\r\n300\r\n",
    );
    t.bad(
        &["SORT", "si", "BY", "nosort"],
        "*3\r\n$2\r\n-1\r\n$3\r\n300\r\n$1\r\n5\r\n",
    );
    t.ok(
        &["SORT", "si", "BY", "nosort", "LIMIT", "1", "1"],
        "*1\r\n$1\r\n5\r\n",
    );
    // A set left unsorted is sorted ALPHA to be stored.
    t.ok(&["SADD", "sh", "b", "c", "a", "10"], ":4\r\n");
    t.ok(&["SORT", "sh", "BY", "nosort", "STORE", "dst"], ":4\r\n");
    t.ok(
        &["LRANGE", "dst", "0", "-1"],
        "*4\r\n$2\r\n10\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    // STORE replaces any type, drops the TTL, stores a missing GET as "".
    t.ok(&["SET", "str", "v", "EX", "100"], "+OK\r\n");
    t.ok(
        &[
            "SORT", "l", "GET", "nokey_*", "LIMIT", "0", "2", "STORE", "str",
        ],
        ":2\r\n",
    );
    t.ok(&["TTL", "str"], ":-1\r\n");
    t.ok(&["TYPE", "str"], "+list\r\n");
    t.ok(&["LRANGE", "str", "0", "-1"], "*2\r\n$0\r\n\r\n$0\r\n\r\n");
    // An empty result deletes the destination.
    t.ok(&["SORT", "nokey", "STORE", "str"], ":0\r\n");
    t.ok(&["EXISTS", "str"], ":0\r\n");
    t.ok(&["SORT", "nokey"], "*0\r\n");
    t.ok(&["SORT", "str"], "*0\r\n");
    t.ok(
        &["SORT", "h_10"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    t.ok(
        &["SORT", "sh"],
        "-ERR One or more scores can't be converted into double\r\n",
    );
    t.ok(&["SORT_RO", "l", "STORE", "x"], "-ERR syntax error\r\n");
    t.ok(&["SORT", "l", "LIMIT", "0"], "-ERR syntax error\r\n");
    t.ok(
        &["SORT", "l", "LIMIT", "x", "1"],
        "-ERR value is not an integer or out of range\r\n",
    );
    t.ok(
        &["SORT", "l", "BOGUS", "LIMIT", "x", "1"],
        "-ERR syntax error\r\n",
    );
    t.ok(
        &["SORT"],
        "-ERR wrong number of arguments for 'sort' command\r\n",
    );
    t.ok(&["SET", "w_2", "abc"], "+OK\r\n");
    t.ok(
        &["SORT", "l", "BY", "w_*"],
        "-ERR One or more scores can't be converted into double\r\n",
    );
    // ALPHA BY: the five elements without a weight tie, in an order Redis leaves
    // open (glibc's qsort happened to keep the list's order here).
    t.ok(
        &["SORT", "l", "BY", "w_*", "ALPHA"],
        "*7\r\n$2\r\n10\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n2.5\r\n$3\r\n007\r\n$1\r\n3\r\n$1\r\n2\r\n",
    );
    t.ok(
        &["SORT", "l", "BY", "w_*", "ALPHA"],
        "*7\r\n$3\r\n007\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n2.5\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n2\r\n",
    );
    t.bad(
        &["SORT", "l", "BY", "w_*", "ALPHA"],
        "*7\r\n$2\r\n10\r\n$2\r\n-0\r\n$1\r\n0\r\n$3\r\n2.5\r\n$1\r\n3\r\n$3\r\n007\r\n$1\r\n2\r\n",
    );
    t.bad(
        &["SORT", "l", "BY", "w_*", "ALPHA"],
        "*7\r\n$2\r\n10\r\n$2\r\n10\r\n$1\r\n0\r\n$3\r\n2.5\r\n$3\r\n007\r\n$1\r\n3\r\n$1\r\n2\r\n",
    );
    // With a LIMIT cutting the run of ties, any two of them.
    t.ok(
        &["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", "0", "2"],
        "*2\r\n$3\r\n2.5\r\n$2\r\n10\r\n",
    );
    t.bad(
        &["SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", "0", "2"],
        "*2\r\n$3\r\n2.5\r\n$1\r\n3\r\n",
    );
    t.ok(&["SET", "w_2", "1e400"], "+OK\r\n");
    t.ok(
        &["SORT", "l", "BY", "w_*"],
        "-ERR One or more scores can't be converted into double\r\n",
    );
    t.ok(
        &[
            "SORT", "l", "BY", "w_*", "ALPHA", "GET", "w_*", "STORE", "dst2",
        ],
        ":7\r\n",
    );
    t.ok(
        &["LRANGE", "dst2", "0", "-1"],
        "*7\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n$2\r\n-5\r\n$5\r\n1e400\r\n",
    );
}

/// A hash-table set left unsorted comes out in any order; a listpack set whose
/// order the model lost learns it from a whole listing (Redis 7.2's sets).
#[test]
fn sort_leaves_a_hash_table_order_open() {
    let mut t = Script::new(Limits {
        set_max_listpack_entries: 2,
        ..Limits::default()
    });
    t.ok(&["SADD", "s", "a", "b", "c"], ":3\r\n");
    t.ok(
        &["SORT", "s", "BY", "x"],
        "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
    );
    t.ok(
        &["SORT", "s", "BY", "x"],
        "*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n",
    );
    t.bad(
        &["SORT", "s", "BY", "x"],
        "*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nc\r\n",
    );
    t.bad(&["SORT", "s", "BY", "x"], "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
    t.ok(
        &[
            "SORT", "s", "BY", "x", "LIMIT", "1", "1", "GET", "#", "GET", "#",
        ],
        "*2\r\n$1\r\nc\r\n$1\r\nc\r\n",
    );
    t.bad(
        &[
            "SORT", "s", "BY", "x", "LIMIT", "1", "1", "GET", "#", "GET", "#",
        ],
        "*2\r\n$1\r\nc\r\n$1\r\na\r\n",
    );
    // A listpack set built from an unordered walk: any order once, then that one.
    t.ok(&["SINTERSTORE", "d", "s"], ":3\r\n");
    t.ok(&["SREM", "d", "a"], ":1\r\n");
    t.ok(&["OBJECT", "ENCODING", "d"], "$9\r\nhashtable\r\n");
    let mut t = Script::new(Limits {
        set_max_listpack_entries: 3,
        ..Limits::default()
    });
    t.ok(&["SADD", "s", "a", "b", "c", "d"], ":4\r\n");
    t.ok(&["SINTERSTORE", "d", "s"], ":4\r\n");
    t.ok(&["SPOP", "d"], "$1\r\nb\r\n");
    t.ok(&["OBJECT", "ENCODING", "d"], "$9\r\nhashtable\r\n");
}

/// What SORT ... STORE makes, encoded as Redis 7.2 encodes it: a listpack when the
/// result fits one node of `list-max-listpack-size`, else a quicklist.
#[test]
fn sort_store_encodes_as_redis_72() {
    let mut t = Script::new(Limits {
        list_max_listpack_size: 3,
        ..Limits::default()
    });
    t.ok(&["RPUSH", "l", "4", "3", "2", "1"], ":4\r\n");
    t.ok(&["SORT", "l", "LIMIT", "0", "3", "STORE", "a"], ":3\r\n");
    t.ok(&["OBJECT", "ENCODING", "a"], "$8\r\nlistpack\r\n");
    t.ok(&["SORT", "l", "STORE", "b"], ":4\r\n");
    t.ok(&["OBJECT", "ENCODING", "b"], "$9\r\nquicklist\r\n");
    t.ok(
        &["LRANGE", "b", "0", "-1"],
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
    t.ok(
        &[
            "SORT", "l", "GET", "#", "GET", "#", "LIMIT", "0", "1", "STORE", "c",
        ],
        ":2\r\n",
    );
    t.ok(&["OBJECT", "ENCODING", "c"], "$8\r\nlistpack\r\n");
}

/// A weight key past its deadline: read by SORT, it is deleted; read only perhaps
/// (a position whose element Redis leaves open), perhaps deleted.
#[test]
fn sort_deletes_the_expired_weights_it_reads() {
    let mut m = Model::new(Limits::default());
    run(&mut m, 0, &["RPUSH", "l", "a", "b"], b":2\r\n").unwrap();
    run(&mut m, 0, &["SET", "w_a", "1", "PX", "10"], b"+OK\r\n").unwrap();
    run(&mut m, 0, &["SET", "w_b", "2", "PX", "10"], b"+OK\r\n").unwrap();
    let expired_read = "*2\r\n$1\r\na\r\n$-1\r\n";
    run(
        &mut m,
        20,
        &[
            "SORT", "l", "ALPHA", "LIMIT", "0", "1", "GET", "#", "GET", "w_*",
        ],
        expired_read.as_bytes(),
    )
    .unwrap();
    // The clock jumps back: w_a was deleted by that read, w_b never read.
    run(&mut m, 5, &["GET", "w_a"], b"$-1\r\n").unwrap();
    run(&mut m, 5, &["GET", "w_b"], b"$1\r\n2\r\n").unwrap();

    // ALPHA BY a missing weight ties a and b: which one the LIMIT kept is open, so
    // either weight key may have been read.
    for (key, value) in [
        ("w_a", "$1\r\n1\r\n"),
        ("w_a", "$-1\r\n"),
        ("w_b", "$1\r\n2\r\n"),
        ("w_b", "$-1\r\n"),
    ] {
        let mut m = Model::new(Limits::default());
        run(&mut m, 0, &["RPUSH", "l", "a", "b"], b":2\r\n").unwrap();
        run(&mut m, 0, &["SET", "w_a", "1", "PX", "10"], b"+OK\r\n").unwrap();
        run(&mut m, 0, &["SET", "w_b", "2", "PX", "10"], b"+OK\r\n").unwrap();
        run(
            &mut m,
            20,
            &[
                "SORT", "l", "BY", "nokey_*", "ALPHA", "LIMIT", "0", "1", "GET", "w_*",
            ],
            b"*1\r\n$-1\r\n",
        )
        .unwrap();
        run(&mut m, 5, &["GET", key], value.as_bytes()).unwrap();
    }
}

/// SCAN's TYPE filter, recorded from redis-server 7.0.15 (with active expiry off for
/// the expired keys): the type check's lookup deletes an expired key, whose type is
/// then `none`, so TYPE none returns exactly the keys it found expired.
#[test]
fn scan_with_a_type_filter() {
    let mut m = Model::new(Limits::default());
    let mut ok = |w: i64, parts: &[&str], actual: &str| {
        if let Err(why) = run(&mut m, w, parts, actual.as_bytes()) {
            panic!("{parts:?} -> {actual:?} refused: {why}");
        }
    };
    ok(0, &["SET", "s1", "v"], "+OK\r\n");
    ok(0, &["RPUSH", "l1", "a"], ":1\r\n");
    ok(0, &["HSET", "h1", "f", "v"], ":1\r\n");
    ok(0, &["ZADD", "z1", "1", "m"], ":1\r\n");
    ok(
        0,
        &["SCAN", "0", "COUNT", "100", "TYPE", "string"],
        "*2\r\n$1\r\n0\r\n*1\r\n$2\r\ns1\r\n",
    );
    ok(
        0,
        &["SCAN", "0", "COUNT", "100", "TYPE", "STRING", "MATCH", "s*"],
        "*2\r\n$1\r\n0\r\n*1\r\n$2\r\ns1\r\n",
    );
    ok(
        0,
        &["SCAN", "0", "COUNT", "100", "TYPE", "hash"],
        "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nh1\r\n",
    );
    ok(
        0,
        &["SCAN", "0", "COUNT", "100", "TYPE", "bogus"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    ok(
        0,
        &["SCAN", "0", "COUNT", "100", "TYPE", "none"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    ok(0, &["SET", "gone", "v", "PX", "1"], "+OK\r\n");
    ok(
        50,
        &["SCAN", "0", "COUNT", "100", "TYPE", "none"],
        "*2\r\n$1\r\n0\r\n*1\r\n$4\r\ngone\r\n",
    );
    ok(50, &["DBSIZE"], ":4\r\n");
    ok(50, &["SET", "gone2", "v", "PX", "1"], "+OK\r\n");
    ok(100, &["DBSIZE"], ":5\r\n");
    ok(
        100,
        &["SCAN", "0", "COUNT", "100", "TYPE", "list"],
        "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nl1\r\n",
    );
    ok(100, &["DBSIZE"], ":4\r\n");
    // A whole scan that leaves out a key of the type asked for is wrong, and so is one
    // that returns a key of another type.
    assert!(run(
        &mut m,
        100,
        &["SCAN", "0", "COUNT", "100", "TYPE", "zset"],
        b"*2\r\n$1\r\n0\r\n*0\r\n"
    )
    .is_err());
    assert!(run(
        &mut m,
        100,
        &["SCAN", "0", "COUNT", "100", "TYPE", "zset"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nz1\r\n$2\r\nh1\r\n"
    )
    .is_err());
    // The deleted key stays deleted even if the clock goes back.
    assert!(run(&mut m, 0, &["GET", "gone2"], b"$1\r\nv\r\n").is_err());
}

#[test]
fn transactions_queue_run_and_abort() {
    let mut m = Model::new(Limits::default());
    let (mut a, mut b) = (Session::new("a"), Session::new("b"));
    let on = |m: &mut Model, s: &mut Session, parts: &[&str], reply: &[u8]| {
        m.exec(s, 1000, &req(parts), reply, Dbsize::Lenient)
    };
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["SET", "k", "1"], b"+QUEUED\r\n").unwrap();
    assert!(on(&mut m.clone(), &mut a.clone(), &["INCR", "k"], b":2\r\n").is_err());
    on(&mut m, &mut a, &["INCR", "k"], b"+QUEUED\r\n").unwrap();
    on(
        &mut m,
        &mut a,
        &["MULTI"],
        b"-ERR MULTI calls can not be nested\r\n",
    )
    .unwrap();
    // The queued commands run at EXEC, each checked against its element.
    assert!(on(
        &mut m.clone(),
        &mut a.clone(),
        &["EXEC"],
        b"*2\r\n+OK\r\n:1\r\n"
    )
    .is_err());
    on(&mut m, &mut a, &["EXEC"], b"*2\r\n+OK\r\n:2\r\n").unwrap();
    on(&mut m, &mut a, &["GET", "k"], b"$1\r\n2\r\n").unwrap();

    // Another client's write between WATCH and EXEC aborts it; a read does not.
    on(&mut m, &mut a, &["WATCH", "k"], b"+OK\r\n").unwrap();
    on(&mut m, &mut b, &["GET", "k"], b"$1\r\n2\r\n").unwrap();
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["GET", "k"], b"+QUEUED\r\n").unwrap();
    on(&mut m, &mut b, &["INCR", "k"], b":3\r\n").unwrap();
    assert!(on(
        &mut m.clone(),
        &mut a.clone(),
        &["EXEC"],
        b"*1\r\n$1\r\n3\r\n"
    )
    .is_err());
    on(&mut m, &mut a, &["EXEC"], b"*-1\r\n").unwrap();

    // A refused command makes EXEC reply EXECABORT; DISCARD forgets the watch.
    on(&mut m, &mut a, &["WATCH", "k"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    on(
        &mut m,
        &mut a,
        &["GET"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    )
    .unwrap();
    on(
        &mut m,
        &mut a,
        &["EXEC"],
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    )
    .unwrap();
    on(&mut m, &mut a, &["EXEC"], b"-ERR EXEC without MULTI\r\n").unwrap();
    on(&mut m, &mut a, &["WATCH", "k"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["DISCARD"], b"+OK\r\n").unwrap();
    on(&mut m, &mut b, &["DEL", "k"], b":1\r\n").unwrap();
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["EXISTS", "k"], b"+QUEUED\r\n").unwrap();
    on(&mut m, &mut a, &["EXEC"], b"*1\r\n:0\r\n").unwrap();

    // A watched key whose deadline passes before EXEC aborts it.
    on(&mut m, &mut b, &["SET", "t", "v", "PX", "10"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["WATCH", "t"], b"+OK\r\n").unwrap();
    on(&mut m, &mut a, &["MULTI"], b"+OK\r\n").unwrap();
    m.exec(
        &mut a,
        1020,
        &req(&["GET", "t"]),
        b"+QUEUED\r\n",
        Dbsize::Lenient,
    )
    .unwrap();
    assert!(m
        .clone()
        .exec(
            &mut a.clone(),
            1020,
            &req(&["EXEC"]),
            b"*1\r\n$-1\r\n",
            Dbsize::Lenient
        )
        .is_err());
    m.exec(&mut a, 1020, &req(&["EXEC"]), b"*-1\r\n", Dbsize::Lenient)
        .unwrap();
}

#[test]
fn blocked_clients_are_served_in_order_and_time_out_on_the_monotonic_clock() {
    use super::blocking::Moment;
    let at = |wall_ms: i64, mono_ms: u64| Moment {
        wall_ms,
        mono_ns: mono_ms * 1_000_000,
        group_mono_ns: mono_ms * 1_000_000,
    };
    let mut m = Model::new(Limits::default());
    let mut out = Outboxes::default();
    let (mut a, mut b, mut c) = (Session::new("a"), Session::new("b"), Session::new("c"));
    out.add("a", vec![b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n".to_vec()]);
    out.add("b", vec![b"*-1\r\n".to_vec()]);
    out.add("c", vec![b":1\r\n".to_vec()]);
    let blpop = req(&["BLPOP", "k", "0.5"]);
    // Both block: nothing was sent to them in their steps.
    m.exec_request(&mut a, at(1000, 10), &blpop, &mut out, Dbsize::Lenient)
        .unwrap();
    m.exec_request(&mut b, at(1000, 11), &blpop, &mut out, Dbsize::Lenient)
        .unwrap();
    // A push of one: the first blocked gets it, the other stays blocked.
    out.sent("c", 4);
    out.sent("a", 21);
    m.exec_request(
        &mut c,
        at(1000, 20),
        &req(&["RPUSH", "k", "x"]),
        &mut out,
        Dbsize::Lenient,
    )
    .unwrap();
    m.after_step(at(1000, 20), &mut out, 0).unwrap();
    assert_eq!(out.left("a"), 0);
    // A timeout before the deadline (mono 11 + 500 ms) is refused, one after it
    // accepted, whatever the wall clock did meanwhile.
    let mut early = (m.clone(), out.clone());
    early.1.sent("b", 5);
    assert!(early.0.after_step(at(1000, 300), &mut early.1, 0).is_err());
    out.sent("b", 5);
    m.after_step(at(-5000, 511), &mut out, 0).unwrap();
    assert_eq!(out.left("b"), 0);
    assert!(m.still_blocked().is_none());
}

#[test]
fn subscribers_get_exactly_what_is_published_while_subscribed() {
    use super::blocking::Moment;
    let now = Moment {
        wall_ms: 1000,
        mono_ns: 0,
        group_mono_ns: 0,
    };
    let mut m = Model::new(Limits::default());
    let mut out = Outboxes::default();
    let (mut s, mut p) = (Session::new("s"), Session::new("p"));
    let sub = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n".to_vec();
    let psub = b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n".to_vec();
    let msg = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_vec();
    let pmsg = b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_vec();
    let refused = b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n".to_vec();
    let frames = [
        sub.clone(),
        psub.clone(),
        msg.clone(),
        pmsg.clone(),
        refused,
    ];
    out.add("s", frames.to_vec());
    out.add("p", vec![b":2\r\n".to_vec(), b":0\r\n".to_vec()]);
    for f in &frames {
        out.sent("s", f.len());
    }
    out.sent("p", 8);
    let mut run = |m: &mut Model, who: &mut Session, parts: &[&str]| {
        m.exec_request(who, now, &req(parts), &mut out, Dbsize::Lenient)
    };
    run(&mut m, &mut s, &["SUBSCRIBE", "news"]).unwrap();
    run(&mut m, &mut s, &["PSUBSCRIBE", "n*"]).unwrap();
    // One receiver per channel subscription and per matching pattern.
    run(&mut m, &mut p, &["PUBLISH", "news", "hi"]).unwrap();
    run(&mut m, &mut s, &["GET", "k"]).unwrap();
    // Nobody listens to "chat": no message, and none may have been sent.
    run(&mut m, &mut p, &["PUBLISH", "chat", "hi"]).unwrap();
}

/// Replies of redis-server 7.0.15, including the signed overflow check's wrapping
/// arithmetic (SAT turns i8's minimum of i64 into +127).
#[test]
fn bitfield_as_redis_70() {
    let mut m = Model::new(Limits::default());
    let w = 1000;
    run(
        &mut m,
        w,
        &["BITFIELD", "b", "SET", "i8", "0", "-9223372036854775808"],
        b"*1\r\n:0\r\n",
    )
    .unwrap();
    run(
        &mut m,
        w,
        &[
            "BITFIELD",
            "b",
            "OVERFLOW",
            "SAT",
            "SET",
            "i8",
            "0",
            "-9223372036854775808",
        ],
        b"*1\r\n:0\r\n",
    )
    .unwrap();
    run(
        &mut m,
        w,
        &[
            "BITFIELD",
            "b",
            "GET",
            "i8",
            "0",
            "GET",
            "u4",
            "4",
            "OVERFLOW",
            "FAIL",
            "INCRBY",
            "u2",
            "100",
            "3",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "i64",
            "#1",
            "-9223372036854775808",
            "INCRBY",
            "i64",
            "#1",
            "-1",
        ],
        b"*5\r\n:127\r\n:15\r\n:3\r\n:-9223372036653449216\r\n:-9223372036653449217\r\n",
    )
    .unwrap();
    run(&mut m, w, &["STRLEN", "b"], b":16\r\n").unwrap();
    run(&mut m, w, &["OBJECT", "ENCODING", "b"], b"$3\r\nraw\r\n").unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD_RO", "b", "GET", "i8", "#1", "SET", "u8", "0", "1"],
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n",
    )
    .unwrap();
    let bad_type = b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    run(&mut m, w, &["BITFIELD", "b", "GET", "u64", "0"], bad_type).unwrap();
    let bad_offset = b"-ERR bit offset is not an integer or out of range\r\n";
    run(&mut m, w, &["BITFIELD", "b", "GET", "i8", "-1"], bad_offset).unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD", "b", "OVERFLOW", "x"],
        b"-ERR Invalid OVERFLOW type specified\r\n",
    )
    .unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD", "b", "GET", "i8"],
        b"-ERR syntax error\r\n",
    )
    .unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD", "b", "SET", "u8", "0", "x"],
        b"-ERR value is not an integer or out of range\r\n",
    )
    .unwrap();
    run(&mut m, w, &["BITFIELD_RO", "b"], b"*0\r\n").unwrap();
    run(
        &mut m,
        w,
        &[
            "BITFIELD", "b", "OVERFLOW", "WRAP", "INCRBY", "u8", "#3", "300", "INCRBY", "i8", "#3",
            "-300",
        ],
        b"*2\r\n:44\r\n:0\r\n",
    )
    .unwrap();
    // A failed write replies a nil (`_` in RESP3) and leaves the bits alone.
    let mut s = Session::new("c");
    s.proto = Proto::Resp3;
    let r = req(&[
        "BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", "#3", "250", "INCRBY", "u8", "#3",
        "10", "GET", "u8", "#3",
    ]);
    m.exec(
        &mut s,
        w,
        &r,
        b"*3\r\n:250\r\n_\r\n:250\r\n",
        Dbsize::Lenient,
    )
    .unwrap();
    assert!(run(
        &mut m,
        w,
        &["BITFIELD", "b", "GET", "u8", "#3"],
        b"*1\r\n:1\r\n"
    )
    .is_err());
    run(&mut m, w, &["SET", "s", "abc"], b"+OK\r\n").unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD", "s", "GET", "u8", "#0"],
        b"*1\r\n:97\r\n",
    )
    .unwrap();
    run(&mut m, w, &["LPUSH", "l", "x"], b":1\r\n").unwrap();
    run(
        &mut m,
        w,
        &["BITFIELD", "l", "GET", "u8", "0"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    )
    .unwrap();
}

/// Shard channels as redis-server 7.0.15 (frames taken from it): counted apart
/// from channels, `smessage` only to shard subscribers, subscribed mode while any
/// subscription is left.
#[test]
fn shard_channels_are_counted_and_delivered_apart() {
    use super::blocking::Moment;
    let now = Moment {
        wall_ms: 1000,
        mono_ns: 0,
        group_mono_ns: 0,
    };
    let mut m = Model::new(Limits::default());
    let mut out = Outboxes::default();
    let (mut s, mut p) = (Session::new("s"), Session::new("p"));
    let s_frames: &[&[u8]] = &[
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        b"*3\r\n$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n",
        b"*3\r\n$10\r\nssubscribe\r\n$4\r\nchat\r\n:2\r\n",
        b"*3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nyo\r\n",
        b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n",
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
        b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:1\r\n",
        b"*3\r\n$12\r\nsunsubscribe\r\n$4\r\nchat\r\n:0\r\n",
        b"*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n",
        b"$-1\r\n",
    ];
    let p_frames: &[&[u8]] = &[
        b":1\r\n",
        b":1\r\n",
        b"*4\r\n$4\r\nnews\r\n:1\r\n$1\r\nx\r\n:0\r\n",
        b"*1\r\n$4\r\nnews\r\n",
    ];
    for (name, frames) in [("s", s_frames), ("p", p_frames)] {
        out.add(name, frames.iter().map(|f| f.to_vec()).collect());
        out.sent(name, frames.iter().map(|f| f.len()).sum());
    }
    let mut run = |m: &mut Model, who: &mut Session, parts: &[&str]| {
        m.exec_request(who, now, &req(parts), &mut out, Dbsize::Lenient)
    };
    run(&mut m, &mut s, &["SUBSCRIBE", "news"]).unwrap();
    run(&mut m, &mut s, &["SSUBSCRIBE", "news", "chat"]).unwrap();
    run(&mut m, &mut p, &["SPUBLISH", "news", "hi"]).unwrap();
    run(&mut m, &mut p, &["PUBLISH", "news", "yo"]).unwrap();
    run(&mut m, &mut p, &["PUBSUB", "SHARDNUMSUB", "news", "x"]).unwrap();
    run(&mut m, &mut p, &["PUBSUB", "SHARDCHANNELS", "n*"]).unwrap();
    run(&mut m, &mut s, &["UNSUBSCRIBE"]).unwrap();
    // Still subscribed to shard channels: RESP2 still refuses GET.
    run(&mut m, &mut s, &["GET", "k"]).unwrap();
    run(&mut m, &mut s, &["SUNSUBSCRIBE", "news"]).unwrap();
    run(&mut m, &mut s, &["SUNSUBSCRIBE"]).unwrap();
    run(&mut m, &mut s, &["SUNSUBSCRIBE"]).unwrap();
    run(&mut m, &mut s, &["GET", "k"]).unwrap();
}

/// SWAPDB as redis-server 7.0.15: db 0's keys go to the other database and come
/// back, a watched key that exists in either database is touched, errors.
#[test]
fn swapdb_moves_keys_and_touches_watched_ones() {
    let mut m = Model::new(Limits::default());
    let w = 1000;
    run(&mut m, w, &["SET", "k", "v"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["SWAPDB", "0", "1"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["GET", "k"], b"$-1\r\n").unwrap();
    run(&mut m, w, &["DBSIZE"], b":0\r\n").unwrap();
    run(&mut m, w, &["SWAPDB", "2", "1"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["SWAPDB", "0", "0"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["SWAPDB", "0", "2"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["GET", "k"], b"$1\r\nv\r\n").unwrap();
    let err = |m: &str| format!("-ERR {m}\r\n").into_bytes();
    run(
        &mut m,
        w,
        &["SWAPDB", "x", "1"],
        &err("invalid first DB index"),
    )
    .unwrap();
    run(
        &mut m,
        w,
        &["SWAPDB", "0", "16"],
        &err("DB index is out of range"),
    )
    .unwrap();
    run(
        &mut m,
        w,
        &["SWAPDB", "-1", "0"],
        &err("DB index is out of range"),
    )
    .unwrap();
    run(
        &mut m,
        w,
        &["SWAPDB", "0", "2147483648"],
        &err("invalid second DB index"),
    )
    .unwrap();
    // k exists in db 0: a WATCH of it is touched; "gone" exists in neither.
    let (mut a, mut b) = (Session::new("a"), Session::new("b"));
    let on = |m: &mut Model, s: &mut Session, parts: &[&str], reply: &[u8]| {
        m.exec(s, w, &req(parts), reply, Dbsize::Lenient)
    };
    on(&mut m, &mut a, &["WATCH", "k"], b"+OK\r\n").unwrap();
    on(&mut m, &mut b, &["WATCH", "gone"], b"+OK\r\n").unwrap();
    run(&mut m, w, &["SWAPDB", "1", "0"], b"+OK\r\n").unwrap();
    for s in [&mut a, &mut b] {
        on(&mut m, s, &["MULTI"], b"+OK\r\n").unwrap();
        on(&mut m, s, &["PING"], b"+QUEUED\r\n").unwrap();
    }
    let (mut m2, mut a2) = (m.clone(), a.clone());
    assert!(on(&mut m2, &mut a2, &["EXEC"], b"*1\r\n+PONG\r\n").is_err());
    on(&mut m, &mut a, &["EXEC"], b"*-1\r\n").unwrap();
    on(&mut m, &mut b, &["EXEC"], b"*1\r\n+PONG\r\n").unwrap();
}
