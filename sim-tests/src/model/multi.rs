//! MULTI, EXEC, DISCARD, WATCH and UNWATCH, as Redis 7.0's `multi.c` and the
//! transaction checks of `processCommand`: what each connection queued, which
//! connections watch which keys, and whether a watched key was touched.
//!
//! **Queuing.** Inside MULTI every command but EXEC, DISCARD, MULTI and WATCH is
//! queued (`+QUEUED`); one Redis refuses before queuing (an unknown command, a wrong
//! argument count, of a subcommand too) replies its error and flags the transaction,
//! whose EXEC then replies EXECABORT. MULTI inside MULTI and WATCH inside MULTI
//! reply an error without flagging it. EXEC runs the queued commands in order, each
//! checked against its element of EXEC's array like any other reply; nothing else
//! runs in between (the server is single-threaded and the trace is replayed in its
//! order, so the model knows exactly what the other clients did before).
//!
//! **Watching.** `signalModifiedKey` marks every connection watching the key dirty
//! (CLIENT_DIRTY_CAS), and a dirty EXEC replies a null array. The model cannot see
//! Redis's calls to `signalModifiedKey`, so it derives them from what a command did
//! to the key in the evaluations that agree with the reply (see
//! `Model::exec_per_key`): a write that changed the key in all of them touched it; a
//! write that changed it in some, or left a present key as it was (Redis signals some
//! no-op writes, `SET` of the same value, `EXPIRE` to the same time, and not others),
//! may have; deleting an expired key (lazily, actively, by a walk) touches it as
//! Redis's `deleteExpiredKeyAndPropagate` does. EXEC also fails when a watched key
//! that was not expired at WATCH time is expired at EXEC time
//! (`isWatchedKeyExpired`). Where the model is unsure the transaction may or may not
//! run ([`Tri::Maybe`]), and the reply says which happened. A key that was already
//! expired when it was watched follows special rules in Redis (a deletion then is no
//! logical change); the model keeps every touch of such a key a `Maybe`.

use super::{decode, expect_exact, Dbsize, Key, Model, Session};
use crate::resp::{self, take_reply};

/// Whether something happened, as far as the model can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Tri {
    #[default]
    No,
    Maybe,
    Yes,
}

impl Tri {
    /// From how many of `of` agreeing evaluations did something.
    pub fn of_counts(did: usize, of: usize) -> Tri {
        if did == 0 {
            Tri::No
        } else if did == of {
            Tri::Yes
        } else {
            Tri::Maybe
        }
    }
}

/// A connection's transaction in progress.
#[derive(Debug, Clone, Default)]
pub struct Multi {
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing (CLIENT_DIRTY_EXEC).
    pub dirty_exec: bool,
}

/// The keys one connection watches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watch {
    /// Each key, with whether it was expired (present past its deadline) when
    /// watched.
    keys: Vec<(Key, Tri)>,
    /// CLIENT_DIRTY_CAS.
    dirty: Tri,
}

/// The transaction commands and their Redis 7.0 arities.
pub(crate) fn arity(name: &str) -> Option<i64> {
    Some(match name {
        "multi" | "exec" | "discard" | "unwatch" => 1,
        "watch" => -2,
        _ => return None,
    })
}

impl Watch {
    pub(crate) fn watched_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().map(|(k, _)| k)
    }
}

impl Model {
    /// `signalModifiedKey` on `key`, as sure as `how`.
    pub(crate) fn touch(&mut self, key: &[u8], how: Tri) {
        // Connections watch keys of db 0 only (see [`Model::exec`]).
        if how == Tri::No || self.cur_db != 0 {
            return;
        }
        for w in self.watches.values_mut() {
            for (k, expired_at_watch) in &w.keys {
                if k == key {
                    let t = if *expired_at_watch == Tri::No {
                        how
                    } else {
                        how.min(Tri::Maybe)
                    };
                    w.dirty = w.dirty.max(t);
                }
            }
        }
    }

