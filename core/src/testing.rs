//! Test support: drive a `Server` in memory with fake connections and a hand-cranked
//! clock, and decode its RESP replies into [`Frame`]s for assertions. Used by the
//! core's unit tests, the simulation's model checks and the fuzz targets.

use crate::io::{
    ConnId, Effect, Event, FileId, HostInfo, IoError, IoErrorKind, IoId, IoOp, IoOutput, IoQueue,
    MonoNs, Now, NullProbe, OpenMode, UnixUs,
};
use crate::{Config, Server};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;

/// A decoded RESP2/RESP3 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` and RESP3 `_`.
    Null,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(String),
    Bool(bool),
    BigNumber(String),
    Verbatim(String, Vec<u8>),
}

impl Frame {
    pub fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    pub fn err(s: &str) -> Frame {
        Frame::Error(s.into())
    }

    pub fn array_of_bulks(items: &[&str]) -> Frame {
        Frame::Array(items.iter().map(|s| Frame::bulk(s)).collect())
    }

    /// Bulk payload as UTF-8 (panics on other frames: test-only convenience).
    pub fn as_str(&self) -> String {
        match self {
            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Frame::Simple(s) | Frame::Error(s) | Frame::Double(s) | Frame::BigNumber(s) => {
                s.clone()
            }
            Frame::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
            Frame::Int(i) => i.to_string(),
            other => panic!("not a string frame: {other:?}"),
        }
    }
}

/// Decode one frame from `buf`; returns it and the bytes consumed, or None if the
/// buffer holds only part of a frame.
pub fn decode(buf: &[u8]) -> Option<(Frame, usize)> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&buf[1..line_end]).expect("RESP header is ASCII");
    let mut pos = line_end + 2;
    let n = || line.parse::<i64>().expect("RESP length is an integer");
    let frame = match buf[0] {
        b'+' => Frame::Simple(line.to_string()),
        b'-' => Frame::Error(line.to_string()),
        b':' => Frame::Int(n()),
        b',' => Frame::Double(line.to_string()),
        b'(' => Frame::BigNumber(line.to_string()),
        b'#' => Frame::Bool(line == "t"),
        b'_' => Frame::Null,
        b'$' | b'=' => {
            let len = n();
            if len < 0 {
                Frame::Null
            } else {
                let len = len as usize;
                if buf.len() < pos + len + 2 {
                    return None;
                }
                let data = buf[pos..pos + len].to_vec();
                pos += len + 2;
                if buf[0] == b'=' {
                    Frame::Verbatim(
                        String::from_utf8_lossy(&data[..3]).into_owned(),
                        data[4..].to_vec(),
                    )
                } else {
                    Frame::Bulk(data)
                }
            }
        }
        b'|' => {
            // An attribute: decode and drop it, then the frame it annotates.
            let mut skipped = pos;
            for _ in 0..2 * n() {
                let (_, used) = decode(&buf[skipped..])?;
                skipped += used;
            }
            let (frame, used) = decode(&buf[skipped..])?;
            return Some((frame, skipped + used));
        }
        b'*' | b'~' | b'>' | b'%' => {
            let len = n();
            if len < 0 {
                Frame::Null
            } else {
                let count = if buf[0] == b'%' {
                    2 * len as usize
                } else {
                    len as usize
                };
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    let (f, used) = decode(&buf[pos..])?;
                    pos += used;
                    items.push(f);
                }
                match buf[0] {
                    b'*' => Frame::Array(items),
                    b'~' => Frame::Set(items),
                    b'>' => Frame::Push(items),
                    _ => {
                        let mut pairs = Vec::with_capacity(items.len() / 2);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        Frame::Map(pairs)
                    }
                }
            }
        }
        other => panic!("unknown RESP type byte {:?}", other as char),
    };
    Some((frame, pos))
}

/// Encode a command as a RESP multibulk request.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A server in memory with a controllable clock.
pub struct TestServer {
    pub server: Server,
    pub now: Now,
    next_conn: u64,
    /// Bytes sent to each connection and not yet read by the test.
    outbox: crate::util::FastMap<ConnId, Vec<u8>>,
    pub closed: Vec<ConnId>,
    pub logs: Vec<String>,
    pub exited: Option<i32>,
    /// Connections whose peer stopped reading: their output is captured but never
    /// reported written, so it counts against the output buffer limits.
    stalled: crate::util::FastSet<ConnId>,
    /// Bytes sent to stalled connections and not reported written yet.
    unreported: crate::util::FastMap<ConnId, usize>,
    /// The in-memory disk `Effect::Io` runs against.
    pub disk: MemDisk,
    /// Disk operations issued and not yet run, in issue order.
    pub io_queue: VecDeque<(IoId, IoQueue, IoOp)>,
    /// While set, disk operations wait in `io_queue` until `run_io` (to look at the
    /// server while they are in flight); otherwise `drain` runs them at once.
    pub hold_io: bool,
    /// Outbound connections the server asked for (`Effect::Connect`), in order.
    pub connects: Vec<(ConnId, String, u16)>,
}

