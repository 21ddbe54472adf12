//! The reference model of the commands the workload sends: what Redis replies,
//! computed from a plain map of keys to values (with their encodings, see [`value`])
//! and deadlines, written from Redis's sources independently of the core.
//!
//! **What the model cannot know.** Active expiry deletes keys in the background,
//! sampling at random; after the wall clock jumps backwards a key whose deadline had
//! passed may have been deleted, or may still be there and visible again. So each key
//! holds a set of possible states (`Slot`s), and:
//! * after every input the server handled at wall time `w` (the only moments active
//!   expiry can run), a key with a deadline before `w` may also be gone;
//! * a command is computed for every combination of its keys' possible states, the
//!   reply the server actually gave must be one of the results, and the keys keep only
//!   the states that lead to it (a reply narrows what the model knows);
//! * whole-keyspace replies (DBSIZE, KEYS, SCAN, RANDOMKEY) are checked as ranges and
//!   set properties instead of exact bytes.
//!
//! **What Redis leaves open.** Some results depend on things the model does not
//! simulate: random draws (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER), hash-table
//! iteration order, `qsort`'s order among inputs of equal size, the levels of a
//! skiplist. A command's evaluation may therefore *choose* ([`View::choose`]): the
//! model runs it once per sequence of choices and keeps every outcome the actual reply
//! agrees with. Random replies are checked by their guarantees and then teach the
//! model what was drawn; replies in an order Redis does not define compare as
//! multisets; replies in an order Redis does define compare byte for byte.
//!
//! Expiry follows Redis 7.0: a key is expired when the wall clock in milliseconds is
//! greater than its deadline (`keyIsExpired`: `now > when`), an EXPIRE to a time at or
//! before now deletes at once (`checkAlreadyExpired`: `when <= now`).

mod bitmaps;
pub mod blocking;
mod dbs;
mod elemscan;
mod hashes;
mod hll;
mod lists;
pub mod multi;
pub mod notify;
mod pubsub;
pub use pubsub::is_message;
mod sets;
mod sort;
mod strings;
#[cfg(test)]
mod tests;
pub mod value;
mod zsets;

use crate::glob;
use crate::resp::{self, take_reply, Proto, Reply};
use std::collections::{BTreeMap, BTreeSet};
pub use value::Limits;
use value::{Events, Hash, List, Set, Value, Zset};

pub type Key = Vec<u8>;

/// A present key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub value: Value,
    /// Absolute wall-clock deadline in milliseconds.
    pub deadline_ms: Option<i64>,
}

impl Entry {
    fn visible_at(&self, wall_ms: i64) -> bool {
        self.deadline_ms.is_none_or(|d| d >= wall_ms)
    }
}

/// One possible state of a key: absent or present (possibly already past its deadline
/// and not yet deleted).
pub type Slot = Option<Entry>;

/// Combinations of possible states tried for one command before giving up: far above
/// what the workload produces (a few keys, each with one to three states).
const COMBINATIONS_MAX: usize = 4096;
/// Evaluations of one command (combinations times sequences of choices) before
/// giving up.
const RUNS_MAX: usize = 50_000;
/// Possible states kept for one key before the model gives up.
const SLOTS_MAX: usize = 64;

/// How a whole-keyspace count is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dbsize {
    /// Expired keys may or may not have been deleted yet.
    Lenient,
    /// Enough time passed since the last jump for active expiry to remove every key
    /// past its deadline: they must all be gone.
    ExpiredGone,
}

/// One client connection as the model sees it.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub name: String,
    pub proto: Proto,
    /// The transaction being queued, between MULTI and EXEC or DISCARD.
    pub multi: Option<multi::Multi>,
    /// The database SELECT chose.
    pub db: i64,
}

impl Session {
    pub fn new(name: &str) -> Session {
        Session {
            name: name.to_string(),
            proto: Proto::Resp2,
            multi: None,
            db: 0,
        }
    }
}

/// A full HSCAN/SSCAN/ZSCAN iteration one connection is walking: Redis guarantees
/// that an element present from its start to its end is returned at least once.
#[derive(Debug, Clone)]
struct ElementScan {
    key: Key,
    /// The cursor the last call returned: only a call with it continues the walk.
    next: Vec<u8>,
    pattern: Option<Vec<u8>>,
    /// Members present in every possible state of the key at every moment so far.
    always: BTreeSet<Vec<u8>>,
    returned: BTreeSet<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Keys with at least one present state. Sorted, deduplicated, never empty; a key
    /// not in the map is certainly absent.
    keys: BTreeMap<Key, Vec<Slot>>,
    limits: Limits,
    /// Commands checked while one of their keys had several possible states: proof
    /// that the uncertain paths (expiry racing a backward jump) really happen.
    pub uncertain_checks: usize,
    /// How often each interesting path was taken (encoding conversions, WRONGTYPE,
    /// emptied keys, STORE over another type, full element scans...).
    pub events: BTreeMap<String, usize>,
    /// Element scans in progress, by connection.
    scans: BTreeMap<String, ElementScan>,
    /// The keys each connection watches (see [`multi`]).
    watches: BTreeMap<String, multi::Watch>,
    /// Blocked clients, in the order they blocked (see [`blocking`]).
    blocked: Vec<blocking::Blocked>,
    /// Keys waited for that a command created, in that order: they serve their
    /// blocked clients once the command is done.
    ready: Vec<Key>,
    /// Evaluating a blocked client's pop on a ready key.
    serving: bool,
    /// Running EXEC's commands: nothing blocks.
    in_exec: bool,
    /// Each connection's channels and patterns (see [`pubsub`]).
    subs: BTreeMap<String, pubsub::Subs>,
    /// Messages published by the requests being replayed, not yet checked against
    /// their receivers' outboxes.
    deliveries: Vec<pubsub::Delivery>,
    /// The databases other than 0 that SWAPDB filled (see [`dbs`]).
    other_dbs: BTreeMap<i64, dbs::Db>,
    /// Keyspace notifications (see [`notify`]).
    notify: notify::Notify,
    /// The keys in `ready` came from SWAPDB's walk of a dict: their order is open.
    ready_unordered: bool,
    /// Connection ids, as CLIENT ID replied them, and whose they are.
    client_ids: BTreeMap<i64, String>,
    /// Clients CLIENT UNBLOCK ended the wait of, whose frames the command's step
    /// must show (see [`blocking`]).
    unblocked: Vec<blocking::Unblocked>,
    /// The database of the command being evaluated: while it is not 0, `keys` holds
    /// that database's keys and db 0's wait in `other_dbs` (see [`Model::exec`]).
    cur_db: i64,
}

/// What the server had sent each connection by the end of the step being replayed,
/// cut into frames: a request's reply must be there when the request is replayed,
/// a blocked client's only once it was served or timed out, a message once it was
/// published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outboxes {
    boxes: BTreeMap<String, Outbox>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Outbox {
    /// Frames not yet consumed, each with the stream offset where it ends.
    frames: std::collections::VecDeque<(Vec<u8>, usize)>,
    /// Bytes the server had sent by the end of the current step.
    sent: usize,
}

impl Outboxes {
    /// A connection and every frame the server sent it.
    pub fn add(&mut self, name: &str, frames: Vec<Vec<u8>>) {
        let mut end = 0;
        let frames = frames
            .into_iter()
            .map(|f| {
                end += f.len();
                (f, end)
            })
            .collect();
        self.boxes
            .insert(name.to_string(), Outbox { frames, sent: 0 });
    }

    /// The server sent `n` more bytes to `name` in the current step.
    pub fn sent(&mut self, name: &str, n: usize) {
        if let Some(b) = self.boxes.get_mut(name) {
            b.sent += n;
        }
    }

    /// The next frame of `name`, if the server had sent it by now.
    pub fn peek(&self, name: &str) -> Option<&[u8]> {
        let b = self.boxes.get(name)?;
        b.frames
            .front()
            .filter(|(_, end)| *end <= b.sent)
            .map(|(f, _)| f.as_slice())
    }

    /// Move `name`'s first sent frame that is not a published message to the
    /// front. A RESP3 subscriber's own command may notify it before its reply
    /// (GET's keymiss) or after it: its reply is taken first, and the messages
    /// before it are then checked as that command's notifications.
    pub fn reply_first(&mut self, name: &str) {
        let Some(b) = self.boxes.get_mut(name) else {
            return;
        };
        let sent = b.sent;
        let first_reply = b
            .frames
            .iter()
            .take_while(|(_, end)| *end <= sent)
            .position(
                |(f, _)| !matches!(take_reply(f), Ok(Some((r, _))) if pubsub::is_message(&r)),
            );
        if let Some(i) = first_reply.filter(|&i| i > 0) {
            let front_end = b.frames[0].1;
            let (frame, _) = b.frames.remove(i).expect("found above");
            b.frames.push_front((frame, front_end));
        }
    }