    /// A watched key SWAPDB may have flagged expired (`wk->expired`): from now on
    /// its touches and its expiry are only `Maybe`s.
    pub(crate) fn may_have_watched_expired(&mut self, key: &[u8]) {
        if self.cur_db != 0 {
            return;
        }
        for w in self.watches.values_mut() {
            for (k, expired_at_watch) in w.keys.iter_mut() {
                if k == key {
                    *expired_at_watch = (*expired_at_watch).max(Tri::Maybe);
                }
            }
        }
    }

    /// Whether some connection watches `key`.
    pub(crate) fn watched(&self, key: &[u8]) -> bool {
        self.cur_db == 0
            && self
                .watches
                .values()
                .any(|w| w.keys.iter().any(|(k, _)| k == key))
    }

    /// FLUSHDB (touchAllWatchedKeysInDb): every watched key that exists is touched
    /// (one that had expired when watched is only deleted: no logical change).
    pub(crate) fn touch_all(&mut self) {
        if self.cur_db != 0 {
            return;
        }
        let keys: Vec<(Key, Tri)> = self
            .keys
            .iter()
            .map(|(k, slots)| {
                let present = slots.iter().filter(|s| s.is_some()).count();
                (k.clone(), Tri::of_counts(present, slots.len()))
            })
            .collect();
        for (k, how) in keys {
            self.touch(&k, how);
        }
    }

