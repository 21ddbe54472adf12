//! The boundary between the core and a backend: the events it consumes, the effects it
//! produces, the two clocks, and the read-only probe onto the host.

use bytes::Bytes;
use std::net::SocketAddr;

/// A connection handle chosen by the backend; unique for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

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
