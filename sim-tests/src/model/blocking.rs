//! The blocking pops, as Redis 7.0's `blockingPopGenericCommand`,
//! `blmoveGenericCommand`, `blockingGenericZpopCommand` and `blocked.c`: BLPOP,
//! BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and BZMPOP.
//!
//! A blocking pop on a key with something to pop is the non-blocking pop (LMPOP,
//! LMOVE, RPOPLPUSH, ZMPOP) with its reply reshaped; with every key missing it
//! blocks (inside EXEC it replies the null it would time out with instead, or a
//! null bulk for BLMOVE and BRPOPLPUSH). A blocked client is served when one of its
//! keys is *created* (Redis's `signalKeyAsReady` on `dbAdd`): after each top-level
//! command, every key created meanwhile serves the clients blocked on it in the
//! order they blocked, each as its own pop on that key alone, until the key is gone;
//! a client waiting for the other type is skipped and stays blocked. A timeout is a
//! null array, due once the monotonic clock has passed the deadline (so wall-clock
//! jumps change nothing).
//!
//! The model decides *who* gets *what*; the trace says *when* the server sent it:
//! the checker hands the model the frames the server had sent each connection by
//! the end of the step being replayed ([`super::Outboxes`]), so a blocked client
//! with a frame it was not served is one the server timed out, which must be due.
//!
//! CLIENT UNBLOCK (`clientCommand`) ends a wait the model knows of: `:1` with the
//! timeout's null or the UNBLOCKED error on the unblocked connection, or `:0` when
//! the server had timed it out earlier in the same group of inputs (due by then).
//!
//! The workload never pairs a bad timeout with another bad argument: Redis parses
//! BLMPOP's and BZMPOP's other arguments, and BLMOVE's directions, before the
//! timeout, and the model checks the timeout first.

use super::{
    fail, lists, pubsub, zsets, Actual, Dbsize, Eval, Expect, Key, Model, Outboxes, Session, Stop,
    View,
};
use crate::resp::{self, take_reply, Proto, Reply};

pub(crate) const COMMANDS: &[&str] = &[
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
];

/// A blocked client CLIENT UNBLOCK named.
#[derive(Debug, Clone)]
pub(crate) struct Unblocked {
    pub blocked: Blocked,
    /// What the command's reply says happened.
    pub how: UnblockedHow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnblockedHow {
    /// `:1`: its wait ended with the timeout's reply (TIMEOUT) or the UNBLOCKED error.
    Ended { with_error: bool },
    /// `:0`: the server had timed it out already, in the same group of inputs.
    TimedOutBefore,
}

/// The reply CLIENT UNBLOCK ... ERROR gives the blocked client.
pub(crate) const UNBLOCKED_ERROR: &[u8] = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";

/// A client blocked on keys.
#[derive(Debug, Clone)]
pub(crate) struct Blocked {
    pub session: String,
    pub proto: Proto,
    pub request: Vec<Vec<u8>>,
    /// The distinct keys waited for, in argument order.
    pub keys: Vec<Key>,
    /// Monotonic nanoseconds: when it blocked, and when it times out (none: never).
    pub since_ns: u64,
    pub deadline_ns: Option<u64>,
}

impl Blocked {
    /// Whether it waits for a sorted set (the BZ pops) rather than a list.
    pub fn waits_for_zset(&self) -> bool {
        self.request[0].len() > 1 && self.request[0][..2].eq_ignore_ascii_case(b"bz")
    }

