//! Keyspace notifications, as Redis 7.0's `notify.c` and the `notifyKeyspaceEvent`
//! calls of the commands the workload sends: which events each command emits, in
//! which order, and the check that every subscriber got exactly those frames.
//!
//! **Events of a command.** [`events`] computes them for one evaluation of a command
//! (the states of its keys before and after, and the reply): first the lookups in
//! Redis's order, each of which may delete a key past its deadline (`expired`, from
//! `expireIfNeeded`) and, for a read lookup of a missing key, emit `keymiss`; then
//! the command's own events (`new` from `dbAdd`, the type's event, `del` when a
//! collection is emptied, ...), in the order the Redis source calls
//! `notifyKeyspaceEvent`. A few commands interleave lookups and events (DEL, UNLINK,
//! MSET) and are computed key by key. The evaluations that agree with the reply give
//! the alternatives: a key that may have been deleted by active expiry already gives
//! one with and one without its lazy `expired`.
//!
//! **Frames.** An event of class `c` is published if `c` is in
//! `notify-keyspace-events`: with `K` to `__keyspace@<db>__:<key>` (payload the
//! event), then with `E` to `__keyevent@<db>__:<event>` (payload the key), each one as a
//! PUBLISH: the `message` to an exact subscriber, then one `pmessage` per matching
//! pattern (in an order Redis leaves open), in the subscriber's protocol.
//!
//! **Active expiry** deletes a key past its deadline at a moment the model does not
//! know. Each subscriber is *owed* the `expired` of every key the model saw past its
//! deadline (see [`Model::owe_expired`]); such frames may come before any expected
//! frame, once: a subscriber that reads one consumes it, and the model learns that
//! the key is gone (no state past that deadline is left). A lazy `expired` in a
//! command's events consumes it too. A command's events are notified in its
//! connection's database (SELECT); keys in another database expire there (owed on
//! that database's channels), and an expiry owed across a SWAPDB is owed in both
//! databases it swapped, since it may have happened on either side of it.
//!
//! **Order with PUBLISH.** A command's notifications are queued with the number of
//! PUBLISH deliveries queued before them, and both are checked in that order after
//! each top-level request (EXEC runs many).

use super::{Entry, Key, Model, Outboxes, Slot};
use crate::glob;
use crate::resp;
use std::collections::{BTreeMap, BTreeSet};

/// The classes of `notify-keyspace-events` (Redis's NOTIFY_* flags).
pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
pub const NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// keyspaceEventsStringToFlags; `None` for a character that is no class.
pub fn parse_flags(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for c in classes {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// One notifyKeyspaceEvent call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ev {
    pub class: u32,
    pub name: &'static str,
    pub key: Key,
    /// Part of a run of events whose order the model does not know (SORT's pattern
    /// lookups): they may come in any order, each at most `max` times.
    pub bag_max: usize,
}

fn ev(class: u32, name: &'static str, key: &[u8]) -> Ev {
    Ev {
        class,
        name,
        key: key.to_vec(),
        bag_max: 0,
    }
}

/// What one PUBLISH of a notification sends one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pub {
    message: Option<Vec<u8>>,
    pmessages: Vec<Vec<u8>>,
}

impl Pub {
    fn len(&self) -> usize {
        usize::from(self.message.is_some()) + self.pmessages.len()
    }
}

/// The notification state of the model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notify {
    /// `notify-keyspace-events`.
    pub flags: u32,
    /// The alternatives of each command replayed since the last check, with the
    /// number of PUBLISH deliveries queued before it, its unordered group (0:
    /// none; see [`Model::begin_unordered_notifications`]) and its database.
    queue: Vec<(usize, Vec<Vec<Ev>>, u64, i64)>,
    /// The group the commands queued now join, and the last one opened.
    group: u64,
    groups: u64,
    /// Per subscriber, the keys (with their database) whose active `expired` may
    /// still arrive, with the states past their deadline the model saw them in.
    owed: BTreeMap<String, BTreeMap<(i64, Key), Vec<Entry>>>,
    /// Per subscriber, keys whose `keymiss` may arrive unasked: SCAN with TYPE
    /// looks each key it walks up for reading, and one past its deadline is then
    /// deleted and missed.
    owed_miss: BTreeMap<String, BTreeSet<Key>>,
}

impl Notify {
    pub fn publishes(&self) -> bool {
        self.flags & (KEYSPACE | KEYEVENT) != 0
    }
}

/// The context of one evaluation: the command's keys before and after it.
struct Ctx<'a> {
    name: &'a str,
    req: &'a [Vec<u8>],
    before: &'a BTreeMap<Key, Slot>,
    after: &'a BTreeMap<Key, Slot>,
    reply: &'a [u8],
    wall_ms: i64,
    /// Keys the evaluation wrote without counting a change (a BITFIELD whose
    /// writes each left their field as it was).
    unsignalled: &'a [Key],
}

impl Ctx<'_> {
    fn slot_b(&self, k: &[u8]) -> Option<&Entry> {
        self.before.get(k).and_then(|s| s.as_ref())
    }
    fn slot_a(&self, k: &[u8]) -> Option<&Entry> {
        self.after.get(k).and_then(|s| s.as_ref())
    }
    fn vis_b(&self, k: &[u8]) -> bool {
        self.slot_b(k).is_some_and(|e| e.visible_at(self.wall_ms))
    }
    fn vis_a(&self, k: &[u8]) -> bool {
        self.slot_a(k).is_some_and(|e| e.visible_at(self.wall_ms))
    }
    fn stale_b(&self, k: &[u8]) -> bool {
        self.slot_b(k).is_some_and(|e| !e.visible_at(self.wall_ms))
    }
    /// The visible value changed (ignoring encodings and deadlines).
    fn content_changed(&self, k: &[u8]) -> bool {
        let b = self.slot_b(k).filter(|e| e.visible_at(self.wall_ms));
        let a = self.slot_a(k).filter(|e| e.visible_at(self.wall_ms));
        match (b, a) {
            (Some(x), Some(y)) => !x.value.same_content(&y.value),
            (None, None) => false,
            _ => true,
        }
    }
    fn ok(&self) -> bool {
        !self.reply.is_empty() && !matches!(self.reply.first(), Some(b'-' | b'!'))
    }
    fn int(&self) -> Option<i64> {
        let s = std::str::from_utf8(self.reply.strip_prefix(b":")?).ok()?;
        s.trim_end().parse().ok()
    }
    fn is_nil(&self) -> bool {
        matches!(self.reply, b"$-1\r\n" | b"_\r\n" | b"*-1\r\n")
    }
}

