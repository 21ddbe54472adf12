//! The record of a run as the server saw it: every input the event loop handed the
//! core, stamped with its [`Now`], and every effect the core produced, in order.
//!
//! The server is single-threaded, so this order is the order of truth: a model checker
//! replays the `Received` bytes of each connection at their `Now` and must predict the
//! `Send` bytes; a determinism test hashes the whole trace.

use bytes::Bytes;
use cinnabar_core::server::footprint::Footprint;
use cinnabar_core::{
    ConnId, Effect, Event, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel, Now, Server, Signal,
};
use cinnabar_io_real::driver::Observer;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEntry {
    Accepted {
        now: Now,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    },
    Received {
        now: Now,
        conn: ConnId,
        data: Bytes,
    },
    Closed {
        now: Now,
        conn: ConnId,
    },
    Signal {
        now: Now,
        signal: Signal,
    },
    /// The loop called `handle_timeout` (serverCron, active expiry).
    Timeout {
        now: Now,
    },
    /// A disk operation finished (`Event::IoDone`).
    IoDone {
        now: Now,
        id: IoId,
        result: Result<IoOutput, IoError>,
    },
    /// An outbound connection the core asked for is up (`Event::Connected`).
    Connected {
        now: Now,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    },
    /// An outbound connection could not be made (`Event::ConnectFailed`).
    ConnectFailed {
        now: Now,
        conn: ConnId,
        error: String,
    },
    /// Effects carry the time of the input after which they were drained.
    Send {
        now: Now,
        conn: ConnId,
        data: Bytes,
    },
    Close {
        now: Now,
        conn: ConnId,
    },
    Log {
        now: Now,
        level: LogLevel,
        message: String,
    },
    Exit {
        now: Now,
        code: i32,
    },
    /// The core asked for a disk operation (`Effect::Io`).
    Io {
        now: Now,
        id: IoId,
        queue: IoQueue,
        op: IoOp,
    },
    /// The core asked for an outbound connection (`Effect::Connect`).
    Connect {
        now: Now,
        conn: ConnId,
        host: String,
        port: u16,
    },
}

impl TraceEntry {
    pub fn now(&self) -> Now {
        match self {
            TraceEntry::Accepted { now, .. }
            | TraceEntry::Received { now, .. }
            | TraceEntry::Closed { now, .. }
            | TraceEntry::Signal { now, .. }
            | TraceEntry::Timeout { now }
            | TraceEntry::IoDone { now, .. }
            | TraceEntry::Connected { now, .. }
            | TraceEntry::ConnectFailed { now, .. }
            | TraceEntry::Connect { now, .. }
            | TraceEntry::Io { now, .. }
            | TraceEntry::Send { now, .. }
            | TraceEntry::Close { now, .. }
            | TraceEntry::Log { now, .. }
            | TraceEntry::Exit { now, .. } => *now,
        }
    }

    /// Is this an input to the core (as opposed to an effect)?
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            TraceEntry::Accepted { .. }
                | TraceEntry::Received { .. }
                | TraceEntry::Closed { .. }
                | TraceEntry::Signal { .. }
                | TraceEntry::Timeout { .. }
                | TraceEntry::IoDone { .. }
                | TraceEntry::Connected { .. }
                | TraceEntry::ConnectFailed { .. }
        )
    }
}

/// The backend finished writing `bytes` of a connection's output (`Event::Sent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub now: Now,
    pub conn: ConnId,
    pub bytes: usize,
}

/// A whole run's trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    pub entries: Vec<TraceEntry>,
    /// Write completions, kept beside `entries`: they only feed the core's output
    /// accounting (they produce no effects), so a checker replaying requests and
    /// replies can ignore them, while the digest still covers them.
    pub written: Vec<Written>,
}

