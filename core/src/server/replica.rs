//! Replication, replica side (Redis 7.0's replication.c from `replicationSetMaster`
//! to `readSyncBulkPayload`): the link to the master as an outbound connection
//! (`Effect::Connect`), the handshake (PING, AUTH, REPLCONF listening-port /
//! ip-address / capa eof capa psync2, PSYNC), the RDB payload (`$<len>` or
//! `$EOF:<mark>`) written to a temp file, renamed over `dbfilename` and loaded by
//! `server/persist.rs`'s streamed loader, then the master client: the same
//! connection as a client whose commands are applied (never answered, except
//! REPLCONF ACK), whose offset counts the bytes it applied, and whose bytes are
//! fed verbatim to this server's backlog and sub-replicas (chained replication).
//!
//! A lost link caches the master (its replication id and offset) so the next
//! handshake asks for a partial resync (`+CONTINUE`); REPLICAOF NO ONE shifts the
//! replication id (replid2) so the old master's other replicas can continue with
//! this one. The 1 Hz part of replicationCron (timeouts, reconnects, ACKs) is
//! `replica_cron`, called from the master side's cron.
//!
//! Disk steps of a transfer run one after another on the `Rdb` queue, each issued
//! only after the previous one succeeded: a failed write never lets the rename of
//! a partial file over the dataset's RDB happen.

use super::Server;
use crate::client::Client;
use crate::io::{
    ConnId, Effect, FileId, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel, MonoNs, OpenMode,
};
use bytes::Bytes;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// The replica's side of the link (Redis's REPL_STATE_*); None in `ReplicaLink`
/// is REPL_STATE_NONE (a master).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Must connect (the cron does, once a second).
    Connect,
    Connecting,
    ReceivePingReply,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    ReceivePsyncReply,
    /// Receiving (and then loading) the RDB payload.
    Transfer,
    Connected,
}

impl LinkState {
    fn in_handshake(self) -> bool {
        matches!(
            self,
            LinkState::ReceivePingReply
                | LinkState::ReceiveAuthReply
                | LinkState::ReceivePortReply
                | LinkState::ReceiveIpReply
                | LinkState::ReceiveCapaReply
                | LinkState::ReceivePsyncReply
        )
    }
}

/// What a master (connected or cached) is to its replica: the history and how
/// far into it this server applied the stream.
#[derive(Debug, Clone)]
pub struct MasterRecord {
    pub replid: String,
    /// Stream bytes applied (c->reploff).
    pub reploff: i64,
    /// The database the stream had selected.
    pub db: usize,
    /// Came through SYNC: no offsets, no ACKs.
    pub pre_psync: bool,
}

/// The RDB payload being received.
#[derive(Debug)]
struct Transfer {
    tmpfile: String,
    file: FileId,
    /// `$<len>`'s length; None until the header line came.
    size: Option<u64>,
    /// `$EOF:<mark>`: the payload ends with these 40 bytes.
    mark: Option<Vec<u8>>,
    header_seen: bool,
    read: u64,
    /// Payload bytes not handed to a write yet (with a mark, the last 40 bytes
    /// seen stay here until more come, as they may be the mark).
    unwritten: Vec<u8>,
    /// Every byte of the payload arrived.
    complete: bool,
    /// Steps left once the writes are done (fsync, close, rename, dir fsync).
    finish: VecDeque<IoOp>,
    /// The disk step in flight.
    pending: Option<IoId>,
    opened: bool,
}

/// The replica side's state (the masterhost half of Redis's server struct).
#[derive(Debug, Default)]
pub struct ReplicaLink {
    pub state: Option<LinkState>,
    /// The link's connection: the handshake's and transfer's, then the master
    /// client's.
    conn: Option<ConnId>,
    next_conn: u64,
    addrs: Option<(SocketAddr, SocketAddr)>,
    /// Bytes read on the link before the master client exists.
    input: Vec<u8>,
    /// repl_transfer_lastio.
    last_io: MonoNs,
    /// `+FULLRESYNC`'s replication id and offset.
    master_replid: String,
    master_initial_offset: i64,
    transfer: Option<Transfer>,
    /// The master client's record while connected.
    pub master: Option<MasterRecord>,
    /// A lost master kept for a partial resync.
    pub cached: Option<MasterRecord>,
    /// When the link went down (wall seconds), none while up or never up.
    down_since: Option<i64>,
    /// The master client's consumed bytes not yet counted as applied (a
    /// transaction counts at its EXEC, as Redis's commandProcessed does).
    unapplied: Vec<u8>,
    /// A command of the master client is running (server.current_client ==
    /// server.master): it writes to a read-only replica and sees expired keys.
    pub executing_master: bool,
    /// Loading the payload into the dataset (the persist loader works for us).
    pub loading: bool,
    /// The database the loaded RDB said the stream had selected.
    pub loaded_stream_db: Option<usize>,
    /// The payload came with an EOF mark (the master waits for our first ACK).
    used_mark: bool,
    /// Clean-up steps of an abandoned transfer: nothing waits for them.
    cleanup: std::collections::BTreeSet<IoId>,
}

impl ReplicaLink {
    pub fn owns_io(&self, id: IoId) -> bool {
        self.cleanup.contains(&id)
            || self
                .transfer
                .as_ref()
                .is_some_and(|t| t.pending == Some(id))
    }

    /// The connection of the master client.
    pub fn master_conn(&self) -> Option<ConnId> {
        self.master.as_ref().and(self.conn)
    }
}