    /// The `n`-th unconsumed frame of `name`, if the server had sent it by now.
    pub fn peek_nth(&self, name: &str, n: usize) -> Option<&[u8]> {
        let b = self.boxes.get(name)?;
        b.frames
            .get(n)
            .filter(|(_, end)| *end <= b.sent)
            .map(|(f, _)| f.as_slice())
    }

    pub fn take(&mut self, name: &str) -> Option<Vec<u8>> {
        self.peek(name)?;
        self.boxes
            .get_mut(name)
            .and_then(|b| b.frames.pop_front())
            .map(|(f, _)| f)
    }

    /// Frames of `name` not consumed yet (sent or not).
    pub fn left(&self, name: &str) -> usize {
        self.boxes.get(name).map_or(0, |b| b.frames.len())
    }
}

/// A reply as received: its bytes and its decoded form.
pub(crate) struct Actual<'a> {
    pub bytes: &'a [u8],
    pub reply: &'a Reply,
}

impl Model {
    pub fn new(limits: Limits) -> Model {
        Model {
            limits,
            ..Model::default()
        }
    }

    fn slots(&self, key: &[u8]) -> Vec<Slot> {
        self.keys.get(key).cloned().unwrap_or_else(|| vec![None])
    }

    fn store(&mut self, key: Key, mut slots: Vec<Slot>) {
        assert!(!slots.is_empty(), "a key always has a possible state");
        slots.sort();
        slots.dedup();
        if slots == [None] {
            self.keys.remove(&key);
        } else {
            self.keys.insert(key.clone(), slots);
        }
        if self.cur_db == 0 {
            self.narrow_scans(&key);
        }
    }

    fn note(&mut self, event: String) {
        *self.events.entry(event).or_default() += 1;
    }

    /// Record that active expiry may have run at wall time `wall_ms` (after any input
    /// the server handled): every key past its deadline may now be gone.
    pub fn after_input(&mut self, wall_ms: i64) {
        self.walked_past_expired(wall_ms, None);
        self.other_dbs_after_input(wall_ms);
    }