impl Trace {
    /// A 64-bit FNV-1a digest of every entry, its kind, its times and its bytes. Two
    /// runs with equal digests handled the same inputs at the same instants and
    /// produced the same effects.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv::default();
        h.u64(self.entries.len() as u64);
        for e in &self.entries {
            let now = e.now();
            h.u64(now.mono.0);
            h.u64(now.wall.0 as u64);
            match e {
                TraceEntry::Accepted {
                    conn, peer, local, ..
                } => {
                    h.u8(1);
                    h.u64(conn.0);
                    h.bytes(peer.to_string().as_bytes());
                    h.bytes(local.to_string().as_bytes());
                }
                TraceEntry::Received { conn, data, .. } => {
                    h.u8(2);
                    h.u64(conn.0);
                    h.bytes(data);
                }
                TraceEntry::Closed { conn, .. } => {
                    h.u8(3);
                    h.u64(conn.0);
                }
                TraceEntry::Signal { signal, .. } => {
                    h.u8(4);
                    h.u8(*signal as u8);
                }
                TraceEntry::Timeout { .. } => h.u8(5),
                TraceEntry::Send { conn, data, .. } => {
                    h.u8(6);
                    h.u64(conn.0);
                    h.bytes(data);
                }
                TraceEntry::Close { conn, .. } => {
                    h.u8(7);
                    h.u64(conn.0);
                }
                TraceEntry::Log { level, message, .. } => {
                    h.u8(8);
                    h.u8(*level as u8);
                    h.bytes(message.as_bytes());
                }
                TraceEntry::Exit { code, .. } => {
                    h.u8(9);
                    h.u64(*code as u64);
                }
                TraceEntry::IoDone { id, result, .. } => {
                    h.u8(10);
                    h.u64(id.0);
                    // Debug output is a stable, complete rendering of these plain enums.
                    h.bytes(format!("{result:?}").as_bytes());
                }
                TraceEntry::Io { id, queue, op, .. } => {
                    h.u8(11);
                    h.u64(id.0);
                    h.bytes(format!("{queue:?} {op:?}").as_bytes());
                }
                TraceEntry::Connected {
                    conn, peer, local, ..
                } => {
                    h.u8(12);
                    h.u64(conn.0);
                    h.bytes(peer.to_string().as_bytes());
                    h.bytes(local.to_string().as_bytes());
                }
                TraceEntry::ConnectFailed { conn, error, .. } => {
                    h.u8(13);
                    h.u64(conn.0);
                    h.bytes(error.as_bytes());
                }
                TraceEntry::Connect {
                    conn, host, port, ..
                } => {
                    h.u8(14);
                    h.u64(conn.0);
                    h.bytes(host.as_bytes());
                    h.u64(*port as u64);
                }
            }
        }
        h.u64(self.written.len() as u64);
        for w in &self.written {
            h.u64(w.now.mono.0);
            h.u64(w.now.wall.0 as u64);
            h.u64(w.conn.0);
            h.u64(w.bytes as u64);
        }
        h.0
    }

    /// The bytes the server sent on `conn`, concatenated in order.
    pub fn sent_to(&self, conn: ConnId) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            if let TraceEntry::Send { conn: c, data, .. } = e {
                if *c == conn {
                    out.extend_from_slice(data);
                }
            }
        }
        out
    }
}

/// 64-bit FNV-1a, spelled out so that digests never depend on a library's choice of
/// hash or on a per-process seed.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn u8(&mut self, b: u8) {
        self.0 ^= b as u64;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }

    fn u64(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.u8(b);
        }
    }

    /// Length-prefixed, so that adjacent fields cannot run into each other.
    fn bytes(&mut self, data: &[u8]) {
        self.u64(data.len() as u64);
        for &b in data {
            self.u8(b);
        }
    }
}

/// The observer a simulated server runs with: appends to a [`Trace`] shared with the
/// test (cloning a `Recorder` shares the trace).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    trace: Rc<RefCell<Trace>>,
    last_input: Now,
    footprint: Rc<RefCell<FootprintWatch>>,
}

/// What the memory-growth checker saw of a server at rest (after every drain of
/// effects): the peak of each size, and the leaks found, each with the
/// monotonic time it was first seen.
#[derive(Debug, Clone, Default)]
pub struct FootprintWatch {
    pub checks: u64,
    pub peak: Footprint,
    pub leaks: Vec<(Now, String)>,
}

/// Leaks kept per run: the first ones say what went wrong.
const LEAKS_KEPT: usize = 8;

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Trace {
        self.trace.borrow().clone()
    }

    /// Take the trace, leaving an empty one.
    pub fn take(&self) -> Trace {
        std::mem::take(&mut *self.trace.borrow_mut())
    }

    /// What the memory-growth checker saw so far.
    pub fn footprint(&self) -> FootprintWatch {
        self.footprint.borrow().clone()
    }

    fn push(&mut self, entry: TraceEntry) {
        self.trace.borrow_mut().entries.push(entry);
    }
}

impl Observer for Recorder {
    fn on_drained(&mut self, server: &Server) {
        let f = server.footprint();
        let mut w = self.footprint.borrow_mut();
        w.checks += 1;
        w.peak.max_sizes(&f);
        for orphan in f.orphans {
            if w.leaks.len() < LEAKS_KEPT && !w.leaks.iter().any(|(_, l)| *l == orphan) {
                w.leaks.push((server.now, orphan));
            }
        }
    }

