//! The reference model of the string and keyspace commands: what Redis 7.0 replies,
//! computed from a plain map of keys to values and deadlines.
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
//! Expiry follows Redis 7.0: a key is expired when the wall clock in milliseconds is
//! greater than its deadline (`keyIsExpired`: `now > when`), an EXPIRE to a time at or
//! before now deletes at once (`checkAlreadyExpired`: `when <= now`).

use crate::glob;
use crate::numbers::{self, FloatParse, LongDouble};
use crate::resp::{self, take_reply, Reply};
use std::collections::{BTreeMap, BTreeSet};

pub type Key = Vec<u8>;

/// A present key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub value: Vec<u8>,
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
/// Redis's default proto-max-bulk-len, the limit of a string's length.
const STRING_LEN_MAX: u64 = 512 * 1024 * 1024;

/// How a whole-keyspace count is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dbsize {
    /// Expired keys may or may not have been deleted yet.
    Lenient,
    /// Enough time passed since the last jump for active expiry to remove every key
    /// past its deadline: they must all be gone.
    ExpiredGone,
}

#[derive(Debug, Default, Clone)]
pub struct Model {
    /// Keys with at least one present state. Sorted, deduplicated, never empty; a key
    /// not in the map is certainly absent.
    keys: BTreeMap<Key, Vec<Slot>>,
    /// Commands checked while one of their keys had several possible states: proof
    /// that the uncertain paths (expiry racing a backward jump) really happen.
    pub uncertain_checks: usize,
}

