//! Replication, master side (Redis 7.0's replication.c): the replication id and
//! offset, the backlog, the replicas and their states, full resynchronization from
//! a background save on disk, partial resynchronization from the backlog, the live
//! stream (the same propagated ops the AOF gets, SELECT on database change), PINGs
//! and `\n` keep-alives from the 1 Hz replication cron, replica timeouts and the
//! INFO/ROLE views. The commands (SYNC, PSYNC, REPLCONF, ROLE) are in
//! `cmd/replication.rs`.
//!
//! Bytes for a replica never go through its reply buffer: like Redis's connWrite of
//! `+FULLRESYNC`/`+CONTINUE` and sendBulkToSlave, they are handed to the backend
//! directly (`Effect::Send`, counted in the client's unsent bytes), in the order the
//! protocol needs them — the PSYNC answer, the RDB payload, then the stream buffered
//! since the snapshot was taken.
//!
//! The snapshot is the fork-less BGSAVE of `server/persist.rs` (point in time at its
//! start, which is the offset `+FULLRESYNC` names); when it is on disk, each waiting
//! replica reads the file in chunks on the `Rdb` queue and sends it as
//! `$<len>\r\n<bytes>`, reading the next chunk only while less than
//! `BULK_UNSENT_MAX` of it waits in the backend, so a slow replica does not make the
//! whole file sit in memory.

use super::propagate::{encode_argv, FeedEncoder, PropOp, TARGET_REPL};
use super::Server;
use crate::buggify::Point;
use crate::io::{ConnId, Effect, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel, MonoNs};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

/// Redis's CONFIG_REPL_BACKLOG_MIN_SIZE: the backlog is never smaller.
const BACKLOG_MIN_BYTES: i64 = 16 * 1024;
/// Bytes of the RDB file read per disk operation.
const BULK_CHUNK_BYTES: u64 = 1024 * 1024;
/// A replica's next chunk is read only while less than this is still unsent.
const BULK_UNSENT_MAX: usize = 4 * 1024 * 1024;
/// How often the bulk transfer checks whether the replica took its data.
const BULK_POLL_NS: u64 = 1_000_000;
/// The replication cron runs once a second (replicationCron).
const REPL_CRON_MS: u64 = 1000;
/// Redis's replid2 when there is no previous history.
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// Where a replica is in its synchronization (Redis's SLAVE_STATE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Needs a snapshot that has not started yet.
    WaitBgsaveStart,
    /// Got `+FULLRESYNC`; the snapshot is being written; its stream accumulates.
    WaitBgsaveEnd,
    /// The RDB file is being sent.
    SendBulk,
    /// Gets the live stream.
    Online,
}

impl ReplicaState {
    /// As INFO's slaveN lines name it (replstateToString).
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// The RDB file being sent to one replica.
#[derive(Debug)]
struct Bulk {
    path: String,
    /// The file's size, once the Stat answered.
    size: Option<u64>,
    /// Bytes read and sent so far.
    sent: u64,
    /// The read (or stat) in flight.
    pending: Option<IoId>,
}

/// One replica (the replication half of Redis's client struct for a slave).
#[derive(Debug)]
pub struct Replica {
    pub conn: ConnId,
    pub state: ReplicaState,
    /// REPLCONF listening-port.
    pub listening_port: i64,
    /// REPLCONF ip-address.
    pub announced_ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Came with SYNC (no `+FULLRESYNC`, no ACKs expected).
    pub pre_psync: bool,
    /// REPLCONF ACK's offset.
    pub ack_off: i64,
    /// When the last ACK came (monotonic: lag and timeouts ignore wall-clock jumps).
    pub ack_time: MonoNs,
    /// The offset `+FULLRESYNC` named.
    pub initial_offset: i64,
    /// Stream produced since the snapshot, held until the RDB payload is out.
    held: Vec<u8>,
    /// Stream for an online replica, sent before the next sleep.
    out: Vec<u8>,
    bulk: Option<Bulk>,
    /// Gets its snapshot streamed to its socket (diskless sync).
    diskless: bool,
    /// Online after a diskless transfer, but the stream waits for its first ACK,
    /// so that nothing follows the EOF mark before the replica found it.
    stream_on_ack: bool,
}

/// The backlog: the last `repl-backlog-size` bytes of the stream.
#[derive(Debug, Default)]
pub struct Backlog {
    buf: VecDeque<u8>,
    /// BUGGIFY's smaller backlog: at most this many bytes whatever the config says.
    cap: Option<usize>,
    /// The stream offset of `buf[0]` (repl_backlog_first_byte_offset).
    pub offset: i64,
}

impl Backlog {
    pub fn histlen(&self) -> i64 {
        self.buf.len() as i64
    }
}

/// The master side's state.
#[derive(Debug)]
pub struct Repl {
    pub replid2: String,
    pub second_replid_offset: i64,
    pub master_repl_offset: i64,
    pub backlog: Option<Backlog>,
    /// In the order they asked to sync (server.slaves).
    pub replicas: Vec<Replica>,
    /// The stream's selected database (server.slaveseldb).
    encoder: FeedEncoder,
    /// When the last replica went away (repl_no_slaves_since), for repl-backlog-ttl.
    no_replicas_since: MonoNs,
    next_cron: Option<MonoNs>,
    cron_loops: u64,
    /// Disk operations of bulk transfers: which replica each is for.
    io: BTreeMap<IoId, ConnId>,
    pub stat_sync_full: u64,
    pub stat_sync_partial_ok: u64,
    pub stat_sync_partial_err: u64,
    /// Stream bytes handed to replicas (INFO total_net_repl_output_bytes).
    pub net_repl_output_bytes: u64,
    /// A WAIT asked for ACKs: REPLCONF GETACK goes out before the next sleep
    /// (get_ack_from_slaves).
    pub get_ack: bool,
    /// The running diskless transfer's end mark.
    socket_mark: String,
}

impl Default for Repl {
    fn default() -> Repl {
        Repl {
            replid2: NO_REPLID.to_string(),
            second_replid_offset: -1,
            master_repl_offset: 0,
            backlog: None,
            replicas: Vec::new(),
            encoder: FeedEncoder::new(),
            no_replicas_since: MonoNs(0),
            next_cron: None,
            cron_loops: 0,
            io: BTreeMap::new(),
            stat_sync_full: 0,
            stat_sync_partial_ok: 0,
            stat_sync_partial_err: 0,
            net_repl_output_bytes: 0,
            get_ack: false,
            socket_mark: String::new(),
        }
    }
}

impl Repl {
    pub fn replica(&self, conn: ConnId) -> Option<&Replica> {
        self.replicas.iter().find(|r| r.conn == conn)
    }

    fn replica_mut(&mut self, conn: ConnId) -> Option<&mut Replica> {
        self.replicas.iter_mut().find(|r| r.conn == conn)
    }

    /// Is `id` a disk operation of a bulk transfer?
    pub fn owns_io(&self, id: IoId) -> bool {
        self.io.contains_key(&id)
    }

    /// The replication info a snapshot carries (rdbPopulateSaveInfo on a master):
    /// only while there is a backlog.
    pub fn rdb_info(&self) -> Option<(i64, i64)> {
        self.backlog.as_ref()?;
        let db = self.encoder.selected_db.map_or(0, |d| d as i64);
        Some((db, self.master_repl_offset))
    }
}

/// What REPLCONF was asked, parsed by the command.
pub enum ReplconfOpt {
    ListeningPort(i64),
    IpAddress(String),
    Capa(Vec<u8>),
}

impl Server {
    /// The name Redis gives a replica in its log lines (replicationGetSlaveName).
    pub fn replica_name(&self, conn: ConnId) -> String {
        let Some(c) = self.clients.get(&conn) else {
            return String::new();
        };
        let r = self.repl.replica(conn);
        let (ip, port) = match r {
            Some(r) => (
                r.announced_ip
                    .clone()
                    .unwrap_or_else(|| c.peer.ip().to_string()),
                r.listening_port,
            ),
            None => (
                c.repl_announced_ip
                    .clone()
                    .unwrap_or_else(|| c.peer.ip().to_string()),
                c.repl_listening_port,
            ),
        };
        let addr = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip
        };
        if port != 0 {
            format!("{addr}:{port}")
        } else {
            format!("{addr}:<unknown-replica-port>")
        }
    }