    fn on_event(&mut self, now: Now, event: &Event<'_>) {
        assert!(
            now.mono >= self.last_input.mono,
            "the loop stamped an input with an earlier monotonic time"
        );
        let entry = match *event {
            Event::Accepted {
                conn, peer, local, ..
            } => TraceEntry::Accepted {
                now,
                conn,
                peer,
                local,
            },
            Event::Received { conn, data } => {
                debug_assert!(!data.is_empty(), "an empty read is a close, not data");
                TraceEntry::Received {
                    now,
                    conn,
                    data: Bytes::copy_from_slice(data),
                }
            }
            Event::Closed { conn } => TraceEntry::Closed { now, conn },
            Event::Connected { conn, peer, local } => TraceEntry::Connected {
                now,
                conn,
                peer,
                local,
            },
            Event::ConnectFailed { conn, ref error } => TraceEntry::ConnectFailed {
                now,
                conn,
                error: error.clone(),
            },
            Event::Signal(signal) => TraceEntry::Signal { now, signal },
            Event::IoDone { id, ref result } => TraceEntry::IoDone {
                now,
                id,
                result: result.clone(),
            },
            Event::Sent { conn, bytes } => {
                // Not an entry: see `Trace::written`. Effects keep the time of the
                // last entry input, as before write completions were reported.
                self.trace
                    .borrow_mut()
                    .written
                    .push(Written { now, conn, bytes });
                return;
            }
        };
        self.last_input = now;
        self.push(entry);
    }

    fn on_timeout(&mut self, now: Now) {
        assert!(now.mono >= self.last_input.mono);
        self.last_input = now;
        self.push(TraceEntry::Timeout { now });
    }

    fn on_effect(&mut self, effect: &Effect) {
        let now = self.last_input;
        let entry = match effect {
            Effect::Send { conn, data } => TraceEntry::Send {
                now,
                conn: *conn,
                data: data.clone(),
            },
            // To a replaying checker an abortive close is a close; what it dropped was
            // never written, so the peer cannot have seen it.
            Effect::Close { conn } | Effect::Abort { conn } => {
                TraceEntry::Close { now, conn: *conn }
            }
            Effect::Log { level, message } => TraceEntry::Log {
                now,
                level: *level,
                message: message.clone(),
            },
            Effect::Exit { code } => TraceEntry::Exit { now, code: *code },
            Effect::Io { id, queue, op } => TraceEntry::Io {
                now,
                id: *id,
                queue: *queue,
                op: op.clone(),
            },
            Effect::Connect { conn, host, port } => TraceEntry::Connect {
                now,
                conn: *conn,
                host: host.clone(),
                port: *port,
            },
        };
        self.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cinnabar_core::{MonoNs, UnixUs};

    fn at(ms: u64) -> Now {
        Now {
            mono: MonoNs(ms * 1_000_000),
            wall: UnixUs(ms as i64 * 1000),
        }
    }

    #[test]
    fn digest_sees_times_bytes_and_order() {
        let mut r = Recorder::new();
        r.on_event(
            at(1),
            &Event::Received {
                conn: ConnId(1),
                data: b"PING\r\n",
            },
        );
        r.on_effect(&Effect::Send {
            conn: ConnId(1),
            data: Bytes::from_static(b"+PONG\r\n"),
        });
        let base = r.snapshot();
        assert_eq!(base.digest(), base.clone().digest());
        assert_eq!(base.sent_to(ConnId(1)), b"+PONG\r\n");
        assert!(base.sent_to(ConnId(2)).is_empty());

        let mut later = base.clone();
        if let TraceEntry::Received { now, .. } = &mut later.entries[0] {
            now.wall = UnixUs(2000);
        }
        assert_ne!(base.digest(), later.digest());

        let mut swapped = base.clone();
        swapped.entries.reverse();
        assert_ne!(base.digest(), swapped.digest());

        let mut other_bytes = base.clone();
        if let TraceEntry::Send { data, .. } = &mut other_bytes.entries[1] {
            *data = Bytes::from_static(b"+PONH\r\n");
        }
        assert_ne!(base.digest(), other_bytes.digest());
    }

    #[test]
    fn effects_carry_the_time_of_the_last_input() {
        let mut r = Recorder::new();
        r.on_timeout(at(5));
        r.on_effect(&Effect::Close { conn: ConnId(3) });
        let t = r.take();
        assert_eq!(t.entries[1].now(), at(5));
        assert!(t.entries[0].is_input() && !t.entries[1].is_input());
        assert!(r.snapshot().entries.is_empty());
    }
}
