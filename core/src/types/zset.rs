//! The sorted-set value type (Redis's t_zset.c data side): a listpack of member,
//! score, member, score… ordered by score then member while the set is small, a
//! skiplist with a member index (`skiplist.rs`) once it holds more than
//! `zset-max-listpack-entries` members or one longer than `zset-max-listpack-value`
//! bytes. Growth converts one way, as `zsetAdd` does; a STORE command's result is
//! a listpack again when small enough (`from_sorted`), and a loaded skiplist can be
//! shrunk the same way (`convert_to_listpack_if_needed`, Redis's
//! zsetConvertToListpackIfNeeded).
//!
//! A listpack stores each score the way Redis's zzlInsertAt does: as an integer entry
//! when `double2ll` accepts it, otherwise as its `d2string` text, read back through
//! strtod. So `-0` becomes `0` in a listpack (as in Redis) and the bytes are Redis's.
//! Here also live the range specifications (score ranges with `(` exclusion, lex
//! ranges with `[ ( + -`) and their parsers.

use crate::listpack::{self, Listpack, LpEntry, MAX_SAFETY_SIZE};
use crate::rng::CoreRng;
use crate::types::skiplist::{self, Cursor, SkipList};
use crate::util::{d2string, double2ll, strtod};
use std::cmp::Ordering;

#[derive(Debug, Clone)]
pub enum Zset {
    Listpack(Listpack),
    Skiplist(Box<SkipList>),
}

/// The conversion thresholds, read from the config at the moment of each write.
#[derive(Debug, Clone, Copy)]
pub struct ZsetLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

/// ZADD's NX XX GT LT INCR, as zsetAdd's input flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// What zsetAdd did: `score` is the member's score afterwards when `processed`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddResult {
    pub added: bool,
    pub updated: bool,
    /// False when NX, XX, GT or LT made it skip the member (ZADD_OUT_NOP).
    pub processed: bool,
    pub score: f64,
}

impl AddResult {
    const NOP: AddResult = AddResult {
        added: false,
        updated: false,
        processed: false,
        score: 0.0,
    };

    fn done(score: f64, added: bool, updated: bool) -> AddResult {
        AddResult {
            added,
            updated,
            processed: true,
            score,
        }
    }
}

/// The increment made the score NaN (`inf` + `-inf`): zsetAdd's ZADD_OUT_NAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NanScore;

/// A score interval, each end inclusive or exclusive (Redis's zrangespec).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

/// The length of `s` read as a C string (command arguments end at a NUL for strtod).
fn c_len(s: &[u8]) -> usize {
    s.iter().position(|&c| c == 0).unwrap_or(s.len())
}

impl ScoreRange {
    /// zslParseRange: `(` makes an end exclusive; the rest must be one strtod number
    /// (so leading spaces, hex, `inf` and even the empty string are accepted), not NaN.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, minex) = Self::parse_end(min)?;
        let (max, maxex) = Self::parse_end(max)?;
        Some(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }

    fn parse_end(arg: &[u8]) -> Option<(f64, bool)> {
        let (text, exclusive) = match arg.first() {
            Some(b'(') => (&arg[1..], true),
            _ => (arg, false),
        };
        let r = strtod(text);
        (r.len == c_len(text) && !r.value.is_nan()).then_some((r.value, exclusive))
    }

    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Ranges that can hold nothing whatever the set (zslIsInRange's first test).
    pub fn is_void(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex range: `-`, `+`, or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexEnd {
    Min,
    Max,
    Str(Vec<u8>),
}

/// A member interval by bytes (Redis's zlexrangespec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexEnd,
    pub minex: bool,
    pub max: LexEnd,
    pub maxex: bool,
}

/// Redis's sdscmplex: `-` and `+` sort below and above every string, and equal only
/// themselves.
fn cmp_lex(a: &LexEnd, b: &LexEnd) -> Ordering {
    match (a, b) {
        (LexEnd::Min, LexEnd::Min) | (LexEnd::Max, LexEnd::Max) => Ordering::Equal,
        (LexEnd::Min, _) | (_, LexEnd::Max) => Ordering::Less,
        (LexEnd::Max, _) | (_, LexEnd::Min) => Ordering::Greater,
        (LexEnd::Str(x), LexEnd::Str(y)) => x.cmp(y),
    }
}

fn cmp_member_lex(m: &[u8], end: &LexEnd) -> Ordering {
    match end {
        LexEnd::Min => Ordering::Greater,
        LexEnd::Max => Ordering::Less,
        LexEnd::Str(s) => m.cmp(s),
    }
}

impl LexRange {
    /// zslParseLexRange: each end is `-`, `+`, `(bytes` or `[bytes`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        let (min, minex) = Self::parse_end(min)?;
        let (max, maxex) = Self::parse_end(max)?;
        Some(LexRange {
            min,
            minex,
            max,
            maxex,
        })
    }

    fn parse_end(arg: &[u8]) -> Option<(LexEnd, bool)> {
        // `+` and `-` stand alone (Redis reads the C string, so a NUL may follow).
        let alone = arg.len() == 1 || arg.get(1) == Some(&0);
        match arg.first() {
            Some(b'+') if alone => Some((LexEnd::Max, true)),
            Some(b'-') if alone => Some((LexEnd::Min, true)),
            Some(b'(') => Some((LexEnd::Str(arg[1..].to_vec()), true)),
            Some(b'[') => Some((LexEnd::Str(arg[1..].to_vec()), false)),
            _ => None,
        }
    }

    pub fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmp_member_lex(m, &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    pub fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmp_member_lex(m, &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// zslIsInLexRange's first test.
    pub fn is_void(&self) -> bool {
        match cmp_lex(&self.min, &self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.minex || self.maxex,
            Ordering::Less => false,
        }
    }
}

/// A listpack score entry's value: integers directly, text through strtod as
/// zzlStrtod reads it (at most 127 bytes, no error check).
pub fn lp_score(e: LpEntry<'_>) -> f64 {
    match e {
        LpEntry::Int(n) => n as f64,
        LpEntry::Str(s) => strtod(&s[..s.len().min(127)]).value,
    }
}

/// The text a listpack stores for a score (zzlInsertAt): digits when double2ll
/// accepts it (so the listpack makes it an integer entry), else d2string.
pub fn score_text(score: f64) -> String {
    match double2ll(score) {
        Some(n) => n.to_string(),
        None => d2string(score),
    }
}

/// zzlCompareElements: the entry's bytes against `m` (memcmp, then length).
fn cmp_entry(e: LpEntry<'_>, m: &[u8]) -> Ordering {
    match e {
        LpEntry::Str(s) => s.cmp(m),
        LpEntry::Int(n) => n.to_string().as_bytes().cmp(m),
    }
}

/// Pairs of a listpack-encoded sorted set: (member, score) in either direction.
pub struct Pairs<'a> {
    entries: listpack::Iter<'a>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (LpEntry<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.entries.next()?;
        let s = self.entries.next().expect("members have scores");
        Some((m, lp_score(s)))
    }
}

impl DoubleEndedIterator for Pairs<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = self.entries.next_back()?;
        let m = self.entries.next_back().expect("scores have members");
        Some((m, lp_score(s)))
    }
}

fn pairs(lp: &Listpack) -> Pairs<'_> {
    debug_assert_eq!(lp.len() % 2, 0);
    Pairs { entries: lp.iter() }
}

/// Pairs from pair `p` towards the end, or down to the start when `reverse`.
fn pairs_from(lp: &Listpack, p: usize, reverse: bool) -> ZIter<'_> {
    let n = lp.len() / 2;
    let it = if reverse {
        let mut it = pairs(lp);
        for _ in p + 1..n {
            it.next_back();
        }
        it
    } else {
        Pairs {
            entries: lp.iter_from(2 * p.min(n)),
        }
    };
    ZIter::Listpack { it, reverse }
}

/// (member, score) pairs of either encoding, in one direction from a start.
pub enum ZIter<'a> {
    Listpack { it: Pairs<'a>, reverse: bool },
    Skiplist(skiplist::Iter<'a>),
    Empty,
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (LpEntry<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Listpack { it, reverse } => {
                if *reverse {
                    it.next_back()
                } else {
                    it.next()
                }
            }
            ZIter::Skiplist(it) => it.next().map(|(m, s)| (LpEntry::Str(m), s)),
            ZIter::Empty => None,
        }
    }
}