    /// changeReplicationId + clearReplicationId2: a new history (DEBUG
    /// CHANGE-REPL-ID); replicas of the old one can no longer continue.
    pub(crate) fn repl_change_id(&mut self) {
        self.replid = self.rng.hex40();
        self.repl.replid2 = NO_REPLID.to_string();
        self.repl.second_replid_offset = -1;
    }

    /// Hand bytes to a replica's connection now, ahead of anything buffered later.
    fn repl_send(&mut self, conn: ConnId, data: impl Into<Bytes>) {
        let data: Bytes = data.into();
        if data.is_empty() {
            return;
        }
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        if c.close_asap {
            return;
        }
        c.unsent_bytes += data.len();
        self.repl.net_repl_output_bytes += data.len() as u64;
        self.effects.push_back(Effect::Send { conn, data });
    }

    /// Ops released by an execution unit, into the backlog and to the replicas
    /// (replicationFeedSlaves). Called by `propagate_pending` in stream order.
    pub(crate) fn repl_feed(&mut self, ops: &[PropOp]) {
        // A replica feeds its sub-replicas its master's stream verbatim, never
        // its own propagation (replicationFeedSlaves returns on a replica).
        if self.is_replica() {
            return;
        }
        if self.repl.backlog.is_none() && self.repl.replicas.is_empty() {
            return;
        }
        let mut bytes = Vec::new();
        for op in ops.iter().filter(|op| op.target & TARGET_REPL != 0) {
            self.repl.encoder.feed(op, &mut bytes);
        }
        self.repl_feed_bytes(&bytes);
    }

    /// Append raw stream bytes: the backlog, the offset, every replica that takes
    /// the stream (not those waiting for a snapshot to start).
    fn repl_feed_bytes(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let size = self.config.repl_backlog_size.max(BACKLOG_MIN_BYTES) as usize;
        let repl = &mut self.repl;
        repl.master_repl_offset += bytes.len() as i64;
        if let Some(b) = repl.backlog.as_mut() {
            let size = b.cap.map_or(size, |c| c.min(size));
            b.buf.extend(bytes);
            if b.buf.len() > size {
                let drop = b.buf.len() - size;
                b.buf.drain(..drop);
                b.offset += drop as i64;
            }
            debug_assert_eq!(b.offset + b.histlen() - 1, repl.master_repl_offset);
        }
        for r in &mut repl.replicas {
            match r.state {
                ReplicaState::WaitBgsaveStart => {}
                ReplicaState::WaitBgsaveEnd | ReplicaState::SendBulk => {
                    r.held.extend_from_slice(bytes)
                }
                ReplicaState::Online => r.out.extend_from_slice(bytes),
            }
        }
        self.needs_before_sleep = true;
    }

    /// A command for the stream that names no database (PING, REPLCONF GETACK):
    /// no SELECT before it.
    fn repl_feed_command(&mut self, argv: &[&str]) {
        let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut bytes = Vec::new();
        encode_argv(&argv, &mut bytes);
        self.repl_feed_bytes(&bytes);
    }

    /// Before sleeping: stream bytes out to online replicas, and, with no AOF
    /// listening, the released ops dropped (they are in the backlog already).
    pub(crate) fn repl_before_sleep(&mut self) {
        self.serve_waiting_acks();
        if self.repl.get_ack {
            self.repl.get_ack = false;
            self.repl_feed_command(&["REPLCONF", "GETACK", "*"]);
        }
        if !self.propagation.wants(super::propagate::TARGET_AOF)
            && !self.propagation.stream().is_empty()
        {
            let _ = self.propagation.take_stream();
        }
        let mut sends = Vec::new();
        for r in &mut self.repl.replicas {
            if r.state == ReplicaState::Online && !r.stream_on_ack && !r.out.is_empty() {
                sends.push((r.conn, std::mem::take(&mut r.out)));
            }
        }
        for (conn, data) in sends {
            self.repl_send(conn, data);
            self.enforce_output_limits(conn);
        }
        // A replica is not supposed to cause replies (_addReplyToBufferOrList).
        let rogue: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .map(|r| r.conn)
            .filter(|conn| self.clients.get(conn).is_some_and(|c| !c.reply.is_empty()))
            .collect();
        for conn in rogue {
            let cmd = self
                .clients
                .get(&conn)
                .and_then(|c| c.last_command)
                .unwrap_or("<unknown>");
            self.log(
                LogLevel::Warning,
                format!("Replica generated a reply to command '{cmd}', disconnecting it"),
            );
            if let Some(c) = self.clients.get_mut(&conn) {
                c.reply.take_bytes();
            }
            self.close_client_asap(conn);
        }
    }