/// Wall-clock start of test servers: 2026-01-01T00:00:00Z.
pub const TEST_EPOCH_US: i64 = 1_767_225_600_000_000;

impl TestServer {
    pub fn new() -> TestServer {
        TestServer::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> TestServer {
        TestServer::with_disk(config, MemDisk::default(), false)
    }

    /// A server starting on `disk` (it loads `dump.rdb` from it, if there); with
    /// `hold_io` the load waits for `run_io`.
    pub fn with_disk(config: Config, disk: MemDisk, hold_io: bool) -> TestServer {
        TestServer::with_seed(config, disk, hold_io, 42)
    }

    /// A server whose core RNG starts from `seed` (two servers of one test, such
    /// as a master and its replica, must not draw the same replication ids).
    pub fn with_seed(config: Config, disk: MemDisk, hold_io: bool, seed: u64) -> TestServer {
        let now = Now {
            mono: MonoNs(1_000_000_000),
            wall: UnixUs(TEST_EPOCH_US),
        };
        let server = Server::new(config, seed, HostInfo::default(), Box::new(NullProbe), now);
        let mut t = TestServer {
            server,
            now,
            next_conn: 1,
            outbox: Default::default(),
            closed: Vec::new(),
            connects: Vec::new(),
            logs: Vec::new(),
            exited: None,
            stalled: Default::default(),
            unreported: Default::default(),
            disk,
            io_queue: VecDeque::new(),
            hold_io,
        };
        // Startup's disk work (looking for the RDB file) runs now unless held.
        t.drain();
        t
    }

    /// Open a connection from 127.0.0.1.
    pub fn connect(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let peer: SocketAddr = format!("127.0.0.1:{}", 40000 + conn.0)
            .parse()
            .expect("valid address");
        let local: SocketAddr = "127.0.0.1:6379".parse().expect("valid address");
        self.server.handle(
            self.now,
            Event::Accepted {
                conn,
                peer,
                local,
                fd: 7 + conn.0 as i64,
            },
        );
        self.drain();
        conn
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.server.handle(self.now, Event::Closed { conn });
        self.drain();
    }

    /// Carry out effects, capturing what the backend would have done.
    pub fn drain(&mut self) {
        loop {
            self.drain_effects();
            if self.hold_io {
                return;
            }
            let Some((id, _, op)) = self.io_queue.pop_front() else {
                return;
            };
            let result = self.disk.run(op);
            self.server.handle(self.now, Event::IoDone { id, result });
        }
    }

    fn drain_effects(&mut self) {
        while let Some(effect) = self.server.poll_effect() {
            match effect {
                Effect::Send { conn, data } => {
                    self.outbox
                        .entry(conn)
                        .or_default()
                        .extend_from_slice(&data);
                    if self.stalled.contains(&conn) {
                        *self.unreported.entry(conn).or_default() += data.len();
                    } else {
                        // A peer that reads: the write completes at once.
                        let bytes = data.len();
                        self.server.handle(self.now, Event::Sent { conn, bytes });
                    }
                }
                Effect::Close { conn } | Effect::Abort { conn } => self.closed.push(conn),
                Effect::Log { message, .. } => self.logs.push(message),
                Effect::Exit { code } => self.exited = Some(code),
                Effect::Io { id, queue, op } => self.io_queue.push_back((id, queue, op)),
                Effect::Connect { conn, host, port } => self.connects.push((conn, host, port)),
            }
        }
    }

    /// Run up to `n` held disk operations in issue order, delivering each completion;
    /// returns how many ran.
    pub fn run_io(&mut self, n: usize) -> usize {
        let mut ran = 0;
        while ran < n {
            let Some((id, _, op)) = self.io_queue.pop_front() else {
                break;
            };
            let result = self.disk.run(op);
            self.server.handle(self.now, Event::IoDone { id, result });
            ran += 1;
            self.drain_effects();
        }
        ran
    }

    /// The peer of `conn` stops reading: what the server sends it stays unsent.
    pub fn stall(&mut self, conn: ConnId) {
        self.stalled.insert(conn);
    }

    /// The peer of `conn` reads again and takes everything it was sent.
    pub fn unstall(&mut self, conn: ConnId) {
        self.stalled.remove(&conn);
        if let Some(bytes) = self.unreported.remove(&conn) {
            self.server.handle(self.now, Event::Sent { conn, bytes });
        }
        self.drain();
    }

    /// Send raw bytes on a connection.
    pub fn send_raw(&mut self, conn: ConnId, data: &[u8]) {
        self.server.handle(self.now, Event::Received { conn, data });
        self.drain();
    }

    /// Everything received on `conn` since the last read.
    pub fn take_output(&mut self, conn: ConnId) -> Vec<u8> {
        self.outbox.remove(&conn).unwrap_or_default()
    }

    /// Run one command and return its single reply.
    pub fn cmd_on(&mut self, conn: ConnId, args: &[&str]) -> Frame {
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd_bytes_on(conn, &raw)
    }

    pub fn cmd_bytes_on(&mut self, conn: ConnId, args: &[&[u8]]) -> Frame {
        self.send_raw(conn, &encode_command(args));
        let out = self.take_output(conn);
        let (frame, used) =
            decode(&out).unwrap_or_else(|| panic!("no complete reply to {args:?}: {out:?}"));
        assert_eq!(used, out.len(), "more than one reply to {args:?}");
        frame
    }

    /// Run a command on a default connection (opened on first use).
    pub fn cmd(&mut self, args: &[&str]) -> Frame {
        let conn = self.default_conn();
        self.cmd_on(conn, args)
    }

    pub fn default_conn(&mut self) -> ConnId {
        if self.next_conn == 1 {
            self.connect()
        } else {
            ConnId(1)
        }
    }

    /// Move both clocks forward and fire due timers.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now.mono = self.now.mono.add_ms(ms);
        self.now.wall = UnixUs(self.now.wall.0 + ms as i64 * 1000);
        self.fire_timers();
    }

