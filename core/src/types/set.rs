//! The set value type (Redis 7.2's t_set.c data side) in its three encodings:
//!
//! * `intset`: every member is an integer (sorted, in Redis's byte format), while the
//!   set holds at most `set-max-intset-entries` members;
//! * `listpack`: a small set with a non-integer member, at most
//!   `set-max-listpack-entries` members none longer than `set-max-listpack-value`
//!   bytes (new in Redis 7.2; 7.0 went straight to a hash table);
//! * `hashtable`: a `Dict` of members with no value per member.
//!
//! The conversions are Redis 7.2's: an intset meeting a non-integer becomes a listpack
//! if the result stays within the listpack limits, a hash table otherwise; an intset or
//! listpack outgrowing its limit becomes a hash table. Only the commands that build a
//! whole new set (SINTERSTORE, SPOP's rebuild) go back to an intset.

use crate::dict::{Dict, NewTable};
use crate::intset::Intset;
use crate::listpack::{Listpack, LpEntry, MAX_SAFETY_SIZE};
use crate::rng::CoreRng;
use crate::util::parse_i64;

/// One member as an encoding holds it: integers stay integers in intsets and
/// listpacks; hash-table members are always strings (that may look like integers).
pub type Member<'a> = LpEntry<'a>;

/// intsets hold at most this many members whatever the config says (Redis's
/// intsetMaxEntries cap).
const INTSET_MAX_ENTRIES_CAP: usize = 1 << 30;

/// The conversion thresholds, read from the config at the moment of each command.
#[derive(Debug, Clone, Copy)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl SetLimits {
    fn intset_max(&self) -> usize {
        self.max_intset_entries.min(INTSET_MAX_ENTRIES_CAP)
    }
}

#[derive(Debug, Clone)]
pub enum Set {
    Intset(Intset),
    Listpack(Listpack),
    /// Boxed, as Redis's robj points at its dict: the table's header stays out of
    /// every small set's (and every key's) inline size.
    Table(Box<Dict<()>>),
}

/// Decimal digits of `v` including the minus sign (Redis's sdigits10).
fn sdigits10(v: i64) -> usize {
    let digits = v
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |d| d as usize + 1);
    digits + usize::from(v < 0)
}

/// lpEstimateBytesRepeatedInteger: a listpack holding `v` `rep` times.
fn listpack_bytes_repeated(v: i64, rep: usize) -> usize {
    let one = Listpack::entry_size(v.to_string().as_bytes());
    6 + one.saturating_mul(rep) + 1
}

impl Set {
    pub fn new_intset() -> Set {
        Set::Intset(Intset::new())
    }

    pub fn new_listpack() -> Set {
        Set::Listpack(Listpack::new())
    }

    /// setTypeCreate: the encoding for a new set whose first member is `first` and
    /// which is about to receive about `size_hint` members.
    pub fn create(first: &[u8], size_hint: usize, limits: SetLimits, table: &NewTable) -> Set {
        if parse_i64(first).is_some() && size_hint <= limits.max_intset_entries {
            Set::new_intset()
        } else if size_hint <= limits.max_listpack_entries {
            Set::new_listpack()
        } else {
            Set::Table(Box::new(Dict::new(table.seed)))
        }
    }

