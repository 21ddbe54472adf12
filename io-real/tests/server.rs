//! The real binary driven by real clients: the `redis` crate and raw sockets.

mod support;

use std::io::Write;
use std::time::Duration;
use support::ServerProcess;

#[test]
fn redis_crate_round_trip() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello")
        .query(&mut con)
        .unwrap();
    let v: String = redis::cmd("GET").arg("greeting").query(&mut con).unwrap();
    assert_eq!(v, "hello");
    let missing: Option<String> = redis::cmd("GET").arg("nope").query(&mut con).unwrap();
    assert_eq!(missing, None);
    let err = redis::cmd("NOPE").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("unknown command 'NOPE'"), "{err}");
}

#[test]
fn pipelined_requests_in_one_write_get_all_replies() {
    let server = ServerProcess::cinnabar(&[]);
    let mut raw = server.raw();
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(cinnabar_core::testing::encode_command(&[
            b"SET",
            format!("k{i}").as_bytes(),
            b"v",
        ]));
    }
    batch.extend_from_slice(b"PING\r\n");
    raw.send(&batch);
    for _ in 0..1000 {
        assert_eq!(raw.read_reply(), b"+OK\r\n");
    }
    assert_eq!(raw.read_reply(), b"+PONG\r\n");
    assert_eq!(raw.cmd(&["DBSIZE"]), b":1000\r\n");

    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("GET").arg(format!("k{i}"));
    }
    let got: Vec<String> = pipe.query(&mut con).unwrap();
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|v| v == "v"));
}