    /// REPLCONF's settings of the handshake, kept on the client until it syncs.
    pub(crate) fn replconf_set(&mut self, conn: ConnId, opt: ReplconfOpt) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        match opt {
            ReplconfOpt::ListeningPort(p) => c.repl_listening_port = p,
            ReplconfOpt::IpAddress(ip) => c.repl_announced_ip = Some(ip),
            ReplconfOpt::Capa(capa) => {
                if capa.eq_ignore_ascii_case(b"eof") {
                    c.repl_capa_eof = true;
                } else if capa.eq_ignore_ascii_case(b"psync2") {
                    c.repl_capa_psync2 = true;
                }
            }
        }
        // A replica that announces itself again updates what INFO shows.
        let (port, ip, eof, psync2) = (
            c.repl_listening_port,
            c.repl_announced_ip.clone(),
            c.repl_capa_eof,
            c.repl_capa_psync2,
        );
        if let Some(r) = self.repl.replica_mut(conn) {
            r.listening_port = port;
            r.announced_ip = ip;
            r.capa_eof = eof;
            r.capa_psync2 = psync2;
        }
    }

    /// REPLCONF ACK from a replica.
    pub(crate) fn replconf_ack(&mut self, conn: ConnId, offset: i64) {
        let now = self.now.mono;
        let mut first_after_diskless = false;
        if let Some(r) = self.repl.replica_mut(conn) {
            if offset > r.ack_off {
                r.ack_off = offset;
            }
            r.ack_time = now;
            first_after_diskless = std::mem::take(&mut r.stream_on_ack);
        }
        if first_after_diskless {
            // replicaStartCommandStream: the stream held since the snapshot goes.
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Notice,
                format!("Synchronization with replica {name} succeeded"),
            );
            self.needs_before_sleep = true;
        }
    }

    /// replicationCountAcksByOffset: online replicas that acknowledged `offset`.
    pub fn repl_count_acks(&self, offset: i64) -> usize {
        self.repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && r.ack_off >= offset)
            .count()
    }

    /// Online replicas whose last ACK is within min-replicas-max-lag (Redis's
    /// repl_good_slaves_count, counted when asked instead of once a second, so a
    /// CONFIG SET takes effect at once).
    pub fn repl_good_replicas(&self) -> i64 {
        let lag = self.config.min_replicas_max_lag.max(0) as u64;
        let now = self.now.mono;
        self.repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now.secs_since(r.ack_time) <= lag)
            .count() as i64
    }

    /// checkGoodReplicasStatus: may writes run (min-replicas-to-write)?
    pub fn repl_good_replicas_ok(&self) -> bool {
        // A replica's writes come from its master: no check (checkGoodReplicasStatus).
        if self.is_replica() {
            return true;
        }
        let (min, lag) = (
            self.config.min_replicas_to_write,
            self.config.min_replicas_max_lag,
        );
        min == 0 || lag == 0 || self.repl_good_replicas() >= min
    }

    pub fn is_replica_client(&self, conn: ConnId) -> bool {
        self.repl.replica(conn).is_some()
    }

    /// SYNC / PSYNC (syncCommand) once the command checked its arguments: `psync`
    /// is the requested (replid, offset), None for SYNC. Returns an error to reply,
    /// if any; otherwise the answer goes to the replica directly.
    pub(crate) fn repl_sync(
        &mut self,
        conn: ConnId,
        psync: Option<(Vec<u8>, i64)>,
    ) -> Result<(), String> {
        let name = self.replica_name(conn);
        self.log(
            LogLevel::Notice,
            format!("Replica {name} asks for synchronization"),
        );
        let pre_psync = psync.is_none();
        if let Some((replid, offset)) = &psync {
            if self.try_partial_resync(conn, replid, *offset) {
                self.repl.stat_sync_partial_ok += 1;
                return Ok(());
            }
            if replid.first() != Some(&b'?') {
                self.repl.stat_sync_partial_err += 1;
            }
        }
        self.repl.stat_sync_full += 1;
        let r = self.new_replica(conn, ReplicaState::WaitBgsaveStart, pre_psync);
        self.add_replica(r);
        if self.repl.replicas.len() == 1 && self.repl.backlog.is_none() {
            // A new history: new id, no previous one.
            self.repl_change_id();
            self.create_backlog();
            let (id1, id2) = (self.replid.clone(), self.repl.replid2.clone());
            self.log(
                LogLevel::Notice,
                format!(
                    "Replication backlog created, my new replication IDs are '{id1}' and '{id2}'"
                ),
            );
        }
        if self.socket_save_in_progress() {
            self.log(
                LogLevel::Notice,
                "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC",
            );
        } else if self.persist.bgsave_in_progress() {
            // Attach to the running snapshot if another replica already collects
            // the stream from its start and we can take what it takes.
            let capa = self
                .clients
                .get(&conn)
                .map(|c| (c.repl_capa_eof, c.repl_capa_psync2));
            let donor = self
                .repl
                .replicas
                .iter()
                .find(|r| r.state == ReplicaState::WaitBgsaveEnd && !r.diskless)
                .filter(|d| {
                    capa.is_some_and(|(eof, psync2)| {
                        (eof || !d.capa_eof) && (psync2 || !d.capa_psync2)
                    })
                })
                .map(|d| (d.held.clone(), d.initial_offset));
            match donor {
                Some((held, offset)) => {
                    if let Some(r) = self.repl.replica_mut(conn) {
                        r.held = held;
                    }
                    self.setup_full_resync(conn, offset);
                    self.log(LogLevel::Notice, "Waiting for end of BGSAVE for SYNC");
                }
                None => self.log(
                    LogLevel::Notice,
                    "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC",
                ),
            }
        } else if self.config.repl_diskless_sync
            && self.clients.get(&conn).is_some_and(|c| c.repl_capa_eof)
            && self.config.repl_diskless_sync_delay > 0
        {
            // The cron starts it, after waiting a little for more replicas.
            self.log(LogLevel::Notice, "Delay next BGSAVE for diskless SYNC");
        } else if self.persist.save_in_progress() || self.aof.rewrite_in_progress() {
            // Started by replicationStartPendingFork once the other one ends.
            self.log(
                LogLevel::Notice,
                "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed",
            );
        } else {
            self.start_bgsave_for_replication();
        }
        Ok(())
    }

    fn new_replica(&self, conn: ConnId, state: ReplicaState, pre_psync: bool) -> Replica {
        let c = self.clients.get(&conn);
        Replica {
            conn,
            state,
            listening_port: c.map_or(0, |c| c.repl_listening_port),
            announced_ip: c.and_then(|c| c.repl_announced_ip.clone()),
            capa_eof: c.is_some_and(|c| c.repl_capa_eof),
            capa_psync2: c.is_some_and(|c| c.repl_capa_psync2),
            pre_psync,
            ack_off: 0,
            ack_time: self.now.mono,
            initial_offset: 0,
            held: Vec::new(),
            out: Vec::new(),
            bulk: None,
            diskless: false,
            stream_on_ack: false,
        }
    }

    fn add_replica(&mut self, r: Replica) {
        if let Some(c) = self.clients.get_mut(&r.conn) {
            c.is_replica = true;
        }
        self.repl.replicas.push(r);
    }

    fn create_backlog(&mut self) {
        debug_assert!(self.repl.backlog.is_none());
        let cap = self
            .buggify
            .fire(Point::ShrinkBacklog)
            .then(|| 1024 + self.buggify.below(15 * 1024) as usize);
        self.repl.backlog = Some(Backlog {
            buf: VecDeque::new(),
            cap,
            offset: self.repl.master_repl_offset + 1,
        });
        self.propagation.active |= TARGET_REPL;
    }

    /// masterTryPartialResynchronization: `+CONTINUE` and the backlog from `offset`
    /// when the history and the backlog allow it.
    fn try_partial_resync(&mut self, conn: ConnId, replid: &[u8], offset: i64) -> bool {
        let replid = String::from_utf8_lossy(replid).into_owned();
        // Everything the decision below reads, at debug level (Redis has no such
        // line; its wording is borrowed from the mismatch and [PSYNC] lines): what
        // a checker needs to decide on its own whether the request was coverable.
        if self.config.loglevel <= LogLevel::Debug {
            let name = self.replica_name(conn);
            let backlog = match &self.repl.backlog {
                Some(b) => format!("first byte {}, history len {}", b.offset, b.histlen()),
                None => "none".to_string(),
            };
            let msg = format!(
                "[PSYNC] Replica {name} asked for '{replid}' offset {offset}, my replication IDs are '{}' and '{}', second ID up to {}, master offset {}, backlog {backlog}",
                self.replid,
                self.repl.replid2,
                self.repl.second_replid_offset,
                self.repl.master_repl_offset
            );
            self.log(LogLevel::Debug, msg);
        }
        let ours = replid.eq_ignore_ascii_case(&self.replid);
        let previous = replid.eq_ignore_ascii_case(&self.repl.replid2);
        if !ours && (!previous || offset > self.repl.second_replid_offset) {
            if !replid.starts_with('?') {
                if !ours && !previous {
                    let msg = format!(
                        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{replid}', my replication IDs are '{}' and '{}')",
                        self.replid, self.repl.replid2
                    );
                    self.log(LogLevel::Notice, msg);
                } else {
                    let msg = format!(
                        "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}",
                        self.repl.second_replid_offset
                    );
                    self.log(LogLevel::Notice, msg);
                }
            } else {
                let name = self.replica_name(conn);
                self.log(
                    LogLevel::Notice,
                    format!("Full resync requested by replica {name}"),
                );
            }
            return false;
        }
        let covered = self
            .repl
            .backlog
            .as_ref()
            .is_some_and(|b| offset >= b.offset && offset <= b.offset + b.histlen());
        if !covered {
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Notice,
                format!("Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset})."),
            );
            if offset > self.repl.master_repl_offset {
                self.log(
                    LogLevel::Warning,
                    format!("Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."),
                );
            }
            return false;
        }
        let mut r = self.new_replica(conn, ReplicaState::Online, false);
        r.ack_time = self.now.mono;
        let psync2 = r.capa_psync2;
        self.add_replica(r);
        let answer = if psync2 {
            format!("+CONTINUE {}\r\n", self.replid)
        } else {
            "+CONTINUE\r\n".to_string()
        };
        self.repl_send(conn, answer.into_bytes());
        let b = self.repl.backlog.as_ref().expect("covered");
        let (first, histlen) = (b.offset, b.histlen());
        let skip = (offset - first) as usize;
        #[allow(unused_mut)]
        let mut tail: Vec<u8> = b.buf.range(skip..).copied().collect();
        // Injected bug: the stream starts one write past the offset asked for.
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::PsyncStaleOffset) {
            tail.drain(..injected_first_write_end(&tail));
        }
        if self.config.loglevel <= LogLevel::Debug {
            // addReplyReplicationBacklog's debug lines.
            let size = self.config.repl_backlog_size.max(BACKLOG_MIN_BYTES);
            self.log(
                LogLevel::Debug,
                format!("[PSYNC] Replica request offset: {offset}"),
            );
            if histlen == 0 {
                self.log(LogLevel::Debug, "[PSYNC] Backlog history len is zero");
            } else {
                self.log(LogLevel::Debug, format!("[PSYNC] Backlog size: {size}"));
                self.log(LogLevel::Debug, format!("[PSYNC] First byte: {first}"));
                self.log(LogLevel::Debug, format!("[PSYNC] History len: {histlen}"));
                self.log(LogLevel::Debug, format!("[PSYNC] Skipping: {skip}"));
            }
        }
        let len = tail.len();
        self.repl_send(conn, tail);
        let name = self.replica_name(conn);
        self.log(
            LogLevel::Notice,
            format!("Partial resynchronization request from {name} accepted. Sending {len} bytes of backlog starting from offset {offset}."),
        );
        true
    }

    /// startBgsaveForReplication (disk target): start a snapshot and tell every
    /// replica waiting for one where its stream begins.
    fn start_bgsave_for_replication(&mut self) {
        let waiting: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsaveStart)
            .map(|r| r.conn)
            .collect();
        // The socket target only when every replica taking it can read `$EOF:`.
        let mincapa_eof = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsaveStart)
            .all(|r| r.capa_eof);
        let sockets = self.config.repl_diskless_sync && mincapa_eof;
        self.log(
            LogLevel::Notice,
            format!(
                "Starting BGSAVE for SYNC with target: {}",
                if sockets { "replicas sockets" } else { "disk" }
            ),
        );
        if sockets && self.start_socket_save().is_ok() {
            let offset = self.repl.master_repl_offset;
            let mark = self.rng.hex40();
            for conn in waiting {
                self.setup_full_resync(conn, offset);
                if let Some(r) = self.repl.replica_mut(conn) {
                    r.diskless = true;
                }
                self.repl_send(conn, format!("$EOF:{mark}\r\n").into_bytes());
            }
            self.repl.socket_mark = mark;
            self.snapshot_produce();
            return;
        }
        if self
            .start_save(super::persist::SaveKind::Background)
            .is_err()
        {
            self.log(LogLevel::Warning, "BGSAVE for replication failed");
            for conn in waiting {
                self.repl.replicas.retain(|r| r.conn != conn);
                let data = b"-ERR BGSAVE failed, replication can't continue\r\n".to_vec();
                self.repl_send(conn, data);
                if let Some(c) = self.clients.get_mut(&conn) {
                    c.close_after_reply = true;
                }
                self.mark_pending_write(conn);
            }
            return;
        }
        let offset = self.repl.master_repl_offset;
        for conn in waiting {
            self.setup_full_resync(conn, offset);
        }
    }

    /// replicationSetupSlaveForFullResync.
    fn setup_full_resync(&mut self, conn: ConnId, offset: i64) {
        let Some(r) = self.repl.replica_mut(conn) else {
            return;
        };
        r.initial_offset = offset;
        r.state = ReplicaState::WaitBgsaveEnd;
        let pre_psync = r.pre_psync;
        // The stream re-selects its database for the new replica.
        self.repl.encoder.selected_db = None;
        if !pre_psync {
            let line = format!("+FULLRESYNC {} {offset}\r\n", self.replid);
            self.repl_send(conn, line.into_bytes());
        }
    }

    /// The replicas a diskless transfer streams to.
    fn socket_targets(&self) -> impl Iterator<Item = &Replica> {
        self.repl
            .replicas
            .iter()
            .filter(|r| r.diskless && r.state == ReplicaState::WaitBgsaveEnd)
    }

    /// A chunk of the diskless snapshot, to every replica taking it.
    pub(crate) fn repl_socket_send(&mut self, data: Bytes) {
        let conns: Vec<ConnId> = self.socket_targets().map(|r| r.conn).collect();
        for conn in conns {
            self.repl_send(conn, data.clone());
        }
    }

    /// May the diskless snapshot produce more: every replica taking it has less
    /// than `BULK_UNSENT_MAX` waiting (the slowest one paces the transfer).
    pub(crate) fn repl_socket_room(&self) -> bool {
        self.socket_targets().all(|r| {
            self.clients
                .get(&r.conn)
                .is_none_or(|c| c.unsent_bytes < BULK_UNSENT_MAX)
        })
    }

    /// The diskless snapshot ended (updateSlavesWaitingBgsave, socket target):
    /// the mark, then online — the stream waits for the replica's first ACK.
    pub(crate) fn repl_socket_save_done(&mut self, ok: bool) {
        let conns: Vec<ConnId> = self.socket_targets().map(|r| r.conn).collect();
        let mark = std::mem::take(&mut self.repl.socket_mark);
        for conn in conns {
            if !ok {
                self.log(
                    LogLevel::Warning,
                    "SYNC failed. BGSAVE child returned an error",
                );
                self.close_client_asap(conn);
                continue;
            }
            self.repl_send(conn, mark.clone().into_bytes());
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Notice,
                format!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"),
            );
            let now = self.now.mono;
            if let Some(r) = self.repl.replica_mut(conn) {
                r.state = ReplicaState::Online;
                r.stream_on_ack = true;
                r.diskless = false;
                r.ack_time = now;
                r.out = std::mem::take(&mut r.held);
            }
        }
        self.repl_start_pending_fork();
    }

    /// shouldStartChildReplication: replicas wait for a snapshot and none runs;
    /// a diskless one waits `repl-diskless-sync-delay` seconds of their idleness
    /// for more to come, or until `repl-diskless-sync-max-replicas` came.
    fn repl_should_start_sync(&self) -> bool {
        if self.persist.save_in_progress() || self.aof.rewrite_in_progress() {
            return false;
        }
        let waiting: Vec<&Replica> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsaveStart)
            .collect();
        if waiting.is_empty() {
            return false;
        }
        if !self.config.repl_diskless_sync {
            return true;
        }
        let max = self.config.repl_diskless_sync_max_replicas;
        if max > 0 && waiting.len() as i64 >= max {
            return true;
        }
        let now = self.now.mono;
        let max_idle = waiting
            .iter()
            .filter_map(|r| self.clients.get(&r.conn))
            .map(|c| now.secs_since(c.last_interaction))
            .max()
            .unwrap_or(0);
        max_idle >= self.config.repl_diskless_sync_delay.max(0) as u64
    }

    /// A background save ended (updateSlavesWaitingBgsave, disk target).
    pub(crate) fn repl_bgsave_done(&mut self, ok: bool) {
        let waiting: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsaveEnd)
            .map(|r| r.conn)
            .collect();
        let path = super::persist::in_dir(&self.config.dir, &self.config.dbfilename);
        for conn in waiting {
            if !ok {
                self.log(
                    LogLevel::Warning,
                    "SYNC failed. BGSAVE child returned an error",
                );
                self.close_client_asap(conn);
                continue;
            }
            let id = self.issue_io(IoQueue::Rdb, IoOp::Stat { path: path.clone() });
            self.repl.io.insert(id, conn);
            if let Some(r) = self.repl.replica_mut(conn) {
                r.state = ReplicaState::SendBulk;
                r.bulk = Some(Bulk {
                    path: path.clone(),
                    size: None,
                    sent: 0,
                    pending: Some(id),
                });
            }
        }
        // Replicas that came while another snapshot ran get theirs now.
        self.repl_start_pending_fork();
    }

    /// replicationStartPendingFork: replicas waiting for a snapshot to start get
    /// one once no other background save or AOF rewrite holds it and, for a
    /// diskless one, its delay passed (called when one ends and from the cron).
    pub(crate) fn repl_start_pending_fork(&mut self) {
        if self.repl_should_start_sync() {
            self.start_bgsave_for_replication();
        }
    }

    /// The running snapshot was given up (FLUSHALL kills Redis's saving child):
    /// the replicas waiting for it are dropped, as after a failed save; they come
    /// back for a new one.
    pub(crate) fn repl_bgsave_abandoned(&mut self) {
        let waiting: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsaveEnd)
            .map(|r| r.conn)
            .collect();
        for conn in waiting {
            self.log(
                LogLevel::Warning,
                "SYNC failed. BGSAVE child returned an error",
            );
            self.close_client_asap(conn);
        }
    }

    /// A completion of a bulk transfer's Stat or Read.
    pub(crate) fn repl_io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        let Some(conn) = self.repl.io.remove(&id) else {
            return;
        };
        let Some(r) = self.repl.replica_mut(conn) else {
            return;
        };
        let Some(bulk) = r.bulk.as_mut().filter(|b| b.pending == Some(id)) else {
            return;
        };
        bulk.pending = None;
        match result {
            Ok(IoOutput::Size(Some(size))) => {
                bulk.size = Some(size);
                self.repl_send(conn, format!("${size}\r\n").into_bytes());
            }
            Ok(IoOutput::Data(data)) if !data.is_empty() => {
                bulk.sent += data.len() as u64;
                let c = self.clients.get_mut(&conn);
                if let Some(c) = c {
                    if !c.close_asap {
                        c.unsent_bytes += data.len();
                        self.repl.net_repl_output_bytes += data.len() as u64;
                        self.effects.push_back(Effect::Send { conn, data });
                    }
                }
            }
            other => {
                let why = match other {
                    Err(e) => e.message,
                    _ => "the RDB file changed while it was sent".to_string(),
                };
                self.log(
                    LogLevel::Warning,
                    format!("SYNC failed. Can't open/stat DB after BGSAVE: {why}"),
                );
                self.close_client_asap(conn);
                return;
            }
        }
        self.repl_pump_bulk(conn);
    }

    /// Read the next chunk for `conn` if it took what it was sent; once all of the
    /// file is out, put it online.
    fn repl_pump_bulk(&mut self, conn: ConnId) {
        let unsent = self.clients.get(&conn).map_or(0, |c| c.unsent_bytes);
        let Some(r) = self.repl.replica_mut(conn) else {
            return;
        };
        let Some(bulk) = r.bulk.as_mut() else {
            return;
        };
        let Some(size) = bulk.size else {
            return;
        };
        if bulk.pending.is_some() {
            return;
        }
        if bulk.sent >= size {
            // replicaPutOnline, then the stream gathered meanwhile.
            r.bulk = None;
            r.state = ReplicaState::Online;
            r.ack_time = self.now.mono;
            let held = std::mem::take(&mut r.held);
            r.out = held;
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Notice,
                format!("Synchronization with replica {name} succeeded"),
            );
            self.needs_before_sleep = true;
            return;
        }
        if unsent >= BULK_UNSENT_MAX {
            return;
        }
        let mut len = BULK_CHUNK_BYTES.min(size - bulk.sent);
        if self.buggify.fire(Point::OddChunk) {
            len = 1 + self.buggify.below(len);
        }
        let op = IoOp::Read {
            path: bulk.path.clone(),
            offset: bulk.sent,
            len,
        };
        let id = self.issue_io(IoQueue::Rdb, op);
        if let Some(b) = self.repl.replica_mut(conn).and_then(|r| r.bulk.as_mut()) {
            b.pending = Some(id);
        }
        self.repl.io.insert(id, conn);
    }

    /// Bulk transfers held back by a replica that has not taken its data yet.
    fn repl_bulk_waiting(&self) -> bool {
        self.repl.replicas.iter().any(|r| {
            r.bulk
                .as_ref()
                .is_some_and(|b| b.pending.is_none() && b.size.is_some())
        })
    }

    /// The replication timer's next deadline: the cron, or a quick look at
    /// transfers waiting for their replica to read.
    pub(crate) fn repl_next_deadline(&self) -> Option<MonoNs> {
        if self.repl_bulk_waiting() {
            return Some(self.now.mono.add_ns(BULK_POLL_NS));
        }
        self.repl.next_cron
    }

    /// Timers: resume transfers and run the 1 Hz cron when due.
    pub(crate) fn repl_timer(&mut self) {
        if self.repl_bulk_waiting() {
            let conns: Vec<ConnId> = self.repl.replicas.iter().map(|r| r.conn).collect();
            for conn in conns {
                self.repl_pump_bulk(conn);
            }
        }
        let now = self.now.mono;
        match self.repl.next_cron {
            None => self.repl.next_cron = Some(now.add_ms(REPL_CRON_MS)),
            Some(at) if now >= at => {
                self.repl.next_cron = Some(now.add_ms(REPL_CRON_MS));
                self.replication_cron();
            }
            Some(_) => {}
        }
    }

    /// replicationCron, master half.
    fn replication_cron(&mut self) {
        let loops = self.repl.cron_loops;
        self.repl.cron_loops += 1;
        self.replica_cron();
        let period = self.config.repl_ping_replica_period.max(1) as u64;
        if loops.is_multiple_of(period) && !self.repl.replicas.is_empty() && !self.is_replica() {
            self.repl_feed_command(&["PING"]);
        }
        // Replicas waiting for their snapshot get a newline now and then so they do
        // not time out (the disk target only).
        let presync: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::WaitBgsaveStart
                    || (r.state == ReplicaState::WaitBgsaveEnd && !r.diskless)
            })
            .map(|r| r.conn)
            .collect();
        for conn in presync {
            self.repl_send(conn, b"\n".to_vec());
        }
        let timeout = self.config.repl_timeout.max(1) as u64;
        let now = self.now.mono;
        let timed_out: Vec<ConnId> = self
            .repl
            .replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::Online
                    && !r.pre_psync
                    && now.secs_since(r.ack_time) > timeout
            })
            .map(|r| r.conn)
            .collect();
        for conn in timed_out {
            let name = self.replica_name(conn);
            self.log(
                LogLevel::Warning,
                format!("Disconnecting timedout replica (streaming sync): {name}"),
            );
            self.close_client_asap(conn);
        }
        let ttl = self.config.repl_backlog_ttl;
        if self.repl.replicas.is_empty()
            && ttl > 0
            && self.repl.backlog.is_some()
            && now.secs_since(self.repl.no_replicas_since) > ttl as u64
        {
            self.repl_change_id();
            self.repl.backlog = None;
            self.propagation.active &= !TARGET_REPL;
            self.log(
                LogLevel::Notice,
                format!(
                    "Replication backlog freed after {ttl} seconds without connected replicas."
                ),
            );
        }
        self.repl_start_pending_fork();
    }

    /// rdbPopulateSaveInfo: the stream database and offset a snapshot records — a
    /// replica's are its master's (connected or cached), so that it can continue
    /// the stream after a restart.
    pub(crate) fn rdb_repl_info(&self) -> Option<(i64, i64)> {
        if self.is_replica() {
            let m = self
                .replica
                .master
                .as_ref()
                .or(self.replica.cached.as_ref())?;
            return Some((m.db as i64, self.repl.master_repl_offset));
        }
        self.repl.rdb_info()
    }

    /// disconnectSlaves: every replica goes (it must resync with our new history).
    pub(crate) fn disconnect_replicas(&mut self) {
        let conns: Vec<ConnId> = self.repl.replicas.iter().map(|r| r.conn).collect();
        for conn in conns {
            self.close_client_asap(conn);
        }
    }

    /// The stream re-selects its database before its next command.
    pub(crate) fn repl_reset_stream_db(&mut self) {
        self.repl.encoder.selected_db = None;
    }

    /// repl_no_slaves_since restarts now (the backlog's TTL counts from here).
    pub(crate) fn repl_note_no_replicas(&mut self) {
        self.repl.no_replicas_since = self.now.mono;
    }

    /// loadDataFromDisk on a master: the history the RDB names (repl-id, repl-offset,
    /// repl-stream-db) becomes the previous one (replid2 up to repl-offset + 1) and
    /// the offset continues from repl-offset, with a backlog holding the DELs of the
    /// keys the load dropped as expired, so that the replicas of the server as it
    /// was can partially resync with it. Without that information no backlog is
    /// kept (Redis creates one before loading and frees it then).
    pub(crate) fn repl_restore_history_from_rdb(
        &mut self,
        replid: Option<String>,
        offset: Option<i64>,
        stream_db: Option<i64>,
        expired: Vec<(usize, Vec<u8>)>,
    ) {
        debug_assert!(!self.is_replica());
        let (Some(replid), Some(offset), Some(db)) = (replid, offset, stream_db) else {
            return;
        };
        if offset < 0 || db < 0 || self.repl.backlog.is_some() {
            return;
        }
        self.repl.replid2 = replid;
        self.repl.second_replid_offset = offset + 1;
        self.repl.master_repl_offset = offset;
        self.create_backlog();
        self.repl.no_replicas_since = self.now.mono;
        // Each DEL on its own, as rdbLoad feeds them (no MULTI around them).
        self.propagate_unwrapped(|s| {
            for (db, key) in expired {
                s.propagate_deletion(db, &key);
            }
        });
    }

    /// freeReplicationBacklog.
    pub(crate) fn repl_free_backlog(&mut self) {
        self.repl.backlog = None;
        self.propagation.active &= !TARGET_REPL;
    }

    /// A replica keeps a backlog whether or not it has sub-replicas, to serve
    /// partial resyncs once promoted.
    pub(crate) fn repl_ensure_backlog(&mut self) {
        if self.repl.backlog.is_none() {
            self.create_backlog();
        }
    }

    /// The master's stream as this replica applied it, to its own backlog and
    /// sub-replicas (replicationFeedStreamFromMasterStream).
    pub(crate) fn repl_feed_from_master(&mut self, bytes: &[u8]) {
        self.repl_feed_bytes(bytes);
    }

    /// A client went away: if it was a replica, forget it (freeClient's part).
    pub(crate) fn repl_client_removed(&mut self, conn: ConnId) {
        let Some(pos) = self.repl.replicas.iter().position(|r| r.conn == conn) else {
            return;
        };
        let name = self.replica_name(conn);
        // An operation of its bulk transfer still in flight stays in `repl.io`:
        // its completion must come back to `repl_io_done`, which finds nobody,
        // not go to the snapshot's routing, which owns no such operation.
        self.repl.replicas.remove(pos);
        self.log(
            LogLevel::Notice,
            format!("Connection with replica {name} lost."),
        );
        if self.repl.replicas.is_empty() {
            self.repl.no_replicas_since = self.now.mono;
        }
    }

    /// An outbound connection came up; the master side opens none, so this one is
    /// not wanted.
    pub(crate) fn repl_connected(&mut self, conn: ConnId) {
        self.effects.push_back(Effect::Abort { conn });
    }

    /// An outbound connection failed; nothing waits for it on the master side.
    pub(crate) fn repl_connect_failed(&mut self, _conn: ConnId, _error: &str) {}

    /// INFO replication.
    pub(crate) fn info_replication(&self, out: &mut String) {
        let repl = &self.repl;
        if self.is_replica() {
            out.push_str("role:slave\r\n");
            self.info_replica(out);
        } else {
            out.push_str("role:master\r\n");
        }
        let _ = write!(out, "connected_slaves:{}\r\n", repl.replicas.len());
        if self.config.min_replicas_to_write != 0 && self.config.min_replicas_max_lag != 0 {
            let _ = write!(
                out,
                "min_slaves_good_slaves:{}\r\n",
                self.repl_good_replicas()
            );
        }
        let now = self.now.mono;
        for (i, r) in repl.replicas.iter().enumerate() {
            let Some(c) = self.clients.get(&r.conn) else {
                continue;
            };
            let ip = r
                .announced_ip
                .clone()
                .unwrap_or_else(|| c.peer.ip().to_string());
            let lag = if r.state == ReplicaState::Online {
                now.secs_since(r.ack_time)
            } else {
                0
            };
            let _ = write!(
                out,
                "slave{i}:ip={ip},port={},state={},offset={},lag={lag}\r\n",
                r.listening_port,
                r.state.name(),
                r.ack_off
            );
        }
        let (active, first, histlen) = match &repl.backlog {
            Some(b) => (1, b.offset, b.histlen()),
            None => (0, 0, 0),
        };
        let _ = write!(
            out,
            "master_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{active}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{first}\r\nrepl_backlog_histlen:{histlen}\r\n",
            self.replid,
            repl.replid2,
            repl.master_repl_offset,
            repl.second_replid_offset,
            self.config.repl_backlog_size.max(BACKLOG_MIN_BYTES),
        );
    }
}

