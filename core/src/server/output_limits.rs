//! `client-output-buffer-limit` (Redis's checkClientOutputBufferLimits and
//! closeClientOnOutputBufferLimitReached): how much output a client holds, and closing
//! it asynchronously when it stays over a limit.
//!
//! A client's output is what its commands and publishes produced and the peer has not
//! taken yet: the bytes still in its reply buffer plus the bytes handed to the backend
//! in `Send`s and not yet reported written (`Event::Sent`). As in Redis, the first
//! 16 KiB — Redis's static per-client buffer — do not count; the rest is the figure
//! CLIENT LIST shows as `omem` and the limits compare against. As in Redis, a client
//! is checked whenever its output grows (under the class it had while it grew) and
//! again by serverCron (under its current class). The soft limit's
//! duration is measured on the monotonic clock, so a wall-clock step cannot close
//! (or spare) a client.

use super::Server;
use crate::client::Client;
use crate::config::ObufClass;
use crate::io::{ConnId, LogLevel, MonoNs};

/// Redis's PROTO_REPLY_CHUNK_BYTES: the static reply buffer, which omem leaves out,
/// and the size of each reply-list block.
pub const REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// Seconds of history INFO's client_recent_max_output_buffer covers (Redis's
/// CLIENTS_PEAK_MEM_USAGE_SLOTS).
const PEAK_SLOTS: usize = 8;

/// The largest output seen per second over the last `PEAK_SLOTS` seconds.
#[derive(Debug, Default)]
pub struct OutputPeaks {
    slots: [usize; PEAK_SLOTS],
}

impl OutputPeaks {
    fn slot(now: MonoNs) -> usize {
        (now.0 / 1_000_000_000) as usize % PEAK_SLOTS
    }

    fn record(&mut self, now: MonoNs, used: usize) {
        let s = &mut self.slots[Self::slot(now)];
        *s = (*s).max(used);
    }

    /// Forget the slot the clock enters next, so each slot only holds its own second
    /// (called from serverCron, as Redis's clientsCron does).
    pub fn rotate(&mut self, now: MonoNs) {
        self.slots[(Self::slot(now) + 1) % PEAK_SLOTS] = 0;
    }

    pub fn recent_max(&self) -> usize {
        self.slots.iter().copied().max().unwrap_or(0)
    }
}

impl Client {
    /// Output produced for this client and not yet taken by the peer.
    pub fn pending_output(&self) -> usize {
        self.reply.len() + self.unsent_bytes
    }

    /// Output memory as Redis's getClientOutputBufferMemoryUsage counts it: what does
    /// not fit the static 16 KiB buffer (CLIENT LIST `omem`).
    pub fn output_memory(&self) -> usize {
        self.pending_output().saturating_sub(REPLY_CHUNK_BYTES)
    }

    /// Blocks of Redis's reply list the output would take (CLIENT LIST `oll`).
    pub fn output_blocks(&self) -> usize {
        self.output_memory().div_ceil(REPLY_CHUNK_BYTES)
    }

    /// The class whose limits apply (Redis's getClientType; masters count as normal,
    /// and replicas do not exist yet).
    pub fn obuf_class(&self) -> ObufClass {
        if self.is_replica {
            ObufClass::Replica
        } else if self.is_pubsub() {
            ObufClass::Pubsub
        } else {
            ObufClass::Normal
        }
    }
}

impl Server {
    /// Check `conn` against its class's limits after its output grew, and schedule it
    /// to close if it is over the hard limit, or over the soft one for longer than the
    /// soft seconds. Returns true if the client is (now) being closed.
    pub(crate) fn enforce_output_limits(&mut self, conn: ConnId) -> bool {
        let Some(class) = self.clients.get(&conn).map(Client::obuf_class) else {
            return false;
        };
        self.enforce_output_limits_as(conn, class)
    }

    /// `enforce_output_limits` under the limits of `class` (the class the client had
    /// while its output grew).
    pub(crate) fn enforce_output_limits_as(&mut self, conn: ConnId, class: ObufClass) -> bool {
        self.check_output_limits(conn, class, false)
    }

