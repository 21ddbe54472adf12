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