    /// setTypeMaybeConvert: go to a hash table now if `size_hint` more members would
    /// take the compact encoding past its limit anyway.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: SetLimits, table: &NewTable) {
        let over = match self {
            Set::Listpack(_) => size_hint > limits.max_listpack_entries,
            Set::Intset(_) => size_hint > limits.max_intset_entries,
            Set::Table(_) => false,
        };
        if over {
            self.convert_to_table(table);
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Intset(is) => is.len(),
            Set::Listpack(lp) => lp.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Intset(_) => "intset",
            Set::Listpack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn contains(&self, m: Member<'_>) -> bool {
        match self {
            Set::Intset(is) => m.as_i64().is_some_and(|v| is.contains(v)),
            Set::Listpack(lp) => lp.find(&m.as_bytes(), 0, 0).is_some(),
            Set::Table(d) => d.contains_key(&m.as_bytes()),
        }
    }

    /// setTypeAddAux: add `m`; false if it was already a member. Converts the
    /// encoding first when `m` does not fit the current one.
    pub fn add(&mut self, m: Member<'_>, limits: SetLimits, table: &NewTable) -> bool {
        match self {
            Set::Intset(is) => match m.as_i64() {
                Some(v) => {
                    if !is.add(v) {
                        return false;
                    }
                    if is.len() > limits.intset_max() {
                        self.convert_to_table(table);
                    }
                    true
                }
                None => {
                    let s = m.as_bytes();
                    if Self::intset_fits_listpack_with(is, s.len(), limits) {
                        self.convert_to_listpack();
                    } else {
                        self.convert_to_table(table);
                    }
                    self.add_new_str(&s);
                    true
                }
            },
            Set::Listpack(lp) => {
                let s = m.as_bytes();
                if lp.find(&s, 0, 0).is_some() {
                    return false;
                }
                if lp.len() < limits.max_listpack_entries
                    && s.len() <= limits.max_listpack_value
                    && lp.safe_to_add(s.len())
                {
                    lp.push_back(&s);
                } else {
                    self.convert_to_table(table);
                    self.add_new_str(&s);
                }
                true
            }
            Set::Table(d) => {
                let s = m.as_bytes();
                if d.contains_key(&s) {
                    return false;
                }
                d.insert_new(&*s, ());
                true
            }
        }
    }

    /// Would the intset plus one string of `len` bytes stay within the listpack
    /// limits? Redis bounds every integer by the longer of the smallest and the
    /// largest, which is an upper bound on their listpack size.
    fn intset_fits_listpack_with(is: &Intset, len: usize, limits: SetLimits) -> bool {
        let n = is.len();
        let (mut max_len, mut total) = (0, 0);
        if let (Some(lo), Some(hi)) = (is.min(), is.max()) {
            max_len = sdigits10(lo).max(sdigits10(hi));
            total = listpack_bytes_repeated(lo, n).max(listpack_bytes_repeated(hi, n));
        }
        n < limits.max_listpack_entries
            && len <= limits.max_listpack_value
            && max_len <= limits.max_listpack_value
            && total.saturating_add(len) <= MAX_SAFETY_SIZE
    }

    /// Append a string known to be absent and to fit the current encoding.
    fn add_new_str(&mut self, s: &[u8]) {
        match self {
            Set::Listpack(lp) => lp.push_back(s),
            Set::Table(d) => d.insert_new(s, ()),
            Set::Intset(_) => unreachable!("a non-integer never goes into an intset"),
        }
    }

    /// setTypeRemoveAux: remove `m`; false if it was not a member.
    pub fn remove(&mut self, m: Member<'_>) -> bool {
        match self {
            Set::Intset(is) => m.as_i64().is_some_and(|v| is.remove(v)),
            Set::Listpack(lp) => match lp.find(&m.as_bytes(), 0, 0) {
                Some(i) => {
                    lp.remove_range(i, 1);
                    true
                }
                None => false,
            },
            Set::Table(d) => {
                let removed = d.remove(&m.as_bytes()).is_some();
                if removed {
                    // Redis shrinks a set's table as soon as it is under 10% full.
                    d.shrink_if_needed();
                }
                removed
            }
        }
    }

    /// Every member, in the encoding's order (ascending for an intset, insertion
    /// order for a listpack, bucket order for a hash table).
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Intset(is) => SetIter::Intset(is.iter()),
            Set::Listpack(lp) => SetIter::Listpack(lp.iter()),
            Set::Table(d) => SetIter::Table(d.iter()),
        }
    }

    /// One member drawn uniformly (setTypeRandomElement); None when empty.
    pub fn random(&self, rng: &mut CoreRng) -> Option<Member<'_>> {
        if self.is_empty() {
            return None;
        }
        match self {
            Set::Intset(is) => is.random(rng).map(Member::Int),
            Set::Listpack(lp) => lp.get(rng.index(lp.len())),
            Set::Table(d) => d.fair_random_entry(rng).map(|(k, _)| Member::Str(k)),
        }
    }

    /// setTypePopRandom: remove one member drawn uniformly and return its string.
    pub fn pop_random(&mut self, rng: &mut CoreRng) -> Option<Vec<u8>> {
        let (bytes, as_int) = match self.random(rng)? {
            Member::Int(v) => (v.to_string().into_bytes(), Some(v)),
            Member::Str(s) => (s.to_vec(), None),
        };
        let removed = match as_int {
            Some(v) => self.remove(Member::Int(v)),
            None => self.remove(Member::Str(&bytes)),
        };
        debug_assert!(removed, "a member just drawn is present");
        Some(bytes)
    }

    /// Convert to a hash table (from an intset or a listpack).
    pub fn convert_to_table(&mut self, table: &NewTable) {
        if let Set::Table(_) = self {
            return;
        }
        let mut d: Dict<()> = table.build(self.len());
        for m in self.iter() {
            d.insert_new(&*m.as_bytes(), ());
        }
        debug_assert_eq!(d.len(), self.len(), "a compact set held a duplicate");
        *self = Set::Table(Box::new(d));
    }

    /// An intset becomes a listpack of the same integers, in the same order.
    fn convert_to_listpack(&mut self) {
        let Set::Intset(is) = self else {
            unreachable!("only intsets convert to listpacks");
        };
        let mut lp = Listpack::new();
        for v in is.iter() {
            lp.push_back_int(v);
        }
        debug_assert_eq!(lp.len(), is.len());
        *self = Set::Listpack(lp);
    }

    /// maybeConvertToIntset: for a set known to hold only integers, go back to an
    /// intset if it is small enough.
    pub fn maybe_convert_to_intset(&mut self, limits: SetLimits) {
        if matches!(self, Set::Intset(_)) || self.len() > limits.intset_max() {
            return;
        }
        let mut is = Intset::new();
        for m in self.iter() {
            let v = m
                .as_i64()
                .expect("the caller checked every member is an integer");
            assert!(is.add(v), "a set held a duplicate member");
        }
        *self = Set::Intset(is);
    }
}