/// A command encoded as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Server {
    /// Is this server a replica (server.masterhost)?
    pub fn is_replica(&self) -> bool {
        self.config.replicaof.is_some()
    }

    /// Is `conn` this replica's master?
    pub fn is_master_client(&self, conn: ConnId) -> bool {
        self.replica.master_conn() == Some(conn)
    }

    fn master_addr(&self) -> (String, u16) {
        self.config.replicaof.clone().unwrap_or_default()
    }

    /// At startup: a `replicaof` line makes the server connect from its first cron.
    pub(crate) fn replica_boot(&mut self) {
        if self.is_replica() {
            self.replica.state = Some(LinkState::Connect);
        }
    }

    /// replicationSetMaster (REPLICAOF host port).
    pub(crate) fn replica_set_master(&mut self, host: String, port: u16) {
        let was_master = !self.is_replica();
        // The old master goes (cached; no reconnect to it: it is not ours now).
        self.config.replicaof = None;
        self.free_master_client();
        self.disconnect_all_blocked_clients();
        self.config.replicaof = Some((host.clone(), port));
        self.cancel_handshake(false);
        if was_master {
            self.replica.cached = None;
            self.cache_master_using_myself();
        }
        self.replica.state = Some(LinkState::Connect);
        self.log(
            LogLevel::Notice,
            format!("Connecting to MASTER {host}:{port}"),
        );
        self.connect_with_master();
    }

    /// replicationUnsetMaster (REPLICAOF NO ONE).
    pub(crate) fn replica_unset_master(&mut self) {
        if !self.is_replica() {
            return;
        }
        self.config.replicaof = None;
        self.free_master_client();
        self.discard_cached_master();
        self.cancel_handshake(false);
        // A new history that keeps the old one as replid2, so the old master's
        // other replicas can continue with us.
        self.repl.replid2 = self.replid.clone();
        self.repl.second_replid_offset = self.repl.master_repl_offset + 1;
        self.replid = self.rng.hex40();
        let msg = format!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.repl.replid2, self.repl.second_replid_offset, self.replid
        );
        self.log(LogLevel::Warning, msg);
        self.disconnect_replicas();
        self.replica.state = None;
        self.replica.down_since = None;
        self.repl_reset_stream_db();
        self.repl_note_no_replicas();
    }

    fn discard_cached_master(&mut self) {
        if self.replica.cached.take().is_some() {
            self.log(
                LogLevel::Notice,
                "Discarding previously cached master state.",
            );
        }
    }

    /// replicationCacheMasterUsingMyself: our own history as the master to ask
    /// a partial resync for.
    fn cache_master_using_myself(&mut self) {
        self.log(
            LogLevel::Notice,
            "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
        );
        self.replica.cached = Some(MasterRecord {
            replid: self.replid.clone(),
            reploff: self.repl.master_repl_offset,
            db: 0,
            pre_psync: false,
        });
    }

    /// A loaded RDB named our history (repl-id / repl-offset): as a replica, that
    /// is the master to ask a partial resync for after a restart.
    pub(crate) fn replica_restore_from_rdb(&mut self, replid: String, offset: i64, db: usize) {
        if !self.is_replica() {
            return;
        }
        self.replid = replid;
        self.repl.master_repl_offset = offset;
        self.cache_master_using_myself();
        if let Some(c) = self.replica.cached.as_mut() {
            c.db = db;
        }
    }

    /// The master client goes away (freeClient on it, which caches it).
    fn free_master_client(&mut self) {
        if let Some(conn) = self.replica.master_conn() {
            if self.remove_client(conn).is_some() {
                self.effects.push_back(Effect::Abort { conn });
            }
        }
    }

    /// connectWithMaster.
    fn connect_with_master(&mut self) {
        let (host, port) = self.master_addr();
        self.replica.next_conn += 1;
        let conn = ConnId::outbound(self.replica.next_conn);
        self.replica.conn = Some(conn);
        self.replica.input.clear();
        self.replica.addrs = None;
        self.effects.push_back(Effect::Connect { conn, host, port });
        self.replica.last_io = self.now.mono;
        self.replica.state = Some(LinkState::Connecting);
        self.log(LogLevel::Notice, "MASTER <-> REPLICA sync started");
    }

    /// cancelReplicationHandshake: give up a connection attempt, a handshake or a
    /// transfer. False if none was under way.
    fn cancel_handshake(&mut self, reconnect: bool) -> bool {
        match self.replica.state {
            Some(LinkState::Transfer) => self.abort_transfer(),
            Some(s) if s == LinkState::Connecting || s.in_handshake() => self.close_link(),
            _ => return false,
        }
        self.replica.state = Some(LinkState::Connect);
        if reconnect {
            let (host, port) = self.master_addr();
            self.log(
                LogLevel::Notice,
                format!("Reconnecting to MASTER {host}:{port} after failure"),
            );
            self.connect_with_master();
        }
        true
    }

    fn close_link(&mut self) {
        if let Some(conn) = self.replica.conn.take() {
            self.effects.push_back(Effect::Abort { conn });
        }
        self.replica.input.clear();
    }

    /// replicationAbortSyncTransfer: the link and the temp file go.
    fn abort_transfer(&mut self) {
        self.close_link();
        self.replica.loading = false;
        if let Some(t) = self.replica.transfer.take() {
            // The file is open until the Close step (an Open still in flight
            // included: a Close of a file that failed to open fails harmlessly).
            if !t.complete || t.finish.len() >= 3 {
                let file = t.file;
                let id = self.issue_io(IoQueue::Rdb, IoOp::Close { file });
                self.replica.cleanup.insert(id);
            }
            if t.finish.len() >= 2 || !t.complete {
                let id = self.issue_io(IoQueue::Rdb, IoOp::Remove { path: t.tmpfile });
                self.replica.cleanup.insert(id);
            }
        }
    }

    /// The error exit of syncWithMaster: close, and try again from the cron.
    fn link_error(&mut self) {
        if self.replica.state == Some(LinkState::Transfer) {
            self.abort_transfer();
        } else {
            self.close_link();
        }
        self.replica.state = Some(LinkState::Connect);
    }

    /// Event::Connected for one of our connections.
    pub(crate) fn replica_connected(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> bool {
        if self.replica.conn != Some(conn) || self.replica.state != Some(LinkState::Connecting) {
            return false;
        }
        self.replica.addrs = Some((peer, local));
        self.log(
            LogLevel::Notice,
            "Non blocking connect for SYNC fired the event.",
        );
        self.replica.state = Some(LinkState::ReceivePingReply);
        self.replica.last_io = self.now.mono;
        self.link_send(encode(&[b"PING"]));
        true
    }

    /// Event::ConnectFailed for one of our connections.
    pub(crate) fn replica_connect_failed(&mut self, conn: ConnId, error: &str) -> bool {
        if self.replica.conn != Some(conn) {
            return false;
        }
        self.replica.conn = None;
        self.log(
            LogLevel::Warning,
            format!("Error condition on socket for SYNC: {error}"),
        );
        self.replica.state = Some(LinkState::Connect);
        true
    }

    fn link_send(&mut self, data: Vec<u8>) {
        if let Some(conn) = self.replica.conn {
            self.effects.push_back(Effect::Send {
                conn,
                data: Bytes::from(data),
            });
        }
    }

    /// Bytes on the link before the master client exists. True if they were ours.
    pub(crate) fn replica_link_received(&mut self, conn: ConnId, data: &[u8]) -> bool {
        if self.replica.conn != Some(conn) || self.replica.master.is_some() {
            return false;
        }
        self.stats.total_net_input_bytes += data.len() as u64;
        self.replica.input.extend_from_slice(data);
        self.replica.last_io = self.now.mono;
        self.replica_advance();
        true
    }

    /// The link closed before the master client existed.
    pub(crate) fn replica_link_closed(&mut self, conn: ConnId) -> bool {
        if self.replica.conn != Some(conn) || self.replica.master.is_some() {
            return false;
        }
        self.replica.conn = None;
        match self.replica.state {
            Some(LinkState::Transfer) => {
                self.log(
                    LogLevel::Warning,
                    "I/O error trying to sync with MASTER: connection lost",
                );
                self.abort_transfer();
            }
            _ => {
                self.log(
                    LogLevel::Warning,
                    "Master did not respond to command during SYNC handshake",
                );
            }
        }
        self.replica.input.clear();
        self.replica.state = Some(LinkState::Connect);
        true
    }

    /// One line of the handshake's input (syncReadLine: up to `\n`, `\r` dropped).
    fn take_line(&mut self) -> Option<String> {
        let pos = self.replica.input.iter().position(|&b| b == b'\n')?;
        let mut line: Vec<u8> = self.replica.input.drain(..=pos).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// syncWithMaster's states, as far as the input goes.
    fn replica_advance(&mut self) {
        loop {
            let Some(state) = self.replica.state else {
                return;
            };
            match state {
                LinkState::Transfer => {
                    self.transfer_input();
                    return;
                }
                LinkState::Connected | LinkState::Connect | LinkState::Connecting => return,
                _ => {}
            }
            let Some(line) = self.take_line() else {
                return;
            };
            match state {
                LinkState::ReceivePingReply => {
                    if !line.starts_with('+')
                        && !line.starts_with("-NOAUTH")
                        && !line.starts_with("-NOPERM")
                        && !line.starts_with("-ERR operation not permitted")
                    {
                        self.log(
                            LogLevel::Warning,
                            format!("Error reply to PING from master: '{line}'"),
                        );
                        return self.link_error();
                    }
                    self.log(
                        LogLevel::Notice,
                        "Master replied to PING, replication can continue...",
                    );
                    self.send_handshake();
                }
                LinkState::ReceiveAuthReply => {
                    if line.starts_with('-') {
                        self.log(
                            LogLevel::Warning,
                            format!("Unable to AUTH to MASTER: {line}"),
                        );
                        return self.link_error();
                    }
                    self.replica.state = Some(LinkState::ReceivePortReply);
                }
                LinkState::ReceivePortReply => {
                    if line.starts_with('-') {
                        self.log(
                            LogLevel::Notice,
                            format!("(Non critical) Master does not understand REPLCONF listening-port: {line}"),
                        );
                    }
                    self.replica.state = Some(if self.config.replica_announce_ip.is_some() {
                        LinkState::ReceiveIpReply
                    } else {
                        LinkState::ReceiveCapaReply
                    });
                }
                LinkState::ReceiveIpReply => {
                    if line.starts_with('-') {
                        self.log(
                            LogLevel::Notice,
                            format!("(Non critical) Master does not understand REPLCONF ip-address: {line}"),
                        );
                    }
                    self.replica.state = Some(LinkState::ReceiveCapaReply);
                }
                LinkState::ReceiveCapaReply => {
                    if line.starts_with('-') {
                        self.log(
                            LogLevel::Notice,
                            format!(
                                "(Non critical) Master does not understand REPLCONF capa: {line}"
                            ),
                        );
                    }
                    self.send_psync();
                }
                LinkState::ReceivePsyncReply => {
                    // A newline keeps the link alive while the master prepares.
                    if line.is_empty() {
                        continue;
                    }
                    self.psync_reply(&line);
                }
                _ => unreachable!("handled above"),
            }
        }
    }

    /// The pipelined part of the handshake: AUTH, REPLCONF listening-port,
    /// ip-address, capa.
    fn send_handshake(&mut self) {
        let mut out = Vec::new();
        if let Some(pass) = self.config.masterauth.clone() {
            match self.config.masteruser.clone() {
                Some(user) => out.extend(encode(&[b"AUTH", &user, &pass])),
                None => out.extend(encode(&[b"AUTH", &pass])),
            }
        }
        let port = if self.config.replica_announce_port != 0 {
            self.config.replica_announce_port
        } else {
            self.config.port
        };
        out.extend(encode(&[
            b"REPLCONF",
            b"listening-port",
            port.to_string().as_bytes(),
        ]));
        if let Some(ip) = self.config.replica_announce_ip.clone() {
            out.extend(encode(&[b"REPLCONF", b"ip-address", ip.as_bytes()]));
        }
        out.extend(encode(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]));
        self.link_send(out);
        self.replica.state = Some(if self.config.masterauth.is_some() {
            LinkState::ReceiveAuthReply
        } else {
            LinkState::ReceivePortReply
        });
    }

    /// slaveTryPartialResynchronization, sending half.
    fn send_psync(&mut self) {
        self.replica.master_initial_offset = -1;
        let (replid, offset) = match &self.replica.cached {
            Some(c) => {
                let (id, off) = (c.replid.clone(), (c.reploff + 1).to_string());
                self.log(
                    LogLevel::Notice,
                    format!("Trying a partial resynchronization (request {id}:{off})."),
                );
                (id, off)
            }
            None => {
                self.log(
                    LogLevel::Notice,
                    "Partial resynchronization not possible (no cached master)",
                );
                ("?".to_string(), "-1".to_string())
            }
        };
        self.link_send(encode(&[b"PSYNC", replid.as_bytes(), offset.as_bytes()]));
        self.replica.state = Some(LinkState::ReceivePsyncReply);
    }

    /// slaveTryPartialResynchronization, reading half, and what syncWithMaster
    /// does with the outcome.
    fn psync_reply(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let words: Vec<&str> = rest.trim_start_matches(' ').splitn(2, ' ').collect();
            if words.len() == 2 && words[0].len() == 40 {
                self.replica.master_replid = words[0].to_string();
                self.replica.master_initial_offset = crate::util::parse_i64(words[1].as_bytes())
                    .or_else(|| words[1].trim().parse().ok())
                    .unwrap_or(0);
                let msg = format!(
                    "Full resync from master: {}:{}",
                    self.replica.master_replid, self.replica.master_initial_offset
                );
                self.log(LogLevel::Notice, msg);
            } else {
                self.log(
                    LogLevel::Warning,
                    "Master replied with wrong +FULLRESYNC syntax.",
                );
                self.replica.master_replid = String::new();
            }
            return self.begin_transfer();
        }
        if let Some(rest) = line.strip_prefix("+CONTINUE") {
            self.log(
                LogLevel::Notice,
                "Successful partial resynchronization with master.",
            );
            let new = rest.trim_start_matches(' ');
            let mut cached = self
                .replica
                .cached
                .take()
                .expect("PSYNC named a cached master");
            if new.len() == 40 && new != cached.replid {
                self.log(
                    LogLevel::Warning,
                    format!("Master replication ID changed to {new}"),
                );
                self.repl.replid2 = cached.replid.clone();
                self.repl.second_replid_offset = self.repl.master_repl_offset + 1;
                self.replid = new.to_string();
                cached.replid = new.to_string();
                self.disconnect_replicas();
            }
            self.create_master_client(cached);
            self.log(
                LogLevel::Notice,
                "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
            );
            return;
        }
        if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
            self.log(
                LogLevel::Notice,
                format!("Master is currently unable to PSYNC but should be in the future: {line}"),
            );
            return self.link_error();
        }
        if line.starts_with("-ERR") {
            self.log(
                LogLevel::Notice,
                format!("Master does not support PSYNC or is in error state (reply: {line})"),
            );
        } else {
            self.log(
                LogLevel::Warning,
                format!("Unexpected reply to PSYNC from master: {line}"),
            );
        }
        self.log(LogLevel::Notice, "Retrying with SYNC...");
        self.link_send(b"SYNC\r\n".to_vec());
        self.begin_transfer();
    }

    /// REPL_STATE_TRANSFER with its temp file.
    fn begin_transfer(&mut self) {
        let name = format!("temp-{}.{}.rdb", self.now.wall.secs(), self.host.process_id);
        let tmpfile = super::persist::in_dir(&self.config.dir, &name);
        let file = self.new_file_id();
        self.replica.transfer = Some(Transfer {
            tmpfile,
            file,
            size: None,
            mark: None,
            header_seen: false,
            read: 0,
            unwritten: Vec::new(),
            complete: false,
            finish: VecDeque::new(),
            pending: None,
            opened: false,
        });
        self.replica.state = Some(LinkState::Transfer);
        self.replica.last_io = self.now.mono;
        let (path, file) = {
            let t = self.replica.transfer.as_ref().expect("just set");
            (t.tmpfile.clone(), t.file)
        };
        let id = self.issue_io(
            IoQueue::Rdb,
            IoOp::Open {
                file,
                path,
                mode: OpenMode::Truncate,
            },
        );
        if let Some(t) = self.replica.transfer.as_mut() {
            t.pending = Some(id);
        }
        self.transfer_input();
    }

    /// readSyncBulkPayload: the header line, then payload bytes to the file.
    fn transfer_input(&mut self) {
        if self.replica.loading {
            // Stream bytes after the payload wait for the master client.
            return;
        }
        let Some(t) = self.replica.transfer.as_ref() else {
            return;
        };
        if !t.header_seen {
            loop {
                let Some(line) = self.take_line() else {
                    return;
                };
                if let Some(msg) = line.strip_prefix('-') {
                    self.log(
                        LogLevel::Warning,
                        format!("MASTER aborted replication with an error: {msg}"),
                    );
                    return self.link_error();
                }
                if line.is_empty() {
                    // A newline from a master still preparing the payload.
                    continue;
                }
                if !line.starts_with('$') {
                    self.log(
                        LogLevel::Warning,
                        format!("Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"),
                    );
                    return self.link_error();
                }
                let t = self.replica.transfer.as_mut().expect("transfer");
                t.header_seen = true;
                if let Some(mark) = line[1..].strip_prefix("EOF:").filter(|m| m.len() >= 40) {
                    t.mark = Some(mark.as_bytes()[..40].to_vec());
                    self.log(
                        LogLevel::Notice,
                        "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
                    );
                } else {
                    let n: i64 = line[1..].trim().parse().unwrap_or_else(|_| {
                        crate::util::parse_i64(&line.as_bytes()[1..]).unwrap_or(0)
                    });
                    t.size = Some(n.max(0) as u64);
                    self.log(
                        LogLevel::Notice,
                        format!("MASTER <-> REPLICA sync: receiving {n} bytes from master to disk"),
                    );
                }
                break;
            }
        }
        let t = self.replica.transfer.as_mut().expect("transfer");
        if t.complete {
            return;
        }
        match (t.size, t.mark.clone()) {
            (Some(size), _) => {
                let left = (size - t.read) as usize;
                let n = left.min(self.replica.input.len());
                t.unwritten.extend(self.replica.input.drain(..n));
                t.read += n as u64;
                if t.read == size {
                    t.complete = true;
                }
            }
            (None, Some(mark)) => {
                let n = self.replica.input.len();
                t.unwritten.append(&mut self.replica.input);
                t.read += n as u64;
                if t.unwritten.ends_with(&mark) {
                    let keep = t.unwritten.len() - mark.len();
                    t.unwritten.truncate(keep);
                    t.read -= mark.len() as u64;
                    t.complete = true;
                }
            }
            (None, None) => unreachable!("the header sets a size or a mark"),
        }
        if t.complete {
            let dir = self.config.dir.clone();
            let rdb = super::persist::in_dir(&dir, &self.config.dbfilename);
            let (file, tmp) = (t.file, t.tmpfile.clone());
            t.finish = VecDeque::from([
                IoOp::Fsync { file },
                IoOp::Close { file },
                IoOp::Rename { from: tmp, to: rdb },
                IoOp::FsyncDir { path: dir },
            ]);
        }
        self.transfer_pump();
    }

    /// Issue the transfer's next disk step if none is in flight.
    fn transfer_pump(&mut self) {
        let Some(t) = self.replica.transfer.as_mut() else {
            return;
        };
        if t.pending.is_some() {
            return;
        }
        let mark_len = t.mark.as_ref().map_or(0, |m| m.len());
        // With a mark, the last bytes may be the start of it: they wait.
        let ready = if t.complete {
            t.unwritten.len()
        } else {
            t.unwritten.len().saturating_sub(mark_len)
        };
        let op = if ready > 0 {
            let data: Vec<u8> = t.unwritten.drain(..ready).collect();
            IoOp::Write {
                file: t.file,
                data: Bytes::from(data),
            }
        } else if t.complete {
            match t.finish.pop_front() {
                Some(op) => op,
                None => return self.transfer_on_disk(),
            }
        } else {
            return;
        };
        let id = self.issue_io(IoQueue::Rdb, op);
        if let Some(t) = self.replica.transfer.as_mut() {
            t.pending = Some(id);
        }
    }

    /// A disk step of the transfer completed.
    pub(crate) fn replica_io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        if self.replica.cleanup.remove(&id) {
            return;
        }
        let Some(t) = self.replica.transfer.as_mut() else {
            return;
        };
        if t.pending != Some(id) {
            return;
        }
        t.pending = None;
        if let Err(e) = result {
            let left = t.finish.len();
            let msg = if !t.opened {
                format!(
                    "Opening the temp file needed for MASTER <-> REPLICA synchronization: {}",
                    e.message
                )
            } else if !t.complete || left == 4 {
                format!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {}", e.message)
            } else if left >= 2 {
                format!(
                    "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}",
                    e.message
                )
            } else if left == 1 {
                format!(
                    "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {}",
                    self.config.dbfilename, e.message
                )
            } else {
                format!(
                    "Failed trying to sync DB directory {} in MASTER <-> REPLICA synchronization: {}",
                    self.config.dbfilename, e.message
                )
            };
            self.log(LogLevel::Warning, msg);
            self.cancel_handshake(true);
            return;
        }
        t.opened = true;
        self.transfer_pump();
    }

    /// The payload is the RDB file now: flush the old data and load it.
    fn transfer_on_disk(&mut self) {
        if self.aof.is_on() {
            // The AOF restarts from the new dataset once it is loaded.
            self.aof_stop();
        }
        // replicationAttachToNewMaster: another history for our sub-replicas.
        self.replica.cached = None;
        self.disconnect_replicas();
        self.repl_free_backlog();
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Flushing old data",
        );
        self.signal_flushed_db(None);
        for db in &mut self.dbs {
            db.clear();
        }
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Loading DB in memory",
        );
        self.replica.loading = true;
        self.replica.loaded_stream_db = None;
        self.replica.used_mark = self
            .replica
            .transfer
            .as_ref()
            .is_some_and(|t| t.mark.is_some());
        let path = super::persist::in_dir(&self.config.dir, &self.config.dbfilename);
        self.start_replication_load(path);
    }

    /// The loader finished the payload (`persist.rs` calls back).
    pub(crate) fn replica_load_done(&mut self, outcome: Result<(), String>) {
        self.replica.loading = false;
        if let Err(why) = outcome {
            self.log(
                LogLevel::Warning,
                format!("Failed trying to load the MASTER synchronization DB from disk: {why}"),
            );
            self.cancel_handshake(true);
            return;
        }
        self.replica.transfer = None;
        self.dirty += 1;
        let record = MasterRecord {
            replid: self.replica.master_replid.clone(),
            reploff: self.replica.master_initial_offset,
            db: self.replica.loaded_stream_db.unwrap_or(0),
            pre_psync: self.replica.master_initial_offset == -1,
        };
        // After a full resync the master's history is ours, with no previous one.
        self.replid = record.replid.clone();
        self.repl.master_repl_offset = record.reploff;
        self.repl.replid2 = super::replication::NO_REPLID.to_string();
        self.repl.second_replid_offset = -1;
        let usemark = self.replica.used_mark;
        self.create_master_client(record);
        self.log(
            LogLevel::Notice,
            "MASTER <-> REPLICA sync: Finished with success",
        );
        if usemark {
            self.replica_send_ack();
        }
        if self.config.appendonly && !self.aof.is_on() {
            self.aof_start();
        }
    }

    /// replicationCreateMasterClient / replicationResurrectCachedMaster: the link
    /// becomes the master client; what came after the payload is its input.
    fn create_master_client(&mut self, record: MasterRecord) {
        let Some(conn) = self.replica.conn else {
            return;
        };
        let (peer, local) = self.replica.addrs.unwrap_or_else(|| {
            let any: SocketAddr = "0.0.0.0:0".parse().expect("valid address");
            (any, any)
        });
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut client = Client::new(id, conn, peer, local, -1, self.now.mono);
        client.authenticated = true;
        client.is_master = true;
        client.db = record.db.min(self.dbs.len() - 1);
        client.query.extend_from_slice(&self.replica.input);
        self.replica.input.clear();
        self.clients.insert(conn, client);
        self.replica.master = Some(record);
        self.replica.unapplied.clear();
        self.replica.state = Some(LinkState::Connected);
        self.replica.down_since = None;
        self.repl_ensure_backlog();
        self.process_input(conn);
    }

    /// A master client's request was consumed (`bytes` of its query buffer):
    /// applied once it is not inside a transaction, and fed on verbatim.
    pub(crate) fn replica_consumed(&mut self, conn: ConnId, bytes: &[u8]) {
        self.replica.unapplied.extend_from_slice(bytes);
        let in_multi = self.clients.get(&conn).is_some_and(|c| c.multi.is_some());
        if in_multi {
            return;
        }
        let applied = std::mem::take(&mut self.replica.unapplied);
        if let Some(m) = self.replica.master.as_mut() {
            m.reploff += applied.len() as i64;
            if let Some(c) = self.clients.get(&conn) {
                m.db = c.db;
            }
        }
        self.repl_feed_from_master(&applied);
    }

    /// replicationSendAck: REPLCONF ACK <applied offset>, past the reply buffer.
    pub(crate) fn replica_send_ack(&mut self) {
        let (Some(conn), Some(m)) = (self.replica.master_conn(), self.replica.master.as_ref())
        else {
            return;
        };
        let off = m.reploff.to_string();
        let data = encode(&[b"REPLCONF", b"ACK", off.as_bytes()]);
        if let Some(c) = self.clients.get_mut(&conn) {
            c.unsent_bytes += data.len();
        }
        self.effects.push_back(Effect::Send {
            conn,
            data: Bytes::from(data),
        });
    }

    /// The master client is gone (freeClient of it): cached for a partial resync,
    /// and a reconnect while we are still a replica.
    pub(crate) fn replica_master_lost(&mut self, conn: ConnId) {
        if self.replica.master_conn() != Some(conn) {
            return;
        }
        let m = self.replica.master.take().expect("connected");
        self.replica.conn = None;
        self.replica.unapplied.clear();
        self.log(LogLevel::Warning, "Connection with master lost.");
        self.log(LogLevel::Notice, "Caching the disconnected master state.");
        self.replica.cached = Some(m);
        self.replica.state = Some(LinkState::Connect);
        self.replica.down_since = Some(self.now.wall.secs());
        if self.is_replica() {
            let (host, port) = self.master_addr();
            self.log(
                LogLevel::Notice,
                format!("Reconnecting to MASTER {host}:{port}"),
            );
            self.connect_with_master();
        } else {
            self.replica.state = None;
        }
    }

    /// The replica half of replicationCron, once a second.
    pub(crate) fn replica_cron(&mut self) {
        if !self.is_replica() {
            return;
        }
        let timeout = self.config.repl_timeout.max(1) as u64;
        let now = self.now.mono;
        let silent = now.secs_since(self.replica.last_io) > timeout;
        match self.replica.state {
            Some(s) if (s == LinkState::Connecting || s.in_handshake()) && silent => {
                self.log(LogLevel::Warning, "Timeout connecting to the MASTER...");
                self.cancel_handshake(true);
            }
            Some(LinkState::Transfer) if silent && !self.replica.loading => {
                self.log(
                    LogLevel::Warning,
                    "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.",
                );
                self.cancel_handshake(true);
            }
            Some(LinkState::Connected) => {
                let conn = self.replica.master_conn();
                let idle = conn
                    .and_then(|c| self.clients.get(&c))
                    .is_some_and(|c| now.secs_since(c.last_interaction) > timeout);
                if idle {
                    self.log(
                        LogLevel::Warning,
                        "MASTER timeout: no data nor PING received...",
                    );
                    self.free_master_client();
                }
            }
            _ => {}
        }
        if self.replica.state == Some(LinkState::Connect) {
            let (host, port) = self.master_addr();
            self.log(
                LogLevel::Notice,
                format!("Connecting to MASTER {host}:{port}"),
            );
            self.connect_with_master();
        }
        if self.replica.master.as_ref().is_some_and(|m| !m.pre_psync) {
            self.replica_send_ack();
        }
    }

    /// The applied offset and the offset read so far (INFO slave_repl_offset,
    /// slave_read_repl_offset).
    fn replica_offsets(&self) -> (i64, i64) {
        if let (Some(m), Some(conn)) = (&self.replica.master, self.replica.master_conn()) {
            let queued = self.clients.get(&conn).map_or(0, |c| c.query.len()) as i64;
            let read = m.reploff + self.replica.unapplied.len() as i64 + queued;
            return (m.reploff, read);
        }
        if let Some(c) = &self.replica.cached {
            return (c.reploff, c.reploff);
        }
        (1, 1)
    }

    /// INFO replication's replica lines (before connected_slaves).
    pub(crate) fn info_replica(&self, out: &mut String) {
        use std::fmt::Write as _;
        let (host, port) = self.master_addr();
        let state = self.replica.state;
        let connected = state == Some(LinkState::Connected);
        let last_io = match self
            .replica
            .master_conn()
            .and_then(|c| self.clients.get(&c))
        {
            Some(c) => self.now.mono.secs_since(c.last_interaction) as i64,
            None => -1,
        };
        let transfer = state == Some(LinkState::Transfer);
        let (applied, read) = self.replica_offsets();
        let _ = write!(
            out,
            "master_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{read}\r\nslave_repl_offset:{applied}\r\n",
            if connected { "up" } else { "down" },
            transfer as u8,
        );
        if transfer {
            let (size, got) = self
                .replica
                .transfer
                .as_ref()
                .map_or((0, 0), |t| (t.size.map_or(0, |s| s as i64), t.read as i64));
            let perc = if size != 0 {
                got as f64 / size as f64 * 100.0
            } else {
                0.0
            };
            let _ = write!(
                out,
                "master_sync_total_bytes:{size}\r\nmaster_sync_read_bytes:{got}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                size - got,
                self.now.mono.secs_since(self.replica.last_io)
            );
        }
        if !connected {
            let down = self
                .replica
                .down_since
                .map_or(-1, |t| self.now.wall.secs() - t);
            let _ = write!(out, "master_link_down_since_seconds:{down}\r\n");
        }
        let _ = write!(
            out,
            "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
            self.config.replica_priority,
            self.config.replica_read_only as u8,
            self.config.replica_announced as u8
        );
    }

    /// ROLE on a replica: ["slave", host, port, state, applied offset].
    pub(crate) fn replica_role(&self) -> (String, u16, &'static str, i64) {
        let (host, port) = self.master_addr();
        let state = match self.replica.state {
            Some(s) if s.in_handshake() => "handshake",
            None => "none",
            Some(LinkState::Connect) => "connect",
            Some(LinkState::Connecting) => "connecting",
            Some(LinkState::Transfer) => "sync",
            Some(LinkState::Connected) => "connected",
            Some(_) => "unknown",
        };
        let off = self.replica.master.as_ref().map_or(-1, |m| m.reploff);
        (host, port, state, off)
    }
}

