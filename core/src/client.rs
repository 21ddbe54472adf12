//! Per-connection state: the query buffer and its parser, the pending reply bytes,
//! the selected database, protocol version, name, authentication and flags — Redis's
//! `client` struct without the socket (the backend owns that).

use crate::io::{ConnId, MonoNs};
use crate::resp::{ReplyBuf, RequestParser};
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
    /// Pub/Sub subscriptions; allocated on the first SUBSCRIBE.
    pub subs: Option<Box<ClientSubs>>,
    /// Bytes handed to the backend in `Send`s and not yet reported written
    /// (`Event::Sent`): output the peer has not taken yet.
    pub unsent_bytes: usize,
    /// When the output first stood over the soft `client-output-buffer-limit`
    /// without dropping below it since (Redis's obuf_soft_limit_reached_time).
    pub obuf_soft_since: Option<MonoNs>,
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
            subs: None,
            unsent_bytes: 0,
            obuf_soft_since: None,
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
        if self.is_pubsub() {
            f.push('P');
        }
        if self.close_after_reply {
            f.push('c');
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