/// For the injected `PsyncStaleOffset` bug: where the first command of `stream`
/// that changes data ends (past the PINGs, SELECTs and REPLCONFs before it), so
/// that skipping to there loses exactly one write; 0 if it holds none.
#[cfg(feature = "injected-bugs")]
fn injected_first_write_end(stream: &[u8]) -> usize {
    use crate::resp::parse::{Parse, ParseLimits, RequestParser};
    let limits = ParseLimits {
        proto_max_bulk_len: i64::MAX,
        auth_required: false,
    };
    let mut at = 0;
    while at < stream.len() {
        let mut parser = RequestParser::new();
        let rest = &stream[at..];
        match parser.parse(rest, limits) {
            Parse::Ready { consumed, inline } => {
                at += consumed;
                let name = parser.args(rest, inline).get(0).to_ascii_uppercase();
                if !matches!(&name[..], b"PING" | b"SELECT" | b"REPLCONF") {
                    return at;
                }
            }
            Parse::Empty { consumed } => at += consumed,
            Parse::Incomplete | Parse::Error(_) => break,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use crate::io::{ConnId, LogLevel};
    use crate::testing::{Frame, TestServer};
    use crate::Config;

    /// Disk-target full resyncs, at once (the tests read `$<len>` payloads).
    fn disk_sync() -> Config {
        Config {
            repl_diskless_sync: false,
            ..Default::default()
        }
    }

    fn info(t: &mut TestServer, section: &str, field: &str) -> String {
        let text = t.cmd(&["INFO", section]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {text}"))
            .to_string()
    }

    /// Split `+FULLRESYNC <id> <off>\r\n$<len>\r\n<rdb>` off the front of `out`.
    fn take_full_resync(out: &mut Vec<u8>) -> (String, i64, Vec<u8>) {
        let text = String::from_utf8_lossy(out).into_owned();
        let line_end = text.find("\r\n").expect("a status line");
        let words: Vec<&str> = text[..line_end].split(' ').collect();
        assert_eq!(words[0], "+FULLRESYNC", "{text:?}");
        let (id, off) = (words[1].to_string(), words[2].parse().unwrap());
        let rest = &out[line_end + 2..];
        assert_eq!(rest[0], b'$');
        let len_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let len: usize = std::str::from_utf8(&rest[1..len_end])
            .unwrap()
            .parse()
            .unwrap();
        let rdb = rest[len_end + 2..len_end + 2 + len].to_vec();
        let used = line_end + 2 + len_end + 2 + len;
        out.drain(..used);
        (id, off, rdb)
    }

    fn replica(t: &mut TestServer, port: &str) -> (ConnId, String, i64) {
        // `cmd`'s connection is never the replica.
        t.default_conn();
        let r = t.connect();
        assert_eq!(
            t.cmd_on(r, &["REPLCONF", "listening-port", port]),
            Frame::ok()
        );
        assert_eq!(
            t.cmd_on(r, &["REPLCONF", "capa", "eof", "capa", "psync2"]),
            Frame::ok()
        );
        t.send_raw(r, b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
        t.fire_timers();
        let mut out = t.take_output(r);
        let (id, off, rdb) = take_full_resync(&mut out);
        assert!(rdb.starts_with(b"REDIS0010"));
        assert!(out.is_empty(), "{out:?}");
        (r, id, off)
    }

    fn set_cmd(key: &str, value: &str) -> Vec<u8> {
        format!(
            "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n",
            key.len(),
            value.len()
        )
        .into_bytes()
    }

    #[test]
    fn full_resync_sends_the_snapshot_then_the_stream() {
        let mut t = TestServer::with_config(disk_sync());
        t.cmd(&["SET", "before", "1"]);
        let (r, id, off) = replica(&mut t, "7777");
        assert_eq!(off, 0);
        assert_eq!(info(&mut t, "replication", "master_replid"), id);
        t.cmd(&["SET", "x", "1"]);
        let mut want = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".to_vec();
        want.extend(set_cmd("x", "1"));
        assert_eq!(t.take_output(r), want);
        assert_eq!(info(&mut t, "stats", "sync_full"), "1");
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "1");
        // Replicas are not clients in INFO clients.
        assert_eq!(info(&mut t, "clients", "connected_clients"), "1");
        let slave0 = info(&mut t, "replication", "slave0");
        assert!(
            slave0.contains(",port=7777,state=online,offset=0,lag=0"),
            "{slave0}"
        );
        assert_eq!(
            info(&mut t, "replication", "master_repl_offset"),
            want.len().to_string()
        );
        assert_eq!(info(&mut t, "replication", "repl_backlog_active"), "1");
        assert_eq!(
            info(&mut t, "replication", "repl_backlog_first_byte_offset"),
            "1"
        );
        // ACKs are never answered; the replica is a replica in CLIENT LIST.
        t.send_raw(r, b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n41\r\n");
        assert!(t.take_output(r).is_empty());
        assert!(info(&mut t, "replication", "slave0").contains("offset=41"));
        let list = t.cmd(&["CLIENT", "LIST", "TYPE", "replica"]).as_str();
        assert!(list.contains("flags=S"), "{list}");
        // The PING of the replication cron is part of the stream.
        t.advance_ms(1100);
        assert_eq!(t.take_output(r), b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn a_replica_gone_during_its_bulk_transfer_leaves_its_disk_reads_to_us() {
        use crate::io::IoOp;
        use crate::testing::MemDisk;
        let mut t = TestServer::with_disk(disk_sync(), MemDisk::default(), true);
        // Startup looks for a file to load first.
        while t.run_io(1) == 1 {}
        t.cmd(&["SET", "k", "v"]);
        t.default_conn();
        let r = t.connect();
        t.send_raw(r, b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
        t.fire_timers();
        // Run the BGSAVE's steps until the transfer's first read (a Stat) is queued.
        for _ in 0..100 {
            if matches!(t.io_queue.front(), Some((_, _, IoOp::Stat { .. }))) {
                break;
            }
            assert_eq!(t.run_io(1), 1, "the transfer never started");
        }
        assert!(matches!(
            t.io_queue.front(),
            Some((_, _, IoOp::Stat { .. }))
        ));
        t.disconnect(r);
        // The Stat's completion finds no replica: nothing else may claim it (a
        // debug build asserts that every completion has an owner).
        assert_eq!(t.run_io(1), 1);
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "0");
        assert_eq!(t.cmd(&["GET", "k"]), Frame::Bulk(b"v".to_vec()));
    }

    #[test]
    fn sync_gets_the_payload_without_fullresync_and_is_never_timed_out() {
        let mut t = TestServer::with_config(disk_sync());
        t.cmd(&["SET", "k", "v"]);
        let r = t.connect();
        t.send_raw(r, b"SYNC\r\n");
        t.fire_timers();
        let out = t.take_output(r);
        assert!(out.starts_with(b"$"), "{out:?}");
        let len_end = out.windows(2).position(|w| w == b"\r\n").unwrap();
        let len: usize = std::str::from_utf8(&out[1..len_end])
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(out.len(), len_end + 2 + len);
        assert!(out[len_end + 2..].starts_with(b"REDIS0010"));
        // No ACKs from an old-protocol replica, and still connected after repl-timeout.
        for _ in 0..70 {
            t.advance_ms(1000);
        }
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "1");
        // Only the stream's PINGs came meanwhile; a second SYNC is ignored.
        let pings = t.take_output(r);
        assert_eq!(pings, b"*1\r\n$4\r\nPING\r\n".repeat(7));
        t.send_raw(r, b"SYNC\r\n");
        assert!(t.take_output(r).is_empty());
    }

    #[test]
    fn flushall_during_the_snapshot_drops_the_waiting_replica() {
        let mut t = TestServer::with_config(disk_sync());
        for i in 0..2000 {
            t.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        let r = t.connect();
        // The snapshot runs between inputs: FLUSHALL arrives while it is written.
        t.send_raw(r, b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
        assert!(t.server.persist.bgsave_in_progress());
        t.cmd(&["FLUSHALL"]);
        t.fire_timers();
        assert!(t.closed.contains(&r));
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "0");
    }

    #[test]
    fn a_silent_replica_is_dropped_after_repl_timeout() {
        let mut t = TestServer::with_config(disk_sync());
        let (_r, _, _) = replica(&mut t, "7005");
        for _ in 0..62 {
            t.advance_ms(1000);
        }
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "0");
        assert!(t
            .logs
            .iter()
            .any(|l| l.starts_with("Disconnecting timedout replica (streaming sync): ")));
    }

    #[test]
    fn partial_resync_continues_from_the_backlog_or_falls_back() {
        let mut t = TestServer::with_config(Config {
            repl_diskless_sync: false,
            enable_debug_command: crate::config::Protected::Yes,
            ..Config::default()
        });
        let (r, id, _) = replica(&mut t, "7001");
        t.cmd(&["SET", "a", "1"]);
        let seen = t.take_output(r);
        let processed = seen.len() as i64;
        t.disconnect(r);
        assert_eq!(info(&mut t, "replication", "connected_slaves"), "0");
        t.cmd(&["SET", "b", "2"]);
        let r2 = t.connect();
        t.cmd_on(r2, &["REPLCONF", "capa", "psync2"]);
        let psync = format!(
            "*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n${}\r\n{}\r\n",
            (processed + 1).to_string().len(),
            processed + 1
        );
        t.send_raw(r2, psync.as_bytes());
        let mut want = format!("+CONTINUE {id}\r\n").into_bytes();
        want.extend(set_cmd("b", "2"));
        assert_eq!(t.take_output(r2), want);
        assert_eq!(info(&mut t, "stats", "sync_partial_ok"), "1");
        // After DEBUG CHANGE-REPL-ID the old history is gone: a full resync.
        let r5 = t.connect();
        assert_eq!(t.cmd(&["DEBUG", "CHANGE-REPL-ID"]), Frame::ok());
        assert_ne!(info(&mut t, "replication", "master_replid"), id);
        let offset = info(&mut t, "replication", "master_repl_offset");
        let psync = format!(
            "*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n${}\r\n{offset}\r\n",
            offset.len()
        );
        t.send_raw(r5, psync.as_bytes());
        t.fire_timers();
        let mut out = t.take_output(r5);
        take_full_resync(&mut out);
        // An unknown history or an offset the backlog lacks: a full resync.
        let r3 = t.connect();
        let wrong = "0123456789012345678901234567890123456789";
        let psync = format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{wrong}\r\n$1\r\n5\r\n");
        t.send_raw(r3, psync.as_bytes());
        t.fire_timers();
        let mut out = t.take_output(r3);
        take_full_resync(&mut out);
        let r4 = t.connect();
        let psync = format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n$4\r\n9999\r\n");
        t.send_raw(r4, psync.as_bytes());
        t.fire_timers();
        let mut out = t.take_output(r4);
        take_full_resync(&mut out);
        assert_eq!(info(&mut t, "stats", "sync_partial_err"), "3");
        assert_eq!(info(&mut t, "stats", "sync_full"), "4");
    }

    #[test]
    fn a_master_restarted_from_its_rdb_continues_its_old_history() {
        let config = Config {
            repl_diskless_sync: false,
            ..Config::default()
        };
        let mut t = TestServer::with_config(config.clone());
        let (r, id, _) = replica(&mut t, "7001");
        t.cmd(&["SET", "a", "1"]);
        // A deadline already past when the restarted server (back at the test
        // epoch) loads the file: dropped, and its DEL continues the stream.
        t.jump_wall_ms(-10_000);
        t.cmd(&["SET", "gone", "x", "PX", "5000"]);
        t.jump_wall_ms(10_000);
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        let off: i64 = info(&mut t, "replication", "master_repl_offset")
            .parse()
            .unwrap();
        let streamed = t.take_output(r);
        assert!(off > 0 && !streamed.is_empty());

        let mut t = TestServer::with_seed(config, t.disk, false, 43);
        assert_eq!(t.cmd(&["DBSIZE"]), Frame::Int(1));
        assert_ne!(info(&mut t, "replication", "master_replid"), id);
        assert_eq!(info(&mut t, "replication", "master_replid2"), id);
        assert_eq!(
            info(&mut t, "replication", "second_repl_offset"),
            (off + 1).to_string()
        );
        let del = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n";
        assert_eq!(
            info(&mut t, "replication", "master_repl_offset"),
            (off + del.len() as i64).to_string()
        );
        assert_eq!(info(&mut t, "replication", "repl_backlog_active"), "1");
        // The old master's replica, caught up at `off`, continues with the DEL.
        t.default_conn();
        let r = t.connect();
        let at = (off + 1).to_string();
        t.send_raw(
            r,
            format!(
                "*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n${}\r\n{at}\r\n",
                at.len()
            )
            .as_bytes(),
        );
        let out = t.take_output(r);
        let head = b"+CONTINUE\r\n";
        assert!(out.starts_with(head), "{}", String::from_utf8_lossy(&out));
        assert!(out.ends_with(del), "{}", String::from_utf8_lossy(&out));
        assert_eq!(info(&mut t, "stats", "sync_partial_ok"), "1");
    }

    #[test]
    fn psync_logs_the_state_it_decides_on_at_debug_level() {
        let mut t = TestServer::with_config(Config {
            repl_diskless_sync: false,
            loglevel: LogLevel::Debug,
            ..Config::default()
        });
        let (r, id, _) = replica(&mut t, "7001");
        t.cmd(&["SET", "a", "1"]);
        let processed = t.take_output(r).len() as i64;
        t.disconnect(r);
        t.logs.clear();
        let r2 = t.connect();
        t.cmd_on(r2, &["REPLCONF", "capa", "psync2"]);
        let at = (processed + 1).to_string();
        let psync = format!(
            "*3\r\n$5\r\nPSYNC\r\n$40\r\n{id}\r\n${}\r\n{at}\r\n",
            at.len()
        );
        t.send_raw(r2, psync.as_bytes());
        assert!(t.take_output(r2).starts_with(b"+CONTINUE"));
        let state = t
            .logs
            .iter()
            .find(|l| l.starts_with("[PSYNC] Replica "))
            .expect("the state line");
        let none = "0".repeat(40);
        assert!(
            state.ends_with(&format!(
                " asked for '{id}' offset {at}, my replication IDs are '{id}' and '{none}', second ID up to -1, master offset {processed}, backlog first byte 1, history len {processed}"
            )),
            "{state}"
        );
        assert!(t
            .logs
            .contains(&format!("[PSYNC] Replica request offset: {at}")));
        assert!(t
            .logs
            .contains(&format!("[PSYNC] History len: {processed}")));
        // Not at the default level.
        let mut t = TestServer::with_config(Config::default());
        let r = t.connect();
        t.send_raw(r, b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
        assert!(!t.logs.iter().any(|l| l.starts_with("[PSYNC]")));
        assert!(t
            .logs
            .iter()
            .any(|l| l.starts_with("Full resync requested")));
    }

    #[test]
    fn the_backlog_keeps_its_size() {
        let config = Config {
            repl_diskless_sync: false,
            repl_backlog_size: 100,
            ..Config::default()
        };
        let mut t = TestServer::with_config(config);
        let (_r, _, _) = replica(&mut t, "7002");
        let value = "v".repeat(1000);
        for i in 0..40 {
            t.cmd(&["SET", &format!("k{i}"), &value]);
        }
        let offset: i64 = info(&mut t, "replication", "master_repl_offset")
            .parse()
            .unwrap();
        assert_eq!(info(&mut t, "replication", "repl_backlog_histlen"), "16384");
        assert_eq!(
            info(&mut t, "replication", "repl_backlog_first_byte_offset"),
            (offset - 16384 + 1).to_string()
        );
    }

    #[test]
    fn wait_counts_acks_and_times_out_on_the_monotonic_clock() {
        let mut t = TestServer::with_config(disk_sync());
        assert_eq!(t.cmd(&["WAIT", "0", "0"]), Frame::Int(0));
        let (r, _, _) = replica(&mut t, "7003");
        let c = t.connect();
        t.cmd_on(c, &["SET", "k", "v"]);
        let offset: i64 = info(&mut t, "replication", "master_repl_offset")
            .parse()
            .unwrap();
        t.take_output(r);
        t.send_raw(c, b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n");
        assert!(t.take_output(c).is_empty(), "blocked until an ACK");
        // The replicas are asked for an ACK.
        assert_eq!(
            t.take_output(r),
            b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"
        );
        let ack = format!(
            "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${}\r\n{offset}\r\n",
            offset.to_string().len()
        );
        t.send_raw(r, ack.as_bytes());
        assert_eq!(t.take_output(c), b":1\r\n");
        // More than there are: the count at the timeout.
        t.send_raw(c, b"*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$3\r\n100\r\n");
        assert!(t.take_output(c).is_empty());
        t.jump_wall_ms(10_000);
        t.advance_ms(50);
        assert!(t.take_output(c).is_empty());
        t.advance_ms(60);
        assert_eq!(t.take_output(c), b":1\r\n");
        assert_eq!(
            t.cmd(&["WAIT", "1", "-1"]),
            Frame::err("ERR timeout is negative")
        );
        assert_eq!(
            t.cmd(&["WAIT", "x", "1"]),
            Frame::err("ERR value is not an integer or out of range")
        );
    }

    #[test]
    fn min_replicas_to_write_refuses_writes_without_good_replicas() {
        let mut t = TestServer::with_config(disk_sync());
        t.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]);
        assert_eq!(
            t.cmd(&["SET", "k", "v"]),
            Frame::err("NOREPLICAS Not enough good replicas to write.")
        );
        assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
        let (_r, _, _) = replica(&mut t, "7004");
        assert_eq!(t.cmd(&["SET", "k", "v"]), Frame::ok());
        assert_eq!(info(&mut t, "replication", "min_slaves_good_slaves"), "1");
        // No ACK for longer than min-replicas-max-lag: not good any more.
        t.advance_ms(11_500);
        assert_eq!(
            t.cmd(&["SET", "k", "v"]),
            Frame::err("NOREPLICAS Not enough good replicas to write.")
        );
    }
}
