//! A linearizability checker for histories of single-key string commands, in the
//! style of Wing & Gong's search with Lowe's just-in-time linearization and
//! memoisation (the algorithm Knossos and Porcupine use; this is our own code).
//!
//! A history is a set of [`Operation`]s: which client issued what on which key,
//! when it was invoked and, if the reply came, when it returned and what it said
//! (simulated time). A history is linearizable if every operation can be given a
//! single instant between its invocation and its return such that executing the
//! operations in that order against the sequential [`step`] model (one register
//! per key: absent or a byte string) gives exactly the replies observed.
//!
//! Every command touches one key, so the history is checked key by key
//! (P-compositionality: a history is linearizable iff each key's sub-history is).
//! An operation whose reply never came (its connection broke, the server crashed)
//! "maybe happened" (Knossos's `:info`): it may take effect at any instant after its
//! invocation, or never. It is given a return at the end of time and any reply is
//! accepted for it; taking effect after everything observed is the same as never
//! taking effect. A read whose reply never came cannot matter and is dropped.
//!
//! The search walks the invocation/return entries in time order (a call before a
//! return at the same instant, so operations that touch in time count as
//! concurrent); at a call it tries to linearize that operation now, at a return of
//! an operation not yet linearized it backtracks. It remembers every (set of
//! linearized operations, state) pair it reached, so no configuration is explored
//! twice, and it gives up after a node budget, reporting "inconclusive" rather than
//! running on.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

/// A command on one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    Get,
    Set(Vec<u8>),
    Del,
    /// INCR is `IncrBy(1)`.
    IncrBy(i64),
    Append(Vec<u8>),
    GetSet(Vec<u8>),
    SetNx(Vec<u8>),
}

/// A reply, as the model and the checker compare it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ret {
    Ok,
    Int(i64),
    /// A bulk string, or the null reply.
    Bulk(Option<Vec<u8>>),
    Err(String),
}

/// The register a key holds: absent, or a string.
pub type State = Option<Vec<u8>>;

/// Redis's reply to INCR/INCRBY on a value that is not an integer.
pub const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// ... and when the sum leaves the 64-bit range.
pub const ERR_OVERFLOW: &str = "ERR increment or decrement would overflow";

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub client: usize,
    pub key: Vec<u8>,
    pub op: Op,
    /// When the client sent it.
    pub call: Duration,
    /// When the reply came, and what it was; `None`: it maybe happened.
    pub ret: Option<(Duration, Ret)>,
}

/// Redis's `string2ll`: no spaces, no `+`, no leading zeros, no `-0`, no overflow.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) || digits.len() > 19 {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: i128 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// The sequential model: what `op` does to `state` and what it replies.
pub fn step(state: &State, op: &Op) -> (State, Ret) {
    match op {
        Op::Get => (state.clone(), Ret::Bulk(state.clone())),
        Op::Set(v) => (Some(v.clone()), Ret::Ok),
        Op::Del => (None, Ret::Int(state.is_some() as i64)),
        Op::IncrBy(by) => {
            let old = match state {
                None => 0,
                Some(s) => match parse_int(s) {
                    Some(n) => n,
                    None => return (state.clone(), Ret::Err(ERR_NOT_INTEGER.into())),
                },
            };
            match old.checked_add(*by) {
                Some(n) => (Some(n.to_string().into_bytes()), Ret::Int(n)),
                None => (state.clone(), Ret::Err(ERR_OVERFLOW.into())),
            }
        }
        Op::Append(suffix) => {
            let mut v = state.clone().unwrap_or_default();
            v.extend_from_slice(suffix);
            let len = v.len() as i64;
            (Some(v), Ret::Int(len))
        }
        Op::GetSet(v) => (Some(v.clone()), Ret::Bulk(state.clone())),
        Op::SetNx(v) => match state {
            Some(_) => (state.clone(), Ret::Int(0)),
            None => (Some(v.clone()), Ret::Int(1)),
        },
    }
}

fn show_bytes(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 40 {
        format!("{:?}…", &s[..40])
    } else {
        format!("{s:?}")
    }
}