    /// Jump only the wall clock (either direction), as an NTP step would.
    pub fn jump_wall_ms(&mut self, delta_ms: i64) {
        self.now.wall = UnixUs(self.now.wall.0 + delta_ms * 1000);
    }

    /// Call handle_timeout for every deadline up to the current time.
    pub fn fire_timers(&mut self) {
        let mut guard = 0;
        while let Some(deadline) = self.server.poll_timeout() {
            if deadline > self.now.mono {
                break;
            }
            self.server.handle_timeout(self.now);
            self.drain();
            guard += 1;
            assert!(guard < 10_000, "timers keep firing without time advancing");
        }
        self.drain();
    }
}

/// Picks the operation a [`MemDisk`] fault hits.
pub type IoMatcher = fn(&IoOp) -> bool;

/// A filesystem in memory for tests: files, directories, and faults on demand. Paths
/// are taken as given (no normalization): the core builds them the same way each time.
#[derive(Debug, Default)]
pub struct MemDisk {
    pub files: BTreeMap<String, Vec<u8>>,
    pub dirs: BTreeSet<String>,
    open: BTreeMap<FileId, (String, u64)>,
    /// Every operation run, in order.
    pub log: Vec<IoOp>,
    /// The next operation for which the predicate holds fails with this error (a
    /// failing `Write` writes nothing).
    pub fail: Option<(IoMatcher, IoError)>,
}

impl MemDisk {
    pub fn error(kind: IoErrorKind, message: &str) -> IoError {
        IoError {
            kind,
            message: message.into(),
            written: 0,
        }
    }

    fn not_found() -> IoError {
        MemDisk::error(IoErrorKind::NotFound, "No such file or directory")
    }

    fn bad_file() -> IoError {
        MemDisk::error(IoErrorKind::Other, "Bad file descriptor")
    }

