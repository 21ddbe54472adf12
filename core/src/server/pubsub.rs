//! Pub/Sub state and delivery (Redis's pubsub.c without the commands): which clients
//! listen to which channel, pattern and shard channel, and the push frames a
//! published message becomes.
//!
//! Each subscription gets a sequence number when it is made. The server-side sets of
//! subscribers are ordered by it, so a message reaches a channel's subscribers in the
//! order they subscribed (Redis keeps a list), and a client's own subscriptions are
//! replayed in that order by UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without
//! arguments. The name tables hash with a seed drawn from the core RNG on the first
//! subscription, so their iteration order (PUBSUB CHANNELS, the order in which
//! patterns are tried) is a function of the server's seed and cannot be steered by
//! a client choosing colliding names.

use super::Server;
use crate::glob::glob_match;
use crate::io::ConnId;
use crate::resp::ReplyBuf;
use crate::util::FastMap;
use foldhash::fast::FixedState;
use std::collections::BTreeMap;

/// Names (channels, patterns) to a value, hashed with the registry's seed.
type NameMap<V> = FastMap<Box<[u8]>, V>;

/// The three namespaces a client can subscribe in. Shard channels are their own
/// namespace (Redis 7.0 keeps `pubsubshard_channels` apart even without cluster mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    Channel,
    Pattern,
    Shard,
}

impl SubKind {
    /// The first element of the subscribe confirmation.
    pub fn subscribe_word(self) -> &'static [u8] {
        match self {
            SubKind::Channel => b"subscribe",
            SubKind::Pattern => b"psubscribe",
            SubKind::Shard => b"ssubscribe",
        }
    }

    /// The first element of the unsubscribe confirmation.
    pub fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            SubKind::Channel => b"unsubscribe",
            SubKind::Pattern => b"punsubscribe",
            SubKind::Shard => b"sunsubscribe",
        }
    }
}

/// One client's subscriptions: name to the sequence number of the subscription.
#[derive(Debug)]
pub struct ClientSubs {
    channels: NameMap<u64>,
    patterns: NameMap<u64>,
    shard: NameMap<u64>,
}

impl ClientSubs {
    fn new(seed: u64) -> ClientSubs {
        ClientSubs {
            channels: NameMap::with_hasher(FixedState::with_seed(seed)),
            patterns: NameMap::with_hasher(FixedState::with_seed(seed)),
            shard: NameMap::with_hasher(FixedState::with_seed(seed)),
        }
    }

    fn map(&self, kind: SubKind) -> &NameMap<u64> {
        match kind {
            SubKind::Channel => &self.channels,
            SubKind::Pattern => &self.patterns,
            SubKind::Shard => &self.shard,
        }
    }

    fn map_mut(&mut self, kind: SubKind) -> &mut NameMap<u64> {
        match kind {
            SubKind::Channel => &mut self.channels,
            SubKind::Pattern => &mut self.patterns,
            SubKind::Shard => &mut self.shard,
        }
    }

    pub fn count(&self, kind: SubKind) -> usize {
        self.map(kind).len()
    }

    /// The count a (un)subscribe confirmation carries: channels plus patterns for
    /// those two kinds, shard channels alone for the shard kind.
    pub fn confirmation_count(&self, kind: SubKind) -> usize {
        match kind {
            SubKind::Channel | SubKind::Pattern => self.channels.len() + self.patterns.len(),
            SubKind::Shard => self.shard.len(),
        }
    }

    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }

    /// This client's names of one kind, in the order it subscribed to them.
    pub fn names_in_order(&self, kind: SubKind) -> Vec<Box<[u8]>> {
        let mut named: Vec<(u64, &Box<[u8]>)> =
            self.map(kind).iter().map(|(n, seq)| (*seq, n)).collect();
        named.sort_unstable_by_key(|(seq, _)| *seq);
        named.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

/// The server-wide side: each name to its subscribers, ordered by subscription.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Drawn on the first subscription ever; every table hashes with it.
    hash_seed: Option<u64>,
    channels: NameMap<BTreeMap<u64, ConnId>>,
    patterns: NameMap<BTreeMap<u64, ConnId>>,
    shard: NameMap<BTreeMap<u64, ConnId>>,
    next_seq: u64,
}

