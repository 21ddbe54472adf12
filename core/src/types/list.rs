//! The list value type (Redis 7.2's t_list.c data side): a single listpack while
//! the list is small, a quicklist (`types/quicklist.rs`) once it outgrows one node.
//!
//! Conversions follow Redis 7.2 (listTypeTryConversionRaw): before a write adds
//! elements, a listpack whose bytes plus the new strings' lengths, or whose length
//! plus their number, exceeds `list-max-listpack-size` becomes a one-node quicklist;
//! after a write removes elements, a quicklist of one packed node within half of
//! that limit becomes a listpack again. The halving keeps a list hovering at the
//! limit from converting back and forth on every push and pop.

use super::quicklist::{exceeds_limit, node_limit, Elem, Quicklist, Threshold};
use crate::listpack::{Listpack, LpEntry};

/// The settings list writes read from the server at the moment of the write.
#[derive(Debug, Clone, Copy)]
pub struct ListConfig {
    /// `list-max-listpack-size` as configured (not clamped: Redis checks listpack
    /// conversions against the raw value).
    pub max_listpack_size: i64,
    pub compress_depth: i64,
    pub packed_threshold: usize,
}

impl ListConfig {
    fn threshold(&self) -> Threshold {
        Threshold(self.packed_threshold)
    }
}

#[derive(Clone, Debug)]
pub enum List {
    Listpack(Listpack),
    Quicklist(Box<Quicklist>),
}

impl Default for List {
    fn default() -> Self {
        List::new()
    }
}

impl List {
    /// createListListpackObject: every list starts as a listpack.
    pub fn new() -> List {
        List::Listpack(Listpack::new())
    }

    pub fn len(&self) -> usize {
        match self {
            List::Listpack(lp) => lp.len(),
            List::Quicklist(ql) => ql.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            List::Listpack(_) => "listpack",
            List::Quicklist(_) => "quicklist",
        }
    }

    pub fn as_listpack(&self) -> Option<&Listpack> {
        match self {
            List::Listpack(lp) => Some(lp),
            List::Quicklist(_) => None,
        }
    }

    pub fn as_quicklist(&self) -> Option<&Quicklist> {
        match self {
            List::Quicklist(ql) => Some(ql),
            List::Listpack(_) => None,
        }
    }

    /// listTypeTryConversionAppend: before adding `add_count` elements whose string
    /// arguments total `add_bytes` (integer objects count no bytes, as in Redis).
    pub fn prepare_growth(&mut self, add_bytes: usize, add_count: usize, cfg: &ListConfig) {
        let List::Listpack(lp) = self else {
            return;
        };
        if exceeds_limit(
            cfg.max_listpack_size,
            lp.bytes_len().saturating_add(add_bytes),
            lp.len() + add_count,
        ) {
            let lp = std::mem::take(lp);
            *self = List::Quicklist(Box::new(Quicklist::from_listpack(
                lp,
                cfg.max_listpack_size,
                cfg.compress_depth,
            )));
        }
    }