#[cfg(test)]
mod tests {
    use crate::io::{ConnId, Event};
    use crate::testing::{Frame, TestServer};

    /// A master and a replica whose link the test carries by hand.
    struct Pair {
        m: TestServer,
        r: TestServer,
        /// The link as each side names it.
        on_r: Option<ConnId>,
        on_m: Option<ConnId>,
    }

    impl Pair {
        /// A master syncing through its disk (at once, `$<len>` payloads).
        fn new() -> Pair {
            Pair::with_master(crate::Config {
                repl_diskless_sync: false,
                ..Default::default()
            })
        }

        fn with_master(config: crate::Config) -> Pair {
            let config = crate::Config {
                enable_debug_command: crate::config::Protected::Yes,
                ..config
            };
            let mut m = TestServer::with_config(config);
            let mut r =
                TestServer::with_seed(crate::Config::default(), Default::default(), false, 7);
            m.default_conn();
            r.default_conn();
            Pair {
                m,
                r,
                on_r: None,
                on_m: None,
            }
        }

        /// Complete the replica's pending connect, if any.
        fn accept(&mut self) {
            let Some((conn, host, port)) = self.r.connects.pop() else {
                return;
            };
            assert_eq!((host.as_str(), port), ("master.test", 6379));
            let on_m = self.m.connect();
            let peer = "10.0.0.1:6379".parse().unwrap();
            let local = "10.0.0.2:50000".parse().unwrap();
            self.r
                .server
                .handle(self.r.now, Event::Connected { conn, peer, local });
            self.r.drain();
            self.on_r = Some(conn);
            self.on_m = Some(on_m);
        }