    /// The pop that serves this client from `key` alone.
    pub fn serve_request(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let r = &self.request;
        let name = String::from_utf8_lossy(&r[0]).to_ascii_lowercase();
        let mut out = vec![r[0].clone()];
        match name.as_str() {
            "blmpop" | "bzmpop" => {
                let n = numkeys(r).unwrap_or(0);
                out.extend([r[1].clone(), b"1".to_vec(), key.to_vec()]);
                out.extend(r[3 + n..].iter().cloned());
            }
            "blmove" | "brpoplpush" => {
                out.push(key.to_vec());
                out.extend(r[2..].iter().cloned());
            }
            _ => {
                out.push(key.to_vec());
                out.push(r[r.len() - 1].clone());
            }
        }
        out
    }
}

/// BLMPOP's and BZMPOP's numkeys, when valid.
fn numkeys(r: &[Vec<u8>]) -> Option<usize> {
    let n = crate::numbers::parse_i64_strict(&r[2])?;
    (n >= 1 && (n as usize) < r.len() - 3).then_some(n as usize)
}

/// The keys a blocking pop waits for, and the argument holding its timeout.
pub(crate) fn keys_and_timeout(name: &str, r: &[Vec<u8>]) -> (Vec<Key>, usize) {
    let mut keys: Vec<Key> = match name {
        "blmpop" | "bzmpop" => numkeys(r).map_or(Vec::new(), |n| r[3..3 + n].to_vec()),
        "blmove" | "brpoplpush" => vec![r[1].clone()],
        _ => r[1..r.len() - 1].to_vec(),
    };
    let mut seen = Vec::new();
    keys.retain(|k| {
        let new = !seen.contains(k);
        seen.push(k.clone());
        new
    });
    let at = match name {
        "blmpop" | "bzmpop" => 1,
        _ => r.len() - 1,
    };
    (keys, at)
}

/// getTimeoutFromObjectOrReply in seconds: a long double times 1000, truncated.
/// The workload's timeouts are decimals; the model takes those whose thousandfold
/// is exact (binary fractions of a second, as 0.0625) and says so for others.
pub(crate) fn timeout_ms(raw: &[u8]) -> Result<i64, Stop> {
    let bad = || Stop::Reply(resp::err("timeout is not a float or out of range"));
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (negative, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if text.bytes().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    if int.is_empty() || !digits(int) || !digits(frac) || int.len() > 9 || frac.len() > 9 {
        return Err(Stop::Limitation(format!(
            "model limitation: a timeout written {text}"
        )));
    }
    // value * 1000 as an exact fraction num / 10^frac.len().
    let scale = 10i128.pow(frac.len() as u32);
    let num =
        (int.parse::<i128>().expect("digits") * scale + frac.parse::<i128>().unwrap_or(0)) * 1000;
    let ms = num / scale;
    let exact_in_binary = {
        // A decimal fraction is exact in binary when its denominator, reduced, is
        // a power of two: times 5^frac.len() it must be a multiple of it.
        let five = 5i128.pow(frac.len() as u32);
        frac.parse::<i128>().unwrap_or(0) % five == 0
    };
    if !exact_in_binary {
        return Err(Stop::Limitation(format!(
            "model limitation: a timeout of {text} s is not exact in binary"
        )));
    }
    let ms = if negative { -ms } else { ms } as i64;
    if ms < 0 {
        return fail(resp::err("timeout is negative"));
    }
    Ok(ms)
}

/// For a blocking pop with a timeout of 0 (one that can block forever), the first
/// key it waits for and whether a sorted set (not a list) serves it.
pub fn forever_wait(request: &[Vec<u8>]) -> Option<(Key, bool)> {
    let name = String::from_utf8_lossy(request.first()?).to_ascii_lowercase();
    if !COMMANDS.contains(&name.as_str()) || super::refused_before_call(&name, request).is_some() {
        return None;
    }
    let (keys, at) = keys_and_timeout(&name, request);
    let first = keys.into_iter().next()?;
    matches!(timeout_ms(&request[at]), Ok(0)).then(|| (first, name.starts_with("bz")))
}

/// The null a blocking pop times out with (a null array in both protocols' shape).
pub(crate) fn is_timeout_reply(frame: &[u8], p: Proto) -> bool {
    frame == p.null_array().as_slice()
}

/// Reshape a non-blocking pop's reply into the blocking command's.
fn reshape(name: &str, bytes: &[u8]) -> Result<Vec<u8>, Stop> {
    let Ok(Some((reply, _))) = take_reply(bytes) else {
        return Err(Stop::Limitation(
            "model limitation: an unreadable pop".into(),
        ));
    };
    let out = match (name, reply) {
        ("blpop" | "brpop", Reply::Array(mut parts)) if parts.len() == 2 => {
            let Reply::Array(mut elems) = parts.pop().expect("two") else {
                return Ok(bytes.to_vec());
            };
            parts.push(elems.remove(0));
            Reply::Array(parts)
        }
        ("bzpopmin" | "bzpopmax", Reply::Array(mut parts)) if parts.len() == 2 => {
            let Reply::Array(mut pairs) = parts.pop().expect("two") else {
                return Ok(bytes.to_vec());
            };
            let Reply::Array(pair) = pairs.remove(0) else {
                return Ok(bytes.to_vec());
            };
            parts.extend(pair);
            Reply::Array(parts)
        }
        _ => return Ok(bytes.to_vec()),
    };
    Ok(resp::encode(&out))
}

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let (keys, at) = keys_and_timeout(name, req);
    timeout_ms(&req[at])?;
    let list = !name.starts_with("bz");
    if v.serving {
        // Served from a key of the other type: skipped, still blocked.
        let want = if list { "list" } else { "zset" };
        if v.type_of(&keys[0]).is_some_and(|t| t != want) {
            return Ok(Expect::Blocked);
        }
        // A BLMOVE served onto a key of another type gets WRONGTYPE and is
        // unblocked, nothing moved (serveClientBlockedOnList's checkType), as LMOVE.
    }
    let p = v.p;
    let n = |k: &[Key]| k.len().to_string().into_bytes();
    let (inner, synth): (&str, Vec<Vec<u8>>) = match name {
        "blpop" | "brpop" => {
            let mut s = vec![b"lmpop".to_vec(), n(&req[1..req.len() - 1])];
            s.extend(req[1..req.len() - 1].iter().cloned());
            s.push(if name == "blpop" { "LEFT" } else { "RIGHT" }.into());
            ("lmpop", s)
        }
        "bzpopmin" | "bzpopmax" => {
            let mut s = vec![b"zmpop".to_vec(), n(&req[1..req.len() - 1])];
            s.extend(req[1..req.len() - 1].iter().cloned());
            s.push(if name == "bzpopmin" { "MIN" } else { "MAX" }.into());
            ("zmpop", s)
        }
        "blmpop" | "bzmpop" => {
            let inner = if name == "blmpop" { "lmpop" } else { "zmpop" };
            let mut s = vec![inner.as_bytes().to_vec()];
            s.extend(req[2..].iter().cloned());
            (inner, s)
        }
        "blmove" => ("lmove", req[..5].to_vec()),
        "brpoplpush" => ("rpoplpush", req[..3].to_vec()),
        _ => unreachable!("{name} is not in COMMANDS"),
    };
    let popped = match if list {
        lists::apply(inner, &synth, v, actual)
    } else {
        zsets::apply(inner, &synth, v, actual)
    } {
        Ok(Expect::Exact(bytes)) => bytes,
        Err(Stop::Reply(bytes)) => return fail(bytes),
        other => return other,
    };
    let nothing = if inner == "lmove" || inner == "rpoplpush" {
        p.nil()
    } else {
        p.null_array()
    };
    if popped == nothing {
        if v.deny_blocking {
            v.event("blocking: inside EXEC, replied at once");
            return Ok(Expect::Exact(nothing));
        }
        return Ok(Expect::Blocked);
    }
    if v.serving {
        v.event("blocking: served by another client's write");
    }
    Ok(Expect::Exact(reshape(name, &popped)?))
}

/// A moment of the server's trace: its wall clock (expiry) and monotonic clock
/// (blocking timeouts).
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub wall_ms: i64,
    pub mono_ns: u64,
    /// The latest monotonic time of the group of inputs this one belongs to (its
    /// effects, a timeout among them, come after the whole group).
    pub group_mono_ns: u64,
}

