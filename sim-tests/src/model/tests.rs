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