        /// Carry bytes both ways (and fire both servers' timers) until quiet.
        fn pump(&mut self) {
            for _ in 0..200 {
                self.accept();
                let (Some(on_r), Some(on_m)) = (self.on_r, self.on_m) else {
                    return;
                };
                self.m.fire_timers();
                self.r.fire_timers();
                let up = self.r.take_output(on_r);
                let down = self.m.take_output(on_m);
                if up.is_empty() && down.is_empty() && self.r.connects.is_empty() {
                    return;
                }
                if !up.is_empty() && !self.m.closed.contains(&on_m) {
                    self.m.send_raw(on_m, &up);
                }
                if !down.is_empty() && !self.r.closed.contains(&on_r) {
                    self.r.send_raw(on_r, &down);
                }
            }
            panic!("the link never went quiet");
        }

        /// Both sides' clocks forward, a second at a time, carrying the link.
        fn advance_secs(&mut self, secs: u64) {
            for _ in 0..secs {
                self.m.advance_ms(1000);
                self.r.advance_ms(1000);
                self.pump();
            }
        }

        /// Cut the link (the master's side closes it).
        fn cut(&mut self) {
            let (on_r, on_m) = (self.on_r.take().unwrap(), self.on_m.take().unwrap());
            self.m.disconnect(on_m);
            self.r.disconnect(on_r);
        }
    }

