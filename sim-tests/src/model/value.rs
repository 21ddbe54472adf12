//! The values the model keeps for each key, and the encodings Redis would give them.
//!
//! An encoding is decided by a value's history (Redis converts on writes, with the
//! thresholds in force at each write, and converts back only in a few places), so the
//! model replays the same decisions rather than guessing from the current contents:
//! strings as Redis 7.0 (`int`, `embstr`, `raw`), hashes and sorted sets as Redis 7.0
//! (`listpack`/`hashtable`, `listpack`/`skiplist`), lists and sets as Redis 7.2
//! (`listpack`/`quicklist` with the quicklist's node layout, `intset`/`listpack`/
//! `hashtable`). Listpack sizes are computed byte for byte where Redis compares
//! them with a limit (list nodes).

use crate::numbers::parse_i64_strict;
use crate::resp;
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer strings are `raw`.
const EMBSTR_SIZE_LIMIT: usize = 44;
/// Listpack header (total bytes and count) plus the end byte.
const LP_OVERHEAD_BYTES: usize = 7;
/// quicklist.c: a count-limited node still stays under this many bytes.
const SIZE_SAFETY_LIMIT_BYTES: usize = 8192;
/// quicklist.c: the estimate of one entry's overhead when deciding an insert.
const SIZE_ESTIMATE_OVERHEAD_BYTES: usize = 8;
/// quicklist.c: the byte limits of `list-max-listpack-size` -1 to -5.
const OPTIMIZATION_LEVEL_BYTES: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// t_set.c intsetMaxEntries: intsets are capped at 2^30 entries.
const INTSET_ENTRIES_CAP: usize = 1 << 30;

/// The encoding thresholds of the server under test (its config at startup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Limits {
    /// Redis's defaults.
    fn default() -> Limits {
        Limits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

impl Limits {
    /// The config-file lines that give a server these limits.
    pub fn config_lines(&self) -> String {
        format!(
            "hash-max-listpack-entries {}\nhash-max-listpack-value {}\n\
             list-max-listpack-size {}\nset-max-intset-entries {}\n\
             set-max-listpack-entries {}\nset-max-listpack-value {}\n\
             zset-max-listpack-entries {}\nzset-max-listpack-value {}",
            self.hash_max_listpack_entries,
            self.hash_max_listpack_value,
            self.list_max_listpack_size,
            self.set_max_intset_entries,
            self.set_max_listpack_entries,
            self.set_max_listpack_value,
            self.zset_max_listpack_entries,
            self.zset_max_listpack_value,
        )
    }
}

/// Things that happened while a command ran, counted by the "sometimes" checks.
pub type Events = Vec<String>;

fn converted(ev: &mut Events, ty: &str, from: &str, to: &str) {
    ev.push(format!("{ty} {from}->{to}"));
}

/// A value of any type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Str(Str),
    List(List),
    Hash(Hash),
    Set(Set),
    Zset(Zset),
}