    /// serverCron's pass (Redis's clientsCron): every client holding output is checked
    /// under its current class, so one whose output grew under another class (a
    /// SUBSCRIBE with many channels) or sat still over the soft limit is caught too.
    pub(crate) fn output_limits_cron(&mut self) {
        let mut holding: Vec<(u64, ConnId)> = self
            .clients
            .iter()
            .filter(|(_, c)| c.output_memory() > 0 && !c.close_asap)
            .map(|(conn, c)| (c.id, *conn))
            .collect();
        // In id order, so the log lines of one tick come out the same on every run.
        holding.sort_unstable();
        for (_, conn) in holding {
            let class = self.clients[&conn].obuf_class();
            self.check_output_limits(conn, class, true);
        }
    }

    /// The check itself; `from_cron` picks Redis's log line for a client freed at
    /// once (from clientsCron) rather than scheduled.
    fn check_output_limits(&mut self, conn: ConnId, class: ObufClass, from_cron: bool) -> bool {
        let now = self.now.mono;
        let Some(c) = self.clients.get_mut(&conn) else {
            return false;
        };
        if c.close_asap {
            return true;
        }
        let used = c.output_memory();
        // Redis only looks when the reply list holds something; until then the soft
        // limit's clock is left as it was.
        if used == 0 {
            return false;
        }
        self.output_peaks.record(now, used);
        let limit = self.config.client_obuf_limits[class as usize];
        let used = used as u64;
        let hard = limit.hard_bytes != 0 && used >= limit.hard_bytes;
        let mut soft = limit.soft_bytes != 0 && used >= limit.soft_bytes;
        if soft {
            match c.obuf_soft_since {
                None => {
                    c.obuf_soft_since = Some(now);
                    soft = false;
                }
                Some(since) => {
                    if now.secs_since(since) <= limit.soft_seconds.max(0) as u64 {
                        soft = false;
                    }
                }
            }
        } else {
            c.obuf_soft_since = None;
        }
        if !(soft || hard) {
            return false;
        }
        let info = crate::cmd::connection::client_info_line(self, &self.clients[&conn], None);
        let what = if from_cron {
            "closed"
        } else {
            "scheduled to be closed ASAP"
        };
        self.log(
            LogLevel::Warning,
            format!("Client {info} {what} for overcoming of output buffer limits."),
        );
        self.close_client_asap(conn);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::REPLY_CHUNK_BYTES;
    use crate::testing::{encode_command, Frame, TestServer};

    #[test]
    fn peaks_cover_the_last_eight_seconds() {
        let mut p = super::OutputPeaks::default();
        let sec = |s: u64| crate::io::MonoNs(s * 1_000_000_000);
        p.record(sec(10), 500);
        p.record(sec(11), 200);
        assert_eq!(p.recent_max(), 500);
        for s in 11..=16 {
            p.rotate(sec(s));
        }
        assert_eq!(p.recent_max(), 500, "second 10 is still within the window");
        p.rotate(sec(17));
        assert_eq!(p.recent_max(), 200, "second 17 reuses second 10's slot");
        p.rotate(sec(18));
        assert_eq!(p.recent_max(), 0);
    }

    #[test]
    fn normal_clients_are_unlimited_by_default() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.stall(c);
        let big = "x".repeat(1 << 20);
        assert_eq!(t.cmd_on(c, &["SET", "k", &big]), Frame::ok());
        for _ in 0..40 {
            t.send_raw(c, &encode_command(&[b"GET", b"k"]));
        }
        assert!(t.closed.is_empty());
        // Every byte sent and not reported written counts, past the first 16 KiB.
        let one_get = format!("${}\r\n", big.len()).len() + big.len() + 2;
        let held = "+OK\r\n".len() + 40 * one_get;
        assert_eq!(t.server.clients[&c].pending_output(), held);
        assert_eq!(t.server.clients[&c].output_memory(), held - 16 * 1024);
        t.unstall(c);
        assert_eq!(t.server.clients[&c].pending_output(), 0);
    }

    fn subscriber(t: &mut TestServer) -> crate::io::ConnId {
        let c = t.connect();
        t.send_raw(c, &encode_command(&[b"SUBSCRIBE", b"ch"]));
        t.take_output(c);
        c
    }