/// Indices of `picks` entries out of `total`, ascending, each subset equally likely
/// (selection sampling, the one-pass walk of Redis's lpNextRandom).
pub fn selection_sample(total: usize, picks: usize, rng: &mut CoreRng) -> Vec<usize> {
    assert!(picks <= total, "cannot pick {picks} of {total}");
    let mut chosen = Vec::with_capacity(picks);
    let mut needed = picks as u64;
    for i in 0..total {
        if needed == 0 {
            break;
        }
        let available = (total - i) as u64;
        if rng.below(available) < needed {
            chosen.push(i);
            needed -= 1;
        }
    }
    debug_assert_eq!(chosen.len(), picks);
    chosen
}

/// A listpack without the entries at `sorted` indices (lpBatchDelete), rebuilt in
/// one pass.
pub fn listpack_without(lp: &Listpack, sorted: &[usize]) -> Listpack {
    debug_assert!(sorted.windows(2).all(|w| w[0] < w[1]));
    let mut out = Listpack::new();
    let mut skip = sorted.iter().peekable();
    for (i, e) in lp.iter().enumerate() {
        if skip.peek() == Some(&&i) {
            skip.next();
            continue;
        }
        match e {
            LpEntry::Int(v) => out.push_back_int(v),
            LpEntry::Str(s) => out.push_back(s),
        }
    }
    debug_assert_eq!(out.len(), lp.len() - sorted.len());
    out
}