fn is(a: &[u8], w: &str) -> bool {
    a.eq_ignore_ascii_case(w.as_bytes())
}

/// `numkeys` keys from argument `at` (numkeys at `at - 1`), when valid.
fn numkeys(req: &[Vec<u8>], at: usize) -> Vec<Key> {
    let n = crate::numbers::parse_i64_strict(&req[at - 1]).unwrap_or(0);
    if n < 1 || n as usize > req.len().saturating_sub(at) {
        return Vec::new();
    }
    req[at..at + n as usize].to_vec()
}

/// Commands whose single key is looked up for reading (keymiss when missing).
const READS: &[&str] = &[
    "get",
    "getrange",
    "substr",
    "strlen",
    "getex",
    "getdel",
    "getset",
    "exists",
    "touch",
    "type",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "getbit",
    "bitcount",
    "bitpos",
    "pfcount",
    "hget",
    "hmget",
    "hgetall",
    "hkeys",
    "hvals",
    "hlen",
    "hexists",
    "hstrlen",
    "hrandfield",
    "hscan",
    "llen",
    "lindex",
    "lrange",
    "lpos",
    "smembers",
    "scard",
    "sismember",
    "smismember",
    "srandmember",
    "sscan",
    "zcard",
    "zscore",
    "zmscore",
    "zrank",
    "zrevrank",
    "zcount",
    "zlexcount",
    "zrange",
    "zrangebyscore",
    "zrevrangebyscore",
    "zrangebylex",
    "zrevrangebylex",
    "zrevrange",
    "zrandmember",
    "zscan",
    "mget",
];

/// The lookups a command makes, in Redis's order: the key and whether it is a read
/// (lookupKeyRead, which notifies a miss).
fn lookups(c: &Ctx) -> Vec<(Key, bool)> {
    let (name, req) = (c.name, c.req);
    let r = |k: &Key| (k.clone(), true);
    let w = |k: &Key| (k.clone(), false);
    match name {
        "mget" | "exists" | "touch" | "pfcount" => req[1..].iter().map(r).collect(),
        "set" => {
            let get = set_options(req).get;
            let mut out = Vec::new();
            if get {
                out.push(r(&req[1]));
            }
            out.push(w(&req[1]));
            out
        }
        "msetnx" => {
            let mut out = Vec::new();
            for k in req[1..].iter().step_by(2) {
                out.push(w(k));
                if c.vis_b(k) {
                    break;
                }
            }
            out
        }
        "object" => vec![w(&req[2])],
        // Only GETs: lookupKeyRead; any SET or INCRBY: lookupStringForBitCommand.
        "bitfield" | "bitfield_ro" if bitfield_reads_only(req) => vec![r(&req[1])],
        "rename" | "renamenx" => {
            let mut out = vec![w(&req[1])];
            if c.vis_b(&req[1]) && req[1] != req[2] {
                out.push(w(&req[2]));
            }
            out
        }
        "copy" => {
            if req[1] == req[2] {
                return Vec::new();
            }
            let mut out = vec![r(&req[1])];
            if c.vis_b(&req[1]) {
                out.push(w(&req[2]));
            }
            out
        }
        "lmove" | "rpoplpush" | "blmove" | "brpoplpush" => {
            let mut out = vec![w(&req[1])];
            if c.vis_b(&req[1]) {
                out.push(w(&req[2]));
            }
            out
        }
        "smove" => vec![w(&req[1]), w(&req[2])],
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" | "lmpop" | "zmpop" | "blmpop" | "bzmpop" => {
            let keys = match name {
                "lmpop" | "zmpop" => numkeys(req, 2),
                "blmpop" | "bzmpop" => numkeys(req, 3),
                _ => req[1..req.len() - 1].to_vec(),
            };
            let mut out = Vec::new();
            for k in &keys {
                out.push(w(k));
                if c.vis_b(k) {
                    break;
                }
            }
            out
        }
        "sintercard" => numkeys(req, 2).iter().map(r).collect(),
        "sinter" | "sunion" | "sdiff" => req[1..].iter().map(r).collect(),
        "sinterstore" => req[2..].iter().map(r).collect(),
        "sunionstore" | "sdiffstore" => req[2..].iter().map(r).collect(),
        "zunion" | "zinter" | "zdiff" | "zintercard" => numkeys(req, 2).iter().map(r).collect(),
        "zunionstore" | "zinterstore" | "zdiffstore" => numkeys(req, 3).iter().map(r).collect(),
        "zrangestore" => vec![r(&req[2])],
        "sort" | "sort_ro" => vec![r(&req[1])],
        "bitop" => req[3..].iter().map(r).collect(),
        "pfmerge" => {
            let mut out: Vec<(Key, bool)> = req[1..].iter().map(r).collect();
            out.push(w(&req[1]));
            out
        }
        _ if READS.contains(&name) => vec![r(&req[1])],
        _ => vec![w(&req[1])],
    }
}

/// A BITFIELD without SET or INCRBY (or BITFIELD_RO) only reads its key.
/// The options of a SET that replied (so they parsed).
#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    expire: bool,
}

/// As parseExtendedStringArgumentsOrReply: a deadline option takes the next
/// argument, whatever it says (`EX XX EX 3` sets no XX, `EX GET EX 3` no GET).
fn set_options(req: &[Vec<u8>]) -> SetOptions {
    let mut o = SetOptions::default();
    let mut j = 3;
    while j < req.len() {
        let a = &req[j];
        o.nx |= is(a, "nx");
        o.xx |= is(a, "xx");
        o.get |= is(a, "get");
        if ["ex", "px", "exat", "pxat"].iter().any(|w| is(a, w)) {
            o.expire = true;
            j += 1;
        }
        j += 1;
    }
    o
}

fn bitfield_reads_only(req: &[Vec<u8>]) -> bool {
    !req[2..].iter().any(|a| is(a, "set") || is(a, "incrby"))
}

/// Whether one of a BITFIELD's SET or INCRBY subcommands replied a value (the
/// ones OVERFLOW FAIL refused reply nil and change nothing).
fn bitfield_wrote(req: &[Vec<u8>], reply: &[u8]) -> bool {
    let mut writes = Vec::new();
    let mut i = 2;
    while i < req.len() {
        let a = &req[i];
        if is(a, "get") {
            writes.push(false);
            i += 3;
        } else if is(a, "set") || is(a, "incrby") {
            writes.push(true);
            i += 4;
        } else {
            i += 2;
        }
    }
    match super::decode(reply) {
        Ok(super::Reply::Array(items)) => items
            .iter()
            .zip(writes)
            .any(|(item, write)| write && !matches!(item, super::Reply::Nil | super::Reply::Null)),
        _ => false,
    }
}