    /// A command that walks the keyspace (RANDOMKEY, SCAN) deletes the expired keys
    /// it happens upon: any key matching `pattern` that is past its deadline may be gone.
    fn walked_past_expired(&mut self, wall_ms: i64, pattern: Option<&[u8]>) {
        let mut touched = Vec::new();
        let mut stale_keys = Vec::new();
        for (k, slots) in self.keys.iter_mut() {
            if pattern.is_some_and(|p| !glob::matches(p, k)) {
                continue;
            }
            let stale = slots
                .iter()
                .any(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)));
            if stale && !slots.contains(&None) {
                slots.insert(0, None);
                touched.push(k.clone());
            }
            if stale {
                stale_keys.push(k.clone());
            }
        }
        for k in touched {
            self.narrow_scans(&k);
        }
        // Deleting an expired key signals it (deleteExpiredKeyAndPropagate).
        self.owe_expired(wall_ms, &stale_keys);
        for k in stale_keys {
            if self.watched(&k) {
                self.touch(&k, multi::Tri::Maybe);
            }
        }
    }

    /// Element scans over `key` keep only what is in every possible state of it now.
    fn narrow_scans(&mut self, key: &[u8]) {
        if !self.scans.values().any(|s| s.key == key) {
            return;
        }
        let slots = self.slots(key);
        let mut present: Option<BTreeSet<Vec<u8>>> = None;
        for s in &slots {
            let members = s
                .as_ref()
                .map(|e| e.value.scan_members())
                .unwrap_or_default();
            present = Some(match present {
                None => members,
                Some(p) => p.intersection(&members).cloned().collect(),
            });
        }
        let present = present.unwrap_or_default();
        for scan in self.scans.values_mut().filter(|s| s.key == key) {
            scan.always = scan.always.intersection(&present).cloned().collect();
        }
    }

    /// Add `other`'s possible states to this model's, key by key: the model of "one
    /// of these two runs happened" (used when the moment a server handled a request
    /// is only known within a few milliseconds). Correlations between keys are lost,
    /// which only makes the model more lenient.
    pub fn merge(&mut self, other: Model) {
        self.merge_other_dbs(&other.other_dbs);
        let keys: BTreeSet<Key> = self.keys.keys().chain(other.keys.keys()).cloned().collect();
        for k in keys {
            let mut slots = self.slots(&k);
            slots.extend(other.slots(&k));
            self.store(k, slots);
        }
    }

    /// Number of keys, and how many of them are uncertain (for reports).
    pub fn summary(&self) -> (usize, usize) {
        let uncertain = self.keys.values().filter(|s| s.len() > 1).count();
        (self.keys.len(), uncertain)
    }

    /// Check the reply `actual` (one whole RESP reply) the server gave to `request`
    /// from `session` at wall time `wall_ms`, and learn from it.
    pub fn exec(
        &mut self,
        session: &mut Session,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Result<(), String> {
        assert!(!request.is_empty(), "a request has a command name");
        debug_assert_eq!(self.cur_db, 0, "commands do not nest");
        if session.db == 0 {
            return self.exec_in_db(session, wall_ms, request, actual, dbsize);
        }
        // A connection that SELECTed another database: its keys take db 0's place
        // for the command. Connections watch, block and scan elements in db 0 only
        // (the workload's SELECT batches hold none of those), so what a command does
        // there signals none of them; its notifications name its database.
        if session.multi.is_some() {
            return Err("model limitation: a transaction in another database".into());
        }
        let db = session.db;
        let theirs = self.other_dbs.remove(&db).unwrap_or_default();
        let db0 = std::mem::replace(&mut self.keys, theirs);
        self.cur_db = db;
        let r = self.exec_in_db(session, wall_ms, request, actual, dbsize);
        self.cur_db = 0;
        let theirs = std::mem::replace(&mut self.keys, db0);
        if !theirs.is_empty() {
            self.other_dbs.insert(db, theirs);
        }
        r
    }

    fn exec_in_db(
        &mut self,
        session: &mut Session,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Result<(), String> {
        let name = String::from_utf8_lossy(&request[0]).to_ascii_lowercase();
        if refused_before_call(&name, request).is_none() {
            if let Some(refused) = self.refused_while_subscribed(session, &name) {
                return expect_exact(actual, &refused);
            }
        }
        let r = match self.transaction(session, wall_ms, &name, request, actual, dbsize) {
            Some(r) => r,
            None => self.exec_now(session, wall_ms, request, actual, dbsize),
        };
        self.note_proto(session);
        r
    }

    /// Run one command now (outside MULTI, or as part of EXEC).
    fn exec_now(
        &mut self,
        session: &mut Session,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Result<(), String> {
        // A blocking pop that blocked has no reply (yet).
        let reply = if actual.is_empty() {
            Reply::NilArray
        } else {
            decode(actual)?
        };
        let actual = Actual {
            bytes: actual,
            reply: &reply,
        };
        let name = String::from_utf8_lossy(&request[0]).to_ascii_lowercase();
        if let Some(refused) = refused_before_call(&name, request) {
            return expect_exact(actual.bytes, &refused);
        }
        if name == "object" {
            let sub = String::from_utf8_lossy(&request[1]).to_ascii_lowercase();
            if sub != "encoding" {
                return Err(format!("model limitation: no model of OBJECT {sub}"));
            }
        }
        let p = session.proto;
        match name.as_str() {
            "hello" => self.hello(session, request, &actual),
            "dbsize" => self.dbsize(wall_ms, actual.bytes, dbsize),
            "keys" => self.keys_command(wall_ms, &request[1], &actual),
            "scan" => self.scan(wall_ms, request, &actual),
            "randomkey" => self.randomkey(wall_ms, &actual, p),
            "flushdb" | "flushall" => self.flushdb(request, actual.bytes, name == "flushall"),
            "ping" => self.ping(session, request, actual.bytes),
            "publish" => self.publish(request, actual.bytes),
            "spublish" => self.spublish(request, actual.bytes),
            "swapdb" => self.swapdb(wall_ms, request, actual.bytes),
            "select" => self.select(session, request, actual.bytes),
            "pubsub" => self.pubsub_command(request, actual.bytes),
            "config" => self.config(request, actual.bytes),
            "client" => self.client_command(session, request, actual.bytes),
            "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe"
            | "sunsubscribe" => Err(format!(
                "model limitation: {name} replying one frame (inside EXEC?)"
            )),
            // Queued in MULTI, run by EXEC (which already forgot the watched keys).
            "unwatch" => {
                self.watches.remove(&session.name);
                expect_exact(actual.bytes, &resp::ok())
            }
            "hscan" | "sscan" | "zscan" => {
                let pattern = scan_pattern(request);
                if request[2] == b"0" {
                    let mut always = None::<BTreeSet<Vec<u8>>>;
                    for s in self.slots(&request[1]) {
                        let members = s
                            .filter(|e| e.visible_at(wall_ms))
                            .map(|e| e.value.scan_members())
                            .unwrap_or_default();
                        always = Some(match always {
                            None => members,
                            Some(a) => a.intersection(&members).cloned().collect(),
                        });
                    }
                    self.scans.insert(
                        session.name.clone(),
                        ElementScan {
                            key: request[1].clone(),
                            next: b"0".to_vec(),
                            pattern,
                            always: always.unwrap_or_default(),
                            returned: BTreeSet::new(),
                        },
                    );
                }
                self.exec_per_key(&name, wall_ms, request, &actual, p)?;
                self.element_scan_step(session, request, actual.reply)
            }
            _ => self.exec_per_key(&name, wall_ms, request, &actual, p),
        }
    }

    /// HELLO [protover]: the connection's protocol changes, the reply describes the
    /// server (its version and the client id are the server's own business).
    fn hello(
        &mut self,
        session: &mut Session,
        request: &[Vec<u8>],
        actual: &Actual,
    ) -> Result<(), String> {
        let mut proto = session.proto;
        if request.len() >= 2 {
            match crate::numbers::parse_i64_strict(&request[1]) {
                None => {
                    let msg = "Protocol version is not an integer or out of range";
                    return expect_exact(actual.bytes, &resp::err(msg));
                }
                Some(2) => proto = Proto::Resp2,
                Some(3) => proto = Proto::Resp3,
                Some(_) => {
                    return expect_exact(actual.bytes, b"-NOPROTO unsupported protocol version\r\n")
                }
            }
        }
        if request.len() > 2 {
            return Err("model limitation: HELLO options".into());
        }
        let fields: Vec<(Reply, Reply)> = match actual.reply {
            Reply::Map(pairs) if proto == Proto::Resp3 => pairs.clone(),
            Reply::Array(items) if proto == Proto::Resp2 && items.len() % 2 == 0 => items
                .chunks(2)
                .map(|c| (c[0].clone(), c[1].clone()))
                .collect(),
            _ => {
                return Err(format!(
                    "HELLO in {proto:?} replied {}",
                    resp::show(actual.bytes)
                ))
            }
        };
        let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
        let version = fields.get(1).map(|f| f.1.clone());
        let id = fields.get(3).map(|f| f.1.clone());
        let expected = vec![
            (bulk("server"), bulk("redis")),
            (
                bulk("version"),
                version
                    .clone()
                    .filter(|v| matches!(v, Reply::Bulk(_)))
                    .unwrap_or(Reply::Null),
            ),
            (
                bulk("proto"),
                Reply::Int(if proto == Proto::Resp3 { 3 } else { 2 }),
            ),
            (bulk("id"), id.clone().unwrap_or(Reply::Null)),
            (bulk("mode"), bulk("standalone")),
            (bulk("role"), bulk("master")),
            (bulk("modules"), Reply::Array(vec![])),
        ];
        if fields != expected || !matches!(id, Some(Reply::Int(n)) if n > 0) {
            return Err(format!(
                "HELLO replied {} (version {:?})",
                resp::show(actual.bytes),
                version
            ));
        }
        session.proto = proto;
        Ok(())
    }

    /// After an element scan call: remember what it returned, and when the cursor
    /// comes back to 0, check that everything present throughout was returned.
    fn element_scan_step(
        &mut self,
        session: &Session,
        request: &[Vec<u8>],
        reply: &Reply,
    ) -> Result<(), String> {
        let Some(scan) = self.scans.get_mut(&session.name) else {
            return Ok(());
        };
        // A call that merely happens to name the pending cursor (the workload picks
        // `7` at random) with another MATCH is a different scan: its filter would
        // hide members the first page's pattern expects.
        if scan.key != request[1]
            || scan.next != request[2]
            || scan.pattern != scan_pattern(request)
        {
            self.scans.remove(&session.name);
            return Ok(());
        }
        let (cursor, items) = match reply {
            Reply::Array(parts) => match parts.as_slice() {
                [Reply::Bulk(c), Reply::Array(items)] => (c.clone(), items.clone()),
                _ => {
                    self.scans.remove(&session.name);
                    return Ok(());
                }
            },
            _ => {
                self.scans.remove(&session.name);
                return Ok(());
            }
        };
        let step = if request[0].eq_ignore_ascii_case(b"sscan") {
            1
        } else {
            2
        };
        for item in items.iter().step_by(step) {
            if let Reply::Bulk(m) = item {
                scan.returned.insert(m.clone());
            }
        }
        if cursor != b"0" {
            scan.next = cursor;
            return Ok(());
        }
        let scan = self.scans.remove(&session.name).expect("looked up above");
        let missing: Vec<&Vec<u8>> = scan
            .always
            .iter()
            .filter(|m| scan.pattern.as_ref().is_none_or(|p| glob::matches(p, m)))
            .filter(|m| !scan.returned.contains(*m))
            .collect();
        if let Some(m) = missing.first() {
            return Err(format!(
                "a full {} of {} never returned {}, present from its start to its end",
                String::from_utf8_lossy(&request[0]),
                resp::show(&scan.key),
                resp::show(m)
            ));
        }
        if !scan.always.is_empty() {
            self.note("full element scan checked".into());
        }
        Ok(())
    }

    /// Commands that touch only the keys they name: try every combination of those
    /// keys' possible states, and every sequence of choices the evaluation makes.
    fn exec_per_key(
        &mut self,
        name: &str,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &Actual,
        p: Proto,
    ) -> Result<(), String> {
        let mut keys: Vec<Key> = Vec::new();
        for k in key_args(name, request) {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        if sort::COMMANDS.contains(&name) {
            let slots = self.slots(&request[1]);
            let sources: Vec<Option<&Value>> =
                slots.iter().map(|s| s.as_ref().map(|e| &e.value)).collect();
            let extra = sort::store_key(request)
                .into_iter()
                .chain(sort::pattern_keys(request, &sources));
            for k in extra {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let choices: Vec<Vec<Slot>> = keys.iter().map(|k| self.slots(k)).collect();
        if choices.iter().any(|c| c.len() > 1) {
            self.uncertain_checks += 1;
        }
        let total = choices
            .iter()
            .try_fold(1usize, |acc, c| acc.checked_mul(c.len()))
            .filter(|&n| n <= COMBINATIONS_MAX)
            .ok_or_else(|| {
                format!(
                    "model limitation: too many possible states for {} keys",
                    keys.len()
                )
            })?;
        let mut expected: BTreeSet<String> = BTreeSet::new();
        let mut learned: Vec<Vec<Slot>> = vec![Vec::new(); keys.len()];
        // The paths taken, per event the most any agreeing evaluation took it: each
        // one is a world Redis may have been in.
        let mut events: Option<BTreeMap<String, usize>> = None;
        let mut replaced: Vec<Key> = Vec::new();
        // For WATCH: how many agreeing evaluations changed each key, and whether one
        // may have deleted it (see `multi`).
        let written = written_keys(name, request);
        let mut agreeing = 0usize;
        // The notifications of the agreeing evaluations (see [`notify`]).
        let notifying = self.notifications_wanted();
        let mut notes: BTreeSet<Vec<notify::Ev>> = BTreeSet::new();
        let pattern_keys: Vec<Key> = if sort::COMMANDS.contains(&name) {
            let store = sort::store_key(request);
            keys.iter()
                .filter(|k| **k != request[1] && store.as_ref() != Some(*k))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let mut changed = vec![0usize; keys.len()];
        let mut maybe_changed = vec![false; keys.len()];
        let mut runs = 0;
        for combination in 0..total {
            let mut base = BTreeMap::new();
            let mut rest = combination;
            for (k, c) in keys.iter().zip(&choices) {
                base.insert(k.clone(), c[rest % c.len()].clone());
                rest /= c.len();
            }
            let mut script: Vec<usize> = Vec::new();
            loop {
                runs += 1;
                if runs > RUNS_MAX {
                    return Err(format!(
                        "model limitation: more than {RUNS_MAX} evaluations of one command"
                    ));
                }
                let mut view = View {
                    slots: base.clone(),
                    wall_ms,
                    p,
                    lim: self.limits,
                    ev: Events::new(),
                    serving: self.serving,
                    deny_blocking: self.in_exec,
                    replaced: Vec::new(),
                    maybe_deleted: Vec::new(),
                    unsignalled: Vec::new(),
                    script: script.clone(),
                    chosen: Vec::new(),
                    widths: Vec::new(),
                };
                let outcome = apply(name, request, &mut view, actual)?;
                if outcome.matches(actual)? {
                    agreeing += 1;
                    if notifying {
                        notes.insert(notify::events(
                            name,
                            request,
                            &base,
                            &view.slots,
                            actual.bytes,
                            wall_ms,
                            &pattern_keys,
                            &view.unsignalled,
                        ));
                    }
                    for (i, k) in keys.iter().enumerate() {
                        let (before, after) = (&base[k], &view.slots[k]);
                        let deleted_expired = after.is_none()
                            && before.as_ref().is_some_and(|e| !e.visible_at(wall_ms));
                        let write = written.as_ref().is_none_or(|w| w.contains(k));
                        // A command that replied an error, or changed only the key's
                        // encoding, signalled nothing as far as the model can tell: Redis
                        // 7.2 converts before it looks (LSET out of range, LINSERT with no
                        // pivot, SADD of members already there), so that is left open.
                        let failed = is_error(actual.bytes);
                        let encoding_only = matches!((before, after), (Some(b), Some(a))
                            if b.deadline_ms == a.deadline_ms && b.value.same_content(&a.value));
                        let quiet = view.unsignalled.contains(k);
                        if deleted_expired
                            || (write && before != after && !failed && !encoding_only && !quiet)
                        {
                            changed[i] += 1;
                        } else if (write && before != after)
                            || view.maybe_deleted.contains(k)
                            || (write && before.is_some() && !is_error(actual.bytes))
                        {
                            maybe_changed[i] = true;
                        }
                    }
                    for (i, k) in keys.iter().enumerate() {
                        learned[i].push(view.slots[k].clone());
                        let still_expired = view.slots[k]
                            .as_ref()
                            .is_some_and(|e| !e.visible_at(wall_ms));
                        if still_expired && view.maybe_deleted.contains(k) {
                            learned[i].push(None);
                        }
                    }
                    let taken = events.get_or_insert_with(BTreeMap::new);
                    let mut here: BTreeMap<String, usize> = BTreeMap::new();
                    for e in std::mem::take(&mut view.ev) {
                        *here.entry(e).or_default() += 1;
                    }
                    for (e, n) in here {
                        let most = taken.entry(e).or_default();
                        *most = (*most).max(n);
                    }
                    replaced.append(&mut view.replaced);
                } else {
                    expected.insert(outcome.describe());
                }
                match next_script(&view.chosen, &view.widths) {
                    Some(s) => script = s,
                    None => break,
                }
            }
        }
        let Some(events) = events else {
            let shown: Vec<&String> = expected.iter().collect();
            let mut why = format!(
                "expected {}, got {}",
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                resp::show(actual.bytes)
            );
            for (k, c) in keys.iter().zip(&choices) {
                why.push_str(&format!(
                    "\n  model of {}: {}",
                    resp::show(k),
                    show_slots(c)
                ));
            }
            return Err(why);
        };
        for (e, n) in events {
            *self.events.entry(e).or_default() += n;
        }
        if notifying {
            self.queue_notifications(notes);
        }
        // A value replaced by another object (COPY, RENAME, a STORE) is another
        // collection: a scan of the old one promises nothing about it.
        for k in replaced.iter().filter(|_| self.cur_db == 0) {
            for scan in self.scans.values_mut().filter(|s| &s.key == k) {
                scan.always.clear();
            }
        }
        if self.cur_db != 0 {
            let watched_here = keys.iter().enumerate().any(|(i, k)| {
                changed[i] > 0
                    && self
                        .watches
                        .values()
                        .any(|w| w.watched_keys().any(|x| x == k))
            });
            if watched_here {
                self.note("select: a key watched in db 0 written in another db".into());
            }
        }
        if !self.watches.is_empty() {
            for (i, k) in keys.iter().enumerate() {
                let mut how = multi::Tri::of_counts(changed[i], agreeing);
                if how == multi::Tri::No && maybe_changed[i] {
                    how = multi::Tri::Maybe;
                }
                self.touch(k, how);
            }
        }
        // A key waited for that this command created (dbAdd) is ready.
        for (k, before) in keys.iter().zip(&choices) {
            let absent = |s: &Slot| s.as_ref().is_none_or(|e| !e.visible_at(wall_ms));
            // COPY ... REPLACE and RENAME delete the destination and add it anew.
            // Only when it did (COPY without REPLACE onto an existing key, RENAMENX
            // onto one, or a missing source reply :0 or an error and add nothing).
            let wrote = matches!(actual.bytes, b":1\r\n" | b"+OK\r\n");
            let readded =
                matches!(name, "copy" | "rename" | "renamenx") && request[2] == *k && wrote;
            let now_holds = keys
                .iter()
                .position(|key| key == k)
                .map_or(&[][..], |i| &learned[i][..]);
            let created =
                (readded || before.iter().any(absent)) && self.signals_ready(k, now_holds);
            if created && self.cur_db != 0 && self.blocked.iter().any(|b| b.keys.contains(k)) {
                self.note("select: a key a db 0 client waits for created in another db".into());
            }
            // Clients block in db 0 only (signalKeyAsReady is per database).
            if created && self.cur_db == 0 && !self.ready.contains(k) {
                self.ready.push(k.clone());
            }
        }
        for (k, slots) in keys.into_iter().zip(learned) {
            let mut dedup = slots.clone();
            dedup.sort();
            dedup.dedup();
            if dedup.len() > SLOTS_MAX {
                return Err(format!(
                    "model limitation: {} possible states of {}",
                    dedup.len(),
                    resp::show(&k)
                ));
            }
            self.store(k, slots);
        }
        Ok(())
    }

    fn dbsize(&mut self, wall_ms: i64, actual: &[u8], mode: Dbsize) -> Result<(), String> {
        let present = |s: &Slot| match (s, mode) {
            (None, _) => false,
            (Some(_), Dbsize::Lenient) => true,
            (Some(e), Dbsize::ExpiredGone) => e.visible_at(wall_ms),
        };
        let at_least = self
            .keys
            .values()
            .filter(|slots| slots.iter().all(present))
            .count() as i64;
        let at_most = self
            .keys
            .values()
            .filter(|slots| slots.iter().any(present))
            .count() as i64;
        match decode(actual)? {
            Reply::Int(n) if (at_least..=at_most).contains(&n) => Ok(()),
            _ => {
                let mut why = format!(
                    "expected DBSIZE in {at_least}..={at_most} ({mode:?}), got {}",
                    resp::show(actual)
                );
                for (k, slots) in &self.keys {
                    why.push_str(&format!(
                        "\n  model of {}: {}",
                        resp::show(k),
                        show_slots(slots)
                    ));
                }
                Err(why)
            }
        }
    }

    /// Keys matching `pattern` that are certainly / possibly visible.
    fn visible(&self, wall_ms: i64, pattern: Option<&[u8]>) -> (BTreeSet<Key>, BTreeSet<Key>) {
        self.matching(wall_ms, pattern, None)
    }

    /// Keys matching `pattern` that SCAN's TYPE filter `ty` certainly / possibly
    /// lets through (see [`passes_type`]).
    fn matching(
        &self,
        wall_ms: i64,
        pattern: Option<&[u8]>,
        ty: Option<&[u8]>,
    ) -> (BTreeSet<Key>, BTreeSet<Key>) {
        let mut certain = BTreeSet::new();
        let mut possible = BTreeSet::new();
        for (k, slots) in &self.keys {
            if pattern.is_some_and(|p| !glob::matches(p, k)) {
                continue;
            }
            let seen = |s: &Slot| passes_type(s, wall_ms, ty);
            if slots.iter().all(seen) {
                certain.insert(k.clone());
            }
            if slots.iter().any(seen) {
                possible.insert(k.clone());
            }
        }
        (certain, possible)
    }

    /// Check a list of returned keys against what may be visible; with `complete`,
    /// every certainly visible key must be in it. Learns which keys were visible.
    fn check_key_list(
        &mut self,
        wall_ms: i64,
        pattern: Option<&[u8]>,
        returned: &[Key],
        complete: bool,
        what: &str,
    ) -> Result<(), String> {
        self.check_typed_key_list(wall_ms, pattern, None, returned, complete, what)
    }

    /// [`Model::check_key_list`] for a SCAN with a TYPE filter.
    fn check_typed_key_list(
        &mut self,
        wall_ms: i64,
        pattern: Option<&[u8]>,
        ty: Option<&[u8]>,
        returned: &[Key],
        complete: bool,
        what: &str,
    ) -> Result<(), String> {
        let (certain, possible) = self.matching(wall_ms, pattern, ty);
        let mut seen = BTreeSet::new();
        for k in returned {
            if !seen.insert(k.clone()) {
                return Err(format!("{what} returned {} twice", resp::show(k)));
            }
            if !possible.contains(k) {
                return Err(format!(
                    "{what} returned {}, which cannot be visible (model: {})",
                    resp::show(k),
                    show_slots(&self.slots(k))
                ));
            }
        }
        if complete {
            if let Some(missing) = certain.iter().find(|k| !seen.contains(*k)) {
                return Err(format!(
                    "{what} left out {}, which is certainly visible (model: {})",
                    resp::show(missing),
                    show_slots(&self.slots(missing))
                ));
            }
        }
        for k in &seen {
            let slots = self.slots(k);
            let kept: Vec<Slot> = slots
                .into_iter()
                .filter(|s| passes_type(s, wall_ms, ty))
                .collect();
            if ty.is_some_and(is_type_none) {
                // Returned because the type check's lookup deleted it.
                self.store(k.clone(), vec![None]);
            } else {
                self.store(k.clone(), kept);
            }
        }
        Ok(())
    }

    fn keys_command(
        &mut self,
        wall_ms: i64,
        pattern: &[u8],
        actual: &Actual,
    ) -> Result<(), String> {
        let returned = bulk_list(actual.reply)
            .ok_or_else(|| format!("KEYS replied {}", resp::show(actual.bytes)))?;
        self.check_key_list(wall_ms, Some(pattern), &returned, true, "KEYS")?;
        // KEYS does not delete; what it left out is invisible now.
        let (_, possible) = self.visible(wall_ms, Some(pattern));
        for k in possible.difference(&returned.iter().cloned().collect()) {
            let kept = self
                .slots(k)
                .into_iter()
                .filter(|s| !s.as_ref().is_some_and(|e| e.visible_at(wall_ms)))
                .collect();
            self.store(k.clone(), kept);
        }
        Ok(())
    }

    fn scan(&mut self, wall_ms: i64, request: &[Vec<u8>], actual: &Actual) -> Result<(), String> {
        // The walk deletes (and notifies) keys past their deadline it comes upon.
        let all: Vec<Key> = self.keys.keys().cloned().collect();
        self.owe_expired(wall_ms, &all);
        // The workload sends `SCAN cursor [MATCH p] [COUNT n] [TYPE t]` with valid
        // values.
        let from_start = request[1] == b"0";
        let pattern = scan_pattern(request);
        let pattern = pattern.as_deref();
        let ty = scan_type(request);
        let ty = ty.as_deref();
        let bad = || format!("SCAN replied {}", resp::show(actual.bytes));
        let Reply::Array(parts) = actual.reply else {
            return Err(bad());
        };
        let (Some(Reply::Bulk(cursor)), Some(list), 2) = (parts.first(), parts.get(1), parts.len())
        else {
            return Err(bad());
        };
        let returned = bulk_list(list).ok_or_else(bad)?;
        if std::str::from_utf8(cursor)
            .ok()
            .and_then(|c| c.parse::<u64>().ok())
            .is_none()
        {
            return Err(format!("SCAN returned cursor {}", resp::show(cursor)));
        }
        let complete = from_start && cursor == b"0";
        if ty.is_some() {
            self.note("scan with a type filter checked".into());
            self.owe_scan_misses(wall_ms, pattern);
        }
        self.check_typed_key_list(wall_ms, pattern, ty, &returned, complete, "SCAN")?;
        self.walked_past_expired(wall_ms, pattern);
        if complete {
            // A scan of the whole table deleted every matching key past its deadline
            // (with TYPE, the type check's lookup did); a key left out is gone or
            // of another type.
            let returned: BTreeSet<Key> = returned.into_iter().collect();
            let matching: Vec<Key> = self
                .keys
                .keys()
                .filter(|k| pattern.is_none_or(|p| glob::matches(p, k)) && !returned.contains(*k))
                .cloned()
                .collect();
            for k in matching {
                let kept: Vec<Slot> = self
                    .slots(&k)
                    .into_iter()
                    .filter(|s| !passes_type(s, wall_ms, ty))
                    .map(|s| s.filter(|e| e.visible_at(wall_ms)))
                    .collect();
                if ty.is_some() && kept.iter().any(|s| s.is_some()) {
                    self.note("scan with a type filter left out a key of another type".into());
                }
                self.store(k, kept);
            }
        }
        Ok(())
    }

    fn randomkey(&mut self, wall_ms: i64, actual: &Actual, p: Proto) -> Result<(), String> {
        let all: Vec<Key> = self.keys.keys().cloned().collect();
        self.owe_expired(wall_ms, &all);
        match actual.reply {
            Reply::Bulk(k) => {
                self.check_key_list(wall_ms, None, std::slice::from_ref(k), false, "RANDOMKEY")?;
                self.walked_past_expired(wall_ms, None);
                Ok(())
            }
            _ if actual.bytes == p.nil() => {
                let (certain, _) = self.visible(wall_ms, None);
                if let Some(k) = certain.first() {
                    return Err(format!(
                        "RANDOMKEY replied nil but {} is certainly visible",
                        resp::show(k)
                    ));
                }
                // Nil means the table was empty after deleting what had expired.
                self.keys.clear();
                for s in self.scans.values_mut() {
                    s.always.clear();
                }
                Ok(())
            }
            _ => Err(format!("RANDOMKEY replied {}", resp::show(actual.bytes))),
        }
    }

    /// FLUSHDB and FLUSHALL [ASYNC|SYNC] (Redis 7.0's flushdbCommand and
    /// flushallCommand): watched keys that exist are touched, blocked clients keep
    /// waiting (nothing is signalled), and no keyspace event is emitted; FLUSHALL
    /// empties the databases SWAPDB filled too (nobody watches keys there).
    fn flushdb(&mut self, request: &[Vec<u8>], actual: &[u8], all: bool) -> Result<(), String> {
        let ok = match request.len() {
            1 => true,
            2 => {
                request[1].eq_ignore_ascii_case(b"sync")
                    || request[1].eq_ignore_ascii_case(b"async")
            }
            _ => false,
        };
        if !ok {
            return expect_exact(actual, &resp::err("syntax error"));
        }
        expect_exact(actual, &resp::ok())?;
        self.touch_all();
        self.keys.clear();
        if all {
            if !self.other_dbs.is_empty() {
                self.note("flushall: other databases emptied".into());
            }
            self.other_dbs.clear();
        }
        self.note(if all { "flushall" } else { "flushdb" }.into());
        for s in self.scans.values_mut() {
            s.always.clear();
        }
        Ok(())
    }
}

/// The MATCH pattern of a SCAN-family request (the last one given wins).
fn scan_pattern(request: &[Vec<u8>]) -> Option<Vec<u8>> {
    let first_option = if request[0].eq_ignore_ascii_case(b"scan") {
        2
    } else {
        3
    };
    let mut pattern = None;
    let mut i = first_option;
    while i + 1 < request.len() {
        if request[i].eq_ignore_ascii_case(b"match") {
            pattern = Some(request[i + 1].clone());
        }
        i += 2;
    }
    pattern.filter(|p| p != b"*")
}

/// The TYPE of a SCAN request (the last one given wins).
fn scan_type(request: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut ty = None;
    let mut i = 2;
    while i + 1 < request.len() {
        if request[i].eq_ignore_ascii_case(b"type") {
            ty = Some(request[i + 1].clone());
        }
        i += 2;
    }
    ty
}

/// getObjectTypeName's answer for a key that does not exist.
fn is_type_none(ty: &[u8]) -> bool {
    ty.eq_ignore_ascii_case(b"none")
}

/// Whether SCAN returns a key in state `s` through the TYPE filter `ty` (none: any
/// visible key). Redis 7.0 looks the key up for its type (deleting it if it is past
/// its deadline) and compares the name with strcasecmp, so `none` lets through
/// exactly the keys that had expired, and an unknown name nothing.
fn passes_type(s: &Slot, wall_ms: i64, ty: Option<&[u8]>) -> bool {
    match (s, ty) {
        (None, _) => false,
        (Some(e), None) => e.visible_at(wall_ms),
        (Some(e), Some(t)) if is_type_none(t) => !e.visible_at(wall_ms),
        (Some(e), Some(t)) => {
            e.visible_at(wall_ms) && t.eq_ignore_ascii_case(e.value.type_name().as_bytes())
        }
    }
}

/// The next sequence of choices after a run that chose `chosen` among `widths`
/// options, depth first; `None` once every sequence was tried.
fn next_script(chosen: &[usize], widths: &[usize]) -> Option<Vec<usize>> {
    let i = (0..chosen.len())
        .rev()
        .find(|&i| chosen[i] + 1 < widths[i])?;
    let mut next = chosen[..i].to_vec();
    next.push(chosen[i] + 1);
    Some(next)
}

/// A key's possible states, as `absent | "v" (embstr) until 1700000000123 | ...`.
fn show_slots(slots: &[Slot]) -> String {
    let shown: Vec<String> = slots
        .iter()
        .map(|s| match s {
            None => "absent".to_string(),
            Some(Entry {
                value,
                deadline_ms: None,
            }) => value.show(),
            Some(Entry {
                value,
                deadline_ms: Some(d),
            }) => format!("{} until {d}", value.show()),
        })
        .collect();
    shown.join(" | ")
}

fn decode(actual: &[u8]) -> Result<Reply, String> {
    match take_reply(actual)? {
        Some((r, n)) if n == actual.len() => Ok(r),
        _ => Err(format!("not one whole reply: {}", resp::show(actual))),
    }
}

fn bulk_list(r: &Reply) -> Option<Vec<Key>> {
    let (Reply::Array(items) | Reply::Set(items)) = r else {
        return None;
    };
    items
        .iter()
        .map(|i| match i {
            Reply::Bulk(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn expect_exact(actual: &[u8], expected: &[u8]) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {}, got {}",
            resp::show(expected),
            resp::show(actual)
        ))
    }
}

/// Redis's reply to an unknown command.
fn unknown_command(request: &[Vec<u8>]) -> Vec<u8> {
    let mut args = String::new();
    for a in &request[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = String::from_utf8_lossy(a);
        let cut: String = text.chars().take(room).collect();
        args.push_str(&format!("'{cut}' "));
    }
    let name: String = String::from_utf8_lossy(&request[0])
        .chars()
        .take(128)
        .collect();
    resp::err(&format!(
        "unknown command '{name}', with args beginning with: {args}"
    ))
}

/// The error Redis replies before calling a command (`processCommand`): unknown
/// command, wrong number of arguments (of OBJECT ENCODING too). Inside MULTI it also
/// flags the transaction.
pub(crate) fn refused_before_call(name: &str, request: &[Vec<u8>]) -> Option<Vec<u8>> {
    let Some(arity) = arity(name).or_else(|| multi::arity(name)) else {
        return Some(unknown_command(request));
    };
    let argc = request.len() as i64;
    if (arity > 0 && argc != arity) || argc < -arity {
        let msg = format!("wrong number of arguments for '{name}' command");
        return Some(resp::err(&msg));
    }
    if name == "object" && request[1].eq_ignore_ascii_case(b"encoding") && request.len() != 3 {
        let msg = "wrong number of arguments for 'object|encoding' command";
        return Some(resp::err(msg));
    }
    if name == "client" {
        let sub_arity = if request[1].eq_ignore_ascii_case(b"id") {
            2
        } else if request[1].eq_ignore_ascii_case(b"unblock") {
            -3
        } else {
            return None;
        };
        if (sub_arity > 0 && argc != sub_arity) || argc < -sub_arity {
            let sub = String::from_utf8_lossy(&request[1]).to_ascii_lowercase();
            return Some(resp::err(&format!(
                "wrong number of arguments for 'client|{sub}' command"
            )));
        }
    }
    None
}

/// Redis 7.0's arity of the modelled commands (negative: at least that many), with
/// ZRANK and ZREVRANK taking Redis 7.2's optional WITHSCORE.
fn arity(name: &str) -> Option<i64> {
    Some(match name {
        "get" | "getdel" | "strlen" | "incr" | "decr" | "type" | "ttl" | "pttl" | "expiretime"
        | "pexpiretime" | "persist" | "keys" | "select" => 2,
        "setnx" | "getset" | "append" | "incrby" | "decrby" | "incrbyfloat" | "rename"
        | "renamenx" | "swapdb" => 3,
        "setex" | "psetex" | "getrange" | "substr" | "setrange" => 4,
        "set" | "mset" | "msetnx" | "expire" | "pexpire" | "expireat" | "pexpireat" | "copy" => -3,
        "getex" | "mget" | "del" | "unlink" | "exists" | "touch" | "scan" | "object" => -2,
        "randomkey" | "dbsize" => 1,
        "flushdb" | "flushall" | "hello" => -1,
        "client" => -2,
        // Hashes.
        "hgetall" | "hkeys" | "hvals" | "hlen" => 2,
        "hget" | "hexists" | "hstrlen" => 3,
        "hsetnx" | "hincrby" | "hincrbyfloat" => 4,
        "hset" | "hmset" => -4,
        "hmget" | "hdel" | "hscan" => -3,
        "hrandfield" => -2,
        // Lists.
        "llen" => 2,
        "lindex" | "rpoplpush" => 3,
        "lrange" | "lset" | "lrem" | "ltrim" => 4,
        "linsert" | "lmove" => 5,
        "lpush" | "rpush" | "lpushx" | "rpushx" | "lpos" => -3,
        "lpop" | "rpop" => -2,
        "lmpop" => -4,
        // Sets.
        "smembers" | "scard" => 2,
        "sismember" => 3,
        "smove" => 4,
        "sadd" | "srem" | "smismember" | "sintercard" | "sinterstore" | "sunionstore"
        | "sdiffstore" | "sscan" => -3,
        "spop" | "srandmember" | "sinter" | "sunion" | "sdiff" => -2,
        // Sorted sets.
        "zcard" => 2,
        "zscore" => 3,
        "zincrby" | "zcount" | "zlexcount" | "zremrangebyrank" | "zremrangebyscore"
        | "zremrangebylex" => 4,
        "zadd" | "zrange" | "zrangebyscore" | "zrevrangebyscore" | "zrangebylex"
        | "zrevrangebylex" | "zrevrange" | "zmpop" | "zunionstore" | "zinterstore"
        | "zdiffstore" => -4,
        "zrem" | "zmscore" | "zrank" | "zrevrank" | "zunion" | "zinter" | "zintercard"
        | "zdiff" | "zscan" => -3,
        "zrangestore" => -5,
        "zpopmin" | "zpopmax" | "zrandmember" => -2,
        "sort" | "sort_ro" => -2,
        // Blocking pops.
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => -3,
        "brpoplpush" => 4,
        "blmove" => 6,
        "blmpop" | "bzmpop" => -5,
        // Bitmaps.
        "setbit" => 4,
        "getbit" => 3,
        "bitcount" => -2,
        "bitpos" => -3,
        "bitop" => -4,
        "bitfield" | "bitfield_ro" => -2,
        // HyperLogLog.
        "pfadd" | "pfcount" | "pfmerge" => -2,
        // Pub/sub.
        "subscribe" | "psubscribe" | "ssubscribe" | "pubsub" => -2,
        "unsubscribe" | "punsubscribe" | "sunsubscribe" | "ping" => -1,
        "publish" | "spublish" => 3,
        "config" => -2,
        _ => return None,
    })
}

/// `numkeys` keys starting at argument `at`, when `numkeys` (argument `at - 1`) is a
/// positive integer and that many arguments follow.
fn numkeys_args(request: &[Vec<u8>], at: usize) -> Vec<&Key> {
    let n = crate::numbers::parse_i64_strict(&request[at - 1]).unwrap_or(0);
    if n < 1 || (n as usize) > request.len().saturating_sub(at) {
        return Vec::new();
    }
    request[at..at + n as usize].iter().collect()
}

/// The keys a per-key command reads or writes.
fn key_args<'a>(name: &str, request: &'a [Vec<u8>]) -> Vec<&'a Key> {
    match name {
        "mget" | "del" | "unlink" | "exists" | "touch" | "sinter" | "sunion" | "sdiff"
        | "sinterstore" | "sunionstore" | "sdiffstore" => request[1..].iter().collect(),
        "mset" | "msetnx" => request[1..].iter().step_by(2).collect(),
        "rename" | "renamenx" | "copy" | "lmove" | "rpoplpush" | "smove" | "zrangestore" => {
            vec![&request[1], &request[2]]
        }
        "object" => vec![&request[2]],
        // The keys its patterns name are added by `exec_per_key`.
        "sort" | "sort_ro" => vec![&request[1]],
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            request[1..request.len() - 1].iter().collect()
        }
        "blmove" | "brpoplpush" => vec![&request[1], &request[2]],
        "blmpop" | "bzmpop" => numkeys_args(request, 3),
        "bitop" => request[2..].iter().collect(),
        "pfcount" | "pfmerge" => request[1..].iter().collect(),
        "lmpop" | "zmpop" | "sintercard" | "zunion" | "zinter" | "zintercard" | "zdiff" => {
            numkeys_args(request, 2)
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            let mut keys = vec![&request[1]];
            keys.extend(numkeys_args(request, 3));
            keys
        }
        _ => vec![&request[1]],
    }
}

/// Whether a reply is an error.
fn is_error(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(b'-' | b'!'))
}

/// The modelled commands that write (Redis's `write` flag), whose no-op calls may
/// still signal their keys.
fn is_write(name: &str) -> bool {
    matches!(
        name,
        "setbit"
            | "bitfield"
            | "pfadd"
            | "pfmerge"
            | "pfcount"
            | "bitop"
            | "set"
            | "setnx"
            | "setex"
            | "psetex"
            | "getex"
            | "getdel"
            | "getset"
            | "mset"
            | "msetnx"
            | "append"
            | "setrange"
            | "incr"
            | "decr"
            | "incrby"
            | "decrby"
            | "incrbyfloat"
            | "del"
            | "unlink"
            | "expire"
            | "pexpire"
            | "expireat"
            | "pexpireat"
            | "persist"
            | "rename"
            | "renamenx"
            | "copy"
            | "hset"
            | "hmset"
            | "hsetnx"
            | "hdel"
            | "hincrby"
            | "hincrbyfloat"
            | "lpush"
            | "rpush"
            | "lpushx"
            | "rpushx"
            | "lpop"
            | "rpop"
            | "lset"
            | "linsert"
            | "lrem"
            | "ltrim"
            | "lmove"
            | "rpoplpush"
            | "lmpop"
            | "sadd"
            | "srem"
            | "spop"
            | "smove"
            | "sinterstore"
            | "sunionstore"
            | "sdiffstore"
            | "zadd"
            | "zincrby"
            | "zrem"
            | "zremrangebyrank"
            | "zremrangebyscore"
            | "zremrangebylex"
            | "zpopmin"
            | "zpopmax"
            | "zmpop"
            | "zunionstore"
            | "zinterstore"
            | "zdiffstore"
            | "zrangestore"
            | "sort"
            | "blpop"
            | "brpop"
            | "blmove"
            | "brpoplpush"
            | "blmpop"
            | "bzpopmin"
            | "bzpopmax"
            | "bzmpop"
    )
}

/// The keys a write command writes, when it only reads some of the keys it names
/// (the sources of a STORE, COPY's source, SORT's source and weights); `None`: all.
fn written_keys(name: &str, request: &[Vec<u8>]) -> Option<Vec<Key>> {
    match name {
        "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" => Some(vec![request[1].clone()]),
        "copy" | "bitop" => Some(vec![request[2].clone()]),
        "pfmerge" => Some(vec![request[1].clone()]),
        // PFCOUNT of one key writes its cached cardinality (and signals it).
        "pfcount" if request.len() == 2 => Some(vec![request[1].clone()]),
        "pfcount" => Some(Vec::new()),
        "sort" | "sort_ro" => Some(sort::store_key(request).into_iter().collect()),
        _ if is_write(name) => None,
        _ => Some(Vec::new()),
    }
}

/// What a command's reply must be, for one evaluation.
pub(crate) enum Expect {
    /// These bytes exactly.
    Exact(Vec<u8>),
    /// This reply, with the top-level aggregate's elements (taken `group` at a time:
    /// 2 for a flat field-value array) in any order.
    Unordered { bytes: Vec<u8>, group: usize },
    /// A check of the actual reply, already made.
    Checked(Result<(), String>),
    /// No reply: the client blocks (the actual reply is empty when it did).
    Blocked,
}

impl Expect {
    fn matches(&self, actual: &Actual) -> Result<bool, String> {
        Ok(match self {
            Expect::Exact(b) => b.as_slice() == actual.bytes,
            Expect::Unordered { bytes, group } => {
                canonical(&decode(bytes)?, *group) == canonical(actual.reply, *group)
            }
            Expect::Checked(r) => r.is_ok(),
            Expect::Blocked => actual.bytes.is_empty(),
        })
    }

    fn describe(&self) -> String {
        match self {
            Expect::Exact(b) => resp::show(b),
            Expect::Unordered { bytes, .. } => format!("{} (in any order)", resp::show(bytes)),
            Expect::Checked(Ok(())) => "(a match)".into(),
            Expect::Checked(Err(why)) => format!("[{why}]"),
            Expect::Blocked => "(no reply: blocked)".into(),
        }
    }
}

/// A reply with its top-level elements sorted, for order-free comparison.
fn canonical(r: &Reply, group: usize) -> Reply {
    let sort = |items: &[Reply]| -> Vec<Reply> {
        let mut groups: Vec<Vec<Reply>> = items.chunks(group.max(1)).map(|c| c.to_vec()).collect();
        groups.sort();
        groups.into_iter().flatten().collect()
    };
    match r {
        Reply::Array(items) => Reply::Array(sort(items)),
        Reply::Set(items) => Reply::Set(sort(items)),
        Reply::Map(pairs) => {
            let mut pairs = pairs.clone();
            pairs.sort();
            Reply::Map(pairs)
        }
        other => other.clone(),
    }
}

/// Why a command's evaluation ended before its last line: Redis replied early (an
/// error, or a short-cut like NX refusing), or the model cannot compute the answer.
/// As an `Err`, it lets `?` stop a command the way Redis's `return` after
/// `addReply*` does.
pub(crate) enum Stop {
    Reply(Vec<u8>),
    Limitation(String),
}

pub(crate) type Eval = Result<Expect, Stop>;

pub(crate) fn fail<T>(reply: Vec<u8>) -> Result<T, Stop> {
    Err(Stop::Reply(reply))
}

pub(crate) fn done(reply: Vec<u8>) -> Eval {
    Ok(Expect::Exact(reply))
}

pub(crate) fn limitation<T>(why: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Limitation(format!(
        "model limitation: {}",
        why.into()
    )))
}

/// Redis's standard errors.
pub(crate) fn err_int() -> Vec<u8> {
    resp::err("value is not an integer or out of range")
}

pub(crate) fn err_syntax() -> Vec<u8> {
    resp::err("syntax error")
}

/// string2ll on an argument, or Redis's "not an integer" error.
pub(crate) fn int_arg(raw: &[u8]) -> Result<i64, Stop> {
    crate::numbers::parse_i64_strict(raw).ok_or_else(|| Stop::Reply(err_int()))
}

/// getLongFromObjectOrReply: a custom message replaces Redis's default.
pub(crate) fn long_arg(raw: &[u8], msg: Option<&str>) -> Result<i64, Stop> {
    match crate::numbers::parse_i64_strict(raw) {
        Some(n) => Ok(n),
        None => fail(msg.map_or_else(err_int, resp::err)),
    }
}

/// getRangeLongFromObjectOrReply: the custom message (if any) covers both a
/// non-integer and an integer out of range.
pub(crate) fn range_arg(raw: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, Stop> {
    let v = long_arg(raw, msg)?;
    if v < min || v > max {
        return fail(match msg {
            Some(m) => resp::err(m),
            None => resp::err(&format!(
                "value is out of range, value must between {min} and {max}"
            )),
        });
    }
    Ok(v)
}

/// getPositiveLongFromObjectOrReply, whose default message is Redis's
/// "must be positive" even for a non-integer.
pub(crate) fn positive_arg(raw: &[u8], msg: Option<&str>) -> Result<i64, Stop> {
    range_arg(
        raw,
        0,
        i64::MAX,
        Some(msg.unwrap_or("value is out of range, must be positive")),
    )
}

/// One command on one combination of key states: what Redis would reply.
fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Result<Expect, String> {
    let r = if strings::models(name) {
        strings::apply(name, req, v, actual)
    } else if hashes::COMMANDS.contains(&name) {
        hashes::apply(name, req, v, actual)
    } else if lists::COMMANDS.contains(&name) {
        lists::apply(name, req, v, actual)
    } else if sets::COMMANDS.contains(&name) {
        sets::apply(name, req, v, actual)
    } else if zsets::COMMANDS.contains(&name) {
        zsets::apply(name, req, v, actual)
    } else if sort::COMMANDS.contains(&name) {
        sort::apply(name, req, v, actual)
    } else if blocking::COMMANDS.contains(&name) {
        blocking::apply(name, req, v, actual)
    } else if bitmaps::COMMANDS.contains(&name) {
        bitmaps::apply(name, req, v)
    } else if hll::COMMANDS.contains(&name) {
        hll::apply(name, req, v)
    } else {
        limitation(format!("no model of {name}"))
    };
    match r {
        Ok(e) => Ok(e),
        Err(Stop::Reply(reply)) => Ok(Expect::Exact(reply)),
        Err(Stop::Limitation(why)) => Err(why),
    }
}

/// The concrete states of a command's keys, as one combination assigns them, and the
/// choices of this evaluation.
pub(crate) struct View {
    slots: BTreeMap<Key, Slot>,
    pub wall_ms: i64,
    pub p: Proto,
    pub lim: Limits,
    pub ev: Events,
    /// A blocked client's pop on a key that became ready.
    pub serving: bool,
    /// Inside EXEC (CLIENT_DENY_BLOCKING).
    pub deny_blocking: bool,
    /// Keys whose value this evaluation replaced by another object.
    replaced: Vec<Key>,
    /// Keys past their deadline that this evaluation may or may not have read (and
    /// so deleted): both outcomes stay possible.
    maybe_deleted: Vec<Key>,
    /// Keys this evaluation wrote without signalling them (BITFIELD that changed
    /// nothing it counts): a WATCH of them is not certainly touched.
    unsignalled: Vec<Key>,
    script: Vec<usize>,
    chosen: Vec<usize>,
    widths: Vec<usize>,
}

/// A value of one type borrowed from the view, with what its methods need.
pub(crate) struct Typed<'a, T> {
    pub val: &'a mut T,
    pub lim: &'a Limits,
    pub ev: &'a mut Events,
}

macro_rules! typed_accessor {
    ($name:ident, $variant:ident, $ty:ty, $tyname:literal) => {
        /// The key's value if it holds this type, WRONGTYPE if another.
        pub fn $name(&mut self, key: &[u8]) -> Result<Option<Typed<'_, $ty>>, Stop> {
            self.expect_type(key, $tyname)?;
            let wall_ms = self.wall_ms;
            let slot = self
                .slots
                .get_mut(key)
                .expect("command keys are in the view");
            match slot {
                Some(Entry {
                    value: Value::$variant(x),
                    deadline_ms,
                }) if deadline_ms.is_none_or(|d| d >= wall_ms) => Ok(Some(Typed {
                    val: x,
                    lim: &self.lim,
                    ev: &mut self.ev,
                })),
                _ => Ok(None),
            }
        }
    };
}