    /// The transaction commands, and queuing inside MULTI. `None`: not one of them,
    /// and not queued, so the command runs now.
    pub(crate) fn transaction(
        &mut self,
        session: &mut Session,
        wall_ms: i64,
        name: &str,
        request: &[Vec<u8>],
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Option<Result<(), String>> {
        if let Some(refused) = super::refused_before_call(name, request) {
            if name == "exec" {
                // rejectCommand on EXEC itself: execCommandAbort, in MULTI or not.
                session.multi = None;
                self.watches.remove(&session.name);
                self.note("multi: EXEC refused, the transaction discarded".into());
                let msg = String::from_utf8_lossy(&refused[5..refused.len() - 2]).into_owned();
                let abort = format!("-EXECABORT Transaction discarded because of: {msg}\r\n");
                return Some(expect_exact(actual, abort.as_bytes()));
            }
            if let Some(m) = &mut session.multi {
                m.dirty_exec = true;
                self.note("multi: a command refused while queuing".into());
            }
            return Some(expect_exact(actual, &refused));
        }
        let in_multi = session.multi.is_some();
        Some(match name {
            "multi" if in_multi => {
                expect_exact(actual, &resp::err("MULTI calls can not be nested"))
            }
            "multi" => {
                let r = expect_exact(actual, &resp::ok());
                if r.is_ok() {
                    session.multi = Some(Multi::default());
                }
                r
            }
            "watch" if in_multi => {
                expect_exact(actual, &resp::err("WATCH inside MULTI is not allowed"))
            }
            "watch" => {
                let r = expect_exact(actual, &resp::ok());
                if r.is_ok() {
                    for k in &request[1..] {
                        let expired = self.expired_now(k, wall_ms);
                        let w = self.watches.entry(session.name.clone()).or_default();
                        if !w.keys.iter().any(|(x, _)| x == k) {
                            w.keys.push((k.clone(), expired));
                        }
                    }
                }
                r
            }
            "discard" | "exec" if !in_multi => {
                let msg = format!("{} without MULTI", name.to_ascii_uppercase());
                expect_exact(actual, &resp::err(&msg))
            }
            "discard" => {
                let r = expect_exact(actual, &resp::ok());
                if r.is_ok() {
                    session.multi = None;
                    self.watches.remove(&session.name);
                    self.note("multi: discarded".into());
                }
                r
            }
            "exec" => self.exec_transaction(session, wall_ms, actual, dbsize),
            _ if in_multi => {
                let r = expect_exact(actual, &resp::simple("QUEUED"));
                if r.is_ok() {
                    let m = session.multi.as_mut().expect("in MULTI");
                    m.queued.push(request.to_vec());
                }
                r
            }
            "unwatch" => {
                let r = expect_exact(actual, &resp::ok());
                if r.is_ok() {
                    self.watches.remove(&session.name);
                }
                r
            }
            _ => return None,
        })
    }

    /// Whether `key` is present past its deadline, in each of its possible states.
    fn expired_now(&self, key: &[u8], wall_ms: i64) -> Tri {
        let slots = self.slots(key);
        let expired = slots
            .iter()
            .filter(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)))
            .count();
        Tri::of_counts(expired, slots.len())
    }

    fn exec_transaction(
        &mut self,
        session: &mut Session,
        wall_ms: i64,
        actual: &[u8],
        dbsize: Dbsize,
    ) -> Result<(), String> {
        let multi = session.multi.take().expect("in MULTI");
        let watch = self.watches.remove(&session.name);
        if multi.dirty_exec {
            self.note("multi: EXECABORT after a refused command".into());
            return expect_exact(
                actual,
                b"-EXECABORT Transaction discarded because of previous errors.\r\n",
            );
        }
        let (mut touched, mut expired) = (Tri::No, Tri::No);
        if let Some(w) = &watch {
            touched = w.dirty;
            for (k, expired_at_watch) in &w.keys {
                let now = self.expired_now(k, wall_ms);
                match expired_at_watch {
                    Tri::Yes => {}
                    Tri::No => expired = expired.max(now),
                    Tri::Maybe => expired = expired.max(now.min(Tri::Maybe)),
                }
            }
        }
        let dirty = touched.max(expired);
        let aborted = actual == session.proto.null_array().as_slice();
        match (dirty, aborted) {
            (Tri::Yes, true) => {
                self.note(if touched == Tri::Yes {
                    "watch: EXEC aborted by a touched key".into()
                } else {
                    "watch: EXEC aborted by a watched key that expired".into()
                });
                return Ok(());
            }
            (Tri::Maybe, true) => {
                self.note("watch: EXEC aborted (the model was unsure)".into());
                return Ok(());
            }
            (Tri::Yes, false) => {
                return Err(format!(
                    "a watched key was touched: expected {}, got {}",
                    resp::show(&session.proto.null_array()),
                    resp::show(actual)
                ))
            }
            (Tri::No, true) => {
                return Err("EXEC aborted but no watched key was touched".into());
            }
            (Tri::Maybe, false) => self.note("watch: EXEC ran (the model was unsure)".into()),
            (Tri::No, false) => {}
        }
        let items = split_array(actual).ok_or_else(|| {
            format!(
                "EXEC of {} commands replied {}",
                multi.queued.len(),
                resp::show(actual)
            )
        })?;
        if items.len() != multi.queued.len() {
            return Err(format!(
                "EXEC of {} commands replied {} elements",
                multi.queued.len(),
                items.len()
            ));
        }
        if watch.is_some() {
            self.note("watch: EXEC ran with watched keys untouched".into());
        }
        self.note("multi: EXEC ran".into());
        for (request, item) in multi.queued.iter().zip(items) {
            self.in_exec = true;
            let r = self.exec_now(session, wall_ms, request, item, dbsize);
            self.in_exec = false;
            r.map_err(|why| {
                format!(
                    "in EXEC, {} -> {}: {why}",
                    resp::show_request(request),
                    resp::show(item)
                )
            })?;
        }
        Ok(())
    }
}

/// The elements of a RESP array reply, as bytes (`None` if it is not one).
pub(crate) fn split_array(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    if bytes.first() != Some(&b'*') {
        return None;
    }
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    let n: usize = std::str::from_utf8(&bytes[1..end]).ok()?.parse().ok()?;
    let mut at = end + 2;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let (_, len) = take_reply(&bytes[at..]).ok()??;
        items.push(&bytes[at..at + len]);
        at += len;
    }
    (at == bytes.len() && decode(bytes).is_ok()).then_some(items)
}