impl PubSub {
    /// Count the (name, subscriber) pairs, and describe into `orphans` every
    /// entry that outlived its client or its name's last subscriber
    /// (`Server::footprint`).
    pub(crate) fn check_tables(
        &self,
        known: &dyn Fn(ConnId) -> bool,
        orphans: &mut Vec<String>,
    ) -> usize {
        let mut entries = 0;
        for (what, table) in [
            ("Pub/Sub channel", &self.channels),
            ("Pub/Sub pattern", &self.patterns),
            ("Pub/Sub shard channel", &self.shard),
        ] {
            entries += super::footprint::check_listeners(table, &what, known, orphans);
        }
        entries
    }

    fn table(&self, kind: SubKind) -> &NameMap<BTreeMap<u64, ConnId>> {
        match kind {
            SubKind::Channel => &self.channels,
            SubKind::Pattern => &self.patterns,
            SubKind::Shard => &self.shard,
        }
    }

    fn table_mut(&mut self, kind: SubKind) -> &mut NameMap<BTreeMap<u64, ConnId>> {
        match kind {
            SubKind::Channel => &mut self.channels,
            SubKind::Pattern => &mut self.patterns,
            SubKind::Shard => &mut self.shard,
        }
    }

    /// Names with at least one subscriber (INFO pubsub_channels, PUBSUB NUMPAT, …).
    pub fn active(&self, kind: SubKind) -> usize {
        self.table(kind).len()
    }

    /// Subscribers of exactly this name (PUBSUB NUMSUB / SHARDNUMSUB).
    pub fn subscribers(&self, kind: SubKind, name: &[u8]) -> usize {
        self.table(kind).get(name).map_or(0, BTreeMap::len)
    }

    /// Active names of one kind matching `pattern` (all when `None`), in table order.
    pub fn names_matching(&self, kind: SubKind, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        self.table(kind)
            .keys()
            .map(|k| &k[..])
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .collect()
    }
}

/// A message frame with `parts` bulk strings, as RESP2 encodes it; a RESP3 client gets
/// the same bytes with `>` in place of the leading `*`.
fn message_frame(parts: &[&[u8]]) -> Vec<u8> {
    let mut buf = ReplyBuf::new(false);
    buf.array(parts.len());
    for p in parts {
        buf.bulk(p);
    }
    buf.take_bytes()
}