/// Timeouts may fire up to this much before the deadline (the server keeps time in
/// milliseconds, the trace in nanoseconds).
const EARLY_NS: u64 = 1_000_000;

impl Model {
    /// Replay one request of `session` the server handled at `now`, taking its
    /// reply from `out` (where the frames the server had sent by the end of this
    /// step are), then serve the clients blocked on keys it created.
    pub fn exec_request(
        &mut self,
        session: &mut Session,
        now: Moment,
        request: &[Vec<u8>],
        out: &mut Outboxes,
        dbsize: Dbsize,
    ) -> Result<(), String> {
        assert!(!request.is_empty(), "a request has a command name");
        // Active expiries a subscriber was sent before this reply.
        self.read_owed(&session.name, out);
        if session.proto == Proto::Resp3 && self.subscribed(&session.name) {
            out.reply_first(&session.name);
        }
        let name = String::from_utf8_lossy(&request[0]).to_ascii_lowercase();
        if pubsub::SUBSCRIBING.contains(&name.as_str())
            && session.multi.is_none()
            && super::refused_before_call(&name, request).is_none()
        {
            let n = pubsub::frames_for(&name, request, self.subs_of(&session.name));
            let mut frames = Vec::with_capacity(n);
            for _ in 0..n {
                frames.push(out.take(&session.name).ok_or_else(|| {
                    format!(
                        "{}: {} of {n} confirmations sent for {}",
                        session.name,
                        frames.len(),
                        resp::show_request(request)
                    )
                })?);
            }
            return self.subscribing(session, &name, request, &frames);
        }
        self.exec_request_inner(session, now, &name, request, out, dbsize)?;
        self.deliver_all(out)
    }

