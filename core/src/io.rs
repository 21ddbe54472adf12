//! The boundary between the core and a backend: the events it consumes, the effects it
//! produces, the two clocks, the disk contract, and the read-only probe onto the host.
//!
//! # The disk contract
//!
//! The core never touches a file. It asks for disk work with [`Effect::Io`] and hears
//! the outcome as [`Event::IoDone`] carrying the same [`IoId`] (chosen by the core,
//! unique for the life of the process). Every operation is put on one of three
//! [`IoQueue`]s: operations on one queue run one at a time, in the order they were
//! issued, each starting only after the previous one completed (its `IoDone` may still
//! be in flight); the queues run independently of each other and of the network, and
//! the event loop never waits for any of them. An operation's effect on the disk is
//! therefore ordered after everything issued earlier on its queue, and unordered
//! against the other queues.
//!
//! Files are named by [`FileId`]s the core chooses in [`IoOp::Open`]; an open file may
//! be used from any queue (AOF writes on one, its fsync on another, as Redis's
//! background fsync does), and stays open until [`IoOp::Close`]. Each open file has a
//! write position: `Open` puts it at 0 (`Truncate`) or at the end (`Append`), each
//! `Write` advances it by what it wrote, `Truncate` moves it to the new length. Paths
//! are relative to the backend's working directory or absolute; the core joins `dir`
//! itself (Redis chdirs into it instead). Nothing is durable until `Fsync` (file data)
//! and `FsyncDir` (names created, renamed or removed in that directory) complete.
//!
//! # Outbound connections
//!
//! The core opens a connection with [`Effect::Connect`], naming it with an id that
//! has [`ConnId::OUTBOUND_BIT`]; the backend answers [`Event::Connected`] or
//! [`Event::ConnectFailed`], and a connected id behaves like an accepted one.

use bytes::Bytes;
use std::net::SocketAddr;

/// A connection handle, unique for the life of the process. The backend numbers the
/// connections it accepts; the core numbers the ones it opens ([`Effect::Connect`])
/// with the top bit set ([`ConnId::OUTBOUND_BIT`]), so the two never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// Set in every id the core picks for an outbound connection, never in an
    /// accepted connection's id.
    pub const OUTBOUND_BIT: u64 = 1 << 63;

    /// The id of the core's `n`th outbound connection.
    pub fn outbound(n: u64) -> ConnId {
        debug_assert!(n & Self::OUTBOUND_BIT == 0);
        ConnId(n | Self::OUTBOUND_BIT)
    }

    /// Opened by the core (`Effect::Connect`) rather than accepted.
    pub fn is_outbound(self) -> bool {
        self.0 & Self::OUTBOUND_BIT != 0
    }
}

/// Monotonic time in nanoseconds since an origin chosen by the backend. Never decreases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MonoNs(pub u64);

impl MonoNs {
    pub const NS_PER_MS: u64 = 1_000_000;

    pub fn add_ms(self, ms: u64) -> MonoNs {
        MonoNs(self.0.saturating_add(ms.saturating_mul(Self::NS_PER_MS)))
    }

    pub fn add_ns(self, ns: u64) -> MonoNs {
        MonoNs(self.0.saturating_add(ns))
    }

    pub fn ms_since(self, earlier: MonoNs) -> u64 {
        self.0.saturating_sub(earlier.0) / Self::NS_PER_MS
    }

    pub fn secs_since(self, earlier: MonoNs) -> u64 {
        self.0.saturating_sub(earlier.0) / 1_000_000_000
    }
}

/// Wall-clock time in microseconds since the Unix epoch. May jump backwards or forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct UnixUs(pub i64);

impl UnixUs {
    pub fn ms(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
}

/// The two clocks, read by the backend once per input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    pub mono: MonoNs,
    pub wall: UnixUs,
}

/// A disk operation, named by the core ([`Effect::Io`] → [`Event::IoDone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IoId(pub u64);

/// An open file, named by the core when it opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u64);

/// Where an operation waits its turn. One queue runs one operation at a time, in issue
/// order; queues never wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IoQueue {
    /// The append-only file: its writes and fsyncs.
    Aof,
    /// Snapshots: RDB saves and loads.
    Rdb,
    /// Everything else (directory checks, listings, cleanup).
    Misc,
}

/// How [`IoOp::Open`] opens a file for writing. Both create a missing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Empty the file; writes start at 0.
    Truncate,
    /// Keep the contents; writes start at the end.
    Append,
}

/// One disk operation. See the module documentation for ordering and durability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoOp {
    /// Open (creating if missing) `path` for writing as `file`. → `Done`.
    Open {
        file: FileId,
        path: String,
        mode: OpenMode,
    },
    /// Write all of `data` at the file's position. → `Written(data.len())`; on failure
    /// the error's `written` says how much of it reached the file.
    Write { file: FileId, data: Bytes },
    /// fsync(2) the file's data and metadata. → `Done`.
    Fsync { file: FileId },
    /// Set the file's length (and its write position) to `len`. → `Done`.
    Truncate { file: FileId, len: u64 },
    /// Close the file; `file` may be reused afterwards. → `Done`.
    Close { file: FileId },
    /// rename(2): atomically replace `to` with `from`. → `Done`.
    Rename { from: String, to: String },
    /// fsync(2) a directory, making names created, renamed or removed in it durable.
    /// → `Done`.
    FsyncDir { path: String },
    /// unlink(2). → `Done`.
    Remove { path: String },
    /// Read up to `len` bytes of `path` from `offset`; fewer (maybe none) at the end of
    /// the file. → `Data`.
    Read { path: String, offset: u64, len: u64 },
    /// The size of `path`. → `Size(None)` if nothing is there.
    Stat { path: String },
    /// The names in a directory (not `.` and `..`), sorted bytewise. → `Names`.
    ListDir { path: String },
    /// mkdir(2), succeeding if a directory is already there. → `Done`.
    CreateDir { path: String },
}