    fn publish_kb(t: &mut TestServer, publisher: crate::io::ConnId, kb: usize) -> Frame {
        let msg = "m".repeat(kb * 1024);
        t.cmd_on(publisher, &["PUBLISH", "ch", &msg])
    }

    /// The end of both of Redis's lines: "scheduled to be closed ASAP" when output
    /// grows, "closed" from serverCron.
    const CLOSE_LINE: &str = "for overcoming of output buffer limits.";

    #[test]
    fn a_subscriber_over_the_hard_limit_is_closed() {
        let mut t = TestServer::new();
        t.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 100kb 0 0",
        ]);
        let publisher = t.connect();
        let slow = subscriber(&mut t);
        let fast = subscriber(&mut t);
        t.stall(slow);
        let mut closed_after = None;
        for i in 1..=20 {
            // The closing subscriber is still counted as a receiver, as in Redis.
            assert_eq!(publish_kb(&mut t, publisher, 10), Frame::Int(2));
            if t.closed.contains(&slow) {
                closed_after = Some(i);
                break;
            }
        }
        // 16 KiB are free, the next 100 KiB are the limit: the 12th message crosses.
        assert_eq!(closed_after, Some(12));
        assert!(t.server.client(slow).is_none());
        assert!(
            t.server.client(fast).is_some(),
            "a reading subscriber stays"
        );
        let line = t
            .logs
            .iter()
            .find(|l| l.contains(CLOSE_LINE))
            .expect("logged");
        assert!(
            line.starts_with(&format!("Client id={} addr=", slow.0)),
            "{line}"
        );
        assert!(
            line.ends_with(" scheduled to be closed ASAP for overcoming of output buffer limits.")
        );
        assert!(
            line.contains(" flags=P ") && line.contains(" sub=1 "),
            "{line}"
        );
        assert_eq!(publish_kb(&mut t, publisher, 1), Frame::Int(1));
        assert_eq!(
            t.cmd_on(publisher, &["PUBSUB", "NUMSUB", "ch"]),
            Frame::Array(vec![Frame::bulk("ch"), Frame::Int(1)])
        );
    }

    #[test]
    fn the_soft_limit_needs_its_seconds_on_the_monotonic_clock() {
        let mut t = TestServer::new();
        t.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 50kb 2",
        ]);
        let publisher = t.connect();
        let slow = subscriber(&mut t);
        t.stall(slow);
        for _ in 0..7 {
            publish_kb(&mut t, publisher, 10);
        }
        assert!(
            t.server.clients[&slow].obuf_soft_since.is_some(),
            "over soft"
        );
        // A wall-clock step changes nothing: the soft limit's time is monotonic.
        t.jump_wall_ms(3_600_000);
        publish_kb(&mut t, publisher, 1);
        t.advance_ms(2000);
        publish_kb(&mut t, publisher, 1);
        assert!(
            !t.closed.contains(&slow),
            "exactly the soft seconds is not more"
        );
        t.advance_ms(1000);
        publish_kb(&mut t, publisher, 1);
        assert!(t.closed.contains(&slow));
        assert!(t.logs.iter().any(|l| l.contains(CLOSE_LINE)));
    }

    #[test]
    fn dropping_below_the_soft_limit_restarts_its_clock() {
        let mut t = TestServer::new();
        t.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 50kb 1",
        ]);
        let publisher = t.connect();
        let slow = subscriber(&mut t);
        t.stall(slow);
        for _ in 0..7 {
            publish_kb(&mut t, publisher, 10);
        }
        assert!(t.server.clients[&slow].obuf_soft_since.is_some());
        t.advance_ms(1500);
        // It reads everything, then falls behind again: a fresh start.
        t.unstall(slow);
        publish_kb(&mut t, publisher, 20);
        assert!(t.server.clients[&slow].obuf_soft_since.is_none());
        t.stall(slow);
        for _ in 0..7 {
            publish_kb(&mut t, publisher, 10);
        }
        assert!(!t.closed.contains(&slow));
        t.advance_ms(1100);
        publish_kb(&mut t, publisher, 1);
        assert!(!t.closed.contains(&slow), "one second has not passed since");
        t.advance_ms(1000);
        publish_kb(&mut t, publisher, 1);
        assert!(t.closed.contains(&slow));
    }

    #[test]
    fn a_normal_client_limit_drops_the_reply_and_closes() {
        let mut t = TestServer::new();
        let admin = t.connect();
        t.cmd_on(
            admin,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 64kb 0 0",
            ],
        );
        t.cmd_on(admin, &["SET", "big", &"v".repeat(100 * 1024)]);
        t.cmd_on(admin, &["SET", "small", "v"]);
        let c = t.connect();
        assert_eq!(t.cmd_on(c, &["GET", "small"]), Frame::bulk("v"));
        t.send_raw(c, &encode_command(&[b"GET", b"big"]));
        assert!(
            t.take_output(c).is_empty(),
            "Redis frees the client with its output"
        );
        assert_eq!(t.closed, vec![c]);
        assert!(t
            .logs
            .iter()
            .any(|l| l.contains(CLOSE_LINE) && l.contains(" cmd=get ")));
        // A subscriber is judged by the pubsub class, not the normal one.
        let sub = subscriber(&mut t);
        t.stall(sub);
        for _ in 0..10 {
            publish_kb(&mut t, admin, 10);
        }
        assert!(t.server.client(sub).is_some());
    }

    #[test]
    fn omem_and_recent_max_show_what_the_peer_has_not_taken() {
        let mut t = TestServer::new();
        let publisher = t.connect();
        let slow = subscriber(&mut t);
        t.stall(slow);
        for _ in 0..4 {
            publish_kb(&mut t, publisher, 10);
        }
        let frame_len = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$10240\r\n".len() + 10240 + 2;
        let omem = 4 * frame_len - REPLY_CHUNK_BYTES;
        let list = t
            .cmd_on(publisher, &["CLIENT", "LIST", "ID", &slow.0.to_string()])
            .as_str();
        assert!(
            list.contains(&format!(" obl=16384 oll=2 omem={omem} ")),
            "{list}"
        );
        let info = t.cmd_on(publisher, &["INFO", "clients"]).as_str();
        assert!(
            info.contains(&format!("client_recent_max_output_buffer:{omem}\r\n")),
            "{info}"
        );
        t.unstall(slow);
        let list = t
            .cmd_on(publisher, &["CLIENT", "LIST", "ID", &slow.0.to_string()])
            .as_str();
        assert!(list.contains(" obl=0 oll=0 omem=0 "), "{list}");
        // The peak is remembered for the seconds after.
        let info = t.cmd_on(publisher, &["INFO", "clients"]).as_str();
        assert!(info.contains(&format!("client_recent_max_output_buffer:{omem}\r\n")));
        // Cron forgets one second per second.
        for _ in 0..9 {
            t.advance_ms(1000);
        }
        let info = t.cmd_on(publisher, &["INFO", "clients"]).as_str();
        assert!(
            info.contains("client_recent_max_output_buffer:0\r\n"),
            "{info}"
        );
    }

    #[test]
    fn cron_catches_output_that_grew_under_another_class() {
        let mut t = TestServer::new();
        let admin = t.connect();
        t.cmd_on(
            admin,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "pubsub 1kb 0 0",
            ],
        );
        let c = t.connect();
        t.stall(c);
        let names: Vec<String> = (0..2000).map(|i| format!("channel-{i}")).collect();
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend(names.iter().map(|n| n.as_bytes()));
        t.send_raw(c, &encode_command(&args));
        // The confirmations grew while it was a normal client: not closed yet.
        assert!(t.server.clients[&c].output_memory() > 1024);
        assert!(t.closed.is_empty());
        // serverCron looks at it as the subscriber it now is.
        t.advance_ms(200);
        assert_eq!(t.closed, vec![c]);
        let line = t
            .logs
            .iter()
            .find(|l| l.ends_with(" closed for overcoming of output buffer limits."))
            .expect("logged");
        assert!(
            line.contains(" flags=P ") && line.contains(" sub=2000 "),
            "{line}"
        );
        assert_eq!(
            t.cmd_on(admin, &["PUBSUB", "NUMSUB", "channel-0"]),
            Frame::Array(vec![Frame::bulk("channel-0"), Frame::Int(0)])
        );
    }
}
