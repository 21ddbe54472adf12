//! Shared helpers for integration tests: start the real `cinnabar-server` binary (or a
//! real `redis-server` for differential tests) on a free port, talk raw RESP to it, and
//! stop it on drop.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub port: u16,
    child: Child,
    pub name: &'static str,
}

/// A port no other server started by this test process has been given, and that is
/// free right now. Handing out distinct ports avoids two parallel tests racing for the
/// same ephemeral port (the loser would then talk to the winner's server).
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = 20_000 + (std::process::id() % 2_000) * 16;
    loop {
        let candidate = base + NEXT.fetch_add(1, Ordering::Relaxed) % 30_000;
        let port = (candidate % 45_000 + 20_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The `process_id` that the server on `port` reports in INFO server: `None` if
/// nothing answers, `Some(None)` if INFO was refused (an error reply).
fn serving_pid(port: u16) -> Option<Option<u32>> {
    let mut conn = RawConn::try_connect(port)?;
    // A server that is still starting, or another process's that is exiting, may
    // reset the connection: that is "nothing answers yet", not a failed test.
    conn.stream
        .write_all(&cinnabar_core::testing::encode_command(&[
            b"INFO", b"server",
        ]))
        .ok()?;
    let reply = conn.try_read_reply()?;
    if reply.starts_with(b"-") {
        return Some(None);
    }
    let text = String::from_utf8_lossy(&reply);
    text.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .map(|pid| pid.trim().parse().ok())
}

/// A new empty directory under the system's temp dir, unique to this process and call.
pub fn fresh_dir(tag: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("cinnabar-test-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a test directory");
    dir.display().to_string()
}

impl ServerProcess {
    /// Start cinnabar-server with extra `--name value` arguments, in a fresh empty
    /// directory (`--dir`) and without save points, as the reference server runs:
    /// no test finds or leaves a dump.rdb. Later arguments win (`--save` adds).
    pub fn cinnabar(extra: &[&str]) -> ServerProcess {
        let dir = fresh_dir("cinnabar");
        let mut args = vec!["--dir", dir.as_str(), "--save", ""];
        args.extend_from_slice(extra);
        Self::start("cinnabar", env!("CARGO_BIN_EXE_cinnabar-server"), &args)
    }

    /// Start Debian's redis-server 7, if installed. In CI it must be: a missing
    /// reference server fails the run instead of silently skipping.
    pub fn redis(extra: &[&str]) -> Option<ServerProcess> {
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok();
        if !found {
            assert!(
                std::env::var("CI").is_err(),
                "redis-server is required in CI (apt-get install redis-server)"
            );
            eprintln!("redis-server not installed: skipping the differential comparison");
            return None;
        }
        let mut args = vec!["--save", "", "--appendonly", "no"];
        args.extend_from_slice(extra);
        Some(Self::start("redis", "redis-server", &args))
    }

    fn start(name: &'static str, program: &str, extra: &[&str]) -> ServerProcess {
        for _ in 0..5 {
            let port = free_port();
            let mut cmd = Command::new(program);
            cmd.arg("--port")
                .arg(port.to_string())
                .arg("--bind")
                .arg("127.0.0.1");
            cmd.args(extra).stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("start {program}: {e}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Another process's server may hold the port (ours then fails to
                    // bind): only a server reporting our child's pid is ours.
                    match serving_pid(port) {
                        Some(Some(pid)) if pid == child.id() => {
                            return ServerProcess { port, child, name }
                        }
                        // INFO refused (requirepass): ours if it is still alive once
                        // a failed bind would have made it exit.
                        Some(None) => {
                            std::thread::sleep(Duration::from_millis(200));
                            if let Ok(None) = child.try_wait() {
                                return ServerProcess { port, child, name };
                            }
                        }
                        _ => {}
                    }
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken or bad config: retry on another port
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("could not start {program}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// Wait for the process to exit on its own (e.g. after SHUTDOWN or a signal).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw TCP connection speaking RESP by hand.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        Self::try_connect(port).expect("connect")
    }

    pub fn try_connect(port: u16) -> Option<RawConn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Some(RawConn {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&cinnabar_core::testing::encode_command(args));
    }

    /// Read one complete reply frame, as raw bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, used)) = cinnabar_core::testing::decode(&self.buf) {
                return self.buf.drain(..used).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read a reply");
            assert!(
                n > 0,
                "connection closed while waiting for a reply; got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// One complete reply frame, or `None` if the connection fails or closes first.
    fn try_read_reply(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some((_, used)) = cinnabar_core::testing::decode(&self.buf) {
                return Some(self.buf.drain(..used).collect());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_cmd(&raw);
        self.read_reply()
    }

    /// Everything received without being asked for (messages, pushes), once the
    /// server has sent nothing more for a quiet spell; only whole frames count.
    pub fn read_pending(&mut self) -> Vec<u8> {
        const QUIET: Duration = Duration::from_millis(200);
        self.stream.set_read_timeout(Some(QUIET)).expect("timeout");
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    break
                }
                Err(e) => panic!("read pending: {e}"),
            }
        }
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut whole = 0;
        while let Some((_, used)) = cinnabar_core::testing::decode(&self.buf[whole..]) {
            whole += used;
        }
        self.buf.drain(..whole).collect()
    }

    /// Read until the server closes the connection; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
                Err(e) => panic!("read until close: {e}"),
            }
        }
    }
}