    /// A reply flattened to words (arrays joined by spaces).
    fn flat(f: &Frame) -> String {
        match f {
            Frame::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(" "),
            other => other.as_str(),
        }
    }

    fn info(t: &mut TestServer, field: &str) -> String {
        let text = t.cmd(&["INFO", "replication"]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {text}"))
            .trim()
            .to_string()
    }

    fn stat(t: &mut TestServer, field: &str) -> String {
        let text = t.cmd(&["INFO", "stats"]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {text}"))
            .trim()
            .to_string()
    }

    #[test]
    fn full_sync_then_the_stream_then_a_partial_resync() {
        let mut p = Pair::new();
        p.m.cmd(&["SET", "before", "1"]);
        p.m.cmd(&["RPUSH", "list", "a", "b"]);
        p.m.cmd(&["SELECT", "3"]);
        p.m.cmd(&["SET", "in3", "x"]);
        p.r.cmd(&["SET", "old", "gone after the sync"]);
        assert_eq!(p.r.cmd(&["REPLICAOF", "master.test", "6379"]), Frame::ok());
        assert_eq!(
            p.r.cmd(&["REPLICAOF", "master.test", "6379"]).as_str(),
            "OK Already connected to specified master"
        );
        p.pump();
        assert_eq!(info(&mut p.r, "master_link_status"), "up");
        assert_eq!(info(&mut p.r, "role"), "slave");
        assert_eq!(p.r.cmd(&["GET", "old"]), Frame::Null);
        assert_eq!(p.r.cmd(&["GET", "before"]), Frame::bulk("1"));
        assert_eq!(flat(&p.r.cmd(&["LRANGE", "list", "0", "-1"])), "a b");
        assert_eq!(stat(&mut p.m, "sync_full"), "1");
        // Same history on both sides.
        assert_eq!(
            info(&mut p.r, "master_replid"),
            info(&mut p.m, "master_replid")
        );

        // The live stream, SELECT included; a read-only replica refuses writes.
        p.m.cmd(&["SET", "in3", "y"]);
        p.m.cmd(&["SELECT", "0"]);
        p.m.cmd(&["INCR", "counter"]);
        p.m.cmd(&["MULTI"]);
        p.m.cmd(&["INCR", "counter"]);
        p.m.cmd(&["DEL", "list"]);
        p.m.cmd(&["EXEC"]);
        p.pump();
        assert_eq!(p.r.cmd(&["GET", "counter"]), Frame::bulk("2"));
        assert_eq!(p.r.cmd(&["EXISTS", "list"]), Frame::Int(0));
        p.r.cmd(&["SELECT", "3"]);
        assert_eq!(p.r.cmd(&["GET", "in3"]), Frame::bulk("y"));
        p.r.cmd(&["SELECT", "0"]);
        assert_eq!(
            p.r.cmd(&["SET", "k", "v"]),
            Frame::err("READONLY You can't write against a read only replica.")
        );
        // ACKs bring the master's view of the replica up to its offset (the
        // first second's ACK may precede the cron's PING).
        p.advance_secs(2);
        let m_off = info(&mut p.m, "master_repl_offset");
        assert_eq!(info(&mut p.r, "slave_repl_offset"), m_off);
        assert_eq!(info(&mut p.r, "master_repl_offset"), m_off);
        let slave0 = info(&mut p.m, "slave0");
        assert!(slave0.contains(&format!("offset={m_off}")), "{slave0}");
        let role = flat(&p.r.cmd(&["ROLE"]));
        assert_eq!(role, format!("slave master.test 6379 connected {m_off}"));

        // The link breaks, writes go on, and the reconnect continues the stream.
        p.cut();
        assert_eq!(info(&mut p.r, "master_link_status"), "down");
        p.m.cmd(&["SET", "during", "the break"]);
        p.pump();
        assert_eq!(stat(&mut p.m, "sync_partial_ok"), "1");
        assert_eq!(stat(&mut p.m, "sync_full"), "1");
        assert_eq!(p.r.cmd(&["GET", "during"]), Frame::bulk("the break"));
        assert_eq!(info(&mut p.r, "master_link_status"), "up");
    }

    #[test]
    fn a_diskless_sync_waits_for_more_replicas_then_streams_to_the_sockets() {
        let mut p = Pair::with_master(crate::Config {
            repl_diskless_sync_delay: 2,
            ..Default::default()
        });
        for i in 0..300 {
            p.m.cmd(&["SET", &format!("k{i}"), &"x".repeat(i)]);
        }
        p.r.cmd(&["REPLICAOF", "master.test", "6379"]);
        p.pump();
        // Waiting for more replicas: no snapshot yet.
        assert_eq!(info(&mut p.r, "master_link_status"), "down");
        let logs = p.m.logs.join("\n");
        assert!(
            logs.contains("Delay next BGSAVE for diskless SYNC"),
            "{logs}"
        );
        p.advance_secs(3);
        assert_eq!(info(&mut p.r, "master_link_status"), "up");
        let logs = p.m.logs.join("\n");
        assert!(
            logs.contains("Starting BGSAVE for SYNC with target: replicas sockets"),
            "{logs}"
        );
        assert!(logs.contains("Waiting for REPLCONF ACK from slave to enable streaming"));
        let rlogs = p.r.logs.join("\n");
        assert!(rlogs.contains("receiving streamed RDB from master with EOF to disk"));
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(300));
        assert_eq!(p.r.cmd(&["GET", "k299"]), Frame::bulk(&"x".repeat(299)));
        // The stream starts after the replica's first ACK.
        p.m.cmd(&["SET", "after", "1"]);
        p.pump();
        assert_eq!(p.r.cmd(&["GET", "after"]), Frame::bulk("1"));
        assert_eq!(stat(&mut p.m, "sync_full"), "1");
    }

    #[test]
    fn a_replica_hides_expired_keys_until_its_master_deletes_them() {
        let mut p = Pair::new();
        p.m.cmd(&["SET", "k", "v", "PX", "1500"]);
        p.r.cmd(&["REPLICAOF", "master.test", "6379"]);
        p.pump();
        assert_eq!(p.m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Frame::ok());
        // The replica's clock passes the deadline first.
        p.r.advance_ms(2000);
        assert_eq!(p.r.cmd(&["GET", "k"]), Frame::Null);
        assert_eq!(
            p.r.cmd(&["DBSIZE"]),
            Frame::Int(1),
            "kept for the master's DEL"
        );
        p.m.advance_ms(2000);
        assert_eq!(p.m.cmd(&["GET", "k"]), Frame::Null);
        p.pump();
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(0));
    }