/// What a successful [`IoOp`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoOutput {
    Done,
    Written(usize),
    Data(Bytes),
    Size(Option<u64>),
    Names(Vec<String>),
}

/// What went wrong, as far as the core needs to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoErrorKind {
    /// ENOENT.
    NotFound,
    /// ENOSPC (and EDQUOT).
    NoSpace,
    Other,
}

/// A failed [`IoOp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoError {
    pub kind: IoErrorKind,
    /// strerror(3)'s text ("No space left on device"), as Redis puts it in log lines
    /// and error replies.
    pub message: String,
    /// Of a failed `Write`: the bytes that did reach the file before it failed (the
    /// position moved by as much). Zero for every other operation.
    pub written: usize,
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Something that happened outside the core.
#[derive(Debug)]
pub enum Event<'a> {
    /// A client connected. `fd` is only reported back in CLIENT LIST.
    Accepted {
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
        fd: i64,
    },
    /// The outbound connection `conn` asked for with [`Effect::Connect`] is
    /// established; from now on it is like an accepted one (Received, Sent, Closed
    /// events; Send, Close, Abort effects).
    Connected {
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    },
    /// The outbound connection `conn` could not be established (`error` is the
    /// reason as strerror(3) puts it, e.g. "Connection refused"); the id is dead.
    ConnectFailed { conn: ConnId, error: String },
    /// Bytes arrived on a connection, in order.
    Received { conn: ConnId, data: &'a [u8] },
    /// The peer closed the connection or it failed; the backend has dropped it.
    Closed { conn: ConnId },
    /// The backend finished writing `bytes` more bytes of this connection's `Send`s
    /// to the socket (the kernel took them). Bytes handed over in a `Send` and not yet
    /// reported here are the client's unsent output: the core counts them against
    /// `client-output-buffer-limit`, so a peer that stops reading is cut off instead
    /// of queueing output in the backend without bound. A backend reports every byte
    /// exactly once, in order, and may report a write in several parts.
    Sent { conn: ConnId, bytes: usize },
    /// The process received a signal asking it to stop.
    Signal(Signal),
    /// The disk operation `id` (an earlier [`Effect::Io`]) finished.
    IoDone {
        id: IoId,
        result: Result<IoOutput, IoError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

/// Something the core asks the backend to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write these bytes to the connection, after everything sent before.
    Send { conn: ConnId, data: Bytes },
    /// Close the connection once every `Send` before this one has been written.
    Close { conn: ConnId },
    /// Close the connection now, discarding whatever of earlier `Send`s is not yet
    /// written (Redis's freeClient: CLIENT KILL, timeouts, buffer limits). The backend
    /// must not wait for a peer that may never read again.
    Abort { conn: ConnId },
    /// Write one line to the log (the backend adds pid, role and timestamp).
    Log { level: LogLevel, message: String },
    /// Stop the process with this exit code, after carrying out every earlier effect.
    Exit { code: i32 },
    /// Run a disk operation on `queue`; report it with `Event::IoDone { id, .. }`.
    Io { id: IoId, queue: IoQueue, op: IoOp },
    /// Open a TCP connection to `host` (a name or an address) and `port`, named
    /// `conn` (an id with [`ConnId::OUTBOUND_BIT`], never reused). Reported with
    /// `Event::Connected` or `Event::ConnectFailed`. `Close` or `Abort` before that
    /// gives up the attempt, and then neither event comes.
    Connect {
        conn: ConnId,
        host: String,
        port: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

impl LogLevel {
    /// The marker Redis puts before each log line.
    pub fn marker(self) -> char {
        match self {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        }
    }
}

/// Static facts about the process hosting the core, shown by INFO server.
#[derive(Debug, Clone, Default)]
pub struct HostInfo {
    pub process_id: u32,
    pub os: String,
    pub arch_bits: u32,
    pub executable: String,
    pub config_file: String,
    pub run_id: Option<String>,
    /// Physical memory of the machine in bytes (INFO total_system_memory).
    pub total_system_memory: u64,
    /// Name of the allocator (INFO mem_allocator).
    pub mem_allocator: String,
}

/// CPU time the process has used, in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuUsage {
    pub sys_us: u64,
    pub user_us: u64,
}

/// Read-only observations of the host. Used for reporting only — never to decide
/// anything that changes state — so a simulated backend may answer with constants.
pub trait HostProbe {
    /// Bytes currently allocated by the process (INFO used_memory).
    fn used_memory(&self) -> u64;
    /// Resident set size in bytes (INFO used_memory_rss).
    fn rss_bytes(&self) -> u64;
    /// CPU time consumed so far.
    fn cpu_usage(&self) -> CpuUsage;
    /// A monotonic reading in nanoseconds, for measuring how long a command ran.
    fn elapsed_ns(&self) -> u64;
}

/// A probe for tests and simulation: deterministic and free of the host.
#[derive(Debug, Default, Clone)]
pub struct NullProbe;

impl HostProbe for NullProbe {
    fn used_memory(&self) -> u64 {
        0
    }
    fn rss_bytes(&self) -> u64 {
        0
    }
    fn cpu_usage(&self) -> CpuUsage {
        CpuUsage::default()
    }
    fn elapsed_ns(&self) -> u64 {
        0
    }
}