fn show_state(s: &State) -> String {
    s.as_deref().map_or("(absent)".into(), show_bytes)
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Get => write!(f, "GET"),
            Op::Set(v) => write!(f, "SET {}", show_bytes(v)),
            Op::Del => write!(f, "DEL"),
            Op::IncrBy(n) => write!(f, "INCRBY {n}"),
            Op::Append(v) => write!(f, "APPEND {}", show_bytes(v)),
            Op::GetSet(v) => write!(f, "GETSET {}", show_bytes(v)),
            Op::SetNx(v) => write!(f, "SETNX {}", show_bytes(v)),
        }
    }
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ret::Ok => write!(f, "OK"),
            Ret::Int(n) => write!(f, "{n}"),
            Ret::Bulk(None) => write!(f, "(nil)"),
            Ret::Bulk(Some(v)) => write!(f, "{}", show_bytes(v)),
            Ret::Err(e) => write!(f, "-{e}"),
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "client {} {} {}",
            self.client,
            String::from_utf8_lossy(&self.key),
            self.op
        )?;
        match &self.ret {
            Some((t, r)) => write!(f, " -> {r} [{:.0} ms, {:.0} ms]", ms(self.call), ms(*t)),
            None => write!(f, " -> ? (maybe happened) [{:.0} ms, ∞)", ms(self.call)),
        }
    }
}

/// Why one key's sub-history is not linearizable: the search's attempt that got
/// furthest in time (then the shortest such): the prefix it linearized, and the
/// operation that returned before it could be placed after that prefix.
#[derive(Debug, Clone)]
pub struct Violation {
    pub key: Vec<u8>,
    /// The linearized prefix of that attempt (indexes into the checked history),
    /// in linearization order.
    pub prefix: Vec<usize>,
    /// The register after that prefix.
    pub state: State,
    /// The operation whose return the search reached without being able to
    /// linearize it after `prefix`.
    pub stuck: usize,
    /// The operations not in `prefix` invoked before `stuck` returned (the
    /// candidates that could have gone next), `stuck` included.
    pub open: Vec<usize>,
}

impl Violation {
    /// A readable account, with the operations of `history` it names.
    pub fn describe(&self, history: &[Operation]) -> String {
        let mut out = format!(
            "key {}: not linearizable. The search got furthest with a prefix of {} operations; its last ones:\n",
            String::from_utf8_lossy(&self.key),
            self.prefix.len()
        );
        for &i in &self.prefix[self.prefix.len().saturating_sub(8)..] {
            out += &format!("    #{i} {}\n", history[i]);
        }
        out += &format!(
            "  leaving the key at {}; then no operation that could go next explains\n    #{} {}\n  the operations open at that point:\n",
            show_state(&self.state),
            self.stuck,
            history[self.stuck]
        );
        for &i in &self.open {
            let (next, reply) = step(&self.state, &history[i].op);
            out += &format!(
                "    #{i} {} (would reply {reply} and leave {})\n",
                history[i],
                show_state(&next)
            );
        }
        out
    }
}

/// The verdict on one key's sub-history.
#[derive(Debug, Clone)]
pub enum KeyVerdict {
    Linearizable,
    Violation(Violation),
    /// The search ran out of budget after this many nodes.
    Inconclusive(u64),
}

/// The verdict on a whole history.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Keys (sub-histories) checked.
    pub keys: usize,
    /// Operations checked (maybe-happened reads, dropped, not counted).
    pub ops: usize,
    /// Operations that maybe happened among them.
    pub maybe: usize,
    /// Search nodes, over every key.
    pub nodes: u64,
    /// Times the search undid a linearized operation (overlap it had to resolve).
    pub backtracks: u64,
    pub inconclusive: Vec<Vec<u8>>,
    pub violations: Vec<Violation>,
}