/// The events of one evaluation of a command, in Redis's order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn events(
    name: &str,
    req: &[Vec<u8>],
    before: &BTreeMap<Key, Slot>,
    after: &BTreeMap<Key, Slot>,
    reply: &[u8],
    wall_ms: i64,
    sort_pattern_keys: &[Key],
    unsignalled: &[Key],
) -> Vec<Ev> {
    let c = Ctx {
        name,
        req,
        before,
        after,
        reply,
        wall_ms,
        unsignalled,
    };
    let mut out = Vec::new();
    // Keys deleted by a lookup (lazily expired) so far.
    let mut gone: BTreeSet<Key> = BTreeSet::new();
    let mut looked: BTreeSet<Key> = BTreeSet::new();
    // A key past its deadline the evaluation left untouched was not looked up (a
    // syntax error came first).
    let expires = |k: &[u8]| c.stale_b(k) && c.before.get(k) != c.after.get(k);
    // A multi-key read stops at the first key of another type (WRONGTYPE), after
    // the misses before it.
    let wrongtype = reply.starts_with(b"-WRONGTYPE");
    let family = if name.starts_with('z') {
        "zset"
    } else if name.starts_with('s') {
        "set"
    } else {
        "string"
    };
    if !matches!(name, "del" | "unlink" | "mset") {
        for (k, read) in lookups(&c) {
            if looked.insert(k.clone()) && expires(&k) {
                out.push(ev(EXPIRED, "expired", &k));
                gone.insert(k.clone());
            }
            let missing = gone.contains(&k) || !c.vis_b(&k);
            let wrong = |e: &Entry| match (&e.value, name) {
                (super::Value::Str(s), "pfcount" | "pfmerge") => !s.bytes.starts_with(b"HYLL"),
                // ZUNION and its kin take sets as well.
                (super::Value::Set(_), _) if family == "zset" => false,
                (v, _) => v.type_name() != family,
            };
            // SMOVE looks both keys up before it checks either type.
            if wrongtype && name != "smove" && !missing && c.slot_b(&k).is_some_and(wrong) {
                break;
            }
            // ZUNION and its kin look their keys up before parsing their options:
            // an option's error comes after the misses.
            let looked_first = matches!(
                name,
                "zunion"
                    | "zinter"
                    | "zdiff"
                    | "zintercard"
                    | "zunionstore"
                    | "zinterstore"
                    | "zdiffstore"
            );
            if read && missing && (c.ok() || wrongtype || looked_first) {
                out.push(ev(KEY_MISS, "keymiss", &k));
            }
        }
    }
    if !sort_pattern_keys.is_empty() && matches!(name, "sort" | "sort_ro") {
        // SORT's BY and GET look keys up for each element, in an order that depends
        // on the (possibly unordered) source: any order, expired at most once.
        for k in sort_pattern_keys {
            if expires(k) && !looked.contains(k) {
                out.push(Ev {
                    bag_max: 1,
                    ..ev(EXPIRED, "expired", k)
                });
            }
            out.push(Ev {
                bag_max: usize::MAX,
                ..ev(KEY_MISS, "keymiss", k)
            });
        }
    }
    let k1 = &req[1];
    // `new` if dbAdd created the key.
    let new_if_created = |out: &mut Vec<Ev>, k: &[u8]| {
        if !c.vis_b(k) && c.vis_a(k) {
            out.push(ev(NEW, "new", k));
        }
    };
    let del_if_gone = |out: &mut Vec<Ev>, k: &[u8]| {
        if !c.vis_a(k) {
            out.push(ev(GENERIC, "del", k));
        }
    };
    // setKey or dbDelete of a STORE's destination.
    let store = |out: &mut Vec<Ev>, dst: &[u8], class: u32, event: &'static str| {
        if !c.ok() {
            return;
        }
        if c.vis_a(dst) {
            // setKey looks the destination up for writing first: one past its
            // deadline (not already deleted by a source's lookup) expires there.
            if c.stale_b(dst) && !gone.contains(dst) {
                out.push(ev(EXPIRED, "expired", dst));
            }
            if !c.vis_b(dst) {
                out.push(ev(NEW, "new", dst));
            }
            out.push(ev(class, event, dst));
        } else if c.vis_b(dst) || (c.stale_b(dst) && !gone.contains(dst)) {
            // dbDelete does not look at the deadline: a key past it is deleted
            // as any other.
            out.push(ev(GENERIC, "del", dst));
        }
    };
    let simple = |out: &mut Vec<Ev>, class: u32, event: &'static str| {
        if c.ok() {
            new_if_created(out, k1);
            out.push(ev(class, event, k1));
        }
    };
    match name {
        "set" | "setnx" | "setex" | "psetex" if c.ok() => {
            let (mut nx, mut xx) = (name == "setnx", false);
            let mut expire = matches!(name, "setex" | "psetex");
            if name == "set" {
                let opts = set_options(req);
                (nx, xx, expire) = (opts.nx, opts.xx, opts.expire);
            }
            let found = c.vis_b(k1);
            if !((nx && found) || (xx && !found)) {
                new_if_created(&mut out, k1);
                if !found && !c.vis_a(k1) {
                    // A SET with a deadline already past: dbAdd all the same.
                    out.push(ev(NEW, "new", k1));
                }
                out.push(ev(STRING, "set", k1));
                if expire {
                    out.push(ev(GENERIC, "expire", k1));
                }
            }
        }
        "getex" if c.ok() && c.vis_b(k1) => {
            let expire = req[2..]
                .iter()
                .any(|a| ["ex", "px", "exat", "pxat"].iter().any(|w| is(a, w)));
            let persist = req[2..].iter().any(|a| is(a, "persist"));
            if c.slot_a(k1).is_none() {
                out.push(ev(GENERIC, "del", k1));
            } else if expire {
                out.push(ev(GENERIC, "expire", k1));
            } else if persist && c.slot_b(k1).is_some_and(|e| e.deadline_ms.is_some()) {
                out.push(ev(GENERIC, "persist", k1));
            }
        }
        "getdel" if c.ok() && c.vis_b(k1) => out.push(ev(GENERIC, "del", k1)),
        "getset" => simple(&mut out, STRING, "set"),
        "mset" if c.ok() => {
            let mut present: BTreeSet<Key> = BTreeSet::new();
            let mut looked_up: BTreeSet<Key> = BTreeSet::new();
            for k in req[1..].iter().step_by(2) {
                if looked_up.insert(k.clone()) {
                    if expires(k) {
                        out.push(ev(EXPIRED, "expired", k));
                    } else if c.vis_b(k) {
                        present.insert(k.clone());
                    }
                }
                if present.insert(k.clone()) {
                    out.push(ev(NEW, "new", k));
                }
                out.push(ev(STRING, "set", k));
            }
        }
        "msetnx" if c.int() == Some(1) => {
            let mut present: BTreeSet<Key> = BTreeSet::new();
            for k in req[1..].iter().step_by(2) {
                if present.insert(k.clone()) {
                    out.push(ev(NEW, "new", k));
                }
                out.push(ev(STRING, "set", k));
            }
        }
        "append" => simple(&mut out, STRING, "append"),
        "setrange" if !req[3].is_empty() => simple(&mut out, STRING, "setrange"),
        "incr" | "decr" | "incrby" | "decrby" => simple(&mut out, STRING, "incrby"),
        "incrbyfloat" => simple(&mut out, STRING, "incrbyfloat"),
        // Only a new key, a longer string or a flipped bit notifies.
        "setbit" if c.content_changed(k1) => simple(&mut out, STRING, "setbit"),
        "bitop" => store(&mut out, &req[2], STRING, "set"),
        // `new` from the lookup that pads the string, `setbit` when some SET or
        // INCRBY ran (not refused by OVERFLOW FAIL) and changed its field, or the
        // string was created or grown (bitfieldGeneric's `changes`): fields set and
        // set back still notify.
        "bitfield" if c.ok() && !bitfield_reads_only(req) => {
            new_if_created(&mut out, k1);
            if !c.unsignalled.contains(k1) && bitfield_wrote(req, reply) {
                out.push(ev(STRING, "setbit", k1));
            }
        }
        "pfadd" if c.int() == Some(1) => simple(&mut out, STRING, "pfadd"),
        "pfmerge" => simple(&mut out, STRING, "pfadd"),
        "del" | "unlink" => {
            let mut seen: BTreeSet<Key> = BTreeSet::new();
            for k in &req[1..] {
                if !seen.insert(k.clone()) {
                    continue;
                }
                if expires(k) {
                    out.push(ev(EXPIRED, "expired", k));
                } else if c.vis_b(k) {
                    out.push(ev(GENERIC, "del", k));
                }
            }
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" if c.int() == Some(1) => {
            if c.vis_a(k1) {
                out.push(ev(GENERIC, "expire", k1));
            } else {
                out.push(ev(GENERIC, "del", k1));
            }
        }
        "persist" if c.int() == Some(1) => out.push(ev(GENERIC, "persist", k1)),
        "rename" | "renamenx" if matches!(c.reply, b"+OK\r\n" | b":1\r\n") && req[1] != req[2] => {
            out.push(ev(NEW, "new", &req[2]));
            out.push(ev(GENERIC, "rename_from", k1));
            out.push(ev(GENERIC, "rename_to", &req[2]));
        }
        "copy" if c.int() == Some(1) => {
            out.push(ev(NEW, "new", &req[2]));
            out.push(ev(GENERIC, "copy_to", &req[2]));
        }
        "lpush" | "rpush" | "lpushx" | "rpushx" if c.int().is_some_and(|n| n > 0) => {
            let event = if name.starts_with('l') {
                "lpush"
            } else {
                "rpush"
            };
            simple(&mut out, LIST, event);
        }
        "lpop" | "rpop" | "blpop" | "brpop" | "lmpop" | "blmpop" if c.ok() => {
            let (keys, side) = match name {
                "lmpop" => {
                    let keys = numkeys(req, 2);
                    let side = req.get(2 + keys.len()).cloned().unwrap_or_default();
                    (keys, is(&side, "left"))
                }
                "blmpop" => {
                    let keys = numkeys(req, 3);
                    let side = req.get(3 + keys.len()).cloned().unwrap_or_default();
                    (keys, is(&side, "left"))
                }
                "lpop" | "rpop" => (vec![k1.clone()], name == "lpop"),
                _ => (req[1..req.len() - 1].to_vec(), name == "blpop"),
            };
            if let Some(k) = keys.iter().find(|k| c.content_changed(k)) {
                out.push(ev(LIST, if side { "lpop" } else { "rpop" }, k));
                del_if_gone(&mut out, k);
            }
        }
        "lset" if c.reply == b"+OK\r\n" => out.push(ev(LIST, "lset", k1)),
        "linsert" if c.int().is_some_and(|n| n > 0) => out.push(ev(LIST, "linsert", k1)),
        "lrem" if c.int().is_some_and(|n| n > 0) => {
            out.push(ev(LIST, "lrem", k1));
            del_if_gone(&mut out, k1);
        }
        "ltrim" if c.ok() && c.vis_b(k1) => {
            out.push(ev(LIST, "ltrim", k1));
            del_if_gone(&mut out, k1);
        }
        "lmove" | "rpoplpush" | "blmove" | "brpoplpush"
            if c.ok() && !c.is_nil() && c.reply.starts_with(b"$") =>
        {
            let (from_left, to_left) = match name {
                "lmove" | "blmove" => (is(&req[3], "left"), is(&req[4], "left")),
                _ => (false, true),
            };
            let (src, dst) = (&req[1], &req[2]);
            if src != dst {
                new_if_created(&mut out, dst);
            }
            out.push(ev(LIST, if to_left { "lpush" } else { "rpush" }, dst));
            out.push(ev(LIST, if from_left { "lpop" } else { "rpop" }, src));
            del_if_gone(&mut out, src);
        }
        "sadd" if c.int().is_some_and(|n| n > 0) => simple(&mut out, SET, "sadd"),
        "srem" if c.int().is_some_and(|n| n > 0) => {
            out.push(ev(SET, "srem", k1));
            del_if_gone(&mut out, k1);
        }
        "spop" if c.ok() && c.content_changed(k1) => {
            out.push(ev(SET, "spop", k1));
            del_if_gone(&mut out, k1);
        }
        "smove" if c.int() == Some(1) && req[1] != req[2] => {
            let (src, dst, member) = (&req[1], &req[2], &req[3]);
            out.push(ev(SET, "srem", src));
            del_if_gone(&mut out, src);
            new_if_created(&mut out, dst);
            let had = c
                .slot_b(dst)
                .filter(|e| e.visible_at(wall_ms))
                .is_some_and(|e| e.value.scan_members().contains(member));
            if !had {
                out.push(ev(SET, "sadd", dst));
            }
        }
        "sinterstore" => store(&mut out, k1, SET, "sinterstore"),
        "sunionstore" => store(&mut out, k1, SET, "sunionstore"),
        "sdiffstore" => store(&mut out, k1, SET, "sdiffstore"),
        "hset" | "hmset" => simple(&mut out, HASH, "hset"),
        "hsetnx" if c.int() == Some(1) => simple(&mut out, HASH, "hset"),
        "hdel" if c.int().is_some_and(|n| n > 0) => {
            out.push(ev(HASH, "hdel", k1));
            del_if_gone(&mut out, k1);
        }
        "hincrby" => simple(&mut out, HASH, "hincrby"),
        "hincrbyfloat" => simple(&mut out, HASH, "hincrbyfloat"),
        "zadd" if c.ok() && zadd_changes(&c) => {
            let incr = req[2..].iter().any(|a| is(a, "incr"));
            simple(&mut out, ZSET, if incr { "zincr" } else { "zadd" });
        }
        // An increment that leaves the score as it was updates nothing.
        "zincrby" if c.content_changed(k1) => simple(&mut out, ZSET, "zincr"),
        "zrem" | "zremrangebyrank" | "zremrangebyscore" | "zremrangebylex"
            if c.int().is_some_and(|n| n > 0) =>
        {
            let event = match name {
                "zrem" => "zrem",
                "zremrangebyrank" => "zremrangebyrank",
                "zremrangebyscore" => "zremrangebyscore",
                _ => "zremrangebylex",
            };
            out.push(ev(ZSET, event, k1));
            del_if_gone(&mut out, k1);
        }
        "zpopmin" | "zpopmax" | "bzpopmin" | "bzpopmax" | "zmpop" | "bzmpop" if c.ok() => {
            let (keys, min) = match name {
                "zmpop" => {
                    let keys = numkeys(req, 2);
                    let side = req.get(2 + keys.len()).cloned().unwrap_or_default();
                    (keys, is(&side, "min"))
                }
                "bzmpop" => {
                    let keys = numkeys(req, 3);
                    let side = req.get(3 + keys.len()).cloned().unwrap_or_default();
                    (keys, is(&side, "min"))
                }
                "zpopmin" | "zpopmax" => (vec![k1.clone()], name == "zpopmin"),
                _ => (req[1..req.len() - 1].to_vec(), name == "bzpopmin"),
            };
            if let Some(k) = keys.iter().find(|k| c.content_changed(k)) {
                out.push(ev(ZSET, if min { "zpopmin" } else { "zpopmax" }, k));
                del_if_gone(&mut out, k);
            }
        }
        "zunionstore" => store(&mut out, k1, ZSET, "zunionstore"),
        "zinterstore" => store(&mut out, k1, ZSET, "zinterstore"),
        "zdiffstore" => store(&mut out, k1, ZSET, "zdiffstore"),
        "zrangestore" => store(&mut out, k1, ZSET, "zrangestore"),
        "sort" => {
            if let Some(dst) = super::sort::store_key(req) {
                store(&mut out, &dst, LIST, "sortstore");
            }
        }
        _ => {}
    }
    out
}