    /// Carry out one operation.
    pub fn run(&mut self, op: IoOp) -> Result<IoOutput, IoError> {
        self.log.push(op.clone());
        if let Some((pred, _)) = &self.fail {
            if pred(&op) {
                let (_, err) = self.fail.take().expect("checked above");
                return Err(err);
            }
        }
        match op {
            IoOp::Open { file, path, mode } => {
                let data = self.files.entry(path.clone()).or_default();
                if mode == OpenMode::Truncate {
                    data.clear();
                }
                let pos = data.len() as u64;
                self.open.insert(file, (path, pos));
                Ok(IoOutput::Done)
            }
            IoOp::Write { file, data } => {
                let (path, pos) = self.open.get_mut(&file).ok_or_else(MemDisk::bad_file)?;
                let content = self.files.entry(path.clone()).or_default();
                let start = *pos as usize;
                if content.len() < start + data.len() {
                    content.resize(start + data.len(), 0);
                }
                content[start..start + data.len()].copy_from_slice(&data);
                *pos += data.len() as u64;
                Ok(IoOutput::Written(data.len()))
            }
            IoOp::Fsync { file } => {
                self.open.get(&file).ok_or_else(MemDisk::bad_file)?;
                Ok(IoOutput::Done)
            }
            IoOp::Truncate { file, len } => {
                let (path, pos) = self.open.get_mut(&file).ok_or_else(MemDisk::bad_file)?;
                self.files
                    .entry(path.clone())
                    .or_default()
                    .resize(len as usize, 0);
                *pos = len;
                Ok(IoOutput::Done)
            }
            IoOp::Close { file } => {
                self.open.remove(&file).ok_or_else(MemDisk::bad_file)?;
                Ok(IoOutput::Done)
            }
            IoOp::Rename { from, to } => {
                let data = self.files.remove(&from).ok_or_else(MemDisk::not_found)?;
                self.files.insert(to.clone(), data);
                for (path, _) in self.open.values_mut() {
                    if *path == from {
                        path.clone_from(&to);
                    }
                }
                Ok(IoOutput::Done)
            }
            IoOp::FsyncDir { .. } => Ok(IoOutput::Done),
            IoOp::Remove { path } => {
                self.files.remove(&path).ok_or_else(MemDisk::not_found)?;
                Ok(IoOutput::Done)
            }
            IoOp::Read { path, offset, len } => {
                let data = self.files.get(&path).ok_or_else(MemDisk::not_found)?;
                let start = (offset as usize).min(data.len());
                let end = start.saturating_add(len as usize).min(data.len());
                Ok(IoOutput::Data(Bytes::copy_from_slice(&data[start..end])))
            }
            IoOp::Stat { path } => Ok(IoOutput::Size(
                self.files.get(&path).map(|d| d.len() as u64),
            )),
            IoOp::ListDir { path } => {
                if !path.is_empty() && path != "." && !self.dirs.contains(&path) {
                    return Err(MemDisk::not_found());
                }
                let prefix = if path.is_empty() || path == "." {
                    String::new()
                } else {
                    format!("{path}/")
                };
                let names = self
                    .files
                    .keys()
                    .chain(self.dirs.iter())
                    .filter_map(|p| p.strip_prefix(prefix.as_str()))
                    .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                    .map(str::to_string)
                    .collect::<BTreeSet<_>>();
                Ok(IoOutput::Names(names.into_iter().collect()))
            }
            IoOp::CreateDir { path } => {
                self.dirs.insert(path);
                Ok(IoOutput::Done)
            }
        }
    }
}

impl Default for TestServer {
    fn default() -> Self {
        TestServer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_basic_commands() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["PING"]), Frame::Simple("PONG".into()));
        assert_eq!(t.cmd(&["SET", "k", "v"]), Frame::ok());
        assert_eq!(t.cmd(&["GET", "k"]), Frame::bulk("v"));
        assert_eq!(t.cmd(&["GET", "nope"]), Frame::Null);
        assert_eq!(
            t.cmd(&["NOSUCH", "a", "b"]),
            Frame::err("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
        );
        assert_eq!(
            t.cmd(&["GET"]),
            Frame::err("ERR wrong number of arguments for 'get' command")
        );
    }

    #[test]
    fn pipelined_replies_leave_in_one_send() {
        let mut t = TestServer::new();
        let c = t.connect();
        let mut req = encode_command(&[b"SET", b"a", b"1"]);
        req.extend(encode_command(&[b"GET", b"a"]));
        req.extend_from_slice(b"PING\r\n");
        t.server.handle(
            t.now,
            Event::Received {
                conn: c,
                data: &req,
            },
        );
        let mut sends = Vec::new();
        while let Some(e) = t.server.poll_effect() {
            if let Effect::Send { data, .. } = e {
                sends.push(data);
            }
        }
        assert_eq!(sends.len(), 1);
        assert_eq!(&sends[0][..], b"+OK\r\n$1\r\n1\r\n+PONG\r\n");
    }

    #[test]
    fn protocol_error_replies_then_closes() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.send_raw(c, b"*1\r\n$4\r\nPING\r\n*x\r\n");
        assert_eq!(
            t.take_output(c),
            b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
        );
        assert_eq!(t.closed, vec![c]);
    }
}
