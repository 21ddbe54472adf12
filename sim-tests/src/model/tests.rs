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