/// Whether ZADD added or updated anything (zaddGenericCommand's `added ||
/// updated`): pair by pair, so that a score set and set back counts.
fn zadd_changes(c: &Ctx) -> bool {
    let req = c.req;
    let mut scores: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    if let Some(super::Value::Zset(z)) = c
        .slot_b(&req[1])
        .filter(|e| e.visible_at(c.wall_ms))
        .map(|e| &e.value)
    {
        for m in c.slot_b(&req[1]).expect("present").value.scan_members() {
            if let Some(sc) = z.score(&m) {
                scores.insert(m, sc);
            }
        }
    }
    let (mut nx, mut xx, mut gt, mut lt, mut incr) = (false, false, false, false, false);
    let mut i = 2;
    while i < req.len() {
        let a = &req[i];
        match () {
            _ if is(a, "nx") => nx = true,
            _ if is(a, "xx") => xx = true,
            _ if is(a, "gt") => gt = true,
            _ if is(a, "lt") => lt = true,
            _ if is(a, "incr") => incr = true,
            _ if is(a, "ch") => {}
            _ => break,
        }
        i += 1;
    }
    let parse = |s: &[u8]| -> Option<f64> {
        let t = std::str::from_utf8(s).ok()?.to_ascii_lowercase();
        match t.as_str() {
            "inf" | "+inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => t.parse().ok(),
        }
    };
    let mut changed = false;
    for pair in req[i..].chunks(2) {
        let [score, member] = pair else { break };
        let Some(score) = parse(score) else {
            return false;
        };
        match scores.get(member).copied() {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { cur + score } else { score };
                if (gt && new <= cur) || (lt && new >= cur) {
                    continue;
                }
                if new != cur {
                    changed = true;
                    scores.insert(member.clone(), new);
                }
            }
            None if xx => {}
            None => {
                changed = true;
                scores.insert(member.clone(), score);
            }
        }
    }
    changed
}