pub enum SetIter<'a> {
    Intset(crate::intset::Iter<'a>),
    Listpack(crate::listpack::Iter<'a>),
    Table(crate::dict::Iter<'a, ()>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Intset(it) => it.next().map(Member::Int),
            SetIter::Listpack(it) => it.next(),
            SetIter::Table(it) => it.next().map(|(k, _)| Member::Str(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits {
        max_intset_entries: 8,
        max_listpack_entries: 4,
        max_listpack_value: 6,
    };

    fn s(b: &[u8]) -> Member<'_> {
        Member::Str(b)
    }

    fn members(set: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        v.sort();
        v
    }

    #[test]
    fn create_follows_the_size_hint() {
        assert_eq!(
            Set::create(b"1", 1, LIMITS, &NewTable::sized(0)).encoding_name(),
            "intset"
        );
        assert_eq!(
            Set::create(b"1", 8, LIMITS, &NewTable::sized(0)).encoding_name(),
            "intset"
        );
        assert_eq!(
            Set::create(b"1", 9, LIMITS, &NewTable::sized(0)).encoding_name(),
            "hashtable"
        );
        assert_eq!(
            Set::create(b"01", 1, LIMITS, &NewTable::sized(0)).encoding_name(),
            "listpack"
        );
        assert_eq!(
            Set::create(b"a", 4, LIMITS, &NewTable::sized(0)).encoding_name(),
            "listpack"
        );
        assert_eq!(
            Set::create(b"a", 5, LIMITS, &NewTable::sized(0)).encoding_name(),
            "hashtable"
        );
        let mut set = Set::new_listpack();
        set.maybe_convert(4, LIMITS, &NewTable::sized(0));
        assert_eq!(set.encoding_name(), "listpack");
        set.maybe_convert(5, LIMITS, &NewTable::sized(0));
        assert_eq!(set.encoding_name(), "hashtable");
        let mut set = Set::new_intset();
        set.maybe_convert(9, LIMITS, &NewTable::sized(0));
        assert_eq!(set.encoding_name(), "hashtable");
    }

    #[test]
    fn intset_converts_to_listpack_or_table() {
        let mut set = Set::new_intset();
        for v in [b"3", b"1", b"2"] {
            assert!(set.add(s(v), LIMITS, &NewTable::sized(1)));
        }
        assert!(!set.add(Member::Int(2), LIMITS, &NewTable::sized(1)));
        assert_eq!(set.encoding_name(), "intset");
        assert!(set.add(s(b"abc"), LIMITS, &NewTable::sized(1)));
        assert_eq!(set.encoding_name(), "listpack");
        // The integers keep the intset's ascending order, the string goes last.
        let order: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        assert_eq!(order, [&b"1"[..], b"2", b"3", b"abc"].map(|b| b.to_vec()));

        // Too many integers for a listpack: straight to a hash table.
        let mut set = Set::new_intset();
        for v in 0..4 {
            set.add(Member::Int(v), LIMITS, &NewTable::sized(1));
        }
        set.add(s(b"x"), LIMITS, &NewTable::sized(1));
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(set.len(), 5);

        // An integer longer than the listpack value limit, or a long string.
        let mut set = Set::new_intset();
        set.add(Member::Int(-1_000_000), LIMITS, &NewTable::sized(1));
        set.add(s(b"x"), LIMITS, &NewTable::sized(1));
        assert_eq!(
            set.encoding_name(),
            "hashtable",
            "-1000000 has 8 characters"
        );
        let mut set = Set::new_intset();
        set.add(Member::Int(5), LIMITS, &NewTable::sized(1));
        set.add(s(b"1234567"), LIMITS, &NewTable::sized(1));
        assert_eq!(set.encoding_name(), "intset", "1234567 is an integer");
        set.add(s(b"abcdefg"), LIMITS, &NewTable::sized(1));
        assert_eq!(set.encoding_name(), "hashtable");

        // Outgrowing set-max-intset-entries.
        let mut set = Set::new_intset();
        for v in 0..8 {
            set.add(Member::Int(v), LIMITS, &NewTable::sized(1));
        }
        assert_eq!(set.encoding_name(), "intset");
        set.add(Member::Int(8), LIMITS, &NewTable::sized(1));
        assert_eq!(set.encoding_name(), "hashtable");
        assert!(set.contains(s(b"8")) && set.contains(Member::Int(0)));
    }

    #[test]
    fn listpack_converts_on_entries_and_value() {
        let mut set = Set::new_listpack();
        for m in [&b"a"[..], b"b", b"7", b"d"] {
            assert!(set.add(s(m), LIMITS, &NewTable::sized(1)));
        }
        assert!(!set.add(Member::Int(7), LIMITS, &NewTable::sized(1)));
        assert!(set.contains(s(b"7")) && !set.contains(s(b"07")));
        assert_eq!(set.encoding_name(), "listpack");
        assert!(set.add(s(b"e"), LIMITS, &NewTable::sized(1)));
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(members(&set).len(), 5);

        let mut set = Set::new_listpack();
        set.add(s(b"a"), LIMITS, &NewTable::sized(1));
        set.add(s(b"abcdefg"), LIMITS, &NewTable::sized(1));
        assert_eq!(set.encoding_name(), "hashtable");
        assert!(set.contains(s(b"abcdefg")));
    }

    #[test]
    fn remove_in_every_encoding() {
        for first in [&b"1"[..], b"a"] {
            for n in [3usize, 20] {
                let mut set = Set::create(first, 1, LIMITS, &NewTable::sized(3));
                set.add(s(first), LIMITS, &NewTable::sized(3));
                for i in 0..n {
                    set.add(s(i.to_string().as_bytes()), LIMITS, &NewTable::sized(3));
                }
                let before = set.len();
                assert!(set.remove(s(b"2")));
                assert!(!set.remove(s(b"2")));
                assert!(!set.remove(s(b"nope")));
                assert_eq!(set.len(), before - 1);
                assert!(!set.contains(s(b"2")));
                assert!(set.contains(s(b"1")));
            }
        }
    }

    #[test]
    fn back_to_intset_only_when_small() {
        let mut set = Set::new_listpack();
        for v in 0..4 {
            set.add(Member::Int(v), LIMITS, &NewTable::sized(1));
        }
        set.maybe_convert_to_intset(LIMITS);
        assert_eq!(set.encoding_name(), "intset");
        let mut big = Set::Table(Box::new(Dict::new(1)));
        for v in 0..9 {
            big.add(s(v.to_string().as_bytes()), LIMITS, &NewTable::sized(1));
        }
        big.maybe_convert_to_intset(LIMITS);
        assert_eq!(big.encoding_name(), "hashtable");
        big.remove(s(b"0"));
        big.maybe_convert_to_intset(LIMITS);
        assert_eq!(big.encoding_name(), "intset");
        assert_eq!(big.len(), 8);
    }

    #[test]
    fn sampling_is_distinct_ordered_and_reaches_everything() {
        let mut rng = CoreRng::from_seed(42);
        let mut hits = [0u32; 10];
        for _ in 0..2000 {
            let picks = selection_sample(10, 3, &mut rng);
            assert_eq!(picks.len(), 3);
            assert!(picks.windows(2).all(|w| w[0] < w[1]));
            for p in picks {
                hits[p] += 1;
            }
        }
        // Each index is picked with probability 3/10: 600 expected of 2000 rounds.
        assert!(hits.iter().all(|h| (450..750).contains(h)), "{hits:?}");
        assert_eq!(selection_sample(5, 5, &mut rng), vec![0, 1, 2, 3, 4]);
        assert!(selection_sample(5, 0, &mut rng).is_empty());

        let mut lp = Listpack::new();
        for m in ["a", "1", "b", "2"] {
            lp.push_back(m.as_bytes());
        }
        let rest = listpack_without(&lp, &[0, 3]);
        let got: Vec<Vec<u8>> = rest.iter().map(|e| e.to_vec()).collect();
        assert_eq!(got, vec![b"1".to_vec(), b"b".to_vec()]);
        assert_eq!(rest.get(0), Some(LpEntry::Int(1)));
    }

    #[test]
    fn pop_random_empties_every_encoding() {
        let mut rng = CoreRng::from_seed(5);
        for first in ["1", "a"] {
            for n in [3usize, 30] {
                let mut set = Set::create(first.as_bytes(), n, LIMITS, &NewTable::sized(9));
                for i in 0..n {
                    let m = if first == "1" {
                        i.to_string()
                    } else {
                        format!("m{i}")
                    };
                    set.add(s(m.as_bytes()), LIMITS, &NewTable::sized(9));
                }
                let mut popped = Vec::new();
                while let Some(m) = set.pop_random(&mut rng) {
                    popped.push(m);
                }
                popped.sort();
                popped.dedup();
                assert_eq!(popped.len(), n);
                assert!(set.is_empty());
            }
        }
        assert_eq!(sdigits10(0), 1);
        assert_eq!(sdigits10(-10), 3);
        assert_eq!(sdigits10(i64::MIN), 20);
        assert_eq!(sdigits10(999), 3);
    }
}