impl Model {
    pub fn new() -> Model {
        Model::default()
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
            self.keys.insert(key, slots);
        }
    }

    /// Record that active expiry may have run at wall time `wall_ms` (after any input
    /// the server handled): every key past its deadline may now be gone.
    pub fn after_input(&mut self, wall_ms: i64) {
        self.walked_past_expired(wall_ms, None);
    }

    /// A command that walks the keyspace (RANDOMKEY, SCAN) deletes the expired keys
    /// it happens upon: any key matching `pattern` that is past its deadline may be gone.
    fn walked_past_expired(&mut self, wall_ms: i64, pattern: Option<&[u8]>) {
        for (k, slots) in self.keys.iter_mut() {
            if pattern.is_some_and(|p| !glob::matches(p, k)) {
                continue;
            }
            let stale = slots
                .iter()
                .any(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)));
            if stale && !slots.contains(&None) {
                slots.insert(0, None);
            }
        }
    }

    /// Number of keys, and how many of them are uncertain (for reports).
    pub fn summary(&self) -> (usize, usize) {
        let uncertain = self.keys.values().filter(|s| s.len() > 1).count();
        (self.keys.len(), uncertain)
    }

    /// Check the reply `actual` (one whole RESP reply) the server gave to `request`
    /// at wall time `wall_ms`, and learn from it.
    pub fn exec(
        &mut self,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Result<(), String> {
        assert!(!request.is_empty(), "a request has a command name");
        let name = String::from_utf8_lossy(&request[0]).to_ascii_lowercase();
        let Some(arity) = arity(&name) else {
            return expect_exact(actual, &unknown_command(request));
        };
        let argc = request.len() as i64;
        if (arity > 0 && argc != arity) || argc < -arity {
            let msg = format!("wrong number of arguments for '{name}' command");
            return expect_exact(actual, &resp::err(&msg));
        }
        match name.as_str() {
            "dbsize" => self.dbsize(wall_ms, actual, dbsize),
            "keys" => self.keys_command(wall_ms, &request[1], actual),
            "scan" => self.scan(wall_ms, request, actual),
            "randomkey" => self.randomkey(wall_ms, actual),
            "flushdb" => self.flushdb(request, actual),
            _ => self.exec_per_key(&name, wall_ms, request, actual),
        }
    }

    /// Commands that touch only the keys they name: try every combination of those
    /// keys' possible states.
    fn exec_per_key(
        &mut self,
        name: &str,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        let mut keys: Vec<Key> = Vec::new();
        for k in key_args(name, request) {
            if !keys.contains(k) {
                keys.push(k.clone());
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
        let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut learned: Vec<Vec<Slot>> = vec![Vec::new(); keys.len()];
        let mut matched = false;
        for mut combination in 0..total {
            let mut view = View {
                slots: BTreeMap::new(),
                wall_ms,
            };
            for (k, c) in keys.iter().zip(&choices) {
                view.slots
                    .insert(k.clone(), c[combination % c.len()].clone());
                combination /= c.len();
            }
            let reply = apply(name, request, &mut view)?;
            if reply == actual {
                matched = true;
                for (i, k) in keys.iter().enumerate() {
                    learned[i].push(view.slots[k].clone());
                }
            }
            expected.insert(reply);
        }
        if !matched {
            let mut why = mismatch(&expected, actual);
            for (k, c) in keys.iter().zip(&choices) {
                why.push_str(&format!(
                    "\n  model of {}: {}",
                    resp::show(k),
                    show_slots(c)
                ));
            }
            return Err(why);
        }
        for (k, slots) in keys.into_iter().zip(learned) {
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
        let mut certain = BTreeSet::new();
        let mut possible = BTreeSet::new();
        for (k, slots) in &self.keys {
            if pattern.is_some_and(|p| !glob::matches(p, k)) {
                continue;
            }
            let seen = |s: &Slot| s.as_ref().is_some_and(|e| e.visible_at(wall_ms));
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
        let (certain, possible) = self.visible(wall_ms, pattern);
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
            let kept = slots
                .into_iter()
                .filter(|s| s.as_ref().is_some_and(|e| e.visible_at(wall_ms)))
                .collect();
            self.store(k.clone(), kept);
        }
        Ok(())
    }

    fn keys_command(&mut self, wall_ms: i64, pattern: &[u8], actual: &[u8]) -> Result<(), String> {
        let returned = bulk_list(&decode(actual)?)
            .ok_or_else(|| format!("KEYS replied {}", resp::show(actual)))?;
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

    fn scan(&mut self, wall_ms: i64, request: &[Vec<u8>], actual: &[u8]) -> Result<(), String> {
        // The workload sends `SCAN cursor [MATCH p] [COUNT n]` with valid values.
        let from_start = request[1] == b"0";
        let mut pattern = None;
        let mut i = 2;
        while i + 1 < request.len() {
            if request[i].eq_ignore_ascii_case(b"match") {
                pattern = Some(request[i + 1].as_slice());
            }
            i += 2;
        }
        let reply = decode(actual)?;
        let Reply::Array(parts) = &reply else {
            return Err(format!("SCAN replied {}", resp::show(actual)));
        };
        let (Some(Reply::Bulk(cursor)), Some(list), 2) = (parts.first(), parts.get(1), parts.len())
        else {
            return Err(format!("SCAN replied {}", resp::show(actual)));
        };
        let returned =
            bulk_list(list).ok_or_else(|| format!("SCAN replied {}", resp::show(actual)))?;
        if std::str::from_utf8(cursor)
            .ok()
            .and_then(|c| c.parse::<u64>().ok())
            .is_none()
        {
            return Err(format!("SCAN returned cursor {}", resp::show(cursor)));
        }
        let complete = from_start && cursor == b"0";
        self.check_key_list(wall_ms, pattern, &returned, complete, "SCAN")?;
        self.walked_past_expired(wall_ms, pattern);
        if complete {
            // A scan of the whole table deleted every matching key past its deadline.
            let returned: BTreeSet<Key> = returned.into_iter().collect();
            let matching: Vec<Key> = self
                .keys
                .keys()
                .filter(|k| pattern.is_none_or(|p| glob::matches(p, k)) && !returned.contains(*k))
                .cloned()
                .collect();
            for k in matching {
                self.store(k, vec![None]);
            }
        }
        Ok(())
    }

    fn randomkey(&mut self, wall_ms: i64, actual: &[u8]) -> Result<(), String> {
        match decode(actual)? {
            Reply::Nil => {
                let (certain, _) = self.visible(wall_ms, None);
                if let Some(k) = certain.first() {
                    return Err(format!(
                        "RANDOMKEY replied nil but {} is certainly visible",
                        resp::show(k)
                    ));
                }
                // Nil means the table was empty after deleting what had expired.
                self.keys.clear();
                Ok(())
            }
            Reply::Bulk(k) => {
                self.check_key_list(wall_ms, None, &[k], false, "RANDOMKEY")?;
                self.walked_past_expired(wall_ms, None);
                Ok(())
            }
            _ => Err(format!("RANDOMKEY replied {}", resp::show(actual))),
        }
    }

    fn flushdb(&mut self, request: &[Vec<u8>], actual: &[u8]) -> Result<(), String> {
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
        self.keys.clear();
        Ok(())
    }
}

/// A key's possible states, as `absent | "v" until 1700000000123 | "w"`.
fn show_slots(slots: &[Slot]) -> String {
    let shown: Vec<String> = slots
        .iter()
        .map(|s| match s {
            None => "absent".to_string(),
            Some(Entry {
                value,
                deadline_ms: None,
            }) => format!("\"{}\"", resp::show(value)),
            Some(Entry {
                value,
                deadline_ms: Some(d),
            }) => format!("\"{}\" until {d}", resp::show(value)),
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
    let Reply::Array(items) = r else { return None };
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
        Err(mismatch(&BTreeSet::from([expected.to_vec()]), actual))
    }
}

fn mismatch(expected: &BTreeSet<Vec<u8>>, actual: &[u8]) -> String {
    let expected: Vec<String> = expected.iter().map(|e| resp::show(e)).collect();
    format!(
        "expected {}, got {}",
        expected.join(" or "),
        resp::show(actual)
    )
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

/// Redis 7.0's arity of the modelled commands (negative: at least that many).
fn arity(name: &str) -> Option<i64> {
    Some(match name {
        "get" | "getdel" | "strlen" | "incr" | "decr" | "type" | "ttl" | "pttl" | "expiretime"
        | "pexpiretime" | "persist" | "keys" => 2,
        "setnx" | "getset" | "append" | "incrby" | "decrby" | "incrbyfloat" | "rename"
        | "renamenx" => 3,
        "setex" | "psetex" | "getrange" | "substr" | "setrange" => 4,
        "set" | "mset" | "msetnx" | "expire" | "pexpire" | "expireat" | "pexpireat" | "copy" => -3,
        "getex" | "mget" | "del" | "unlink" | "exists" | "touch" | "scan" => -2,
        "randomkey" | "dbsize" => 1,
        "flushdb" => -1,
        _ => return None,
    })
}

/// The keys a per-key command reads or writes.
fn key_args<'a>(name: &str, request: &'a [Vec<u8>]) -> Vec<&'a Key> {
    match name {
        "mget" | "del" | "unlink" | "exists" | "touch" => request[1..].iter().collect(),
        "mset" | "msetnx" => request[1..].iter().step_by(2).collect(),
        "rename" | "renamenx" | "copy" => vec![&request[1], &request[2]],
        _ => vec![&request[1]],
    }
}

/// The concrete states of a command's keys, as one combination assigns them.
struct View {
    slots: BTreeMap<Key, Slot>,
    wall_ms: i64,
}

impl View {
    /// Redis's lookupKey: deletes the key if it has expired.
    fn lookup(&mut self, key: &[u8]) -> Option<&mut Entry> {
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

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        self.lookup(key).map(|e| e.value.clone())
    }

    fn put(&mut self, key: &[u8], entry: Entry) {
        *self
            .slots
            .get_mut(key)
            .expect("command keys are in the view") = Some(entry);
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        self.slots
            .get_mut(key)
            .expect("command keys are in the view")
            .take()
            .is_some()
    }
}

fn integer_arg(raw: &[u8]) -> Result<i64, Vec<u8>> {
    numbers::parse_i64_strict(raw)
        .ok_or_else(|| resp::err("value is not an integer or out of range"))
}

fn invalid_expire(name: &str) -> Vec<u8> {
    resp::err(&format!("invalid expire time in '{name}' command"))
}

const NX: u32 = 1;
const XX: u32 = 2;
const GET: u32 = 4;
const KEEPTTL: u32 = 8;
const PERSIST: u32 = 16;
const EX: u32 = 32;
const PX: u32 = 64;
const EXAT: u32 = 128;
const PXAT: u32 = 256;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// SET and GETEX options, with Redis's rules on which may be combined.
fn parse_string_options(args: &[Vec<u8>], set: bool) -> Result<(u32, Option<&[u8]>), Vec<u8>> {
    let mut flags = 0;
    let mut expire = None;
    let mut j = 0;
    while j < args.len() {
        let opt = args[j].to_ascii_uppercase();
        let has_next = j + 1 < args.len();
        let expire_flag = match opt.as_slice() {
            b"EX" => Some(EX),
            b"PX" => Some(PX),
            b"EXAT" => Some(EXAT),
            b"PXAT" => Some(PXAT),
            _ => None,
        };
        match (opt.as_slice(), expire_flag) {
            (b"NX", _) if set && flags & XX == 0 => flags |= NX,
            (b"XX", _) if set && flags & NX == 0 => flags |= XX,
            (b"GET", _) if set => flags |= GET,
            (b"KEEPTTL", _) if set && flags & (PERSIST | ANY_EXPIRE) == 0 => flags |= KEEPTTL,
            (b"PERSIST", _) if !set && flags & (KEEPTTL | ANY_EXPIRE) == 0 => flags |= PERSIST,
            (_, Some(f))
                if has_next && flags & (KEEPTTL | PERSIST) == 0 && flags & ANY_EXPIRE & !f == 0 =>
            {
                flags |= f;
                expire = Some(args[j + 1].as_slice());
                j += 1;
            }
            _ => return Err(resp::err("syntax error")),
        }
        j += 1;
    }
    Ok((flags, expire))
}

/// Redis's getExpireMillisecondsOrReply: the absolute deadline.
fn expire_deadline(name: &str, raw: &[u8], flags: u32, wall_ms: i64) -> Result<i64, Vec<u8>> {
    let mut v = integer_arg(raw)?;
    let seconds = flags & (EX | EXAT) != 0;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid_expire(name));
    }
    if seconds {
        v *= 1000;
    }
    if flags & (EX | PX) != 0 {
        v = v.wrapping_add(wall_ms);
    }
    if v <= 0 {
        return Err(invalid_expire(name));
    }
    Ok(v)
}

/// One command on one combination of key states: the reply Redis gives.
fn apply(name: &str, req: &[Vec<u8>], v: &mut View) -> Result<Vec<u8>, String> {
    match apply_inner(name, req, v) {
        Ok(reply) | Err(Stop::Reply(reply)) => Ok(reply),
        Err(Stop::Limitation(why)) => Err(why),
    }
}

/// Why a command's evaluation ended before its last line: Redis replied early (an
/// error, or a short-cut like NX refusing), or the model cannot compute the answer.
/// As an `Err`, it lets `?` stop a command the way Redis's `return` after
/// `addReply*` does.
enum Stop {
    Reply(Vec<u8>),
    Limitation(String),
}

type Eval = Result<Vec<u8>, Stop>;

fn fail(reply: Vec<u8>) -> Eval {
    Err(Stop::Reply(reply))
}

fn done(reply: Vec<u8>) -> Eval {
    Ok(reply)
}

fn apply_inner(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let w = v.wall_ms;
    let key = req[1].as_slice();
    let int = |raw: &[u8]| integer_arg(raw).map_err(Stop::Reply);
    match name {
        "get" => done(v.get(key).map_or_else(resp::nil, |x| resp::bulk(&x))),
        "set" | "setnx" | "setex" | "psetex" => {
            let (flags, expire, value) = match name {
                "set" => {
                    let (f, e) = parse_string_options(&req[3..], true).map_err(Stop::Reply)?;
                    (f, e, &req[2])
                }
                "setnx" => (NX, None, &req[2]),
                "setex" => (EX, Some(req[2].as_slice()), &req[3]),
                _ => (PX, Some(req[2].as_slice()), &req[3]),
            };
            let deadline = match expire {
                Some(raw) => Some(expire_deadline(name, raw, flags, w).map_err(Stop::Reply)?),
                None => None,
            };
            let mut reply = Vec::new();
            if flags & GET != 0 {
                reply = v.get(key).map_or_else(resp::nil, |x| resp::bulk(&x));
            }
            let old = v.lookup(key).map(|e| e.deadline_ms);
            let found = old.is_some();
            if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
                if flags & GET == 0 {
                    reply = if name == "setnx" {
                        resp::int(0)
                    } else {
                        resp::nil()
                    };
                }
                return done(reply);
            }
            let kept = if flags & KEEPTTL != 0 {
                old.flatten()
            } else {
                None
            };
            v.put(
                key,
                Entry {
                    value: value.clone(),
                    deadline_ms: deadline.or(kept),
                },
            );
            if flags & GET == 0 {
                reply = if name == "setnx" {
                    resp::int(1)
                } else {
                    resp::ok()
                };
            }
            done(reply)
        }
        "getex" => {
            let (flags, expire) = parse_string_options(&req[2..], false).map_err(Stop::Reply)?;
            let Some(value) = v.get(key) else {
                return done(resp::nil());
            };
            let deadline = match expire {
                Some(raw) => Some(expire_deadline(name, raw, flags, w).map_err(Stop::Reply)?),
                None => None,
            };
            let entry = v.lookup(key).expect("looked up above");
            match deadline {
                Some(d) if flags & (EXAT | PXAT) != 0 && d <= w => {
                    v.delete(key);
                }
                Some(d) => entry.deadline_ms = Some(d),
                None if flags & PERSIST != 0 => entry.deadline_ms = None,
                None => {}
            }
            done(resp::bulk(&value))
        }
        "getdel" => {
            let reply = v.get(key).map_or_else(resp::nil, |x| resp::bulk(&x));
            v.delete(key);
            done(reply)
        }
        "getset" => {
            let reply = v.get(key).map_or_else(resp::nil, |x| resp::bulk(&x));
            v.put(
                key,
                Entry {
                    value: req[2].clone(),
                    deadline_ms: None,
                },
            );
            done(reply)
        }
        "mget" => {
            let mut reply = resp::array_header(req.len() - 1);
            for k in &req[1..] {
                reply.extend(v.get(k).map_or_else(resp::nil, |x| resp::bulk(&x)));
            }
            done(reply)
        }
        "mset" | "msetnx" => {
            if req.len().is_multiple_of(2) {
                return fail(resp::err(&format!(
                    "wrong number of arguments for '{name}' command"
                )));
            }
            if name == "msetnx" {
                for k in req[1..].iter().step_by(2) {
                    if v.lookup(k).is_some() {
                        return done(resp::int(0));
                    }
                }
            }
            for pair in req[1..].chunks(2) {
                v.put(
                    &pair[0],
                    Entry {
                        value: pair[1].clone(),
                        deadline_ms: None,
                    },
                );
            }
            done(if name == "msetnx" {
                resp::int(1)
            } else {
                resp::ok()
            })
        }
        "append" => {
            let suffix = &req[2];
            let len = match v.lookup(key) {
                Some(e) => {
                    e.value.extend_from_slice(suffix);
                    e.value.len()
                }
                None => {
                    v.put(
                        key,
                        Entry {
                            value: suffix.clone(),
                            deadline_ms: None,
                        },
                    );
                    suffix.len()
                }
            };
            done(resp::int(len as i64))
        }
        "strlen" => done(resp::int(v.get(key).map_or(0, |x| x.len() as i64))),
        "getrange" | "substr" => {
            let mut start = int(&req[2])?;
            let mut end = int(&req[3])?;
            let Some(s) = v.get(key) else {
                return done(resp::bulk(b""));
            };
            let len = s.len() as i64;
            if start < 0 && end < 0 && start > end {
                return done(resp::bulk(b""));
            }
            if start < 0 {
                start += len;
            }
            if end < 0 {
                end += len;
            }
            start = start.max(0);
            end = end.max(0);
            if end >= len {
                end = len - 1;
            }
            if start > end || len == 0 {
                done(resp::bulk(b""))
            } else {
                done(resp::bulk(&s[start as usize..=end as usize]))
            }
        }
        "setrange" => {
            let offset = int(&req[2])?;
            if offset < 0 {
                return fail(resp::err("offset is out of range"));
            }
            let value = &req[3];
            let too_long = offset as u64 + value.len() as u64 > STRING_LEN_MAX;
            let limit = || resp::err("string exceeds maximum allowed size (proto-max-bulk-len)");
            match v.lookup(key) {
                None => {
                    if value.is_empty() {
                        return done(resp::int(0));
                    }
                    if too_long {
                        return fail(limit());
                    }
                    v.put(
                        key,
                        Entry {
                            value: Vec::new(),
                            deadline_ms: None,
                        },
                    );
                }
                Some(e) => {
                    if value.is_empty() {
                        return done(resp::int(e.value.len() as i64));
                    }
                    if too_long {
                        return fail(limit());
                    }
                }
            }
            let e = v.lookup(key).expect("present");
            let offset = offset as usize;
            if e.value.len() < offset + value.len() {
                e.value.resize(offset + value.len(), 0);
            }
            e.value[offset..offset + value.len()].copy_from_slice(value);
            done(resp::int(e.value.len() as i64))
        }
        "incr" | "decr" | "incrby" | "decrby" => {
            let by = match name {
                "incr" => 1,
                "decr" => -1,
                "incrby" => int(&req[2])?,
                _ => {
                    let n = int(&req[2])?;
                    if n == i64::MIN {
                        return fail(resp::err("decrement would overflow"));
                    }
                    -n
                }
            };
            let (old, deadline) = match v.lookup(key) {
                Some(e) => (int(&e.value)?, e.deadline_ms),
                None => (0, None),
            };
            let Some(new) = old.checked_add(by) else {
                return fail(resp::err("increment or decrement would overflow"));
            };
            v.put(
                key,
                Entry {
                    value: new.to_string().into_bytes(),
                    deadline_ms: deadline,
                },
            );
            done(resp::int(new))
        }
        "incrbyfloat" => {
            let float = |raw: &[u8]| match numbers::parse_long_double(raw) {
                Ok(x) => Ok(x),
                Err(FloatParse::Invalid) => {
                    Err(Stop::Reply(resp::err("value is not a valid float")))
                }
                Err(FloatParse::Unsupported(what)) => Err(Stop::Limitation(format!(
                    "model limitation: INCRBYFLOAT on {what}"
                ))),
            };
            let (old, deadline) = match v.lookup(key) {
                Some(e) => (float(&e.value)?, e.deadline_ms),
                None => (LongDouble::Quarters(0), None),
            };
            let by = float(&req[2])?;
            let Some(sum) = numbers::add_long_double(old, by) else {
                return fail(resp::err("increment would produce NaN or Infinity"));
            };
            let text = numbers::format_quarters(sum).into_bytes();
            v.put(
                key,
                Entry {
                    value: text.clone(),
                    deadline_ms: deadline,
                },
            );
            done(resp::bulk(&text))
        }
        "del" | "unlink" => {
            let mut n = 0;
            for k in &req[1..] {
                if v.lookup(k).is_some() {
                    v.delete(k);
                    n += 1;
                }
            }
            done(resp::int(n))
        }
        "exists" | "touch" => {
            let n = req[1..].iter().filter(|k| v.lookup(k).is_some()).count();
            done(resp::int(n as i64))
        }
        "type" => done(resp::simple(if v.lookup(key).is_some() {
            "string"
        } else {
            "none"
        })),
        "expire" | "pexpire" | "expireat" | "pexpireat" => expire_command(name, req, v),
        "ttl" | "pttl" | "expiretime" | "pexpiretime" => {
            let Some(e) = v.lookup(key) else {
                return done(resp::int(-2));
            };
            let Some(d) = e.deadline_ms else {
                return done(resp::int(-1));
            };
            let absolute = name.contains("time");
            let ms = if absolute { d } else { d - w }.max(0);
            done(resp::int(if name.starts_with('p') {
                ms
            } else {
                (ms + 500) / 1000
            }))
        }
        "persist" => done(resp::int(match v.lookup(key) {
            Some(e) if e.deadline_ms.is_some() => {
                e.deadline_ms = None;
                1
            }
            _ => 0,
        })),
        "rename" | "renamenx" => {
            let nx = name == "renamenx";
            let dst = req[2].as_slice();
            let Some(entry) = v.lookup(key).cloned() else {
                return fail(resp::err("no such key"));
            };
            if key == dst {
                return done(if nx { resp::int(0) } else { resp::ok() });
            }
            if v.lookup(dst).is_some() {
                if nx {
                    return done(resp::int(0));
                }
                v.delete(dst);
            }
            v.put(dst, entry);
            v.delete(key);
            done(if nx { resp::int(1) } else { resp::ok() })
        }
        "copy" => {
            let dst = req[2].as_slice();
            let mut replace = false;
            for opt in &req[3..] {
                if opt.eq_ignore_ascii_case(b"replace") {
                    replace = true;
                } else {
                    // The workload never names another database.
                    return fail(resp::err("syntax error"));
                }
            }
            if key == dst {
                return fail(resp::err("source and destination objects are the same"));
            }
            let Some(entry) = v.lookup(key).cloned() else {
                return done(resp::int(0));
            };
            if v.lookup(dst).is_some() {
                if !replace {
                    return done(resp::int(0));
                }
                v.delete(dst);
            }
            v.put(dst, entry);
            done(resp::int(1))
        }
        other => Err(Stop::Limitation(format!(
            "model limitation: no model of {other}"
        ))),
    }
}

/// Redis's expireGenericCommand.
fn expire_command(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &req[3..] {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                return fail(resp::err(&format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return fail(resp::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return fail(resp::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = integer_arg(&req[2]).map_err(Stop::Reply)?;
    if name == "expire" || name == "expireat" {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return fail(invalid_expire(name));
        }
        when *= 1000;
    }
    let base = if name.ends_with("at") { 0 } else { v.wall_ms };
    if when > i64::MAX - base {
        return fail(invalid_expire(name));
    }
    when += base;
    let key = req[1].as_slice();
    let wall_ms = v.wall_ms;
    let Some(entry) = v.lookup(key) else {
        return done(resp::int(0));
    };
    let current = entry.deadline_ms;
    if (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c))
    {
        return done(resp::int(0));
    }
    if when <= wall_ms {
        v.delete(key);
    } else {
        entry.deadline_ms = Some(when);
    }
    done(resp::int(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parts: &[&str]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    fn run(m: &mut Model, w: i64, parts: &[&str], actual: &[u8]) -> Result<(), String> {
        m.exec(w, &req(parts), actual, Dbsize::Lenient)
    }

    #[test]
    fn strings_and_ttls() {
        let mut m = Model::new();
        run(&mut m, 1000, &["SET", "k", "v", "PX", "100"], b"+OK\r\n").unwrap();
        run(&mut m, 1050, &["PTTL", "k"], b":50\r\n").unwrap();
        run(&mut m, 1050, &["TTL", "k"], b":0\r\n").unwrap();
        // Redis keeps the key visible at exactly its deadline.
        run(&mut m, 1100, &["GET", "k"], b"$1\r\nv\r\n").unwrap();
        run(&mut m, 1101, &["GET", "k"], b"$-1\r\n").unwrap();
        assert!(run(&mut m, 1101, &["GET", "k"], b"$1\r\nv\r\n").is_err());
        run(&mut m, 1101, &["INCRBY", "n", "5"], b":5\r\n").unwrap();
        run(
            &mut m,
            1101,
            &["INCRBYFLOAT", "n", "0.25"],
            b"$4\r\n5.25\r\n",
        )
        .unwrap();
        run(
            &mut m,
            1101,
            &["INCR", "n"],
            b"-ERR value is not an integer or out of range\r\n",
        )
        .unwrap();
        run(
            &mut m,
            1101,
            &["SET", "k", "v", "NX", "XX"],
            b"-ERR syntax error\r\n",
        )
        .unwrap();
        run(
            &mut m,
            1101,
            &["SET", "k", "v", "EX", "0"],
            b"-ERR invalid expire time in 'set' command\r\n",
        )
        .unwrap();
        run(
            &mut m,
            1101,
            &["GET"],
            b"-ERR wrong number of arguments for 'get' command\r\n",
        )
        .unwrap();
        run(
            &mut m,
            1101,
            &["NOPE", "a", "b"],
            b"-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n",
        )
        .unwrap();
        run(&mut m, 1101, &["SETRANGE", "s", "3", "z"], b":4\r\n").unwrap();
        run(&mut m, 1101, &["GET", "s"], b"$4\r\n\0\0\0z\r\n").unwrap();
        run(
            &mut m,
            1101,
            &["INCRBYFLOAT", "s", "1.5"],
            b"-ERR value is not a valid float\r\n",
        )
        .unwrap();
    }

    #[test]
    fn backward_jump_makes_expired_keys_uncertain() {
        let mut m = Model::new();
        run(&mut m, 1000, &["SET", "k", "v", "PX", "10"], b"+OK\r\n").unwrap();
        m.after_input(1000);
        m.after_input(2000); // active expiry may have deleted it here
                             // The clock jumps back before the deadline: either answer is possible...
        run(&mut m, 1005, &["EXISTS", "k"], b":1\r\n").unwrap();
        // ...and the answer is remembered.
        assert!(run(&mut m, 1005, &["GET", "k"], b"$-1\r\n").is_err());
        run(&mut m, 1005, &["GET", "k"], b"$1\r\nv\r\n").unwrap();

        let mut m2 = Model::new();
        run(&mut m2, 1000, &["SET", "k", "v", "PX", "10"], b"+OK\r\n").unwrap();
        m2.after_input(2000);
        run(&mut m2, 1005, &["DBSIZE"], b":0\r\n").unwrap();
        run(&mut m2, 1005, &["DBSIZE"], b":1\r\n").unwrap();
        assert!(run(&mut m2, 1005, &["DBSIZE"], b":2\r\n").is_err());
        run(&mut m2, 1005, &["GET", "k"], b"$-1\r\n").unwrap();
        run(&mut m2, 1005, &["DBSIZE"], b":0\r\n").unwrap();
    }

    #[test]
    fn randomkey_may_delete_expired_keys_it_draws() {
        let mut m = Model::new();
        run(&mut m, 0, &["SET", "gone", "v", "PX", "5"], b"+OK\r\n").unwrap();
        run(&mut m, 0, &["SET", "k", "v"], b"+OK\r\n").unwrap();
        // No input since the deadline passed: the expired key must still be counted...
        run(&mut m, 10, &["DBSIZE"], b":2\r\n").unwrap();
        // ...until RANDOMKEY may have drawn and deleted it.
        run(&mut m, 10, &["RANDOMKEY"], b"$1\r\nk\r\n").unwrap();
        run(&mut m, 10, &["DBSIZE"], b":1\r\n").unwrap();
    }

    #[test]
    fn keyspace_wide_replies_are_checked_as_sets() {
        let mut m = Model::new();
        run(&mut m, 0, &["MSET", "a", "1", "b", "2"], b"+OK\r\n").unwrap();
        run(&mut m, 0, &["KEYS", "*"], b"*2\r\n$1\r\nb\r\n$1\r\na\r\n").unwrap();
        assert!(run(&mut m, 0, &["KEYS", "*"], b"*1\r\n$1\r\nb\r\n").is_err());
        assert!(run(
            &mut m,
            0,
            &["KEYS", "*"],
            b"*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"
        )
        .is_err());
        run(
            &mut m,
            0,
            &["SCAN", "0", "COUNT", "100"],
            b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        )
        .unwrap();
        run(&mut m, 0, &["RANDOMKEY"], b"$1\r\na\r\n").unwrap();
        assert!(run(&mut m, 0, &["RANDOMKEY"], b"$-1\r\n").is_err());
        run(&mut m, 0, &["FLUSHDB"], b"+OK\r\n").unwrap();
        run(&mut m, 0, &["RANDOMKEY"], b"$-1\r\n").unwrap();
        m.exec(0, &req(&["DBSIZE"]), b":0\r\n", Dbsize::ExpiredGone)
            .unwrap();
    }
}