/// The frames a subscriber with `subs` gets for `e` under `flags`.
fn pubs_for(subs: &super::pubsub::Subs, flags: u32, e: &Ev, db: i64) -> Vec<Pub> {
    if flags & e.class == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut publish = |channel: Vec<u8>, payload: &[u8]| {
        let p = Pub {
            message: subs
                .channels
                .contains(&channel)
                .then(|| super::pubsub::frame(subs.proto, &[b"message", &channel, payload], None)),
            pmessages: subs
                .patterns
                .iter()
                .filter(|pat| glob::matches(pat, &channel))
                .map(|pat| {
                    super::pubsub::frame(subs.proto, &[b"pmessage", pat, &channel, payload], None)
                })
                .collect(),
        };
        if p.len() > 0 {
            out.push(p);
        }
    };
    if flags & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(&e.key);
        publish(channel, e.name.as_bytes());
    }
    if flags & KEYEVENT != 0 {
        let mut channel = format!("__keyevent@{db}__:").into_bytes();
        channel.extend_from_slice(e.name.as_bytes());
        publish(channel, &e.key);
    }
    out
}

/// The states of `slots` past their deadline at `wall_ms`.
fn stale_entries(slots: &[Slot], wall_ms: i64) -> Vec<Entry> {
    slots
        .iter()
        .flatten()
        .filter(|e| !e.visible_at(wall_ms))
        .cloned()
        .collect()
}