impl Value {
    /// The same elements, whatever the encodings (and a hash table's order).
    pub fn same_content(&self, other: &Value) -> bool {
        fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
            let mut v = v.to_vec();
            v.sort();
            v
        }
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a.bytes == b.bytes,
            (Value::List(a), Value::List(b)) => a.items == b.items,
            (Value::Hash(a), Value::Hash(b)) => sorted(&a.pairs) == sorted(&b.pairs),
            (Value::Set(a), Value::Set(b)) => sorted(&a.members) == sorted(&b.members),
            (Value::Zset(a), Value::Zset(b)) => a.items == b.items,
            _ => false,
        }
    }

    /// TYPE's answer.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::Zset(_) => "zset",
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.enc.name(),
            Value::List(l) => match l.enc {
                ListEnc::Listpack => "listpack",
                ListEnc::Quicklist(_) => "quicklist",
            },
            Value::Hash(h) => match h.enc {
                HashEnc::Listpack => "listpack",
                HashEnc::Hashtable => "hashtable",
            },
            Value::Set(s) => match s.enc {
                SetEnc::Intset => "intset",
                SetEnc::Listpack => "listpack",
                SetEnc::Hashtable => "hashtable",
            },
            Value::Zset(z) => match z.enc {
                ZsetEnc::Listpack => "listpack",
                ZsetEnc::Skiplist => "skiplist",
            },
        }
    }

    /// The member names HSCAN, SSCAN and ZSCAN walk.
    pub fn scan_members(&self) -> BTreeSet<Vec<u8>> {
        match self {
            Value::Hash(h) => h.pairs.iter().map(|(f, _)| f.clone()).collect(),
            Value::Set(s) => s.members.iter().cloned().collect(),
            Value::Zset(z) => z.items.iter().map(|(_, m)| m.clone()).collect(),
            Value::Str(_) | Value::List(_) => BTreeSet::new(),
        }
    }

    /// A short description for failure reports.
    pub fn show(&self) -> String {
        let list = |items: &mut dyn Iterator<Item = String>| -> String {
            let v: Vec<String> = items.collect();
            v.join(", ")
        };
        match self {
            Value::Str(s) => format!("\"{}\" ({})", resp::show(&s.bytes), s.enc.name()),
            Value::List(l) => {
                let nodes = match &l.enc {
                    ListEnc::Listpack => String::new(),
                    ListEnc::Quicklist(n) => format!(" nodes {n:?}"),
                };
                format!(
                    "list [{}] ({}{nodes})",
                    list(&mut l.items.iter().map(|i| resp::show(i))),
                    self.encoding_name()
                )
            }
            Value::Hash(h) => format!(
                "hash {{{}}} ({})",
                list(&mut h.pairs.iter().map(|(f, v)| format!(
                    "{}: {}",
                    resp::show(f),
                    resp::show(v)
                ))),
                self.encoding_name()
            ),
            Value::Set(s) => format!(
                "set {{{}}} ({}{})",
                list(&mut s.members.iter().map(|m| resp::show(m))),
                self.encoding_name(),
                if s.order_known || s.enc == SetEnc::Hashtable {
                    ""
                } else {
                    ", order unknown"
                }
            ),
            Value::Zset(z) => format!(
                "zset {{{}}} ({})",
                list(&mut z.items.iter().map(|(s, m)| format!(
                    "{}: {}",
                    resp::show(m),
                    crate::numbers::format_g17(s.0)
                ))),
                self.encoding_name()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------
// Strings

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StrEnc {
    Int,
    Embstr,
    Raw,
}

impl StrEnc {
    pub fn name(self) -> &'static str {
        match self {
            StrEnc::Int => "int",
            StrEnc::Embstr => "embstr",
            StrEnc::Raw => "raw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str {
    pub bytes: Vec<u8>,
    pub enc: StrEnc,
}

impl Str {
    /// A command argument stored as a value: tryObjectEncoding (a long integer of at
    /// most 20 characters is `int`, up to 44 bytes `embstr`, else `raw`).
    pub fn encoded(bytes: Vec<u8>) -> Str {
        let enc = if bytes.len() <= 20 && parse_i64_strict(&bytes).is_some() {
            StrEnc::Int
        } else if bytes.len() <= EMBSTR_SIZE_LIMIT {
            StrEnc::Embstr
        } else {
            StrEnc::Raw
        };
        Str { bytes, enc }
    }

    /// createStringObject: `embstr` up to 44 bytes, `raw` beyond.
    pub fn created(bytes: Vec<u8>) -> Str {
        let enc = if bytes.len() <= EMBSTR_SIZE_LIMIT {
            StrEnc::Embstr
        } else {
            StrEnc::Raw
        };
        Str { bytes, enc }
    }

    /// A string modified in place (APPEND, SETRANGE): always `raw`.
    pub fn raw(bytes: Vec<u8>) -> Str {
        Str {
            bytes,
            enc: StrEnc::Raw,
        }
    }

    /// The result of INCR and friends: always `int`.
    pub fn int(n: i64) -> Str {
        Str {
            bytes: n.to_string().into_bytes(),
            enc: StrEnc::Int,
        }
    }
}

// ---------------------------------------------------------------------------------
// Listpack sizes

/// lpStringToInt64: the strict integers a listpack stores as integers.
fn lp_integer(e: &[u8]) -> Option<i64> {
    if e.is_empty() || e.len() >= 21 {
        return None;
    }
    parse_i64_strict(e)
}

/// lpEncodeBacklen: bytes needed to store an entry's length backwards.
fn lp_backlen_bytes(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes one element takes in a listpack: encoding, data and back-length.
pub fn lp_entry_bytes(e: &[u8]) -> usize {
    let enclen = match lp_integer(e) {
        Some(v) => match v {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8388608..=8388607 => 4,
            -2147483648..=2147483647 => 5,
            _ => 9,
        },
        None if e.len() < 64 => 1 + e.len(),
        None if e.len() < 4096 => 2 + e.len(),
        None => 5 + e.len(),
    };
    enclen + lp_backlen_bytes(enclen)
}

/// lpBytes of a listpack holding `items`.
pub fn lp_bytes(items: &[Vec<u8>]) -> usize {
    LP_OVERHEAD_BYTES + items.iter().map(|i| lp_entry_bytes(i)).sum::<usize>()
}

// ---------------------------------------------------------------------------------
// Lists (Redis 7.2)

/// A list's encoding; a quicklist keeps the entry count of each node, head first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListEnc {
    Listpack,
    Quicklist(Vec<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct List {
    pub items: Vec<Vec<u8>>,
    pub enc: ListEnc,
}

/// quicklistNodeLimit: (size limit, count limit) of a node for a fill factor.
fn ql_node_limit(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, fill.max(1) as usize)
    } else {
        let level = ((-fill - 1) as usize).min(OPTIMIZATION_LEVEL_BYTES.len() - 1);
        (OPTIMIZATION_LEVEL_BYTES[level], u32::MAX as usize)
    }
}

/// quicklistNodeExceedsLimit.
fn ql_exceeds_limit(fill: i64, new_sz: usize, new_count: usize) -> bool {
    let (sz_limit, count_limit) = ql_node_limit(fill);
    if sz_limit != usize::MAX {
        new_sz > sz_limit
    } else {
        new_sz > SIZE_SAFETY_LIMIT_BYTES || new_count > count_limit
    }
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl List {
    /// createListListpackObject.
    pub fn new() -> List {
        List {
            items: Vec::new(),
            enc: ListEnc::Listpack,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn nodes(&self) -> &[usize] {
        match &self.enc {
            ListEnc::Quicklist(n) => n,
            ListEnc::Listpack => &[],
        }
    }

    fn nodes_mut(&mut self) -> &mut Vec<usize> {
        match &mut self.enc {
            ListEnc::Quicklist(n) => n,
            ListEnc::Listpack => unreachable!("a listpack list has no nodes"),
        }
    }

    fn check(&self) {
        if let ListEnc::Quicklist(n) = &self.enc {
            debug_assert_eq!(n.iter().sum::<usize>(), self.items.len());
            debug_assert!(n.iter().all(|&c| c > 0), "an empty quicklist node");
        }
    }

    /// The first item index of node `i`.
    fn node_start(&self, i: usize) -> usize {
        self.nodes()[..i].iter().sum()
    }

    /// The node holding item `pos`, and the offset of `pos` in it.
    fn node_of(&self, pos: usize) -> (usize, usize) {
        let mut start = 0;
        for (i, &c) in self.nodes().iter().enumerate() {
            if pos < start + c {
                return (i, pos - start);
            }
            start += c;
        }
        unreachable!("position {pos} beyond the list")
    }

    /// lpBytes of node `i`.
    fn node_bytes(&self, i: usize) -> usize {
        let start = self.node_start(i);
        lp_bytes(&self.items[start..start + self.nodes()[i]])
    }

    /// _quicklistNodeAllowInsert for a value of `sz` bytes into node `i`.
    fn allow_insert(&self, i: usize, sz: usize, fill: i64) -> bool {
        let new_sz = self.node_bytes(i) + sz + SIZE_ESTIMATE_OVERHEAD_BYTES;
        !ql_exceeds_limit(fill, new_sz, self.nodes()[i] + 1)
    }

    /// _quicklistNodeAllowMerge of nodes `a` and `b`.
    fn allow_merge(&self, a: usize, b: usize, fill: i64) -> bool {
        let merge_sz = self.node_bytes(a) + self.node_bytes(b) - LP_OVERHEAD_BYTES;
        !ql_exceeds_limit(fill, merge_sz, self.nodes()[a] + self.nodes()[b])
    }

    /// listTypeTryConvertListpack, before adding `added`: a listpack whose bytes plus
    /// the added lengths, or whose count plus the added count, exceeds the node limit
    /// becomes a quicklist of one node.
    pub fn try_grow(&mut self, added: &[&[u8]], fill: i64, ev: &mut Events) {
        if self.enc != ListEnc::Listpack {
            return;
        }
        let add_bytes: usize = added.iter().map(|a| a.len()).sum();
        if ql_exceeds_limit(
            fill,
            lp_bytes(&self.items) + add_bytes,
            self.items.len() + added.len(),
        ) {
            let nodes = if self.items.is_empty() {
                Vec::new()
            } else {
                vec![self.items.len()]
            };
            self.enc = ListEnc::Quicklist(nodes);
            converted(ev, "list", "listpack", "quicklist");
        }
    }

    /// listTypeTryConvertQuicklist with `shrinking`: a quicklist of one node under
    /// half the limits becomes a listpack again.
    pub fn try_shrink(&mut self, fill: i64, ev: &mut Events) {
        let ListEnc::Quicklist(nodes) = &self.enc else {
            return;
        };
        if nodes.len() != 1 {
            return;
        }
        let (sz_limit, count_limit) = ql_node_limit(fill);
        let (sz_limit, count_limit) = (sz_limit / 2, count_limit / 2);
        if self.node_bytes(0) > sz_limit || self.items.len() > count_limit {
            return;
        }
        self.enc = ListEnc::Listpack;
        converted(ev, "list", "quicklist", "listpack");
    }

    /// SORT ... STORE's result (Redis 7.2): a quicklist built by pushes at the tail,
    /// then (listTypeTryConversion with LIST_CONV_AUTO) a listpack if it is a single
    /// node within the node limits.
    pub fn from_tail_pushes(items: Vec<Vec<u8>>, fill: i64) -> List {
        let mut l = List {
            items: Vec::new(),
            enc: ListEnc::Quicklist(Vec::new()),
        };
        for i in items {
            l.push(i, false, fill);
        }
        if l.nodes().len() == 1 {
            let (sz_limit, count_limit) = ql_node_limit(fill);
            if l.node_bytes(0) <= sz_limit && l.items.len() <= count_limit {
                l.enc = ListEnc::Listpack;
            }
        }
        l
    }

    /// LPUSH/RPUSH of one value (listTypePush).
    pub fn push(&mut self, value: Vec<u8>, head: bool, fill: i64) {
        if let ListEnc::Quicklist(_) = self.enc {
            let n = self.nodes().len();
            if head {
                if n > 0 && self.allow_insert(0, value.len(), fill) {
                    self.nodes_mut()[0] += 1;
                } else {
                    self.nodes_mut().insert(0, 1);
                }
            } else if n > 0 && self.allow_insert(n - 1, value.len(), fill) {
                self.nodes_mut()[n - 1] += 1;
            } else {
                self.nodes_mut().push(1);
            }
        }
        if head {
            self.items.insert(0, value);
        } else {
            self.items.push(value);
        }
        self.check();
    }

    /// Delete the item at `pos` (quicklistDelIndex: an emptied node goes away).
    pub fn remove_at(&mut self, pos: usize) -> Vec<u8> {
        if let ListEnc::Quicklist(_) = self.enc {
            let (i, _) = self.node_of(pos);
            let nodes = self.nodes_mut();
            nodes[i] -= 1;
            if nodes[i] == 0 {
                nodes.remove(i);
            }
        }
        let v = self.items.remove(pos);
        self.check();
        v
    }

    /// LPOP/RPOP of one value.
    pub fn pop(&mut self, head: bool) -> Option<Vec<u8>> {
        if self.items.is_empty() {
            return None;
        }
        let pos = if head { 0 } else { self.items.len() - 1 };
        Some(self.remove_at(pos))
    }

    /// Delete `count` items from `start` (quicklistDelRange, lpDeleteRange; no
    /// merging of nodes).
    pub fn del_range(&mut self, start: usize, count: usize) {
        for _ in 0..count.min(self.items.len().saturating_sub(start)) {
            self.remove_at(start);
        }
    }

    /// LSET's in-place replacement.
    pub fn replace(&mut self, pos: usize, value: Vec<u8>) {
        self.items[pos] = value;
    }

    /// LINSERT: `value` before or after the item at `pivot` (_quicklistInsert).
    pub fn insert(&mut self, pivot: usize, after: bool, value: Vec<u8>, fill: i64) {
        let target = pivot + usize::from(after);
        if self.enc == ListEnc::Listpack {
            self.items.insert(target, value);
            return;
        }
        let (i, offset) = self.node_of(pivot);
        let n = self.nodes().len();
        let count = self.nodes()[i];
        let sz = value.len();
        let full = !self.allow_insert(i, sz, fill);
        let at_tail = after && offset == count - 1;
        let avail_next = at_tail && i + 1 < n && self.allow_insert(i + 1, sz, fill);
        let at_head = !after && offset == 0;
        let avail_prev = at_head && i > 0 && self.allow_insert(i - 1, sz, fill);
        self.items.insert(target, value);
        let nodes = self.nodes_mut();
        if !full {
            nodes[i] += 1;
        } else if at_tail && avail_next {
            nodes[i + 1] += 1;
        } else if at_head && avail_prev {
            nodes[i - 1] += 1;
        } else if at_tail {
            nodes.insert(i + 1, 1);
        } else if at_head {
            nodes.insert(i, 1);
        } else {
            // Split the full node at the pivot; the new node takes the value.
            let center = if after {
                nodes[i] = offset + 1;
                nodes.insert(i + 1, count - offset - 1 + 1);
                i
            } else {
                nodes[i] = count - offset;
                nodes.insert(i, offset + 1);
                i + 1
            };
            self.merge_around(center, fill);
        }
        self.check();
    }

    /// _quicklistMergeNodes around node `center`.
    fn merge_around(&mut self, mut center: usize, fill: i64) {
        let merge = |l: &mut List, a: usize| {
            let nodes = l.nodes_mut();
            nodes[a] += nodes[a + 1];
            nodes.remove(a + 1);
        };
        if center >= 2 && self.allow_merge(center - 1, center - 2, fill) {
            merge(self, center - 2);
            center -= 1;
        }
        if center + 2 < self.nodes().len() && self.allow_merge(center + 1, center + 2, fill) {
            merge(self, center + 1);
        }
        let target = if center >= 1 && self.allow_merge(center, center - 1, fill) {
            merge(self, center - 1);
            center - 1
        } else {
            center
        };
        if target + 1 < self.nodes().len() && self.allow_merge(target, target + 1, fill) {
            merge(self, target);
        }
    }
}

// ---------------------------------------------------------------------------------
// Hashes (Redis 7.0)

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HashEnc {
    Listpack,
    Hashtable,
}

/// A hash. In a listpack the pairs are in insertion order (Redis's order); in a hash
/// table they are sorted by field, so that equal hashes compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hash {
    pub enc: HashEnc,
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Default for Hash {
    fn default() -> Hash {
        Hash::new()
    }
}

impl Hash {
    /// createHashObject.
    pub fn new() -> Hash {
        Hash {
            enc: HashEnc::Listpack,
            pairs: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn position(&self, field: &[u8]) -> Option<usize> {
        self.pairs.iter().position(|(f, _)| f == field)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.position(field).map(|i| self.pairs[i].1.as_slice())
    }

    fn convert_to_table(&mut self, ev: &mut Events) {
        if self.enc == HashEnc::Listpack {
            self.enc = HashEnc::Hashtable;
            self.pairs.sort();
            converted(ev, "hash", "listpack", "hashtable");
        }
    }

    /// hashTypeTryConversion: any argument longer than hash-max-listpack-value
    /// converts a listpack hash before the write.
    pub fn prepare(&mut self, args: &[&[u8]], lim: &Limits, ev: &mut Events) {
        if args.iter().any(|a| a.len() > lim.hash_max_listpack_value) {
            self.convert_to_table(ev);
        }
    }

    /// hashTypeSet: true when the field existed.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: &Limits, ev: &mut Events) -> bool {
        if field.len() > lim.hash_max_listpack_value || value.len() > lim.hash_max_listpack_value {
            self.convert_to_table(ev);
        }
        let updated = match self.position(field) {
            Some(i) => {
                self.pairs[i].1 = value.to_vec();
                true
            }
            None => {
                match self.enc {
                    HashEnc::Listpack => self.pairs.push((field.to_vec(), value.to_vec())),
                    HashEnc::Hashtable => {
                        let at = self.pairs.partition_point(|(f, _)| f.as_slice() < field);
                        self.pairs.insert(at, (field.to_vec(), value.to_vec()));
                    }
                }
                false
            }
        };
        if self.enc == HashEnc::Listpack && self.pairs.len() > lim.hash_max_listpack_entries {
            self.convert_to_table(ev);
        }
        updated
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.position(field) {
            Some(i) => {
                self.pairs.remove(i);
                true
            }
            None => false,
        }
    }

    /// Whether Redis's iteration order is known (listpack order).
    pub fn ordered(&self) -> bool {
        self.enc == HashEnc::Listpack
    }
}

// ---------------------------------------------------------------------------------
// Sets (Redis 7.2)

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetEnc {
    Intset,
    Listpack,
    Hashtable,
}

/// A set. An intset keeps its members in numeric order and a listpack in insertion
/// order, as Redis iterates them; a hash table, or a listpack whose order the model
/// could not follow (built from a random or unordered walk), keeps them sorted by
/// bytes with `order_known` false.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Set {
    pub enc: SetEnc,
    pub members: Vec<Vec<u8>>,
    pub order_known: bool,
}

fn int_of(m: &[u8]) -> i64 {
    parse_i64_strict(m).expect("intset members are integers")
}

/// sdigits10: characters of an integer, with its sign.
fn digits(v: i64) -> usize {
    v.to_string().len()
}

impl Set {
    /// An empty set of an encoding (createIntsetObject, createSetListpackObject,
    /// createSetObject).
    pub fn empty(enc: SetEnc) -> Set {
        Set {
            enc,
            members: Vec::new(),
            order_known: enc != SetEnc::Hashtable,
        }
    }

    /// setTypeCreate: the encoding for a set about to receive `size_hint` members,
    /// the first being `first`.
    pub fn create(first: &[u8], size_hint: usize, lim: &Limits) -> Set {
        if parse_i64_strict(first).is_some() && size_hint <= lim.set_max_intset_entries {
            Set::empty(SetEnc::Intset)
        } else if size_hint <= lim.set_max_listpack_entries {
            Set::empty(SetEnc::Listpack)
        } else {
            Set::empty(SetEnc::Hashtable)
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.iter().any(|x| x == m)
    }

    /// Members in Redis's iteration order, if the model knows it.
    pub fn ordered(&self) -> Option<&[Vec<u8>]> {
        match self.enc {
            SetEnc::Intset => Some(&self.members),
            SetEnc::Listpack if self.order_known => Some(&self.members),
            _ => None,
        }
    }

    fn name(enc: SetEnc) -> &'static str {
        match enc {
            SetEnc::Intset => "intset",
            SetEnc::Listpack => "listpack",
            SetEnc::Hashtable => "hashtable",
        }
    }

    /// The canonical order for an unknown iteration order.
    pub fn forget_order(&mut self) {
        if self.enc != SetEnc::Intset {
            self.members.sort();
            self.order_known = false;
        }
    }

    pub fn convert_to_table(&mut self, ev: &mut Events) {
        if self.enc != SetEnc::Hashtable {
            converted(ev, "set", Set::name(self.enc), "hashtable");
            self.enc = SetEnc::Hashtable;
            self.forget_order();
        }
    }

    /// setTypeMaybeConvert: before adding `size_hint` members.
    pub fn maybe_convert(&mut self, size_hint: usize, lim: &Limits, ev: &mut Events) {
        if (self.enc == SetEnc::Listpack && size_hint > lim.set_max_listpack_entries)
            || (self.enc == SetEnc::Intset && size_hint > lim.set_max_intset_entries)
        {
            self.convert_to_table(ev);
        }
    }

    /// Adopt an iteration order learned from a reply (a permutation of the members).
    pub fn learn_order(&mut self, order: Vec<Vec<u8>>) {
        debug_assert_eq!(
            order.iter().collect::<BTreeSet<_>>(),
            self.members.iter().collect::<BTreeSet<_>>()
        );
        if self.enc == SetEnc::Listpack && !self.order_known {
            self.members = order;
            self.order_known = true;
        }
    }

    /// setTypeAddAux: true if `m` was added.
    pub fn add(&mut self, m: &[u8], lim: &Limits, ev: &mut Events) -> bool {
        if self.contains(m) {
            return false;
        }
        match self.enc {
            SetEnc::Hashtable => {
                let at = self.members.partition_point(|x| x.as_slice() < m);
                self.members.insert(at, m.to_vec());
            }
            SetEnc::Listpack => {
                if self.members.len() < lim.set_max_listpack_entries
                    && m.len() <= lim.set_max_listpack_value
                {
                    if self.order_known {
                        self.members.push(m.to_vec());
                    } else {
                        let at = self.members.partition_point(|x| x.as_slice() < m);
                        self.members.insert(at, m.to_vec());
                    }
                } else {
                    self.convert_to_table(ev);
                    return self.add(m, lim, ev);
                }
            }
            SetEnc::Intset => match parse_i64_strict(m) {
                Some(v) => {
                    let at = self.members.partition_point(|x| int_of(x) < v);
                    self.members.insert(at, m.to_vec());
                    if self.members.len() > lim.set_max_intset_entries.min(INTSET_ENTRIES_CAP) {
                        self.convert_to_table(ev);
                    }
                }
                None => {
                    let maxelelen = match (self.members.first(), self.members.last()) {
                        (Some(lo), Some(hi)) => digits(int_of(lo)).max(digits(int_of(hi))),
                        _ => 0,
                    };
                    if self.members.len() < lim.set_max_listpack_entries
                        && m.len() <= lim.set_max_listpack_value
                        && maxelelen <= lim.set_max_listpack_value
                    {
                        converted(ev, "set", "intset", "listpack");
                        self.enc = SetEnc::Listpack;
                        self.members.push(m.to_vec());
                    } else {
                        self.convert_to_table(ev);
                        let at = self.members.partition_point(|x| x.as_slice() < m);
                        self.members.insert(at, m.to_vec());
                    }
                }
            },
        }
        true
    }

    /// setTypeRemoveAux: true if `m` was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.members.iter().position(|x| x == m) {
            Some(i) => {
                self.members.remove(i);
                true
            }
            None => false,
        }
    }

    /// maybeConvertToIntset (SINTERSTORE of integers only).
    pub fn maybe_to_intset(&mut self, lim: &Limits, ev: &mut Events) {
        if self.enc == SetEnc::Intset
            || self.members.len() > lim.set_max_intset_entries.min(INTSET_ENTRIES_CAP)
        {
            return;
        }
        debug_assert!(self.members.iter().all(|m| parse_i64_strict(m).is_some()));
        converted(ev, "set", Set::name(self.enc), "intset");
        self.enc = SetEnc::Intset;
        self.order_known = true;
        self.members.sort_by_key(|m| int_of(m));
    }
}

// ---------------------------------------------------------------------------------
// Sorted sets (Redis 7.0)

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZsetEnc {
    Listpack,
    Skiplist,
}

/// A score. Equality and order here are by bits (so `-0` and `0`, which Redis prints
/// differently, stay apart in the model's bookkeeping); the order of a sorted set's
/// members uses IEEE comparison, as Redis's does (see [`cmp_entry`]).
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Score) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Score) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// zslInsert's order: by score (IEEE, so -0 == 0), then by member bytes.
pub fn cmp_entry(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    if a.0 < b.0 {
        Ordering::Less
    } else if a.0 > b.0 {
        Ordering::Greater
    } else {
        a.1.cmp(b.1)
    }
}

/// A sorted set: members in Redis's order, whatever the encoding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Zset {
    pub enc: ZsetEnc,
    pub items: Vec<(Score, Vec<u8>)>,
}

/// zsetAdd's input flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZaddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// zsetAdd's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zadded {
    Added(f64),
    Updated(f64),
    /// The element is there with this score and the score did not change.
    Same(f64),
    Nop,
    /// The increment produced NaN.
    Nan,
}

impl Zset {
    pub fn empty(enc: ZsetEnc) -> Zset {
        Zset {
            enc,
            items: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.items.iter().find(|(_, x)| x == m).map(|(s, _)| s.0)
    }

    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        self.items.iter().position(|(_, x)| x == m)
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.rank(m) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// Insert a member known to be absent, in order. A listpack stores an integral
    /// score as an integer (zzlInsertAt), which turns `-0` into `0`.
    pub fn insert(&mut self, mut score: f64, m: &[u8]) {
        debug_assert!(!score.is_nan());
        if self.enc == ZsetEnc::Listpack && score == 0.0 {
            score = 0.0;
        }
        debug_assert!(self.rank(m).is_none());
        let at = self
            .items
            .partition_point(|(s, x)| cmp_entry((s.0, x), (score, m)) == Ordering::Less);
        self.items.insert(at, (Score(score), m.to_vec()));
    }

    pub fn to_skiplist(&mut self, ev: &mut Events) {
        if self.enc == ZsetEnc::Listpack {
            self.enc = ZsetEnc::Skiplist;
            converted(ev, "zset", "listpack", "skiplist");
        }
    }

    /// zsetConvertToListpackIfNeeded (the STORE commands' results).
    pub fn maybe_to_listpack(&mut self, maxelelen: usize, lim: &Limits, ev: &mut Events) {
        if self.enc == ZsetEnc::Skiplist
            && self.items.len() <= lim.zset_max_listpack_entries
            && maxelelen <= lim.zset_max_listpack_value
        {
            self.enc = ZsetEnc::Listpack;
            for (s, _) in &mut self.items {
                if s.0 == 0.0 {
                    s.0 = 0.0;
                }
            }
            converted(ev, "zset", "skiplist", "listpack");
        }
    }

    /// zsetAdd.
    pub fn add(
        &mut self,
        mut score: f64,
        m: &[u8],
        f: ZaddFlags,
        lim: &Limits,
        ev: &mut Events,
    ) -> Zadded {
        if score.is_nan() {
            return Zadded::Nan;
        }
        if let Some(cur) = self.score(m) {
            if f.nx {
                return Zadded::Nop;
            }
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return Zadded::Nan;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Zadded::Nop;
            }
            if score != cur {
                self.remove(m);
                self.insert(score, m);
                return Zadded::Updated(score);
            }
            return Zadded::Same(score);
        }
        if f.xx {
            return Zadded::Nop;
        }
        if self.enc == ZsetEnc::Listpack
            && (self.items.len() + 1 > lim.zset_max_listpack_entries
                || m.len() > lim.zset_max_listpack_value)
        {
            self.to_skiplist(ev);
        }
        self.insert(score, m);
        Zadded::Added(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn listpack_entry_sizes() {
        assert_eq!(lp_entry_bytes(b"0"), 2);
        assert_eq!(lp_entry_bytes(b"127"), 2);
        assert_eq!(lp_entry_bytes(b"128"), 3);
        assert_eq!(lp_entry_bytes(b"-4096"), 3);
        assert_eq!(lp_entry_bytes(b"40000"), 5);
        assert_eq!(lp_entry_bytes(b"9223372036854775807"), 10);
        assert_eq!(lp_entry_bytes(b"007"), 5);
        assert_eq!(lp_entry_bytes(b""), 2);
        assert_eq!(lp_entry_bytes(&[b'x'; 63]), 65);
        assert_eq!(lp_entry_bytes(&[b'x'; 64]), 66 + 1);
        assert_eq!(lp_bytes(&[v("a"), v("1")]), 7 + 3 + 2);
    }

    #[test]
    fn strings_take_redis_encodings() {
        assert_eq!(Str::encoded(v("123")).enc, StrEnc::Int);
        assert_eq!(Str::encoded(v("007")).enc, StrEnc::Embstr);
        assert_eq!(Str::encoded(vec![b'a'; 44]).enc, StrEnc::Embstr);
        assert_eq!(Str::encoded(vec![b'a'; 45]).enc, StrEnc::Raw);
        assert_eq!(Str::created(v("5")).enc, StrEnc::Embstr);
    }

    #[test]
    fn lists_convert_both_ways_with_hysteresis() {
        let mut ev = Events::new();
        let mut l = List::new();
        for x in ["a", "b", "c", "d"] {
            l.try_grow(&[x.as_bytes()], 4, &mut ev);
            l.push(v(x), false, 4);
        }
        assert_eq!(l.enc, ListEnc::Listpack);
        l.try_grow(&[b"e"], 4, &mut ev);
        assert_eq!(l.enc, ListEnc::Quicklist(vec![4]));
        l.push(v("e"), false, 4);
        assert_eq!(l.enc, ListEnc::Quicklist(vec![4, 1]));
        l.pop(false);
        l.try_shrink(4, &mut ev);
        assert_eq!(l.enc, ListEnc::Quicklist(vec![4]), "4 > 4/2");
        l.pop(true);
        l.pop(true);
        l.try_shrink(4, &mut ev);
        assert_eq!(l.enc, ListEnc::Listpack);
        assert_eq!(ev, ["list listpack->quicklist", "list quicklist->listpack"]);
    }

    #[test]
    fn quicklist_insert_splits_and_merges() {
        let mut l = List {
            items: ["a", "b", "c", "d", "e", "f"]
                .iter()
                .map(|s| v(s))
                .collect(),
            enc: ListEnc::Quicklist(vec![3, 3]),
        };
        // Node 0 is full: inserting after its middle splits it into [a b] [X c].
        l.insert(1, true, v("X"), 3);
        assert_eq!(l.items[2], v("X"));
        assert_eq!(l.enc, ListEnc::Quicklist(vec![2, 2, 3]));
        // At the tail of a full node with a full next one: a node of its own.
        let mut l2 = List {
            items: ["a", "b", "c", "d"].iter().map(|s| v(s)).collect(),
            enc: ListEnc::Quicklist(vec![2, 2]),
        };
        l2.insert(1, true, v("Y"), 2);
        assert_eq!(l2.enc, ListEnc::Quicklist(vec![2, 1, 2]));
        // At the tail of a full node whose next node has room: into that node.
        let mut l3 = List {
            items: ["a", "b", "c"].iter().map(|s| v(s)).collect(),
            enc: ListEnc::Quicklist(vec![2, 1]),
        };
        l3.insert(1, true, v("Z"), 2);
        assert_eq!(l3.enc, ListEnc::Quicklist(vec![2, 2]));
        assert_eq!(l3.items, vec![v("a"), v("b"), v("Z"), v("c")]);
    }

    #[test]
    fn sets_walk_intset_listpack_hashtable() {
        let lim = Limits {
            set_max_intset_entries: 3,
            set_max_listpack_entries: 4,
            set_max_listpack_value: 5,
            ..Limits::default()
        };
        let mut ev = Events::new();
        let mut s = Set::create(b"3", 2, &lim);
        assert_eq!(s.enc, SetEnc::Intset);
        s.add(b"3", &lim, &mut ev);
        s.add(b"-1", &lim, &mut ev);
        assert_eq!(s.members, vec![v("-1"), v("3")]);
        s.add(b"abc", &lim, &mut ev);
        assert_eq!(s.enc, SetEnc::Listpack);
        assert_eq!(s.ordered(), Some(&[v("-1"), v("3"), v("abc")][..]));
        s.add(b"toolong", &lim, &mut ev);
        assert_eq!(s.enc, SetEnc::Hashtable);
        assert_eq!(s.ordered(), None);
        let mut i = Set::create(b"1", 1, &lim);
        for x in ["1", "2", "3", "4"] {
            i.add(x.as_bytes(), &lim, &mut ev);
        }
        assert_eq!(
            i.enc,
            SetEnc::Hashtable,
            "an intset past its limit skips listpack"
        );
        i.remove(b"4");
        i.maybe_to_intset(&lim, &mut ev);
        assert_eq!(i.enc, SetEnc::Intset);
    }

    #[test]
    fn zsets_order_by_score_then_member() {
        let lim = Limits {
            zset_max_listpack_entries: 2,
            ..Limits::default()
        };
        let mut ev = Events::new();
        let mut z = Zset::empty(ZsetEnc::Listpack);
        let f = ZaddFlags::default();
        assert_eq!(z.add(1.0, b"b", f, &lim, &mut ev), Zadded::Added(1.0));
        assert_eq!(z.add(-0.0, b"a", f, &lim, &mut ev), Zadded::Added(-0.0));
        assert_eq!(z.add(0.0, b"a", f, &lim, &mut ev), Zadded::Same(0.0));
        assert_eq!(
            z.score(b"a").map(|s| s.is_sign_negative()),
            Some(false),
            "a listpack keeps -0 as the integer 0"
        );
        assert_eq!(z.add(0.5, b"c", f, &lim, &mut ev), Zadded::Added(0.5));
        assert_eq!(z.enc, ZsetEnc::Skiplist);
        let order: Vec<&[u8]> = z.items.iter().map(|(_, m)| m.as_slice()).collect();
        assert_eq!(order, [&b"a"[..], b"c", b"b"]);
        let incr = ZaddFlags { incr: true, ..f };
        z.add(f64::INFINITY, b"a", incr, &lim, &mut ev);
        assert_eq!(
            z.add(f64::NEG_INFINITY, b"a", incr, &lim, &mut ev),
            Zadded::Nan
        );
    }
}