    /// A list built the way SORT … STORE builds one in Redis 7.2: a quicklist with
    /// every element pushed at the tail, then listTypeTryConversion(LIST_CONV_AUTO),
    /// which makes a single packed node within the limit a listpack.
    pub fn from_tail_pushes<'e>(
        elements: impl IntoIterator<Item = &'e [u8]>,
        cfg: &ListConfig,
    ) -> List {
        let mut ql = Quicklist::new(cfg.max_listpack_size, cfg.compress_depth);
        for e in elements {
            ql.push(e, false, cfg.threshold());
        }
        let mut list = List::Quicklist(Box::new(ql));
        list.try_convert_quicklist(cfg, false);
        list
    }

    /// A list loaded from RDB as a quicklist, then listTypeTryConversion
    /// (LIST_CONV_AUTO): a single packed node within the limit becomes a listpack.
    pub fn from_loaded_quicklist(ql: Quicklist, cfg: &ListConfig) -> List {
        let mut list = List::Quicklist(Box::new(ql));
        list.try_convert_quicklist(cfg, false);
        list
    }

    /// listTypeTryConversion(LIST_CONV_SHRINKING) after removing elements.
    pub fn after_shrink(&mut self, cfg: &ListConfig) {
        self.try_convert_quicklist(cfg, true);
    }

    /// listTypeTryConvertQuicklist: a quicklist of one packed node within the limit
    /// (half the limit when shrinking) becomes that node's listpack.
    fn try_convert_quicklist(&mut self, cfg: &ListConfig, shrinking: bool) {
        let List::Quicklist(ql) = self else {
            return;
        };
        let Some(size) = ql.single_packed_size() else {
            return;
        };
        let (mut size_limit, mut count_limit) = node_limit(cfg.max_listpack_size);
        if shrinking {
            size_limit /= 2;
            count_limit /= 2;
        }
        if size > size_limit || ql.len() > count_limit {
            return;
        }
        let ql = std::mem::replace(ql, Box::new(Quicklist::new(0, 0)));
        *self = List::Listpack(ql.into_listpack());
    }

    /// listTypePush.
    pub fn push(&mut self, value: &[u8], head: bool, cfg: &ListConfig) {
        match self {
            List::Listpack(lp) if head => lp.push_front(value),
            List::Listpack(lp) => lp.push_back(value),
            List::Quicklist(ql) => ql.push(value, head, cfg.threshold()),
        }
    }

    /// listTypePop. A listpack hands out strings (Redis builds a string object from
    /// the entry), a quicklist integers as integers: that decides how many bytes the
    /// element counts for when LMOVE pushes it elsewhere.
    pub fn pop(&mut self, head: bool) -> Option<Elem> {
        match self {
            List::Listpack(lp) => {
                let i = if head { 0 } else { lp.len().checked_sub(1)? };
                let value = lp.get(i)?.to_vec();
                lp.remove_range(i, 1);
                Some(Elem::Str(value))
            }
            List::Quicklist(ql) => ql.pop(head),
        }
    }

    /// Call `f` on elements from `index` towards the tail (the head when
    /// `reverse`) until it returns false or the list ends.
    pub fn walk(&self, index: usize, reverse: bool, mut f: impl FnMut(LpEntry<'_>) -> bool) {
        match self {
            List::Listpack(lp) => {
                if index >= lp.len() {
                    return;
                }
                if reverse {
                    for e in lp.iter_range(0, index + 1).rev() {
                        if !f(e) {
                            return;
                        }
                    }
                } else {
                    for e in lp.iter_from(index) {
                        if !f(e) {
                            return;
                        }
                    }
                }
            }
            List::Quicklist(ql) => ql.walk(index, reverse, f),
        }
    }

    pub fn get(&self, index: usize) -> Option<Elem> {
        let mut out = None;
        self.walk(index, false, |e| {
            out = Some(Elem::from_entry(e));
            false
        });
        out
    }

    /// Replace element `index` (in range).
    pub fn replace(&mut self, index: usize, value: &[u8], cfg: &ListConfig) {
        assert!(index < self.len());
        match self {
            List::Listpack(lp) => lp.replace(index, value),
            List::Quicklist(ql) => ql.replace(index, value, cfg.threshold()),
        }
    }

    /// LINSERT's insert next to the first `pivot`; false when there is none.
    pub fn insert_at_pivot(
        &mut self,
        pivot: &[u8],
        value: &[u8],
        after: bool,
        cfg: &ListConfig,
    ) -> bool {
        match self {
            List::Listpack(lp) => match lp.find(pivot, 0, 0) {
                Some(i) => {
                    lp.insert(if after { i + 1 } else { i }, value);
                    true
                }
                None => false,
            },
            List::Quicklist(ql) => ql.insert_at_pivot(pivot, value, after, cfg.threshold()),
        }
    }

    /// listTypeDelRange: `count` elements from `start` (negative from the tail).
    pub fn delete_range(&mut self, start: i64, count: usize) {
        match self {
            List::Listpack(lp) => {
                let len = lp.len() as i64;
                let index = if start < 0 { len + start } else { start };
                if (0..len).contains(&index) {
                    lp.remove_range(index as usize, count);
                }
            }
            List::Quicklist(ql) => ql.delete_range(start, count),
        }
    }

    /// LREM's removal: up to `limit` (0: all) elements equal to `value`, from the
    /// tail when `from_tail`.
    pub fn remove_matching(&mut self, value: &[u8], limit: usize, from_tail: bool) -> usize {
        match self {
            List::Listpack(lp) => {
                let mut budget = if limit == 0 { usize::MAX } else { limit };
                if from_tail {
                    // The matches to drop are the last `budget` ones: find where
                    // they start, then drop every match from there on.
                    let mut cutoff = usize::MAX;
                    for (i, e) in lp.iter().enumerate().rev() {
                        if budget == 0 {
                            break;
                        }
                        if e.eq_bytes(value) {
                            budget -= 1;
                            cutoff = i;
                        }
                    }
                    lp.retain(|i, e| i < cutoff || !e.eq_bytes(value))
                } else {
                    lp.retain(|_, e| {
                        if budget > 0 && e.eq_bytes(value) {
                            budget -= 1;
                            false
                        } else {
                            true
                        }
                    })
                }
            }
            List::Quicklist(ql) => ql.remove_matching(value, limit, from_tail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(size: i64, depth: i64) -> ListConfig {
        ListConfig {
            max_listpack_size: size,
            compress_depth: depth,
            packed_threshold: 1 << 30,
        }
    }

    fn items(l: &List) -> Vec<String> {
        let mut v = Vec::new();
        l.walk(0, false, |e| {
            v.push(String::from_utf8(e.to_vec()).unwrap());
            true
        });
        v
    }

    #[test]
    fn grows_and_shrinks_at_redis_thresholds() {
        let c = cfg(4, 0);
        let mut l = List::new();
        for v in ["a", "b", "c", "d"] {
            l.prepare_growth(1, 1, &c);
            l.push(v.as_bytes(), false, &c);
        }
        assert_eq!(l.encoding_name(), "listpack");
        l.prepare_growth(1, 1, &c);
        assert_eq!(l.encoding_name(), "quicklist");
        l.push(b"e", false, &c);
        assert_eq!(items(&l), ["a", "b", "c", "d", "e"]);
        // Two nodes (4 + 1) never convert back; one node of 2 (half of 4) does.
        l.pop(true);
        l.after_shrink(&c);
        assert_eq!(l.encoding_name(), "quicklist");
        l.pop(false);
        l.after_shrink(&c);
        assert_eq!(l.encoding_name(), "quicklist", "one node, but 3 > 4/2");
        l.pop(false);
        l.after_shrink(&c);
        assert_eq!(l.encoding_name(), "listpack");
        assert_eq!(items(&l), ["b", "c"]);
    }

    #[test]
    fn listpack_and_quicklist_agree() {
        let small = cfg(-2, 0);
        let tiny = cfg(3, 1);
        let mut a = List::new();
        let mut b = List::Quicklist(Box::new(Quicklist::new(3, 1)));
        for i in 0..30 {
            let v = format!("v{}", i % 7);
            a.push(v.as_bytes(), i % 3 == 0, &small);
            b.push(v.as_bytes(), i % 3 == 0, &tiny);
        }
        assert_eq!(items(&a), items(&b));
        for (pivot, after) in [("v3", true), ("v0", false), ("nope", true)] {
            assert_eq!(
                a.insert_at_pivot(pivot.as_bytes(), b"new", after, &small),
                b.insert_at_pivot(pivot.as_bytes(), b"new", after, &tiny)
            );
        }
        assert_eq!(items(&a), items(&b));
        a.replace(5, b"five", &small);
        b.replace(5, b"five", &tiny);
        for (v, limit, tail) in [("v1", 2, true), ("v2", 0, false), ("v4", 1, false)] {
            assert_eq!(
                a.remove_matching(v.as_bytes(), limit, tail),
                b.remove_matching(v.as_bytes(), limit, tail)
            );
            assert_eq!(items(&a), items(&b));
        }
        a.delete_range(-3, 2);
        b.delete_range(-3, 2);
        a.delete_range(1, 4);
        b.delete_range(1, 4);
        assert_eq!(items(&a), items(&b));
        let mut rev_a = Vec::new();
        a.walk(a.len() - 1, true, |e| {
            rev_a.push(e.to_vec());
            true
        });
        let mut rev_b = Vec::new();
        b.walk(b.len() - 1, true, |e| {
            rev_b.push(e.to_vec());
            true
        });
        assert_eq!(rev_a, rev_b);
        while let Some(x) = a.pop(false) {
            assert_eq!(
                Some(x.to_bytes().into_owned()),
                b.pop(false).map(|e| e.to_bytes().into_owned())
            );
        }
        assert!(b.is_empty());
    }
}