/// Whether `pubs` are the frames of `name` from its `at`-th unconsumed one on;
/// how many they are.
fn match_pubs(out: &Outboxes, name: &str, at: usize, pubs: &[Pub]) -> Option<usize> {
    let mut i = at;
    for p in pubs {
        if let Some(m) = &p.message {
            if out.peek_nth(name, i)? != m.as_slice() {
                return None;
            }
            i += 1;
        }
        let mut want: Vec<&[u8]> = p.pmessages.iter().map(|m| m.as_slice()).collect();
        let mut got: Vec<&[u8]> = Vec::new();
        for _ in 0..want.len() {
            got.push(out.peek_nth(name, i)?);
            i += 1;
        }
        want.sort();
        got.sort();
        if want != got {
            return None;
        }
    }
    Some(i - at)
}

/// How one subscriber's frames matched an alternative.
#[derive(Default)]
struct Matched {
    frames: usize,
    /// Owed active expiries read before an expected frame.
    owed: Vec<(i64, Key)>,
    /// Lazy expiries read.
    lazy: Vec<Key>,
    /// Owed misses of SCAN TYPE read.
    misses: Vec<Key>,
}

/// The keys of one database with their present states.
type KeyEntries = Vec<(Key, Vec<Entry>)>;

impl Model {
    /// Whether any connection may receive a notification now.
    fn listening(&self) -> bool {
        self.notify.publishes() && self.subs.values().any(|s| s.count() > 0)
    }

    /// `notify-keyspace-events` as the server was started with or set to.
    pub fn set_notify_flags(&mut self, flags: u32) {
        self.notify.flags = flags;
    }

    /// CONFIG SET notify-keyspace-events (the only CONFIG the workload sends).
    pub(crate) fn config(&mut self, request: &[Vec<u8>], actual: &[u8]) -> Result<(), String> {
        let ok = request.len() == 4
            && is(&request[1], "set")
            && is(&request[2], "notify-keyspace-events");
        if !ok {
            return Err(format!("model limitation: {}", resp::show_request(request)));
        }
        match parse_flags(&request[3]) {
            Some(f) => {
                super::expect_exact(actual, &resp::ok())?;
                self.notify.flags = f;
                self.note("notify: CONFIG SET notify-keyspace-events".into());
                Ok(())
            }
            None => Err("model limitation: a bad class string".into()),
        }
    }

    /// Queue the alternatives of the command just evaluated.
    pub(crate) fn queue_notifications(&mut self, alternatives: BTreeSet<Vec<Ev>>) {
        if !self.listening() {
            return;
        }
        let mut alts: Vec<Vec<Ev>> = alternatives.into_iter().collect();
        // The longest first: a lazy `expired` is preferred over its absence when
        // the frames show it.
        alts.sort_by_key(|a| std::cmp::Reverse(a.len()));
        self.notify
            .queue
            .push((self.deliveries.len(), alts, self.notify.group, self.cur_db));
    }

    /// The commands queued from now until [`Model::end_unordered_notifications`]
    /// notify in an order the model does not know: the pops that serve clients
    /// blocked on the keys a SWAPDB readied (Redis walks its blocking-keys dict).
    pub(crate) fn begin_unordered_notifications(&mut self) {
        self.notify.groups += 1;
        self.notify.group = self.notify.groups;
    }

    pub(crate) fn end_unordered_notifications(&mut self) {
        self.notify.group = 0;
    }

    pub(crate) fn notifications_wanted(&self) -> bool {
        self.listening()
    }

    /// Every key the model sees past its deadline may be deleted by active expiry
    /// (or a walk of the keyspace) at a moment it does not know: its `expired` is
    /// owed to each subscriber.
    pub(crate) fn owe_expired(&mut self, wall_ms: i64, keys: &[Key]) {
        if !self.listening() {
            return;
        }
        let stale: Vec<(Key, Vec<Entry>)> = keys
            .iter()
            .map(|k| (k.clone(), stale_entries(&self.slots(k), wall_ms)))
            .collect();
        self.owe(self.cur_db, stale);
    }

    /// Active expiry walks the other databases too: what SWAPDB took out of db 0
    /// expires there, notified on `__keyspace@<db>__`.
    pub(crate) fn owe_expired_other_dbs(&mut self, wall_ms: i64) {
        if !self.listening() {
            return;
        }
        let per_db: Vec<(i64, KeyEntries)> = self
            .other_dbs
            .iter()
            .map(|(id, db)| {
                let stale = db
                    .iter()
                    .map(|(k, slots)| (k.clone(), stale_entries(slots, wall_ms)))
                    .collect();
                (*id, stale)
            })
            .collect();
        for (id, stale) in per_db {
            self.owe(id, stale);
        }
    }

    fn owe(&mut self, db: i64, stale: Vec<(Key, Vec<Entry>)>) {
        let sessions: Vec<String> = self
            .subs
            .iter()
            .filter(|(_, s)| s.count() > 0)
            .map(|(n, _)| n.clone())
            .collect();
        for (k, stale) in stale {
            if stale.is_empty() {
                continue;
            }
            for s in &sessions {
                let entries = self
                    .notify
                    .owed
                    .entry(s.clone())
                    .or_default()
                    .entry((db, k.clone()))
                    .or_default();
                for e in &stale {
                    if !entries.contains(e) {
                        entries.push(e.clone());
                    }
                }
            }
        }
    }

    /// SWAPDB `a` `b`: an active expiry owed in one of them may have happened
    /// before the swap (notified in the database the key was in) or after it (in
    /// the other one), the model cannot tell which: each is owed in both.
    pub(crate) fn notify_swapdb(&mut self, a: i64, b: i64) {
        for owed in self.notify.owed.values_mut() {
            let moved: Vec<((i64, Key), Vec<Entry>)> = owed
                .iter()
                .filter(|((d, _), _)| *d == a || *d == b)
                .map(|((d, k), e)| ((if *d == a { b } else { a }, k.clone()), e.clone()))
                .collect();
            for (at, entries) in moved {
                let mine = owed.entry(at).or_default();
                for e in entries {
                    if !mine.contains(&e) {
                        mine.push(e);
                    }
                }
            }
        }
    }