impl View {
    /// A choice among `n` outcomes Redis leaves open; the model tries each.
    pub fn choose(&mut self, n: usize) -> usize {
        assert!(n > 0, "a choice among nothing");
        let i = self.chosen.len();
        let c = self.script.get(i).copied().unwrap_or(0);
        debug_assert!(c < n);
        self.chosen.push(c);
        self.widths.push(n);
        c
    }

    pub fn event(&mut self, e: impl Into<String>) {
        self.ev.push(e.into());
    }

    /// Redis's lookupKey: deletes the key if it has expired.
    pub fn lookup(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let wall_ms = self.wall_ms;
        let slot = self
            .slots
            .get_mut(key)
            .expect("command keys are in the view");
        if slot.as_ref().is_some_and(|e| !e.visible_at(wall_ms)) {
            *slot = None;
        }
        slot.as_mut()
    }

    /// Whether the key is present but past its deadline (the next read deletes it).
    pub fn expired(&self, key: &[u8]) -> bool {
        self.slots
            .get(key)
            .expect("command keys are in the view")
            .as_ref()
            .is_some_and(|e| !e.visible_at(self.wall_ms))
    }

    /// A read that may or may not have happened: the key's entry if it is visible;
    /// a key past its deadline may or may not have been deleted by it.
    pub fn peek_maybe_deleting(&mut self, key: &[u8]) -> Option<Entry> {
        let wall_ms = self.wall_ms;
        let slot = self.slots.get(key).expect("command keys are in the view");
        match slot {
            Some(e) if e.visible_at(wall_ms) => Some(e.clone()),
            Some(_) => {
                if !self.maybe_deleted.iter().any(|k| k == key) {
                    self.maybe_deleted.push(key.to_vec());
                }
                None
            }
            None => None,
        }
    }

    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.lookup(key).is_some()
    }

    /// The type of the key's value, if any.
    pub fn type_of(&mut self, key: &[u8]) -> Option<&'static str> {
        self.lookup(key).map(|e| e.value.type_name())
    }

    /// checkType: WRONGTYPE if the key holds another type.
    pub fn expect_type(&mut self, key: &[u8], want: &str) -> Result<(), Stop> {
        match self.type_of(key) {
            Some(t) if t != want => {
                self.event(format!("wrongtype: {want} command on {t}"));
                fail(resp::wrongtype())
            }
            _ => Ok(()),
        }
    }

    /// The string value of the key, WRONGTYPE if it holds another type.
    pub fn get_str(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, Stop> {
        self.expect_type(key, "string")?;
        Ok(self.lookup(key).map(|e| match &e.value {
            Value::Str(s) => s.bytes.clone(),
            _ => unreachable!("type checked"),
        }))
    }

    typed_accessor!(hash, Hash, Hash, "hash");
    typed_accessor!(list, List, List, "list");
    typed_accessor!(set, Set, Set, "set");
    typed_accessor!(zset, Zset, Zset, "zset");

    /// The command changed the key without calling signalModifiedKey.
    pub fn unsignalled(&mut self, key: &[u8]) {
        self.unsignalled.push(key.to_vec());
    }

    /// Note that the key's value is now another object than before.
    pub fn replaced(&mut self, key: &[u8]) {
        self.replaced.push(key.to_vec());
    }

    pub fn put(&mut self, key: &[u8], entry: Entry) {
        *self
            .slots
            .get_mut(key)
            .expect("command keys are in the view") = Some(entry);
    }

    /// dbAdd/setKey: a new value without a deadline.
    pub fn set_value(&mut self, key: &[u8], value: Value) {
        self.put(
            key,
            Entry {
                value,
                deadline_ms: None,
            },
        );
    }

    /// setKey for a STORE command's result, noting when it replaces another type.
    pub fn store(&mut self, key: &[u8], value: Value) {
        if let Some(t) = self.type_of(key) {
            if t != value.type_name() {
                self.event(format!("store: {} over {t}", value.type_name()));
            }
        }
        self.replaced(key);
        self.set_value(key, value);
    }

    /// A STORE command with an empty result deletes its destination.
    pub fn store_empty(&mut self, key: &[u8]) {
        if let Some(t) = self.type_of(key) {
            self.event(format!("store: empty result deletes {t}"));
        }
        self.delete(key);
    }

    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.slots
            .get_mut(key)
            .expect("command keys are in the view")
            .take()
            .is_some()
    }

    /// A collection emptied by a command is deleted.
    pub fn delete_if_empty(&mut self, key: &[u8]) -> bool {
        let empty = match self.lookup(key).map(|e| &e.value) {
            Some(Value::Hash(h)) => h.is_empty(),
            Some(Value::List(l)) => l.is_empty(),
            Some(Value::Set(s)) => s.is_empty(),
            Some(Value::Zset(z)) => z.is_empty(),
            _ => false,
        };
        if empty {
            let t = self.type_of(key).expect("present");
            self.event(format!("emptied {t} deleted"));
            self.delete(key);
        }
        empty
    }
}

/// Option arguments compared the way Redis's strcasecmp does.
pub(crate) fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
