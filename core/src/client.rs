//! Per-connection state: the query buffer and its parser, the pending reply bytes,
//! the selected database, protocol version, name, authentication and flags — Redis's
//! `client` struct without the socket (the backend owns that).

use crate::command::table::Entry;
use crate::io::{ConnId, MonoNs};
use crate::resp::{Args, ReplyBuf, RequestParser};
use crate::server::pubsub::ClientSubs;
use bytes::BytesMut;
use std::net::SocketAddr;

/// What CLIENT REPLY asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress the reply of the next command only.
    SkipNext,
    /// Suppress the reply of the command now running (set from SkipNext).
    Skipping,
}

/// A command queued between MULTI and EXEC: its resolved table entry and its
/// arguments, copied out of the query buffer into one allocation.
pub struct Queued {
    pub entry: Entry,
    data: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Queued {
    pub fn new(entry: Entry, args: Args<'_>) -> Queued {
        let mut data = Vec::with_capacity(args.byte_len());
        let mut spans = Vec::with_capacity(args.len());
        for a in args.iter() {
            spans.push((data.len(), data.len() + a.len()));
            data.extend_from_slice(a);
        }
        debug_assert_eq!(spans.len(), args.len());
        Queued { entry, data, spans }
    }

    pub fn args(&self) -> Args<'_> {
        Args::new(&self.data, &self.spans)
    }
}

impl std::fmt::Debug for Queued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queued")
            .field("command", &self.entry.spec.fullname)
            .field("argc", &self.spans.len())
            .finish()
    }
}

/// A transaction being accumulated (Redis's `multiState` plus CLIENT_MULTI): present
/// from MULTI until EXEC or DISCARD completes.
#[derive(Debug, Default)]
pub struct MultiState {
    pub commands: Vec<Queued>,
    /// Commands queued (CLIENT LIST's `multi=`). Equal to `commands.len()` except while
    /// EXEC runs them, when the commands are on loan to it.
    pub count: usize,
    /// Argument bytes plus a pointer per argument of every queued command (Redis's
    /// `argv_len_sums`, CLIENT LIST's `multi-mem=`).
    pub argv_len_sums: usize,
}

#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub conn: ConnId,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub fd: i64,
    pub query: BytesMut,
    pub parser: RequestParser,
    pub reply: ReplyBuf,
    pub db: usize,
    /// RESP version chosen with HELLO (2 or 3); `reply` encodes accordingly.
    pub protocol: u8,
    pub name: Option<Vec<u8>>,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Set after a protocol error or QUIT: stop reading, flush, then close.
    pub close_after_reply: bool,
    /// Close as soon as possible without flushing (CLIENT KILL, limits).
    pub close_asap: bool,
    pub no_evict: bool,
    pub created: MonoNs,
    pub last_interaction: MonoNs,
    /// Full name of the last command run (`client|list`), for CLIENT LIST's `cmd=`.
    pub last_command: Option<&'static str>,
    /// Bytes of arguments of the command being executed (CLIENT LIST argv-mem).
    pub argv_bytes: usize,
    /// Queued in the server's pending-write list.
    pub pending_write: bool,
    /// Buffered input waits for processing to resume (e.g. after DEBUG SLEEP).
    pub pending_input: bool,
    /// Waiting in a blocking command (CLIENT_BLOCKED): its input is not processed.
    pub blocked: bool,
    /// Unblocked, its buffered input waits for the before-sleep hook (CLIENT_UNBLOCKED).
    pub unblocked: bool,
    /// Pub/Sub subscriptions; allocated on the first SUBSCRIBE.
    pub subs: Option<Box<ClientSubs>>,
    /// Inside MULTI (CLIENT_MULTI), with the commands queued so far.
    pub multi: Option<MultiState>,
    /// A watched key was modified (CLIENT_DIRTY_CAS): EXEC will fail with a null reply.
    pub dirty_cas: bool,
    /// A command was refused while queuing (CLIENT_DIRTY_EXEC): EXEC will abort.
    pub dirty_exec: bool,
    /// Keys this client WATCHes, as (db, key), in the order they were watched.
    pub watched: Vec<(usize, Box<[u8]>)>,
    /// Bytes handed to the backend in `Send`s and not yet reported written
    /// (`Event::Sent`): output the peer has not taken yet.
    pub unsent_bytes: usize,
    /// Output held until the AOF is durable up to its tag (`appendfsync always`),
    /// in order; sent by `server/aof.rs`.
    pub held: std::collections::VecDeque<(u64, bytes::Bytes)>,
    /// When the output first stood over the soft `client-output-buffer-limit`
    /// without dropping below it since (Redis's obuf_soft_limit_reached_time).
    pub obuf_soft_since: Option<MonoNs>,
    /// A replica (CLIENT_SLAVE): its state is in `server/replication.rs`.
    pub is_replica: bool,
    /// This replica's master (CLIENT_MASTER): `server/replica.rs`.
    pub is_master: bool,
    /// REPLCONF listening-port / ip-address / capa of the handshake.
    pub repl_listening_port: i64,
    pub repl_announced_ip: Option<String>,
    pub repl_capa_eof: bool,
    pub repl_capa_psync2: bool,
    /// The replication offset after this client's last command (WAIT's target).
    pub woff: i64,
}

impl Client {
    pub fn new(
        id: u64,
        conn: ConnId,
        peer: SocketAddr,
        local: SocketAddr,
        fd: i64,
        now: MonoNs,
    ) -> Client {
        Client {
            id,
            conn,
            peer,
            local,
            fd,
            query: BytesMut::new(),
            parser: RequestParser::new(),
            reply: ReplyBuf::new(false),
            db: 0,
            protocol: 2,
            name: None,
            authenticated: false,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            close_asap: false,
            no_evict: false,
            created: now,
            last_interaction: now,
            last_command: None,
            argv_bytes: 0,
            pending_write: false,
            pending_input: false,
            blocked: false,
            unblocked: false,
            subs: None,
            multi: None,
            dirty_cas: false,
            dirty_exec: false,
            watched: Vec::new(),
            unsent_bytes: 0,
            held: std::collections::VecDeque::new(),
            obuf_soft_since: None,
            is_replica: false,
            is_master: false,
            repl_listening_port: 0,
            repl_announced_ip: None,
            repl_capa_eof: false,
            repl_capa_psync2: false,
            woff: 0,
        }
    }

    /// Switch protocol (HELLO): both the recorded version and the encoder.
    pub fn set_protocol(&mut self, protocol: u8) {
        debug_assert!(protocol == 2 || protocol == 3);
        self.protocol = protocol;
        self.reply.set_resp3(protocol == 3);
    }

    /// In Pub/Sub mode (Redis's CLIENT_PUBSUB): subscribed to anything at all.
    pub fn is_pubsub(&self) -> bool {
        self.subs.as_ref().is_some_and(|s| s.total() > 0)
    }

    /// The `flags=` letters of CLIENT LIST for the flags this client can have.
    pub fn flag_letters(&self) -> String {
        let mut f = String::new();
        if self.is_replica {
            f.push('S');
        }
        if self.is_master {
            f.push('M');
        }
        if self.is_pubsub() {
            f.push('P');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.blocked {
            f.push('b');
        }
        if self.dirty_cas {
            f.push('d');
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.unblocked {
            f.push('u');
        }
        if self.close_asap {
            f.push('A');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
}