impl Zset {
    /// The encoding a new key gets (zaddGenericCommand): skiplist if listpacks are
    /// disabled or the first member is already too long for one.
    pub fn for_first_member(first_len: usize, limits: ZsetLimits, seed: u64) -> Zset {
        if limits.max_listpack_entries == 0 || limits.max_listpack_value < first_len {
            Zset::Skiplist(Box::new(SkipList::new(seed)))
        } else {
            Zset::Listpack(Listpack::new())
        }
    }

    pub fn new_listpack() -> Zset {
        Zset::Listpack(Listpack::new())
    }

    pub fn new_skiplist(seed: u64) -> Zset {
        Zset::Skiplist(Box::new(SkipList::new(seed)))
    }

    pub fn len(&self) -> usize {
        match self {
            Zset::Listpack(lp) => lp.len() / 2,
            Zset::Skiplist(sl) => sl.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Zset::Listpack(_) => "listpack",
            Zset::Skiplist(_) => "skiplist",
        }
    }

    /// Entry index of `member`'s pair in a listpack, and its score.
    fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(usize, f64)> {
        let i = lp.find(member, 0, 1)?;
        debug_assert_eq!(i % 2, 0);
        Some((i, lp_score(lp.get(i + 1).expect("members have scores"))))
    }

    /// zzlInsert: put (member, score) before the first pair that sorts after it.
    fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
        let mut at = lp.len() / 2;
        for (p, (m, s)) in pairs(lp).enumerate() {
            if s > score || (s == score && cmp_entry(m, member) == Ordering::Greater) {
                at = p;
                break;
            }
        }
        lp.insert(2 * at, member);
        lp.insert(2 * at + 1, score_text(score).as_bytes());
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Zset::Listpack(lp) => Self::lp_find(lp, member).map(|(_, s)| s),
            Zset::Skiplist(sl) => sl.score_of(member),
        }
    }

    /// Redis's zsetAdd, converting the listpack to a skiplist first when the new
    /// member would break a threshold.
    pub fn add(
        &mut self,
        score: f64,
        member: &[u8],
        flags: AddFlags,
        limits: ZsetLimits,
        rng: &mut CoreRng,
    ) -> Result<AddResult, NanScore> {
        if score.is_nan() {
            return Err(NanScore);
        }
        // The new score of an existing member, or None when the flags skip it.
        let update = |cur: f64| -> Result<Option<f64>, NanScore> {
            if flags.nx {
                return Ok(None);
            }
            let new = if flags.incr { score + cur } else { score };
            if new.is_nan() {
                return Err(NanScore);
            }
            if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                return Ok(None);
            }
            Ok(Some(new))
        };
        if let Zset::Listpack(lp) = self {
            match Self::lp_find(lp, member) {
                Some((i, cur)) => {
                    let Some(new) = update(cur)? else {
                        return Ok(AddResult::NOP);
                    };
                    if new != cur {
                        lp.remove_range(i, 2);
                        Self::lp_insert(lp, member, new);
                    }
                    return Ok(AddResult::done(new, false, new != cur));
                }
                None if flags.xx => return Ok(AddResult::NOP),
                None => {
                    if lp.len() / 2 + 1 > limits.max_listpack_entries
                        || member.len() > limits.max_listpack_value
                        || !lp.safe_to_add(member.len())
                    {
                        self.convert_to_skiplist(rng);
                    } else {
                        Self::lp_insert(lp, member, score);
                        return Ok(AddResult::done(score, true, false));
                    }
                }
            }
        }
        let Zset::Skiplist(sl) = self else {
            unreachable!("a listpack returned above or was converted")
        };
        match sl.score_of(member) {
            Some(cur) => {
                let Some(new) = update(cur)? else {
                    return Ok(AddResult::NOP);
                };
                if new != cur {
                    sl.set_score(member, new, rng);
                }
                Ok(AddResult::done(new, false, new != cur))
            }
            None if flags.xx => Ok(AddResult::NOP),
            None => {
                sl.insert(score, member, rng);
                Ok(AddResult::done(score, true, false))
            }
        }
    }

    /// zsetDel: true if the member was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Zset::Listpack(lp) => match Self::lp_find(lp, member) {
                Some((i, _)) => {
                    lp.remove_range(i, 2);
                    true
                }
                None => false,
            },
            Zset::Skiplist(sl) => sl.remove(member).is_some(),
        }
    }

    /// 0-based rank from the lowest score (or the highest when `reverse`), and score.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<(usize, f64)> {
        let n = self.len();
        let (rank, score) = match self {
            Zset::Listpack(lp) => pairs(lp)
                .enumerate()
                .find(|(_, (m, _))| m.eq_bytes(member))
                .map(|(p, (_, s))| (p, s))?,
            Zset::Skiplist(sl) => (sl.rank_of(member)?, sl.score_of(member)?),
        };
        debug_assert!(rank < n);
        Some((if reverse { n - 1 - rank } else { rank }, score))
    }

    /// Every pair, lowest score first (or last when `reverse`).
    pub fn iter(&self, reverse: bool) -> ZIter<'_> {
        self.iter_from_rank(0, reverse)
    }

    /// Pairs from the `rank`-th in the iteration direction (0 = lowest score going
    /// forward, highest going backward).
    pub fn iter_from_rank(&self, rank: usize, reverse: bool) -> ZIter<'_> {
        let n = self.len();
        if rank >= n {
            return ZIter::Empty;
        }
        let p = if reverse { n - 1 - rank } else { rank };
        match self {
            Zset::Listpack(lp) => pairs_from(lp, p, reverse),
            Zset::Skiplist(sl) => ZIter::Skiplist(sl.iter_at(sl.by_rank(p), reverse)),
        }
    }

    /// Pairs from the first in `range` going forward, or from the last going
    /// backward; empty when nothing is in range. The caller stops at the range's
    /// other end.
    pub fn iter_from_score(&self, range: &ScoreRange, reverse: bool) -> ZIter<'_> {
        if range.is_void() || self.is_empty() {
            return ZIter::Empty;
        }
        match self {
            Zset::Listpack(lp) => {
                let start = Self::lp_boundary(lp, reverse, |_, s| {
                    if reverse {
                        range.lte_max(s)
                    } else {
                        range.gte_min(s)
                    }
                });
                match start {
                    Some((p, s))
                        if (if reverse {
                            range.gte_min(s)
                        } else {
                            range.lte_max(s)
                        }) =>
                    {
                        pairs_from(lp, p, reverse)
                    }
                    _ => ZIter::Empty,
                }
            }
            Zset::Skiplist(sl) => {
                let at = if reverse {
                    sl.last_where(|s, _| range.lte_max(s), |s, _| range.gte_min(s))
                } else {
                    sl.first_where(|s, _| !range.gte_min(s), |s, _| range.lte_max(s))
                };
                Self::sl_iter(sl, at, reverse)
            }
        }
    }

    /// Like `iter_from_score` for a lex range over the members.
    /// zzlIsInLexRange / zslIsInLexRange: false when the range is void, the last
    /// member is below its min, or the first member above its max. Lex ranges are
    /// meant for sets whose members all share one score; on others Redis's answers
    /// depend on this check, so it is kept exactly.
    fn lex_maybe_in_range(&self, range: &LexRange) -> bool {
        if range.is_void() {
            return false;
        }
        let n = self.len();
        match (self.at_rank(n.wrapping_sub(1)), self.at_rank(0)) {
            (Some((last, _)), Some((first, _))) => {
                range.gte_min(&last.as_bytes()) && range.lte_max(&first.as_bytes())
            }
            _ => false,
        }
    }

    pub fn iter_from_lex(&self, range: &LexRange, reverse: bool) -> ZIter<'_> {
        if !self.lex_maybe_in_range(range) {
            return ZIter::Empty;
        }
        match self {
            Zset::Listpack(lp) => {
                let start = Self::lp_boundary(lp, reverse, |m, _| {
                    let m = m.as_bytes();
                    if reverse {
                        range.lte_max(&m)
                    } else {
                        range.gte_min(&m)
                    }
                });
                match start {
                    Some((p, _)) => {
                        let m = lp
                            .get(2 * p)
                            .expect("pair in range")
                            .as_bytes()
                            .into_owned();
                        if (reverse && range.gte_min(&m)) || (!reverse && range.lte_max(&m)) {
                            pairs_from(lp, p, reverse)
                        } else {
                            ZIter::Empty
                        }
                    }
                    None => ZIter::Empty,
                }
            }
            Zset::Skiplist(sl) => {
                let at = if reverse {
                    sl.last_where(|_, m| range.lte_max(m), |_, m| range.gte_min(m))
                } else {
                    sl.first_where(|_, m| !range.gte_min(m), |_, m| range.lte_max(m))
                };
                Self::sl_iter(sl, at, reverse)
            }
        }
    }

    fn sl_iter(sl: &SkipList, at: Option<Cursor>, reverse: bool) -> ZIter<'_> {
        match at {
            Some(c) => ZIter::Skiplist(sl.iter_at(Some(c), reverse)),
            None => ZIter::Empty,
        }
    }

    /// The first pair (from the start, or from the end when `reverse`) for which
    /// `reached` holds: its pair index and score.
    fn lp_boundary(
        lp: &Listpack,
        reverse: bool,
        reached: impl Fn(LpEntry<'_>, f64) -> bool,
    ) -> Option<(usize, f64)> {
        let n = lp.len() / 2;
        if reverse {
            pairs(lp)
                .rev()
                .enumerate()
                .find(|(_, (m, s))| reached(*m, *s))
                .map(|(k, (_, s))| (n - 1 - k, s))
        } else {
            pairs(lp)
                .enumerate()
                .find(|(_, (m, s))| reached(*m, *s))
                .map(|(p, (_, s))| (p, s))
        }
    }

    /// ZCOUNT.
    pub fn count_in_score(&self, range: &ScoreRange) -> usize {
        match self {
            Zset::Listpack(_) => self
                .iter_from_score(range, false)
                .take_while(|(_, s)| range.lte_max(*s))
                .count(),
            Zset::Skiplist(sl) => {
                if range.is_void() {
                    return 0;
                }
                let first = sl.first_where(|s, _| !range.gte_min(s), |s, _| range.lte_max(s));
                let last = sl.last_where(|s, _| range.lte_max(s), |s, _| range.gte_min(s));
                match (first, last) {
                    (Some(f), Some(l)) => sl.rank_at(l) - sl.rank_at(f) + 1,
                    _ => 0,
                }
            }
        }
    }

    /// ZLEXCOUNT.
    pub fn count_in_lex(&self, range: &LexRange) -> usize {
        match self {
            Zset::Listpack(_) => self
                .iter_from_lex(range, false)
                .take_while(|(m, _)| range.lte_max(&m.as_bytes()))
                .count(),
            Zset::Skiplist(sl) => {
                if !self.lex_maybe_in_range(range) {
                    return 0;
                }
                let first = sl.first_where(|_, m| !range.gte_min(m), |_, m| range.lte_max(m));
                let last = sl.last_where(|_, m| range.lte_max(m), |_, m| range.gte_min(m));
                match (first, last) {
                    // Only a set with mixed scores can put the last before the first.
                    (Some(f), Some(l)) => (sl.rank_at(l) + 1).saturating_sub(sl.rank_at(f)),
                    (Some(f), None) => sl.len() - sl.rank_at(f),
                    _ => 0,
                }
            }
        }
    }

    /// Remove the members at 0-based ranks `start..=end` (already clamped).
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        assert!(
            start <= end && end < self.len(),
            "rank range {start}..={end}"
        );
        match self {
            Zset::Listpack(lp) => {
                lp.remove_range(2 * start, 2 * (end - start + 1));
                end - start + 1
            }
            Zset::Skiplist(sl) => sl.remove_rank_range(start, end),
        }
    }

    /// ZREMRANGEBYSCORE.
    pub fn remove_score_range(&mut self, range: &ScoreRange) -> usize {
        match self {
            Zset::Listpack(lp) => {
                let Some(start) =
                    Self::lp_first_in(lp, |_, s| range.gte_min(s), |_, s| range.lte_max(s))
                else {
                    return 0;
                };
                let n = pairs_from(lp, start, false)
                    .take_while(|(_, s)| range.lte_max(*s))
                    .count();
                lp.remove_range(2 * start, 2 * n);
                n
            }
            Zset::Skiplist(sl) => {
                sl.remove_where(|s, _| !range.gte_min(s), |s, _| range.lte_max(s))
            }
        }
    }

    /// ZREMRANGEBYLEX.
    pub fn remove_lex_range(&mut self, range: &LexRange) -> usize {
        match self {
            Zset::Listpack(_) if !self.lex_maybe_in_range(range) => 0,
            Zset::Listpack(lp) => {
                let Some(start) = Self::lp_first_in(
                    lp,
                    |m, _| range.gte_min(&m.as_bytes()),
                    |m, _| range.lte_max(&m.as_bytes()),
                ) else {
                    return 0;
                };
                let n = pairs_from(lp, start, false)
                    .take_while(|(m, _)| range.lte_max(&m.as_bytes()))
                    .count();
                lp.remove_range(2 * start, 2 * n);
                n
            }
            Zset::Skiplist(sl) => {
                sl.remove_where(|_, m| !range.gte_min(m), |_, m| range.lte_max(m))
            }
        }
    }

    /// Pair index of the first pair past `gte_min`, if `lte_max` holds for it.
    fn lp_first_in(
        lp: &Listpack,
        gte_min: impl Fn(LpEntry<'_>, f64) -> bool,
        lte_max: impl Fn(LpEntry<'_>, f64) -> bool,
    ) -> Option<usize> {
        let (p, _) = Self::lp_boundary(lp, false, &gte_min)?;
        let m = lp.get(2 * p).expect("pair index in range");
        let s = lp_score(lp.get(2 * p + 1).expect("members have scores"));
        lte_max(m, s).then_some(p)
    }

    /// Remove and return the lowest-scored member (or the highest when `max`).
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        match self {
            Zset::Listpack(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let p = if max { n - 1 } else { 0 };
                let m = lp.get(2 * p).expect("pair").to_vec();
                let s = lp_score(lp.get(2 * p + 1).expect("score"));
                lp.remove_range(2 * p, 2);
                Some((m, s))
            }
            Zset::Skiplist(sl) => sl.pop(max).map(|(m, s)| (m.into_vec(), s)),
        }
    }

    /// The pair at 0-based rank `rank`.
    pub fn at_rank(&self, rank: usize) -> Option<(LpEntry<'_>, f64)> {
        self.iter_from_rank(rank, false).next()
    }

    /// zsetConvert to the skiplist encoding.
    pub fn convert_to_skiplist(&mut self, rng: &mut CoreRng) {
        let Zset::Listpack(lp) = self else {
            return;
        };
        let mut sl = SkipList::new(rng.next_u64());
        for (m, s) in pairs(lp) {
            sl.insert(s, &m.as_bytes(), rng);
        }
        debug_assert_eq!(
            sl.len(),
            lp.len() / 2,
            "listpack zset had a duplicate member"
        );
        *self = Zset::Skiplist(Box::new(sl));
    }

    /// zsetConvertToListpackIfNeeded: a skiplist small enough by count, longest member
    /// and total member bytes becomes a listpack again.
    pub fn convert_to_listpack_if_needed(
        &mut self,
        max_member_len: usize,
        total_member_len: usize,
        limits: ZsetLimits,
    ) {
        let Zset::Skiplist(sl) = self else {
            return;
        };
        if sl.len() <= limits.max_listpack_entries
            && max_member_len <= limits.max_listpack_value
            && total_member_len <= MAX_SAFETY_SIZE
        {
            let mut lp = Listpack::new();
            for (m, s) in sl.iter() {
                lp.push_back(m);
                lp.push_back(score_text(s).as_bytes());
            }
            *self = Zset::Listpack(lp);
        }
    }

    /// A sorted set holding `items`, sorted by (score, member) with distinct members:
    /// what a STORE command's result becomes. Redis builds it as a skiplist and then
    /// converts it if it is small enough (zsetConvertToListpackIfNeeded); the same
    /// test, made first, builds the listpack directly.
    pub fn from_sorted(items: &[(Vec<u8>, f64)], limits: ZsetLimits, rng: &mut CoreRng) -> Zset {
        debug_assert!(items
            .windows(2)
            .all(|w| w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
        let max_member_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let total_member_len: usize = items.iter().map(|(m, _)| m.len()).sum();
        if items.len() <= limits.max_listpack_entries
            && max_member_len <= limits.max_listpack_value
            && total_member_len <= MAX_SAFETY_SIZE
        {
            let mut lp = Listpack::new();
            for (m, s) in items {
                lp.push_back(m);
                lp.push_back(score_text(*s).as_bytes());
            }
            return Zset::Listpack(lp);
        }
        let mut sl = SkipList::new(rng.next_u64());
        for (m, s) in items {
            sl.insert(*s, m, rng);
        }
        Zset::Skiplist(Box::new(sl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ZsetLimits = ZsetLimits {
        max_listpack_entries: 4,
        max_listpack_value: 8,
    };

    fn add(z: &mut Zset, score: f64, m: &str, rng: &mut CoreRng) -> AddResult {
        z.add(score, m.as_bytes(), AddFlags::default(), LIMITS, rng)
            .unwrap()
    }

    fn all(z: &Zset) -> Vec<(String, f64)> {
        z.iter(false)
            .map(|(m, s)| (String::from_utf8(m.to_vec()).unwrap(), s))
            .collect()
    }

    #[test]
    fn listpack_bytes_match_redis() {
        // redis-server 7.0 DUMPs `ZADD z 1 a 1.5 b -0 c` as this listpack: scores that
        // are integers are integer entries, -0 among them.
        let mut rng = CoreRng::from_seed(1);
        let mut z = Zset::new_listpack();
        add(&mut z, 1.0, "a", &mut rng);
        add(&mut z, 1.5, "b", &mut rng);
        add(&mut z, -0.0, "c", &mut rng);
        let Zset::Listpack(lp) = &z else { panic!() };
        let e: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        assert_eq!(
            e,
            ["c", "0", "a", "1", "b", "1.5"].map(|s| s.as_bytes().to_vec())
        );
        assert!(matches!(lp.get(1), Some(LpEntry::Int(0))));
        assert_eq!(score_text(1.1), "1.1000000000000001");
        assert_eq!(score_text(f64::INFINITY), "inf");
    }

    #[test]
    fn both_encodings_agree() {
        let mut rng = CoreRng::from_seed(2);
        let mut lp = Zset::new_listpack();
        let mut sl = Zset::new_skiplist(3);
        let big = ZsetLimits {
            max_listpack_entries: 1000,
            max_listpack_value: 1000,
        };
        let members = ["b", "a", "c", "10", "2", "d", "aa", "-1"];
        for (i, m) in members.iter().enumerate() {
            let s = (i % 3) as f64;
            for z in [&mut lp, &mut sl] {
                z.add(s, m.as_bytes(), AddFlags::default(), big, &mut rng)
                    .unwrap();
            }
        }
        assert_eq!(lp.encoding_name(), "listpack");
        assert_eq!(sl.encoding_name(), "skiplist");
        assert_eq!(all(&lp), all(&sl));
        let r = ScoreRange::parse(b"(0", b"2").unwrap();
        let l = LexRange::parse(b"[a", b"(c").unwrap();
        for rev in [false, true] {
            let a: Vec<_> = lp
                .iter_from_score(&r, rev)
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            let b: Vec<_> = sl
                .iter_from_score(&r, rev)
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            assert_eq!(a, b);
            let a: Vec<_> = lp.iter_from_lex(&l, rev).map(|(m, _)| m.to_vec()).collect();
            let b: Vec<_> = sl.iter_from_lex(&l, rev).map(|(m, _)| m.to_vec()).collect();
            assert_eq!(a, b);
            for rank in 0..9 {
                let a: Vec<_> = lp
                    .iter_from_rank(rank, rev)
                    .map(|(m, _)| m.to_vec())
                    .collect();
                let b: Vec<_> = sl
                    .iter_from_rank(rank, rev)
                    .map(|(m, _)| m.to_vec())
                    .collect();
                assert_eq!(a, b, "rank {rank} rev {rev}");
            }
        }
        assert_eq!(lp.count_in_score(&r), sl.count_in_score(&r));
        assert_eq!(lp.count_in_lex(&l), sl.count_in_lex(&l));
        for m in members {
            assert_eq!(lp.rank(m.as_bytes(), true), sl.rank(m.as_bytes(), true));
            assert_eq!(lp.score(m.as_bytes()), sl.score(m.as_bytes()));
        }
        assert_eq!(lp.remove_score_range(&r), sl.remove_score_range(&r));
        assert_eq!(all(&lp), all(&sl));
        let l = LexRange::parse(b"-", b"+").unwrap();
        assert_eq!(lp.remove_lex_range(&l), 3);
        assert_eq!(sl.remove_lex_range(&l), 3);
        assert!(lp.is_empty() && sl.is_empty());
    }

    #[test]
    fn conversions_follow_thresholds() {
        let mut rng = CoreRng::from_seed(4);
        let mut z = Zset::for_first_member(1, LIMITS, 9);
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            add(&mut z, i as f64, m, &mut rng);
        }
        assert_eq!(z.encoding_name(), "listpack");
        add(&mut z, 9.0, "e", &mut rng);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(all(&z).len(), 5);
        z.convert_to_listpack_if_needed(1, 5, LIMITS);
        assert_eq!(z.encoding_name(), "skiplist", "five members are too many");
        z.remove(b"e");
        z.convert_to_listpack_if_needed(1, 4, LIMITS);
        assert_eq!(z.encoding_name(), "listpack");
        assert_eq!(all(&z)[3], ("d".to_string(), 3.0));
        add(&mut z, 0.5, "123456789", &mut rng);
        assert_eq!(
            z.encoding_name(),
            "skiplist",
            "member longer than the value limit"
        );
        let z = Zset::for_first_member(9, LIMITS, 9);
        assert_eq!(z.encoding_name(), "skiplist");
    }

    #[test]
    fn add_flags() {
        let mut rng = CoreRng::from_seed(5);
        let mut z = Zset::new_listpack();
        let f = |incr, nx, xx, gt, lt| AddFlags {
            incr,
            nx,
            xx,
            gt,
            lt,
        };
        let mut go = |z: &mut Zset, s: f64, fl: AddFlags| z.add(s, b"m", fl, LIMITS, &mut rng);
        assert_eq!(
            go(&mut z, 1.0, f(false, false, true, false, false)),
            Ok(AddResult::NOP)
        );
        assert!(
            go(&mut z, 1.0, f(false, true, false, false, false))
                .unwrap()
                .added
        );
        assert_eq!(
            go(&mut z, 5.0, f(false, true, false, false, false)),
            Ok(AddResult::NOP)
        );
        assert_eq!(
            go(&mut z, 0.0, f(false, false, false, true, false)),
            Ok(AddResult::NOP)
        );
        let r = go(&mut z, 2.0, f(false, false, false, true, false)).unwrap();
        assert!(r.updated && r.score == 2.0);
        let r = go(&mut z, 2.0, f(false, false, false, false, false)).unwrap();
        assert!(r.processed && !r.updated);
        let r = go(&mut z, 3.0, f(true, false, false, false, false)).unwrap();
        assert_eq!(r.score, 5.0);
        assert_eq!(
            go(&mut z, -1.0, f(true, false, false, true, false)),
            Ok(AddResult::NOP)
        );
        go(&mut z, f64::INFINITY, f(false, false, false, false, false)).unwrap();
        assert_eq!(
            go(
                &mut z,
                f64::NEG_INFINITY,
                f(true, false, false, false, false)
            ),
            Err(NanScore)
        );
        assert_eq!(
            go(&mut z, f64::NAN, f(false, false, false, false, false)),
            Err(NanScore)
        );
    }

    #[test]
    fn range_parsing() {
        assert_eq!(
            ScoreRange::parse(b"(1", b"+inf"),
            Some(ScoreRange {
                min: 1.0,
                max: f64::INFINITY,
                minex: true,
                maxex: false
            })
        );
        assert_eq!(
            ScoreRange::parse(b"", b"(").map(|r| (r.min, r.maxex)),
            Some((0.0, true))
        );
        assert!(ScoreRange::parse(b" 1", b"0x10").is_some());
        assert!(ScoreRange::parse(b"1 ", b"2").is_none());
        assert!(ScoreRange::parse(b"nan", b"2").is_none());
        assert!(ScoreRange::parse(b"1", b"((2").is_none());
        assert!(ScoreRange::parse(b"1\x00junk", b"2").is_some());
        assert!(LexRange::parse(b"-", b"+").is_some());
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"", b"+").is_none());
        assert!(LexRange::parse(b"-x", b"+").is_none());
        assert!(LexRange::parse(b"[", b"(").is_some());
        assert!(LexRange::parse(b"-", b"-").unwrap().is_void());
        assert!(LexRange::parse(b"+", b"-").unwrap().is_void());
        assert!(!LexRange::parse(b"[a", b"[a").unwrap().is_void());
        assert!(LexRange::parse(b"(a", b"[a").unwrap().is_void());
        assert!(ScoreRange::parse(b"(1", b"1").unwrap().is_void());
    }
}