impl Server {
    /// Publish `message` on `channel` to its subscribers and to every client whose
    /// pattern matches it (Redis's pubsubPublishMessage for global channels). Returns
    /// the number of deliveries, a client counted once per matching subscription.
    pub fn publish(&mut self, channel: &[u8], message: &[u8]) -> usize {
        let mut receivers = 0;
        if let Some(subs) = self.pubsub.channels.get(channel) {
            let targets: Vec<ConnId> = subs.values().copied().collect();
            let frame = message_frame(&[b"message", channel, message]);
            for conn in targets {
                self.deliver(conn, &frame);
                receivers += 1;
            }
        }
        if !self.pubsub.patterns.is_empty() {
            let mut matched: Vec<(Vec<u8>, Vec<ConnId>)> = Vec::new();
            for (pattern, subs) in &self.pubsub.patterns {
                if glob_match(pattern, channel, false) {
                    matched.push((pattern.to_vec(), subs.values().copied().collect()));
                }
            }
            for (pattern, targets) in matched {
                let frame = message_frame(&[b"pmessage", &pattern, channel, message]);
                for conn in targets {
                    self.deliver(conn, &frame);
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// Publish on a shard channel (SPUBLISH): shard subscribers only, no patterns.
    pub fn publish_shard(&mut self, channel: &[u8], message: &[u8]) -> usize {
        let Some(subs) = self.pubsub.shard.get(channel) else {
            return 0;
        };
        let targets: Vec<ConnId> = subs.values().copied().collect();
        let frame = message_frame(&[b"smessage", channel, message]);
        for &conn in &targets {
            self.deliver(conn, &frame);
        }
        targets.len()
    }

    /// Append a push frame (RESP2 bytes, see `message_frame`) to a client's output.
    /// Pushes ignore CLIENT REPLY OFF/SKIP, as Redis's CLIENT_PUSHING does; a client
    /// being closed gets nothing.
    fn deliver(&mut self, conn: ConnId, frame: &[u8]) {
        debug_assert_eq!(frame.first(), Some(&b'*'));
        let Some(c) = self.clients.get_mut(&conn) else {
            debug_assert!(false, "a subscriber outlived its client");
            return;
        };
        if c.close_asap {
            return;
        }
        if c.protocol == 3 {
            c.reply.raw(b">");
            c.reply.raw(&frame[1..]);
        } else {
            c.reply.raw(frame);
        }
        self.mark_pending_write(conn);
        self.enforce_output_limits(conn);
    }

    /// Write a push (a subscription confirmation) to a client's output. While the
    /// client's own command runs, its output buffer is on loan to dispatch, and what is
    /// written here lands just before that command's reply (see `Server::call`), which
    /// is where Redis's inline write puts it.
    pub fn push_to_client(&mut self, conn: ConnId, write: impl FnOnce(&mut ReplyBuf)) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        if c.close_asap {
            return;
        }
        write(&mut c.reply);
        self.mark_pending_write(conn);
    }

    /// The seed every pub/sub table hashes with, drawn from the RNG on first use.
    fn pubsub_hash_seed(&mut self) -> u64 {
        if let Some(seed) = self.pubsub.hash_seed {
            return seed;
        }
        let seed = self.rng.next_u64();
        debug_assert!(self.pubsub.channels.is_empty() && self.pubsub.patterns.is_empty());
        self.pubsub.hash_seed = Some(seed);
        self.pubsub.channels = NameMap::with_hasher(FixedState::with_seed(seed));
        self.pubsub.patterns = NameMap::with_hasher(FixedState::with_seed(seed));
        self.pubsub.shard = NameMap::with_hasher(FixedState::with_seed(seed));
        seed
    }

    /// Subscribe `conn` to `name`; false if it already was. Does not reply.
    pub(crate) fn pubsub_subscribe(&mut self, conn: ConnId, kind: SubKind, name: &[u8]) -> bool {
        let seed = self.pubsub_hash_seed();
        let Some(c) = self.clients.get_mut(&conn) else {
            return false;
        };
        let subs = c
            .subs
            .get_or_insert_with(|| Box::new(ClientSubs::new(seed)));
        if subs.map(kind).contains_key(name) {
            return false;
        }
        let seq = self.pubsub.next_seq;
        self.pubsub.next_seq += 1;
        subs.map_mut(kind).insert(name.into(), seq);
        let previous = self
            .pubsub
            .table_mut(kind)
            .entry(name.into())
            .or_default()
            .insert(seq, conn);
        debug_assert!(previous.is_none(), "sequence numbers are unique");
        true
    }

    /// Unsubscribe `conn` from `name`; false if it was not subscribed. Does not reply.
    pub(crate) fn pubsub_unsubscribe(&mut self, conn: ConnId, kind: SubKind, name: &[u8]) -> bool {
        let Some(subs) = self.clients.get_mut(&conn).and_then(|c| c.subs.as_mut()) else {
            return false;
        };
        let Some(seq) = subs.map_mut(kind).remove(name) else {
            return false;
        };
        let table = self.pubsub.table_mut(kind);
        let set = table
            .get_mut(name)
            .expect("a client's subscription is in the server's table");
        let removed = set.remove(&seq);
        assert_eq!(removed, Some(conn), "the server's table names the client");
        if set.is_empty() {
            // Drop the name with its last subscriber, so a client cycling through
            // millions of channel names leaves nothing behind.
            table.remove(name);
        }
        true
    }

    /// Drop every subscription of `conn` without replying (client close, RESET).
    pub(crate) fn pubsub_unsubscribe_all_silently(&mut self, conn: ConnId) {
        let Some(subs) = self.clients.get(&conn).and_then(|c| c.subs.as_ref()) else {
            return;
        };
        if subs.total() == 0 {
            return;
        }
        for kind in [SubKind::Channel, SubKind::Pattern, SubKind::Shard] {
            let names = self.clients[&conn]
                .subs
                .as_ref()
                .map(|s| s.names_in_order(kind))
                .unwrap_or_default();
            for name in names {
                let was = self.pubsub_unsubscribe(conn, kind, &name);
                debug_assert!(was);
            }
        }
        debug_assert_eq!(self.client_subscription_total(conn), 0);
    }

    /// Channels + patterns + shard channels of `conn` (0 for an unknown client).
    pub fn client_subscription_total(&self, conn: ConnId) -> usize {
        self.clients
            .get(&conn)
            .and_then(|c| c.subs.as_ref())
            .map_or(0, |s| s.total())
    }

    /// The count an (un)subscribe confirmation of `kind` carries for `conn`.
    pub(crate) fn confirmation_count(&self, conn: ConnId, kind: SubKind) -> usize {
        self.clients
            .get(&conn)
            .and_then(|c| c.subs.as_ref())
            .map_or(0, |s| s.confirmation_count(kind))
    }
}