    fn exec_request_inner(
        &mut self,
        session: &mut Session,
        now: Moment,
        name: &str,
        request: &[Vec<u8>],
        out: &mut Outboxes,
        dbsize: Dbsize,
    ) -> Result<(), String> {
        let name = name.to_string();
        let may_block = COMMANDS.contains(&name.as_str())
            && session.multi.is_none()
            && super::refused_before_call(&name, request).is_none();
        if may_block && session.db != 0 {
            return Err("model limitation: a blocking command in another database".into());
        }
        let frame = out.peek(&session.name).map(|f| f.to_vec());
        if !may_block {
            let f = frame.ok_or_else(|| {
                format!(
                    "{}: no reply sent in the step that handled {}",
                    session.name,
                    resp::show_request(request)
                )
            })?;
            out.take(&session.name);
            self.exec(session, now.wall_ms, request, &f, dbsize)?;
            self.check_unblocked(now, out)?;
            return self.serve_ready(now, out);
        }
        // The frame the group of inputs sent this client may be its reply, or, for
        // a pop that blocked, what a later input of the same group served it.
        let mut served_at_once = None;
        if let Some(f) = &frame {
            let (mut m, mut s) = (self.clone(), session.clone());
            match m.exec(&mut s, now.wall_ms, request, f, dbsize) {
                Ok(()) => {
                    (*self, *session) = (m, s);
                    out.take(&session.name);
                    return self.serve_ready(now, out);
                }
                Err(why) => served_at_once = Some(why),
            }
        }
        if let Err(why) = self.exec(session, now.wall_ms, request, &[], dbsize) {
            return Err(served_at_once.unwrap_or(why));
        }
        let (keys, at) = keys_and_timeout(&name, request);
        let ms = timeout_ms(&request[at]).map_err(|_| "a timeout refused")?;
        self.blocked.push(Blocked {
            session: session.name.clone(),
            proto: session.proto,
            request: request.to_vec(),
            keys,
            since_ns: now.mono_ns,
            deadline_ns: (ms > 0).then(|| now.mono_ns + ms as u64 * 1_000_000),
        });
        self.note("blocking: a client blocked".into());
        if ms == 0 {
            self.note("blocking: a client blocked with no timeout".into());
        }
        self.serve_ready(now, out)
    }

    /// handleClientsBlockedOnKeys: each key created since serves its clients in the
    /// order they blocked until it is gone.
    fn serve_ready(&mut self, now: Moment, out: &mut Outboxes) -> Result<(), String> {
        if self.ready_unordered && (2..=UNORDERED_KEYS_MAX).contains(&self.ready.len()) {
            // SWAPDB readied keys in its blocking-keys dict's order, which is open,
            // and serving one may push into another (a BLMOVE's destination): try
            // every order. The replies may not tell the orders apart (two pops
            // pushing onto one list in either order), so every order that consumed
            // the same frames as the first agreeing one stays possible.
            let mut first_err = None;
            let mut agreed: Option<(Model, Outboxes)> = None;
            for order in permutations(&self.ready) {
                let (mut m, mut o) = (self.clone(), out.clone());
                m.ready = order;
                match m.serve_ready_in_order(now, &mut o) {
                    Ok(()) => match agreed.as_mut() {
                        None => agreed = Some((m, o)),
                        Some((first, consumed)) => {
                            if *consumed == o && first.blocked.len() == m.blocked.len() {
                                first.merge(m);
                            }
                        }
                    },
                    Err(why) => {
                        first_err.get_or_insert(why);
                    }
                }
            }
            let Some((m, o)) = agreed else {
                return Err(first_err.expect("at least two orders were tried"));
            };
            *self = m;
            *out = o;
            self.note("swapdb: ready keys served in an order tried".into());
            return Ok(());
        }
        self.serve_ready_in_order(now, out)
    }