impl Summary {
    pub fn linearizable(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The node budget per key that [`check`] callers use by default.
pub const DEFAULT_BUDGET: u64 = 2_000_000;

/// Check every key's sub-history of `history`, each within `budget` search nodes.
pub fn check(history: &[Operation], budget: u64) -> Summary {
    let mut by_key: BTreeMap<&[u8], Vec<usize>> = BTreeMap::new();
    for (i, o) in history.iter().enumerate() {
        if o.ret.is_none() && o.op == Op::Get {
            continue;
        }
        by_key.entry(&o.key).or_default().push(i);
    }
    let mut summary = Summary::default();
    for (key, ops) in by_key {
        summary.keys += 1;
        summary.ops += ops.len();
        summary.maybe += ops.iter().filter(|&&i| history[i].ret.is_none()).count();
        let (verdict, stats) = check_key(history, &ops, budget);
        summary.nodes += stats.nodes;
        summary.backtracks += stats.backtracks;
        match verdict {
            KeyVerdict::Linearizable => {}
            KeyVerdict::Inconclusive(_) => summary.inconclusive.push(key.to_vec()),
            KeyVerdict::Violation(v) => summary.violations.push(v),
        }
    }
    summary
}

/// A set of operations (by position in one key's list).
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

const NIL: usize = usize::MAX;

/// The entries of one key's history as a doubly linked list in time order, with
/// operations lifted out (both entries) as they are linearized and put back, in
/// reverse order, as the search backtracks.
struct Entries {
    /// Per entry (index 0 is the head): the operation (position in the key's list),
    /// whether it is the return, and the links.
    op: Vec<usize>,
    is_return: Vec<bool>,
    prev: Vec<usize>,
    next: Vec<usize>,
    /// Per operation: its call entry and its return entry.
    call_of: Vec<usize>,
    return_of: Vec<usize>,
}

impl Entries {
    fn new(history: &[Operation], ops: &[usize]) -> Entries {
        let mut order: Vec<(Duration, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (j, &i) in ops.iter().enumerate() {
            let o = &history[i];
            order.push((o.call, false, j));
            let ret = o.ret.as_ref().map_or(Duration::MAX, |(t, _)| *t);
            order.push((ret.max(o.call), true, j));
        }
        // At the same instant calls come first: touching operations are concurrent.
        order.sort();
        let n = order.len();
        let mut e = Entries {
            op: vec![NIL; n + 1],
            is_return: vec![false; n + 1],
            prev: vec![NIL; n + 1],
            next: vec![NIL; n + 1],
            call_of: vec![NIL; ops.len()],
            return_of: vec![NIL; ops.len()],
        };
        for (k, (_, ret, j)) in order.into_iter().enumerate() {
            let at = k + 1;
            e.op[at] = j;
            e.is_return[at] = ret;
            e.prev[at] = k;
            e.next[k] = at;
            if ret {
                e.return_of[j] = at;
            } else {
                e.call_of[j] = at;
            }
        }
        e
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        if n != NIL {
            self.prev[n] = x;
        }
    }

    fn lift(&mut self, j: usize) {
        self.unlink(self.call_of[j]);
        self.unlink(self.return_of[j]);
    }

    fn unlift(&mut self, j: usize) {
        self.relink(self.return_of[j]);
        self.relink(self.call_of[j]);
    }
}

fn ret_time(o: &Operation) -> Duration {
    o.ret.as_ref().map_or(Duration::MAX, |(t, _)| *t)
}

/// How much searching one key took.
#[derive(Debug, Default, Clone, Copy)]
pub struct SearchStats {
    pub nodes: u64,
    pub backtracks: u64,
}

/// Check the sub-history `ops` (indexes into `history`, all on one key); the
/// verdict and the search's size.
pub fn check_key(history: &[Operation], ops: &[usize], budget: u64) -> (KeyVerdict, SearchStats) {
    let key = ops.first().map_or(Vec::new(), |&i| history[i].key.clone());
    let mut entries = Entries::new(history, ops);
    let mut linearized = Bits::new(ops.len());
    let mut state: State = None;
    let mut stack: Vec<(usize, State)> = Vec::new();
    let mut seen: HashSet<(Bits, State)> = HashSet::new();
    let mut best: Option<(Vec<usize>, State, usize)> = None;
    let mut stats = SearchStats::default();
    let mut at = entries.next[0];
    while entries.next[0] != NIL {
        stats.nodes += 1;
        if stats.nodes > budget {
            return (KeyVerdict::Inconclusive(stats.nodes), stats);
        }
        let j = entries.op[at];
        if !entries.is_return[at] {
            let o = &history[ops[j]];
            let (next, reply) = step(&state, &o.op);
            let explains = o.ret.as_ref().is_none_or(|(_, r)| *r == reply);
            if explains {
                linearized.set(j);
                if seen.insert((linearized.clone(), next.clone())) {
                    stack.push((j, std::mem::replace(&mut state, next)));
                    entries.lift(j);
                    at = entries.next[0];
                    continue;
                }
                linearized.clear(j);
            }
            at = entries.next[at];
        } else {
            // `j` returned and could not be linearized after the current prefix.
            // Keep the attempt that got furthest in time, and of those the one with
            // the shortest prefix (the most candidates left open to show).
            let reached = (ret_time(&history[ops[j]]), Reverse(stack.len()));
            if best
                .as_ref()
                .is_none_or(|(p, _, b)| reached > (ret_time(&history[ops[*b]]), Reverse(p.len())))
            {
                best = Some((stack.iter().map(|(j, _)| *j).collect(), state.clone(), j));
            }
            let Some((back, before)) = stack.pop() else {
                break;
            };
            stats.backtracks += 1;
            linearized.clear(back);
            state = before;
            entries.unlift(back);
            at = entries.next[entries.call_of[back]];
        }
    }
    if entries.next[0] == NIL {
        return (KeyVerdict::Linearizable, stats);
    }
    let (prefix, state, stuck) = best.expect("a return was reached");
    let done: HashSet<usize> = prefix.iter().copied().collect();
    let stuck_ret = history[ops[stuck]]
        .ret
        .as_ref()
        .map_or(Duration::MAX, |r| r.0);
    let open = (0..ops.len())
        .filter(|j| !done.contains(j) && history[ops[*j]].call <= stuck_ret)
        .map(|j| ops[j])
        .collect();
    let violation = Violation {
        key,
        prefix: prefix.into_iter().map(|j| ops[j]).collect(),
        state,
        stuck: ops[stuck],
        open,
    };
    (KeyVerdict::Violation(violation), stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn done(client: usize, op: Op, call: u64, ret: u64, reply: Ret) -> Operation {
        Operation {
            client,
            key: b"k".to_vec(),
            op,
            call: ms(call),
            ret: Some((ms(ret), reply)),
        }
    }

    fn maybe(client: usize, op: Op, call: u64) -> Operation {
        Operation {
            client,
            key: b"k".to_vec(),
            op,
            call: ms(call),
            ret: None,
        }
    }

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn bulk(s: &str) -> Ret {
        Ret::Bulk(Some(v(s)))
    }

    fn verdict(h: &[Operation]) -> Summary {
        check(h, DEFAULT_BUDGET)
    }

    #[test]
    fn the_model_follows_redis() {
        assert_eq!(step(&None, &Op::IncrBy(5)), (Some(v("5")), Ret::Int(5)));
        assert_eq!(
            step(&Some(v("07")), &Op::IncrBy(1)).1,
            Ret::Err(ERR_NOT_INTEGER.into())
        );
        assert_eq!(
            step(&Some(v("9223372036854775807")), &Op::IncrBy(1)).1,
            Ret::Err(ERR_OVERFLOW.into())
        );
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"-0"), None);
        assert_eq!(parse_int(b"+1"), None);
        assert_eq!(step(&Some(v("ab")), &Op::Append(v("c"))).1, Ret::Int(3));
        assert_eq!(step(&Some(v("a")), &Op::SetNx(v("b"))).1, Ret::Int(0));
        assert_eq!(
            step(&Some(v("a")), &Op::GetSet(v("b"))),
            (Some(v("b")), bulk("a"))
        );
    }

    #[test]
    fn a_linearizable_history_passes() {
        // Two overlapping writes, reads that see them in one order, an INCR and a
        // read that overlaps it seeing the old value.
        let h = vec![
            done(0, Op::Set(v("1")), 0, 10, Ret::Ok),
            done(1, Op::Set(v("2")), 5, 15, Ret::Ok),
            done(2, Op::Get, 6, 8, bulk("1")),
            done(2, Op::Get, 16, 20, bulk("2")),
            done(0, Op::IncrBy(1), 21, 30, Ret::Int(3)),
            done(1, Op::Get, 22, 25, bulk("2")),
            done(1, Op::Get, 31, 32, bulk("3")),
            done(2, Op::Append(v("x")), 33, 40, Ret::Int(2)),
            done(0, Op::IncrBy(1), 34, 41, Ret::Err(ERR_NOT_INTEGER.into())),
            done(1, Op::Del, 42, 43, Ret::Int(1)),
            done(2, Op::SetNx(v("n")), 44, 45, Ret::Int(1)),
            done(0, Op::GetSet(v("m")), 46, 47, bulk("n")),
        ];
        let s = verdict(&h);
        assert!(s.linearizable(), "{}", s.violations[0].describe(&h));
        assert_eq!((s.keys, s.ops, s.maybe), (1, 12, 0));
    }

    #[test]
    fn overlapping_writes_are_ordered_by_a_later_read() {
        // The search tries the first SET first, then must undo that order.
        let h = vec![
            done(0, Op::Set(v("1")), 0, 10, Ret::Ok),
            done(1, Op::Set(v("2")), 0, 10, Ret::Ok),
            done(2, Op::Get, 11, 12, bulk("1")),
        ];
        let s = verdict(&h);
        assert!(s.linearizable());
        assert!(s.backtracks > 0);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_fails() {
        let h = vec![
            done(0, Op::Set(v("1")), 0, 10, Ret::Ok),
            done(0, Op::Set(v("2")), 11, 20, Ret::Ok),
            // Invoked after the second SET returned, yet sees the first.
            done(1, Op::Get, 21, 30, bulk("1")),
        ];
        let s = verdict(&h);
        assert_eq!(s.violations.len(), 1);
        let v = &s.violations[0];
        assert_eq!(v.stuck, 2);
        assert_eq!(v.prefix, vec![0, 1]);
        let text = v.describe(&h);
        assert!(text.contains("key k") && text.contains("GET"), "{text}");
    }

    #[test]
    fn a_read_of_a_value_from_the_future_fails() {
        let h = vec![
            done(1, Op::Get, 0, 5, bulk("1")),
            done(0, Op::Set(v("1")), 6, 10, Ret::Ok),
        ];
        assert!(!verdict(&h).linearizable());
    }

    #[test]
    fn a_pending_write_may_have_happened() {
        // The write's reply never came; a later read sees it.
        let h = vec![
            maybe(0, Op::Set(v("1")), 0),
            done(1, Op::Get, 50, 60, bulk("1")),
        ];
        let s = verdict(&h);
        assert!(s.linearizable());
        assert_eq!(s.maybe, 1);
    }

    #[test]
    fn a_pending_write_may_not_have_happened() {
        let h = vec![
            done(0, Op::Set(v("0")), 0, 1, Ret::Ok),
            maybe(0, Op::Set(v("1")), 2),
            done(1, Op::Get, 50, 60, bulk("0")),
            // ... or happened only later: reads see the old value, then the new.
            done(1, Op::Get, 61, 62, bulk("0")),
            done(1, Op::Get, 63, 64, bulk("1")),
        ];
        assert!(verdict(&h).linearizable());
        // But once seen, it cannot be unseen.
        let mut h2 = h.clone();
        h2.push(done(1, Op::Get, 65, 66, bulk("0")));
        assert!(!verdict(&h2).linearizable());
    }

    #[test]
    fn a_pending_write_cannot_take_effect_before_it_was_sent() {
        let h = vec![
            done(1, Op::Get, 0, 10, bulk("1")),
            maybe(0, Op::Set(v("1")), 20),
        ];
        assert!(!verdict(&h).linearizable());
    }

    #[test]
    fn pending_increments_count_at_most_once_each() {
        let h = vec![
            maybe(0, Op::IncrBy(1), 0),
            maybe(1, Op::IncrBy(1), 0),
            done(2, Op::Get, 10, 11, bulk("2")),
            done(2, Op::Get, 12, 13, bulk("2")),
        ];
        assert!(verdict(&h).linearizable());
        let mut h2 = h.clone();
        h2.push(done(2, Op::Get, 14, 15, bulk("3")));
        assert!(!verdict(&h2).linearizable());
        // A read whose reply never came is no evidence either way.
        let mut h3 = h.clone();
        h3.push(maybe(2, Op::Get, 14));
        assert_eq!(verdict(&h3).ops, 4);
    }

    #[test]
    fn keys_are_checked_apart() {
        let mut other = done(1, Op::Get, 21, 30, bulk("1"));
        other.key = b"j".to_vec();
        let h = vec![done(0, Op::Set(v("1")), 0, 10, Ret::Ok), other];
        let s = verdict(&h);
        assert_eq!(s.keys, 2);
        assert_eq!(s.violations.len(), 1);
        assert_eq!(s.violations[0].key, b"j");
    }

    #[test]
    fn a_tiny_budget_is_inconclusive_not_a_verdict() {
        let h: Vec<Operation> = (0..40)
            .map(|i| maybe(i, Op::IncrBy(1), 0))
            .chain([done(99, Op::Get, 10, 11, bulk("20"))])
            .collect();
        let s = check(&h, 50);
        assert_eq!(s.inconclusive.len(), 1);
        assert!(s.violations.is_empty());
        // Fewer of them fit the default budget.
        let h: Vec<Operation> = (0..12)
            .map(|i| maybe(i, Op::IncrBy(1), 0))
            .chain([done(99, Op::Get, 10, 11, bulk("6"))])
            .collect();
        assert!(check(&h, DEFAULT_BUDGET).linearizable());
    }

    #[test]
    fn many_concurrent_clients_search_quickly() {
        // Eight clients, each a SET then a GET of its own value, all overlapping:
        // the search must find the order without exploring every permutation.
        let mut h = Vec::new();
        for c in 0..8u64 {
            let val = format!("{c}");
            h.push(done(c as usize, Op::Set(v(&val)), c, 100 + c, Ret::Ok));
        }
        h.push(done(9, Op::Get, 200, 201, bulk("5")));
        let s = verdict(&h);
        assert!(s.linearizable());
        assert!(s.nodes < 10_000, "{}", s.nodes);
    }
}