#[test]
fn protocol_errors_reply_then_close() {
    let server = ServerProcess::cinnabar(&[]);
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"*1\r\n$4\r\nPING\r\n*x\r\n",
            b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"*1\r\nfoo\r\n",
            b"-ERR Protocol error: expected '$', got 'f'\r\n",
        ),
        (
            b"SET \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
    ];
    for (input, expected) in cases {
        let mut raw = server.raw();
        raw.send(input);
        assert_eq!(
            raw.read_to_close(),
            *expected,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // A huge declared bulk length is refused without the server allocating it.
    let mut raw = server.raw();
    raw.send(b"*1\r\n$536870913\r\n");
    assert_eq!(
        raw.read_to_close(),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
    // The server is still fine.
    assert_eq!(server.raw().cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn inline_commands_and_split_reads() {
    let server = ServerProcess::cinnabar(&[]);
    let mut raw = server.raw();
    raw.send(b"SET inline \"a value\"\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    // A request trickling in byte by byte.
    for b in b"*2\r\n$3\r\nGET\r\n$6\r\ninline\r\n" {
        raw.stream.write_all(&[*b]).unwrap();
        raw.stream.flush().unwrap();
    }
    assert_eq!(raw.read_reply(), b"$7\r\na value\r\n");
}

#[test]
fn many_concurrent_connections() {
    let server = ServerProcess::cinnabar(&[]);
    let mut conns: Vec<_> = (0..2000).map(|_| server.raw()).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        c.send_cmd(&[b"SET", format!("c{i}").as_bytes(), b"x"]);
    }
    for c in conns.iter_mut() {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    assert_eq!(server.raw().cmd(&["DBSIZE"]), b":2000\r\n");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = ServerProcess::cinnabar(&[]);
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("server exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn unknown_config_refused_at_startup() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args(["--port", "0", "--no-such-option", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"),
        "{err}"
    );
    assert!(err.contains(">>> 'no-such-option \"1\"'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
}

#[test]
fn resp3_through_the_redis_crate_and_raw_hello() {
    let server = ServerProcess::cinnabar(&[]);
    // The redis crate negotiates RESP3 with HELLO 3 when asked to.
    let client = redis::Client::open(format!("{}?protocol=resp3", server.url())).unwrap();
    let mut con = client.get_connection().unwrap();
    let () = redis::cmd("SET")
        .arg("n")
        .arg("1.5")
        .query(&mut con)
        .unwrap();
    let v: redis::Value = redis::cmd("INCRBYFLOAT")
        .arg("n")
        .arg("1")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, redis::Value::BulkString(b"2.5".to_vec()));
    let missing: redis::Value = redis::cmd("GET").arg("none").query(&mut con).unwrap();
    assert_eq!(missing, redis::Value::Nil);
    let hello: redis::Value = redis::cmd("HELLO").arg("3").query(&mut con).unwrap();
    assert!(matches!(hello, redis::Value::Map(_)), "{hello:?}");

    // The exact RESP3 bytes on a raw socket.
    let mut raw = server.raw();
    let reply = raw.cmd(&["HELLO", "3"]);
    assert!(reply.starts_with(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"));
    assert_eq!(raw.cmd(&["GET", "none"]), b"_\r\n");
    assert_eq!(
        raw.cmd(&["CONFIG", "GET", "hz"]),
        b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    );
    assert_eq!(raw.cmd(&["HELLO", "2"]).first(), Some(&b'*'));
    assert_eq!(raw.cmd(&["GET", "none"]), b"$-1\r\n");
    assert_eq!(
        raw.cmd(&["HELLO", "4"]),
        b"-NOPROTO unsupported protocol version\r\n"
    );
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let server = ServerProcess::cinnabar(&["--requirepass", "s3cret"]);
    let mut raw = server.raw();
    assert_eq!(
        raw.cmd(&["GET", "k"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.cmd(&["AUTH", "wrong"]),
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(raw.cmd(&["AUTH", "s3cret"]), b"+OK\r\n");
    assert_eq!(raw.cmd(&["SET", "k", "v"]), b"+OK\r\n");

    // HELLO can authenticate in the same round trip.
    let mut other = server.raw();
    let reply = other.cmd(&["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me"]);
    assert!(
        reply.starts_with(b"%7\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(other.cmd(&["CLIENT", "GETNAME"]), b"$2\r\nme\r\n");

    // And the redis crate sends AUTH from the URL's password.
    let client =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.port)).unwrap();
    let mut con = client.get_connection().unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let bad = redis::Client::open(format!("redis://:nope@127.0.0.1:{}/", server.port)).unwrap();
    assert!(bad.get_connection().is_err());
}

#[test]
fn keys_expire_lazily_and_actively() {
    let server = ServerProcess::cinnabar(&["--hz", "100"]);
    let mut con = server.client();
    let () = redis::cmd("SET")
        .arg("lazy")
        .arg("v")
        .arg("PX")
        .arg(150)
        .query(&mut con)
        .unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("lazy").query(&mut con).unwrap();
    assert!((1..=150).contains(&pttl), "{pttl}");
    // Many keys nobody touches again: only the active expire cycle can remove them.
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET")
            .arg(format!("active:{i}"))
            .arg("v")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    pipe.cmd("SET").arg("forever").arg("v").ignore();
    let () = pipe.query(&mut con).unwrap();
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 502);

    std::thread::sleep(Duration::from_millis(400));
    let got: Option<String> = redis::cmd("GET").arg("lazy").query(&mut con).unwrap();
    assert_eq!(got, None);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        if size == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "dbsize still {size}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    assert!(info.contains("expired_keys:501\r\n"), "{info}");
}

#[test]
fn scan_returns_every_stable_key_while_others_churn() {
    let server = ServerProcess::cinnabar(&[]);
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg(i).ignore();
    }
    let () = pipe.query(&mut con).unwrap();

    // A writer adds and removes other keys the whole time, forcing the table to grow
    // and shrink (and rehash) under the scan.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut con = server.client();
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                for i in 0..500 {
                    pipe.cmd("SET")
                        .arg(format!("churn:{round}:{i}"))
                        .arg(1)
                        .ignore();
                }
                let () = pipe.query(&mut con).unwrap();
                let () = redis::cmd("DEL")
                    .arg(
                        (0..500)
                            .map(|i| format!("churn:{round}:{i}"))
                            .collect::<Vec<_>>(),
                    )
                    .query(&mut con)
                    .map(|_: i64| ())
                    .unwrap();
                round += 1;
            }
            round
        })
    };

    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(7)
            .query(&mut con)
            .unwrap();
        seen.extend(keys.into_iter().filter(|k| k.starts_with("stable:")));
        // Give the writer room to change the table between our calls.
        std::thread::sleep(Duration::from_micros(200));
        if next == "0" {
            break;
        }
        cursor = next;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert!(rounds > 0, "the writer never ran during the scan");
    for i in 0..2000 {
        assert!(
            seen.contains(&format!("stable:{i}")),
            "SCAN missed stable:{i}"
        );
    }
}