    fn serve_ready_in_order(&mut self, now: Moment, out: &mut Outboxes) -> Result<(), String> {
        if self.ready_unordered {
            self.begin_unordered_notifications();
        }
        let r = self.serve_ready_keys(now, out);
        self.end_unordered_notifications();
        self.ready_unordered = false;
        r
    }

    fn serve_ready_keys(&mut self, now: Moment, out: &mut Outboxes) -> Result<(), String> {
        while !self.ready.is_empty() {
            let key = self.ready.remove(0);
            let mut i = 0;
            while i < self.blocked.len() {
                if !self.blocked[i].keys.contains(&key) {
                    i += 1;
                    continue;
                }
                if !self.keys.contains_key(&key) {
                    break;
                }
                let b = self.blocked[i].clone();
                if out
                    .peek(&b.session)
                    .is_some_and(|f| is_timeout_reply(f, b.proto))
                {
                    if !self.due(&b, now) {
                        // Not due: a CLIENT UNBLOCK later in this group of inputs
                        // ends the wait (checked there, or at the step's end).
                        i += 1;
                        continue;
                    }
                    // Timed out before this command ran.
                    self.timed_out(i, now, out)?;
                    continue;
                }
                let frame = out.peek(&b.session).map(|f| f.to_vec());
                if self.ready_unordered {
                    // SWAPDB readied keys in its dict's order: a reply naming
                    // another ready key this client waits for is that key's turn.
                    let named = frame.as_ref().and_then(|f| match take_reply(f) {
                        Ok(Some((Reply::Array(items), _))) => match items.first() {
                            Some(Reply::Bulk(k)) => Some(k.clone()),
                            _ => None,
                        },
                        _ => None,
                    });
                    if let Some(k) = named.filter(|k| *k != key && self.ready.contains(k)) {
                        if b.keys.contains(&k) {
                            self.note("swapdb: a client served by another ready key".into());
                            i += 1;
                            continue;
                        }
                    }
                }
                let mut s = Session {
                    name: b.session.clone(),
                    proto: b.proto,
                    multi: None,
                    // Clients block in db 0 only.
                    db: 0,
                };
                let request = b.serve_request(&key);
                // The frame is this pop's reply, or one a later input of the group
                // sent (then this pop must leave the client blocked).
                let mut served = None;
                let mut first_err = None;
                if let Some(f) = &frame {
                    let mut m = self.clone();
                    m.serving = true;
                    match m.exec_now(&mut s.clone(), now.wall_ms, &request, f, Dbsize::Lenient) {
                        Ok(()) => served = Some(m),
                        Err(why) => first_err = Some(why),
                    }
                }
                let consumed = served.is_some();
                let r = match served.take() {
                    Some(mut m) => {
                        m.serving = false;
                        *self = m;
                        Ok(())
                    }
                    None => {
                        self.serving = true;
                        let r = self.exec_now(&mut s, now.wall_ms, &request, &[], Dbsize::Lenient);
                        self.serving = false;
                        r.map_err(|why| first_err.unwrap_or(why))
                    }
                };
                r.map_err(|why| {
                    format!(
                        "{} blocked in {} since mono {}ms, on {} created: {why}",
                        b.session,
                        resp::show_request(&b.request),
                        b.since_ns / 1_000_000,
                        resp::show(&key)
                    )
                })?;
                if consumed {
                    let waiting = self
                        .blocked
                        .iter()
                        .filter(|o| o.keys.contains(&key))
                        .count();
                    if waiting > 1 {
                        self.note("blocking: served first of several clients on a key".into());
                    }
                    out.take(&b.session);
                    if b.deadline_ns.is_none() {
                        self.note("blocking: a client blocked with no timeout served".into());
                    }
                    self.blocked.remove(i);
                } else {
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// The blocked client `i` got its timeout reply: it must have been due.
    fn timed_out(&mut self, i: usize, now: Moment, out: &mut Outboxes) -> Result<(), String> {
        let b = self.blocked.remove(i);
        let frame = out.take(&b.session).expect("peeked");
        self.check_timed_out(&b, &frame, now)
    }

    /// Whether `b`'s deadline may have passed by the end of `now`'s group.
    fn due(&self, b: &Blocked, now: Moment) -> bool {
        b.deadline_ns
            .is_some_and(|d| now.group_mono_ns.max(now.mono_ns) + EARLY_NS > d)
    }

    /// `frame`, sent to blocked client `b` that nothing served, is its timeout, due.
    fn check_timed_out(&mut self, b: &Blocked, frame: &[u8], now: Moment) -> Result<(), String> {
        let due = self.due(b, now);
        if !is_timeout_reply(frame, b.proto) || !due {
            return Err(format!(
                "{} blocked in {} at mono {}ms (deadline {:?}ms) got {} at mono {}ms, \
                 and no write served it",
                b.session,
                resp::show_request(&b.request),
                b.since_ns / 1_000_000,
                b.deadline_ns.map(|d| d / 1_000_000),
                resp::show(frame),
                now.mono_ns / 1_000_000
            ));
        }
        self.note("blocking: timed out".into());
        Ok(())
    }

    /// CLIENT ID and CLIENT UNBLOCK (clientCommand), the subcommands the workload
    /// sends. An id is learned from CLIENT ID's reply; CLIENT UNBLOCK of a client the
    /// model has blocked ends its wait (`:1`), or finds it timed out already (`:0`,
    /// which must be due): [`Model::check_unblocked`] then checks its frame.
    pub(crate) fn client_command(
        &mut self,
        session: &Session,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        let sub = String::from_utf8_lossy(&request[1]).to_ascii_lowercase();
        match sub.as_str() {
            "id" => {
                let Ok(Some((Reply::Int(id), _))) = take_reply(actual) else {
                    return Err(format!("CLIENT ID replied {}", resp::show(actual)));
                };
                if id <= 0 {
                    return Err(format!("CLIENT ID replied {id}"));
                }
                if let Some(other) = self.client_ids.get(&id).filter(|o| **o != session.name) {
                    return Err(format!(
                        "CLIENT ID gave {id} to {} and {other}",
                        session.name
                    ));
                }
                if let Some((old, _)) = self
                    .client_ids
                    .iter()
                    .find(|(i, n)| **n == session.name && **i != id)
                {
                    return Err(format!("CLIENT ID of {} was {old}, now {id}", session.name));
                }
                self.client_ids.insert(id, session.name.clone());
                self.note("client: CLIENT ID".into());
                Ok(())
            }
            "unblock" => {
                if request.len() > 4 {
                    let msg = format!(
                        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
                        String::from_utf8_lossy(&request[1]),
                        String::from_utf8_lossy(&request[0]).to_ascii_uppercase()
                    );
                    return super::expect_exact(actual, &resp::err(&msg));
                }
                let mut with_error = false;
                if let Some(reason) = request.get(3) {
                    if reason.eq_ignore_ascii_case(b"error") {
                        with_error = true;
                    } else if !reason.eq_ignore_ascii_case(b"timeout") {
                        let msg = "CLIENT UNBLOCK reason should be TIMEOUT or ERROR";
                        return super::expect_exact(actual, &resp::err(msg));
                    }
                }
                let Some(id) = crate::numbers::parse_i64_strict(&request[2]) else {
                    let msg = "value is not an integer or out of range";
                    return super::expect_exact(actual, &resp::err(msg));
                };
                let target = self
                    .client_ids
                    .get(&id)
                    .and_then(|name| self.blocked.iter().position(|b| b.session == *name));
                let Some(i) = target else {
                    return super::expect_exact(actual, &resp::int(0));
                };
                let how = if actual == resp::int(1).as_slice() {
                    self.note("blocking: unblocked by CLIENT UNBLOCK".into());
                    UnblockedHow::Ended { with_error }
                } else if actual == resp::int(0).as_slice() {
                    self.note("blocking: CLIENT UNBLOCK found it timed out".into());
                    UnblockedHow::TimedOutBefore
                } else {
                    return Err(format!(
                        "CLIENT UNBLOCK of blocked {} replied {}",
                        self.blocked[i].session,
                        resp::show(actual)
                    ));
                };
                let blocked = self.blocked.remove(i);
                self.unblocked.push(Unblocked { blocked, how });
                Ok(())
            }
            _ => Err(format!("model limitation: no model of CLIENT {sub}")),
        }
    }

    /// The frames of the clients the command just replayed unblocked (or found
    /// timed out): the timeout's reply or the UNBLOCKED error.
    fn check_unblocked(&mut self, now: Moment, out: &mut Outboxes) -> Result<(), String> {
        for u in std::mem::take(&mut self.unblocked) {
            let b = &u.blocked;
            let frame = out.take(&b.session).ok_or_else(|| {
                format!(
                    "{} blocked in {} was sent nothing when CLIENT UNBLOCK named it",
                    b.session,
                    resp::show_request(&b.request)
                )
            })?;
            match u.how {
                UnblockedHow::TimedOutBefore => self.check_timed_out(b, &frame, now)?,
                UnblockedHow::Ended { with_error } => {
                    let want = if with_error {
                        UNBLOCKED_ERROR.to_vec()
                    } else {
                        b.proto.null_array()
                    };
                    if frame != want {
                        return Err(format!(
                            "{} blocked in {} got {} from CLIENT UNBLOCK, not {}",
                            b.session,
                            resp::show_request(&b.request),
                            resp::show(&frame),
                            resp::show(&want)
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A client still blocked, if any.
    pub fn still_blocked(&self) -> Option<String> {
        self.blocked
            .first()
            .map(|b| format!("{} (in {})", b.session, resp::show_request(&b.request)))
    }

    /// At the end of each step: a blocked client with a frame was timed out (it must
    /// have been due); one whose deadline is more than `late_ns` past must have been.
    pub fn after_step(
        &mut self,
        now: Moment,
        out: &mut Outboxes,
        late_ns: u64,
    ) -> Result<(), String> {
        let mut i = 0;
        while i < self.blocked.len() {
            let b = &self.blocked[i];
            if out.peek(&b.session).is_some() {
                self.timed_out(i, now, out)?;
                continue;
            }
            if let Some(d) = b.deadline_ns {
                if now.mono_ns > d + late_ns {
                    return Err(format!(
                        "{} blocked in {} at mono {}ms is still blocked at mono {}ms, \
                         past its deadline",
                        b.session,
                        resp::show_request(&b.request),
                        b.since_ns / 1_000_000,
                        now.mono_ns / 1_000_000
                    ));
                }
            }
            i += 1;
        }
        Ok(())
    }
}

impl Model {
    /// Redis 7.0's `signalKeyAsReady` filter for a key now holding one of `slots`:
    /// only a list or a sorted set can serve, and only while some client blocks for
    /// that type at all (`blocked_clients_by_type`), on any key; and only when a
    /// client waits for this key. A key signalled ready is served at the end of the
    /// command with whatever it holds then, so a signal for the wrong type that the
    /// key changes from before then still serves.
    pub(crate) fn signals_ready(&self, key: &[u8], slots: &[super::Slot]) -> bool {
        use super::value::Value;
        if !self.blocked.iter().any(|b| b.keys.iter().any(|k| k == key)) {
            return false;
        }
        let list_waiters = self.blocked.iter().any(|b| !b.waits_for_zset());
        let zset_waiters = self.blocked.iter().any(|b| b.waits_for_zset());
        slots.iter().flatten().any(|e| match e.value {
            Value::List(_) => list_waiters,
            Value::Zset(_) => zset_waiters,
            _ => false,
        })
    }
}

/// The most ready keys whose every serving order is tried (4! = 24 models).
const UNORDERED_KEYS_MAX: usize = 4;

/// Every ordering of `items`, the given one first.
fn permutations(items: &[Key]) -> Vec<Vec<Key>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}