    #[test]
    fn a_synced_key_already_past_its_deadline_waits_for_the_masters_del() {
        let mut p = Pair::new();
        assert_eq!(p.m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Frame::ok());
        p.m.cmd(&["SET", "k", "v", "PX", "1000"]);
        p.m.advance_ms(1500);
        p.r.advance_ms(1500);
        p.r.cmd(&["REPLICAOF", "master.test", "6379"]);
        assert_eq!(p.m.cmd(&["DBSIZE"]), Frame::Int(1));
        p.pump();
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(1), "loaded, not dropped");
        assert_eq!(p.r.cmd(&["EXISTS", "k"]), Frame::Int(0));
        assert_eq!(p.m.cmd(&["GET", "k"]), Frame::Null);
        p.pump();
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(0));
    }

    #[test]
    fn a_deadline_past_on_the_replicas_clock_alone_waits_for_the_masters_del() {
        let mut p = Pair::new();
        p.m.cmd(&["SET", "k", "v"]);
        p.r.cmd(&["REPLICAOF", "master.test", "6379"]);
        p.pump();
        // The replica's clock runs a minute ahead: the master's PEXPIREAT names a
        // moment already past there, and still the replica keeps the key.
        p.r.jump_wall_ms(60_000);
        assert_eq!(p.m.cmd(&["PEXPIRE", "k", "1000"]), Frame::Int(1));
        p.pump();
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(1), "kept for the master");
        assert_eq!(p.r.cmd(&["EXISTS", "k"]), Frame::Int(0));
        let deadline = p.m.server.dbs[0].get_expire(b"k");
        assert!(deadline.is_some());
        assert_eq!(p.r.server.dbs[0].get_expire(b"k"), deadline);
        // Until the master's clock passes the deadline and its DEL arrives.
        p.advance_secs(2);
        assert_eq!(p.m.cmd(&["DBSIZE"]), Frame::Int(0));
        assert_eq!(p.r.cmd(&["DBSIZE"]), Frame::Int(0));
    }

    #[test]
    fn replicaof_no_one_keeps_the_data_and_the_old_history_as_replid2() {
        let mut p = Pair::new();
        p.m.cmd(&["SET", "a", "1"]);
        p.r.cmd(&["REPLICAOF", "master.test", "6379"]);
        p.pump();
        let old = info(&mut p.r, "master_replid");
        let off: i64 = info(&mut p.r, "master_repl_offset").parse().unwrap();
        assert_eq!(p.r.cmd(&["REPLICAOF", "NO", "ONE"]), Frame::ok());
        assert_eq!(info(&mut p.r, "role"), "master");
        assert_eq!(info(&mut p.r, "master_replid2"), old);
        assert_eq!(info(&mut p.r, "second_repl_offset"), (off + 1).to_string());
        assert_ne!(info(&mut p.r, "master_replid"), old);
        assert_eq!(p.r.cmd(&["GET", "a"]), Frame::bulk("1"));
        assert_eq!(p.r.cmd(&["SET", "b", "2"]), Frame::ok());
    }

    #[test]
    fn replicaof_errors_and_stale_data() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["REPLICAOF", "h", "70000"]),
            Frame::err("ERR Invalid master port")
        );
        assert_eq!(
            t.cmd(&["REPLICAOF", "h", "x"]),
            Frame::err("ERR Invalid master port")
        );
        assert_eq!(t.cmd(&["REPLICAOF", "NO", "ONE"]), Frame::ok());
        assert_eq!(t.cmd(&["SLAVEOF", "nowhere.test", "1"]), Frame::ok());
        assert_eq!(
            flat(&t.cmd(&["CONFIG", "GET", "replicaof"])),
            "replicaof nowhere.test 1"
        );
        assert_eq!(info(&mut t, "master_link_status"), "down");
        assert_eq!(
            flat(&t.cmd(&["ROLE"])),
            "slave nowhere.test 1 connecting -1"
        );
        assert_eq!(
            t.cmd(&["WAIT", "1", "0"]).as_str(),
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."
        );
        t.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"]);
        assert_eq!(
            t.cmd(&["GET", "x"]),
            Frame::err(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
            )
        );
        assert!(t
            .cmd(&["INFO", "replication"])
            .as_str()
            .contains("role:slave"));
        // A refused connection is retried by the cron.
        let (conn, _, _) = t.connects.pop().unwrap();
        t.server.handle(
            t.now,
            Event::ConnectFailed {
                conn,
                error: "Connection refused".into(),
            },
        );
        t.drain();
        assert_eq!(flat(&t.cmd(&["ROLE"])), "slave nowhere.test 1 connect -1");
        t.advance_ms(1000);
        assert_eq!(t.connects.len(), 1);
    }
}