    /// SCAN ... TYPE walks a part of the keyspace the model does not know, looking
    /// its keys up: those past their deadline may be missed.
    pub(crate) fn owe_scan_misses(&mut self, wall_ms: i64, pattern: Option<&[u8]>) {
        if !self.listening() {
            return;
        }
        let keys: Vec<Key> = self
            .keys
            .iter()
            .filter(|(k, _)| pattern.is_none_or(|p| glob::matches(p, k)))
            .filter(|(_, slots)| {
                slots
                    .iter()
                    .any(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (n, s) in &self.subs {
            if s.count() > 0 {
                self.notify
                    .owed_miss
                    .entry(n.clone())
                    .or_default()
                    .extend(keys.iter().cloned());
            }
        }
    }

    /// A subscriber read an active `expired` of `key`: that key is gone, none of
    /// the states past their deadline it was owed for is left.
    fn learn_expired(&mut self, session: &str, db: i64, key: &[u8]) {
        let Some(owed) = self.notify.owed.get_mut(session) else {
            return;
        };
        let Some(entries) = owed.get(&(db, key.to_vec())) else {
            return;
        };
        if entries.len() > 1 {
            // Several states of the key were owed here (SWAPDB copies what is owed
            // to both sides): one of them expired, the model cannot tell which, so
            // all stay possible and owed.
            self.note("notify: an active expiry of one of several states read".into());
            return;
        }
        let entries = owed.remove(&(db, key.to_vec())).expect("looked up above");
        // The copies SWAPDB made of the same states (see [`Model::notify_swapdb`]).
        owed.retain(|(_, k), e| {
            if k.as_slice() == key {
                e.retain(|x| !entries.contains(x));
            }
            !e.is_empty()
        });
        // Wherever SWAPDB has moved the key since, those states are gone.
        let mut slots = self.slots(key);
        slots.retain(|s| s.as_ref().is_none_or(|e| !entries.contains(e)));
        if slots.is_empty() {
            slots.push(None);
        }
        self.store(key.to_vec(), slots);
        for other in self.other_dbs.values_mut() {
            if let Some(slots) = other.get_mut(key) {
                slots.retain(|s| s.as_ref().is_none_or(|e| !entries.contains(e)));
                if slots.is_empty() || slots == &[None] {
                    other.remove(key);
                }
            }
        }
        self.note(if db == 0 {
            "notify: an active expiry read".into()
        } else {
            "notify: an active expiry in another db read".into()
        });
    }

    /// The owed `expired` at `name`'s frame `at`, if one is there.
    fn owed_at(
        &self,
        out: &Outboxes,
        name: &str,
        at: usize,
        skip: &[(i64, Key)],
    ) -> Option<((i64, Key), usize)> {
        let subs = self.subs.get(name)?;
        let empty = BTreeMap::new();
        let owed = self.notify.owed.get(name).unwrap_or(&empty);
        for (db, k) in owed.keys() {
            if skip.iter().any(|(d, x)| d == db && x == k) {
                continue;
            }
            let pubs = pubs_for(subs, self.notify.flags, &ev(EXPIRED, "expired", k), *db);
            if pubs.is_empty() {
                continue;
            }
            if let Some(n) = match_pubs(out, name, at, &pubs) {
                return Some(((*db, k.clone()), n));
            }
        }
        None
    }

    /// An owed `keymiss` of SCAN ... TYPE at `name`'s frame `at`.
    fn owed_miss_at(
        &self,
        out: &Outboxes,
        name: &str,
        at: usize,
        skip: &[Key],
    ) -> Option<(Key, usize)> {
        let subs = self.subs.get(name)?;
        for k in self.notify.owed_miss.get(name)? {
            if skip.contains(k) {
                continue;
            }
            let pubs = pubs_for(subs, self.notify.flags, &ev(KEY_MISS, "keymiss", k), 0);
            if pubs.is_empty() {
                continue;
            }
            if let Some(n) = match_pubs(out, name, at, &pubs) {
                return Some((k.clone(), n));
            }
        }
        None
    }

    /// Read the owed active expiries at the head of `name`'s frames.
    pub(crate) fn read_owed(&mut self, name: &str, out: &mut Outboxes) {
        loop {
            if let Some(((db, k), n)) = self.owed_at(out, name, 0, &[]) {
                for _ in 0..n {
                    out.take(name);
                }
                self.learn_expired(name, db, &k);
            } else if let Some((k, n)) = self.owed_miss_at(out, name, 0, &[]) {
                for _ in 0..n {
                    out.take(name);
                }
                if let Some(o) = self.notify.owed_miss.get_mut(name) {
                    o.remove(&k);
                }
                self.note("notify: a keymiss of SCAN TYPE read".into());
            } else {
                break;
            }
        }
    }

    /// At the end of a step: what is left at the head of every subscriber are
    /// active expiries.
    pub fn notifications_step_end(&mut self, out: &mut Outboxes) {
        let names: BTreeSet<String> = self
            .notify
            .owed
            .keys()
            .chain(self.notify.owed_miss.keys())
            .cloned()
            .collect();
        for n in names {
            self.read_owed(&n, out);
        }
        // A SCAN's walk is over: what it did not miss it will not.
        self.notify.owed_miss.clear();
    }

    /// Match one subscriber's frames against an alternative.
    fn match_alternative(
        &self,
        out: &Outboxes,
        name: &str,
        alt: &[Ev],
        db: i64,
    ) -> Option<Matched> {
        let subs = self.subs.get(name)?;
        let flags = self.notify.flags;
        let mut m = Matched::default();
        let mut i = 0;
        while i < alt.len() {
            let e = &alt[i];
            if e.bag_max > 0 {
                // A run of events in any order.
                let end = alt[i..]
                    .iter()
                    .position(|x| x.bag_max == 0)
                    .map_or(alt.len(), |p| i + p);
                let mut used = vec![0usize; end - i];
                // Owed active expiries (and SCAN misses) may come between the bag's
                // frames; those read after its last frame are left for what follows.
                let mut kept = (m.frames, m.owed.len(), m.misses.len());
                'bag: loop {
                    for (j, b) in alt[i..end].iter().enumerate() {
                        if used[j] >= b.bag_max {
                            continue;
                        }
                        let pubs = pubs_for(subs, flags, b, db);
                        if pubs.is_empty() {
                            continue;
                        }
                        if let Some(n) = match_pubs(out, name, m.frames, &pubs) {
                            if b.name == "expired" {
                                if m.owed.iter().any(|(d, k)| *d == db && *k == b.key) {
                                    continue;
                                }
                                m.lazy.push(b.key.clone());
                            }
                            used[j] += 1;
                            m.frames += n;
                            kept = (m.frames, m.owed.len(), m.misses.len());
                            continue 'bag;
                        }
                    }
                    if let Some((k, n)) = self.owed_at(out, name, m.frames, &m.owed) {
                        m.frames += n;
                        m.owed.push(k);
                        continue;
                    }
                    if let Some((k, n)) = self.owed_miss_at(out, name, m.frames, &m.misses) {
                        m.frames += n;
                        m.misses.push(k);
                        continue;
                    }
                    break;
                }
                m.frames = kept.0;
                m.owed.truncate(kept.1);
                m.misses.truncate(kept.2);
                i = end;
                continue;
            }
            let pubs = pubs_for(subs, flags, e, db);
            if !pubs.is_empty() {
                loop {
                    if let Some(n) = match_pubs(out, name, m.frames, &pubs) {
                        m.frames += n;
                        if e.name == "expired" {
                            if m.owed.iter().any(|(d, k)| *d == db && *k == e.key) {
                                // Read as active already: this lazy one is not.
                                return None;
                            }
                            m.lazy.push(e.key.clone());
                        }
                        break;
                    }
                    if let Some((k, n)) = self.owed_at(out, name, m.frames, &m.owed) {
                        m.frames += n;
                        m.owed.push(k);
                        continue;
                    }
                    let (k, n) = self.owed_miss_at(out, name, m.frames, &m.misses)?;
                    m.frames += n;
                    m.misses.push(k);
                }
            }
            i += 1;
        }
        Some(m)
    }

    /// For a driver without a trace (the example against a real redis-server): the
    /// frames in `out` are all the subscribers were sent since the last check, and
    /// must be exactly the notifications (and messages) queued, plus owed active
    /// expiries.
    pub fn check_notifications(&mut self, out: &mut Outboxes) -> Result<(), String> {
        self.deliver_all(out)?;
        self.notifications_step_end(out);
        Ok(())
    }

    /// Check the notifications queued (and the PUBLISH deliveries between them)
    /// against what the subscribers were sent.
    pub(crate) fn deliver_all(&mut self, out: &mut Outboxes) -> Result<(), String> {
        let queue = std::mem::take(&mut self.notify.queue);
        if queue.is_empty() {
            return self.deliver(out);
        }
        let mut pubs = std::mem::take(&mut self.deliveries);
        let mut done = 0;
        let mut at = 0;
        while at < queue.len() {
            let (before, _, group, _) = &queue[at];
            let end = if *group == 0 {
                at + 1
            } else {
                queue[at..]
                    .iter()
                    .position(|q| q.2 != *group)
                    .map_or(queue.len(), |p| at + p)
            };
            let now: Vec<_> = pubs.drain(..before - done).collect();
            done = *before;
            self.deliveries = now;
            self.deliver(out)?;
            // A group's commands in any order: each time, the first one whose
            // events the frames show next (no PUBLISH runs between them).
            let mut left: Vec<(&Vec<Vec<Ev>>, i64)> =
                queue[at..end].iter().map(|q| (&q.1, q.3)).collect();
            while !left.is_empty() {
                let mut first_err = None;
                let mut matched = None;
                for (n, (alts, db)) in left.iter().enumerate() {
                    match self.check_alternatives(alts, *db, out) {
                        Ok(()) => {
                            matched = Some(n);
                            break;
                        }
                        Err(why) => {
                            first_err.get_or_insert(why);
                        }
                    }
                }
                match matched {
                    Some(n) => {
                        if n > 0 {
                            self.note("notify: serves after SWAPDB notified out of order".into());
                        }
                        left.remove(n);
                    }
                    None => return Err(first_err.expect("tried one")),
                }
            }
            at = end;
        }
        self.deliveries = pubs;
        self.deliver(out)
    }

    fn check_alternatives(
        &mut self,
        alts: &[Vec<Ev>],
        db: i64,
        out: &mut Outboxes,
    ) -> Result<(), String> {
        let names: Vec<String> = self
            .subs
            .iter()
            .filter(|(_, s)| s.count() > 0)
            .map(|(n, _)| n.clone())
            .collect();
        for alt in alts {
            let mut all = Vec::new();
            for n in &names {
                match self.match_alternative(out, n, alt, db) {
                    Some(m) => all.push((n.clone(), m)),
                    None => break,
                }
            }
            if all.len() < names.len() {
                continue;
            }
            for (n, m) in all {
                for _ in 0..m.frames {
                    out.take(&n);
                }
                for (db, k) in &m.owed {
                    self.learn_expired(&n, *db, k);
                }
                for k in &m.lazy {
                    if let Some(o) = self.notify.owed.get_mut(&n) {
                        o.remove(&(db, k.clone()));
                    }
                }
                for k in &m.misses {
                    if let Some(o) = self.notify.owed_miss.get_mut(&n) {
                        o.remove(k);
                    }
                }
                if m.frames > 0 {
                    self.note("notify: notifications delivered".into());
                }
                if !m.lazy.is_empty() {
                    self.note("notify: a lazy expiry delivered".into());
                }
            }
            if alt.iter().any(|e| e.name == "keymiss") {
                self.note("notify: a keymiss event".into());
            }
            return Ok(());
        }
        let shown: Vec<String> = alts
            .iter()
            .map(|a| {
                let evs: Vec<String> = a
                    .iter()
                    .map(|e| format!("{} {}", e.name, resp::show(&e.key)))
                    .collect();
                format!("[{}]", evs.join(", "))
            })
            .collect();
        let mut why = format!(
            "notifications (flags {:#x}): expected the events {} in db {db}",
            self.notify.flags,
            shown.join(" or ")
        );
        for n in &names {
            let mut got = Vec::new();
            for i in 0..8 {
                match out.peek_nth(n, i) {
                    Some(f) => got.push(resp::show(f)),
                    None => break,
                }
            }
            let owed: Vec<String> = self
                .notify
                .owed
                .get(n)
                .map(|o| {
                    o.keys()
                        .map(|(db, k)| format!("{}@{db}", resp::show(k)))
                        .collect()
                })
                .unwrap_or_default();
            why.push_str(&format!(
                "\n  {n} was sent next: {} (owed expiries: {})",
                got.join(" "),
                owed.join(" ")
            ));
        }
        let dbs: Vec<String> = self
            .other_dbs
            .iter()
            .map(|(id, db)| format!("db {id}: {} keys", db.len()))
            .collect();
        why.push_str(&format!("\n  other databases: {}", dbs.join(", ")));
        for (k, slots) in &self.keys {
            if why.contains(&resp::show(k)) && k.len() > 2 {
                why.push_str(&format!("\n  db 0 {}: {slots:?}", resp::show(k)));
            }
        }
        for (id, db) in &self.other_dbs {
            for (k, slots) in db {
                if why.contains(&resp::show(k)) && k.len() > 2 {
                    why.push_str(&format!("\n  db {id} {}: {slots:?}", resp::show(k)));
                }
            }
        }
        Err(why)
    }
}
