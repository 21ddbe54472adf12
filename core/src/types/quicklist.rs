//! The quicklist (Redis 7.2's quicklist.c): the big list encoding, a sequence of
//! nodes that each hold a listpack of neighbouring elements, so a push touches one
//! small buffer and a seek skips whole nodes by their counts.
//!
//! Node shapes follow Redis exactly, because RDB files store a list node by node:
//! `fill` (`list-max-listpack-size` when the list was created) bounds a node by entry
//! count (positive) or by bytes (-1..-5: 4..64 KiB); an element of at least the
//! packed threshold (DEBUG QUICKLIST-PACKED-THRESHOLD, 1 GiB by default) lives alone
//! in a PLAIN node; inserts split, fill and merge nodes with _quicklistInsert's rules;
//! deletes never merge.
//!
//! With `depth` (`list-compress-depth`) > 0, the `depth` nodes at each end stay raw
//! and interior nodes are LZF-compressed when that saves at least 8 bytes and the
//! node is at least 48 bytes. Reads decompress into a temporary copy and leave the
//! node compressed; writes decompress the node, change it and compress it again.
//! Redis attempts compression at a few more moments (when an iterator leaves a raw
//! interior node, even for a read); here every write attempts it on every interior
//! node it changed or moved inward, so a list is never less compressed than Redis's.
//!
//! Nodes sit in a `VecDeque`, so pushes and pops at either end are O(1) and a seek
//! walks node counts from the nearer end, as Redis's linked list does.

use crate::listpack::{Listpack, LpEntry};
use crate::lzf;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Node byte limits for fill -1..-5 (quicklist.c optimization_level).
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// A count-limited node never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// What one more entry is assumed to add beyond its string length.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Nodes smaller than this are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save at least this much to be kept.
const MIN_COMPRESS_IMPROVE: usize = 8;
/// One listpack's header and end byte, counted once when two nodes merge.
const LISTPACK_OVERHEAD: usize = 7;
/// `fill` is a 16-bit signed field in Redis's quicklist.
pub const FILL_MAX: i64 = (1 << 15) - 1;
pub const FILL_MIN: i64 = -5;
/// `compress` is a 16-bit field.
pub const DEPTH_MAX: i64 = (1 << 16) - 1;
/// Elements at least this long go to PLAIN nodes unless DEBUG changes it.
pub const PACKED_THRESHOLD_DEFAULT: usize = 1 << 30;
/// DEBUG QUICKLIST-PACKED-THRESHOLD refuses anything above 4 GiB - 1 MiB.
pub const PACKED_THRESHOLD_MAX: u64 = (1 << 32) - (1 << 20);
/// "No limit" for counts, as Redis's UINT_MAX.
const COUNT_UNLIMITED: usize = u32::MAX as usize;

/// quicklistNodeLimit: the (bytes, entries) a node may hold under `fill`; the
/// dimension `fill` does not bound is unlimited.
pub fn node_limit(fill: i64) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, if fill == 0 { 1 } else { fill as usize })
    } else {
        let level = ((-(fill + 1)) as u64).min(SIZE_LEVELS.len() as u64 - 1) as usize;
        (SIZE_LEVELS[level], COUNT_UNLIMITED)
    }
}

/// quicklistNodeExceedsLimit: would a node of `bytes` bytes and `count` entries be
/// too big under `fill`.
pub fn exceeds_limit(fill: i64, bytes: usize, count: usize) -> bool {
    let (size_limit, count_limit) = node_limit(fill);
    if size_limit != usize::MAX {
        bytes > size_limit
    } else {
        bytes > SIZE_SAFETY_LIMIT || count > count_limit
    }
}

/// The packed threshold: elements at least this long get PLAIN nodes.
#[derive(Debug, Clone, Copy)]
pub struct Threshold(pub usize);

impl Threshold {
    fn is_large(self, len: usize) -> bool {
        len >= self.0
    }
}

/// An LZF-compressed node in one allocation, like Redis's quicklistLZF: an 8-byte
/// header (the raw length, then the entry count with the top bit marking a PLAIN
/// node, both u32 LE) followed by the LZF stream.
#[derive(Clone, Debug)]
struct CompressedNode(Box<[u8]>);

const COMPRESSED_HEADER: usize = 8;
const PLAIN_FLAG: u32 = 1 << 31;

impl CompressedNode {
    fn new(lzf: &[u8], raw_len: usize, count: usize, plain: bool) -> CompressedNode {
        let raw_len = u32::try_from(raw_len).expect("lzf declines inputs of 2 GiB or more");
        let count = u32::try_from(count).expect("nodes hold fewer than 2^31 entries");
        assert!(count < PLAIN_FLAG);
        let mut buf = Vec::with_capacity(COMPRESSED_HEADER + lzf.len());
        buf.extend_from_slice(&raw_len.to_le_bytes());
        buf.extend_from_slice(&(count | if plain { PLAIN_FLAG } else { 0 }).to_le_bytes());
        buf.extend_from_slice(lzf);
        CompressedNode(buf.into_boxed_slice())
    }

    fn word(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().expect("4-byte header word"))
    }

    fn raw_len(&self) -> usize {
        self.word(0) as usize
    }

    fn count(&self) -> usize {
        (self.word(4) & !PLAIN_FLAG) as usize
    }

    fn plain(&self) -> bool {
        self.word(4) & PLAIN_FLAG != 0
    }

    fn lzf(&self) -> &[u8] {
        &self.0[COMPRESSED_HEADER..]
    }
}

#[derive(Clone, Debug)]
enum Node {
    Packed(Listpack),
    Plain(Box<[u8]>),
    Compressed(CompressedNode),
}

impl Node {
    fn single(value: &[u8]) -> Node {
        let mut lp = Listpack::new();
        lp.push_back(value);
        Node::Packed(lp)
    }

    fn count(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.len(),
            Node::Plain(_) => 1,
            Node::Compressed(c) => c.count(),
        }
    }

    /// Uncompressed bytes (Redis's node->sz).
    fn sz(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.bytes_len(),
            Node::Plain(b) => b.len(),
            Node::Compressed(c) => c.raw_len(),
        }
    }

    fn is_plain(&self) -> bool {
        match self {
            Node::Plain(_) => true,
            Node::Compressed(c) => c.plain(),
            Node::Packed(_) => false,
        }
    }

    fn is_compressed(&self) -> bool {
        matches!(self, Node::Compressed(_))
    }

    fn inflate(c: &CompressedNode) -> Vec<u8> {
        lzf::decompress(c.lzf(), c.raw_len()).expect("a node this process compressed decompresses")
    }

    /// The node's listpack, decompressed into a copy when needed.
    fn packed(&self) -> Cow<'_, Listpack> {
        match self {
            Node::Packed(lp) => Cow::Borrowed(lp),
            Node::Compressed(c) if !c.plain() => {
                Cow::Owned(Listpack::from_trusted_bytes(Node::inflate(c), c.count()))
            }
            _ => unreachable!("packed() on a plain node"),
        }
    }

    /// The element of a plain node.
    fn plain(&self) -> Cow<'_, [u8]> {
        match self {
            Node::Plain(b) => Cow::Borrowed(b),
            Node::Compressed(c) if c.plain() => Cow::Owned(Node::inflate(c)),
            _ => unreachable!("plain() on a packed node"),
        }
    }

    fn decompress(&mut self) {
        if let Node::Compressed(c) = self {
            let raw = Node::inflate(c);
            *self = if c.plain() {
                Node::Plain(raw.into_boxed_slice())
            } else {
                Node::Packed(Listpack::from_trusted_bytes(raw, c.count()))
            };
        }
    }

    /// The listpack, decompressed in place for a change.
    fn packed_mut(&mut self) -> &mut Listpack {
        self.decompress();
        match self {
            Node::Packed(lp) => lp,
            _ => unreachable!("packed_mut() on a plain node"),
        }
    }

    /// __quicklistCompressNode: compress a raw node if that pays.
    fn try_compress(&mut self) {
        let (bytes, count, plain) = match self {
            Node::Packed(lp) => (lp.as_bytes(), lp.len(), false),
            Node::Plain(b) => (&b[..], 1, true),
            Node::Compressed(_) => return,
        };
        let sz = bytes.len();
        if sz < MIN_COMPRESS_BYTES {
            return;
        }
        let Some(lzf) = lzf::compress(bytes, sz) else {
            return;
        };
        if lzf.len() + MIN_COMPRESS_IMPROVE >= sz {
            return;
        }
        *self = Node::Compressed(CompressedNode::new(&lzf, sz, count, plain));
    }

    /// The bytes the node occupies (its buffer, compressed or not).
    fn allocated(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.bytes_len(),
            Node::Plain(b) => b.len(),
            Node::Compressed(c) => c.0.len(),
        }
    }
}

/// _quicklistNodeAllowInsert: may one more element of `len` bytes join `node`.
fn allow_insert(node: Option<&Node>, fill: i64, len: usize, threshold: Threshold) -> bool {
    let Some(node) = node else {
        return false;
    };
    if node.is_plain() || threshold.is_large(len) {
        return false;
    }
    !exceeds_limit(
        fill,
        node.sz() + len + SIZE_ESTIMATE_OVERHEAD,
        node.count() + 1,
    )
}

/// _quicklistNodeAllowMerge.
fn allow_merge(a: &Node, b: &Node, fill: i64) -> bool {
    if a.is_plain() || b.is_plain() {
        return false;
    }
    // Redis computes this in an unsigned int.
    let merged = (a.sz() + b.sz()).wrapping_sub(LISTPACK_OVERHEAD) as u32 as usize;
    !exceeds_limit(fill, merged, a.count() + b.count())
}

/// One element as a list hands it out: an integer entry or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    Int(i64),
    Str(Vec<u8>),
}

impl Elem {
    pub fn from_entry(e: LpEntry<'_>) -> Elem {
        match e {
            LpEntry::Int(n) => Elem::Int(n),
            LpEntry::Str(s) => Elem::Str(s.to_vec()),
        }
    }

    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Elem::Int(n) => Cow::Owned(n.to_string().into_bytes()),
            Elem::Str(s) => Cow::Borrowed(s),
        }
    }
}

/// One node as RDB stores it, borrowed from the list.
#[derive(Debug, Clone, Copy)]
pub enum StoredNode<'a> {
    /// An uncompressed node: a listpack (`plain == false`) or one element.
    Raw { plain: bool, bytes: &'a [u8] },
    /// An LZF-compressed node: the stream and the length it inflates to.
    Lzf {
        plain: bool,
        lzf: &'a [u8],
        raw_len: usize,
    },
}

#[derive(Clone, Debug)]
pub struct Quicklist {
    nodes: VecDeque<Node>,
    count: usize,
    fill: i64,
    depth: usize,
}

impl Quicklist {
    /// quicklistCreate + quicklistSetOptions: `fill` and `depth` are clamped to
    /// the fields' ranges and fixed for the list's life, as in Redis.
    pub fn new(fill: i64, depth: i64) -> Quicklist {
        Quicklist {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(FILL_MIN, FILL_MAX),
            depth: depth.clamp(0, DEPTH_MAX) as usize,
        }
    }

    /// quicklistAppendListpack: a converted listpack becomes one node.
    pub fn from_listpack(lp: Listpack, fill: i64, depth: i64) -> Quicklist {
        let mut ql = Quicklist::new(fill, depth);
        if !lp.is_empty() {
            ql.count = lp.len();
            ql.nodes.push_back(Node::Packed(lp));
            ql.settle(&[0], 1);
        }
        ql
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn fill(&self) -> i64 {
        self.fill
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The one packed node's listpack size, when the list is a single packed node
    /// (the only shape that may convert back to a listpack).
    pub fn single_packed_size(&self) -> Option<usize> {
        match (self.nodes.len(), self.nodes.front()) {
            (1, Some(n)) if !n.is_plain() => Some(n.sz()),
            _ => None,
        }
    }

    /// Take the single packed node's listpack (listTypeTryConvertQuicklist).
    pub fn into_listpack(mut self) -> Listpack {
        assert_eq!(self.nodes.len(), 1, "only a one-node quicklist converts");
        let mut node = self.nodes.pop_front().expect("one node");
        std::mem::take(node.packed_mut())
    }

    /// Bytes held by node buffers plus the node table, for memory reports.
    pub fn allocated_bytes(&self) -> usize {
        self.nodes.iter().map(Node::allocated).sum::<usize>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    fn check(&self) {
        debug_assert_eq!(
            self.nodes.iter().map(Node::count).sum::<usize>(),
            self.count
        );
        debug_assert!(self.nodes.iter().all(|n| n.count() > 0));
        debug_assert!(self.nodes.front().is_none_or(|n| !n.is_compressed()));
        debug_assert!(self.nodes.back().is_none_or(|n| !n.is_compressed()));
    }

    /// __quicklistCompress after a change: the `depth` nodes at each end raw, and a
    /// compression attempt on each changed interior node and on the `widen` nodes
    /// just inside each raw zone (nodes a change may have pushed inward).
    fn settle(&mut self, touched: &[usize], widen: usize) {
        let d = self.depth;
        if d == 0 {
            return;
        }
        let len = self.nodes.len();
        if len <= 2 * d {
            for n in self.nodes.iter_mut() {
                n.decompress();
            }
            return;
        }
        for i in 0..d {
            self.nodes[i].decompress();
            self.nodes[len - 1 - i].decompress();
        }
        for &t in touched {
            if (d..len - d).contains(&t) {
                self.nodes[t].try_compress();
            }
        }
        for k in 0..widen.max(1) {
            if d + k < len - d {
                self.nodes[d + k].try_compress();
            }
            if len - 1 - d >= d + k {
                self.nodes[len - 1 - d - k].try_compress();
            }
        }
        self.check();
    }

    /// The node holding element `index` and the element's offset in it, walking
    /// node counts from the nearer end (quicklistGetIteratorAtIdx).
    fn locate(&self, index: usize) -> (usize, usize) {
        assert!(index < self.count, "index {index} of {}", self.count);
        if index <= (self.count - 1) / 2 {
            let mut accum = 0;
            for (i, n) in self.nodes.iter().enumerate() {
                if accum + n.count() > index {
                    return (i, index - accum);
                }
                accum += n.count();
            }
        } else {
            let from_tail = self.count - 1 - index;
            let mut accum = 0;
            for (i, n) in self.nodes.iter().enumerate().rev() {
                if accum + n.count() > from_tail {
                    return (i, n.count() - 1 - (from_tail - accum));
                }
                accum += n.count();
            }
        }
        unreachable!("node counts add up to the list's count")
    }

    /// Call `f` on each element from `index` towards the tail (towards the head when
    /// `reverse`) until it returns false or the list ends.
    pub fn walk(&self, index: usize, reverse: bool, mut f: impl FnMut(LpEntry<'_>) -> bool) {
        if index >= self.count {
            return;
        }
        let (mut ni, mut off) = self.locate(index);
        loop {
            let node = &self.nodes[ni];
            if node.is_plain() {
                if !f(LpEntry::Str(&node.plain())) {
                    return;
                }
            } else {
                let lp = node.packed();
                if reverse {
                    for e in lp.iter_range(0, off + 1).rev() {
                        if !f(e) {
                            return;
                        }
                    }
                } else {
                    for e in lp.iter_from(off) {
                        if !f(e) {
                            return;
                        }
                    }
                }
            }
            if reverse {
                if ni == 0 {
                    return;
                }
                ni -= 1;
                off = self.nodes[ni].count() - 1;
            } else {
                ni += 1;
                if ni == self.nodes.len() {
                    return;
                }
                off = 0;
            }
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

    fn insert_node(&mut self, at: usize, node: Node) {
        // Grow the node table by an eighth rather than doubling it: Redis links
        // nodes individually and has no table to leave half empty.
        if self.nodes.len() == self.nodes.capacity() {
            self.nodes.reserve_exact((self.nodes.len() / 8).max(4));
        }
        self.nodes.insert(at, node);
    }

    /// Give back table capacity after nodes went away.
    fn fit_table(&mut self) {
        let len = self.nodes.len();
        if self.nodes.capacity() > 2 * len + 8 {
            self.nodes.shrink_to(len + len / 8);
        }
    }

    /// quicklistPushHead / quicklistPushTail.
    pub fn push(&mut self, value: &[u8], head: bool, threshold: Threshold) {
        let len = self.nodes.len();
        let end = if head { 0 } else { len.wrapping_sub(1) };
        if threshold.is_large(value.len()) {
            let at = if head { 0 } else { len };
            self.insert_node(at, Node::Plain(value.into()));
            self.count += 1;
            let neighbour = if head { 1 } else { len.wrapping_sub(1) };
            self.settle(&[at, neighbour], 1);
            return;
        }
        if allow_insert(self.nodes.get(end), self.fill, value.len(), threshold) {
            let lp = self.nodes[end].packed_mut();
            if head {
                lp.push_front(value);
            } else {
                lp.push_back(value);
            }
            self.count += 1;
        } else {
            let at = if head { 0 } else { len };
            self.insert_node(at, Node::single(value));
            self.count += 1;
            let neighbour = if head { 1 } else { len.wrapping_sub(1) };
            self.settle(&[at, neighbour], 1);
        }
        self.check();
    }

    /// quicklistAppendListpack (RDB loading): a non-empty listpack joins the tail
    /// as a node of its own, never merged.
    pub fn append_listpack_node(&mut self, lp: Listpack) {
        assert!(!lp.is_empty(), "empty nodes are skipped by the loader");
        let at = self.nodes.len();
        self.count += lp.len();
        self.insert_node(at, Node::Packed(lp));
        self.settle(&[at, at.wrapping_sub(1)], 1);
        self.check();
    }

    /// quicklistAppendPlainNode (RDB loading): one element in a PLAIN node.
    pub fn append_plain_node(&mut self, element: Box<[u8]>) {
        let at = self.nodes.len();
        self.count += 1;
        self.insert_node(at, Node::Plain(element));
        self.settle(&[at, at.wrapping_sub(1)], 1);
        self.check();
    }

    /// quicklistPopCustom: the element at the head or tail.
    pub fn pop(&mut self, head: bool) -> Option<Elem> {
        if self.count == 0 {
            return None;
        }
        let ni = if head { 0 } else { self.nodes.len() - 1 };
        let elem = if self.nodes[ni].is_plain() {
            let Node::Plain(b) = self.nodes.remove(ni).expect("end node") else {
                unreachable!("end nodes are never compressed")
            };
            self.count -= 1;
            self.settle(&[], 0);
            self.fit_table();
            Elem::Str(b.into_vec())
        } else {
            let lp = self.nodes[ni].packed_mut();
            let i = if head { 0 } else { lp.len() - 1 };
            let elem = Elem::from_entry(lp.get(i).expect("nodes are never empty"));
            lp.remove_range(i, 1);
            self.count -= 1;
            if lp.is_empty() {
                self.nodes.remove(ni);
                self.settle(&[], 0);
                self.fit_table();
            }
            elem
        };
        self.check();
        Some(elem)
    }

    /// quicklistReplaceAtIndex (quicklistReplaceEntry).
    pub fn replace(&mut self, index: usize, value: &[u8], threshold: Threshold) {
        let (ni, off) = self.locate(index);
        let large = threshold.is_large(value.len());
        if !self.nodes[ni].is_plain() && !large {
            self.nodes[ni].packed_mut().replace(off, value);
            self.settle(&[ni], 0);
        } else if self.nodes[ni].is_plain() {
            if large {
                self.nodes[ni] = Node::Plain(value.into());
                self.settle(&[ni], 0);
            } else {
                // Insert after the plain node (into the next node's head if it has
                // room), then drop the plain node.
                if allow_insert(self.nodes.get(ni + 1), self.fill, value.len(), threshold) {
                    self.nodes[ni + 1].packed_mut().push_front(value);
                } else {
                    self.insert_node(ni + 1, Node::single(value));
                }
                self.nodes.remove(ni);
                self.settle(&[ni], 1);
            }
        } else {
            // A large value in a packed node: the node splits around a new plain node.
            let lp = self.nodes[ni].packed_mut();
            let right = {
                let mut r = lp.clone();
                r.remove_range(0, off + 1);
                r
            };
            lp.remove_range(off, lp.len() - off);
            let mut at = ni;
            if lp.is_empty() {
                self.nodes.remove(ni);
            } else {
                at += 1;
            }
            self.insert_node(at, Node::Plain(value.into()));
            let mut touched = vec![at];
            if !right.is_empty() {
                self.insert_node(at + 1, Node::Packed(right));
                touched.push(at + 1);
            }
            if at > 0 {
                touched.push(at - 1);
            }
            self.settle(&touched, 2);
        }
        self.check();
    }

    /// The first element equal to `value` from the head: its (node, offset).
    fn find(&self, value: &[u8]) -> Option<(usize, usize)> {
        for (ni, node) in self.nodes.iter().enumerate() {
            if node.is_plain() {
                if *node.plain() == *value {
                    return Some((ni, 0));
                }
            } else if let Some(off) = node.packed().iter().position(|e| e.eq_bytes(value)) {
                return Some((ni, off));
            }
        }
        None
    }

    /// LINSERT: put `value` before or after the first element equal to `pivot`;
    /// false if there is none.
    pub fn insert_at_pivot(
        &mut self,
        pivot: &[u8],
        value: &[u8],
        after: bool,
        threshold: Threshold,
    ) -> bool {
        let Some((ni, off)) = self.find(pivot) else {
            return false;
        };
        self.insert_at(ni, off, after, value, threshold);
        true
    }

    /// Split node `ni` around `off` (_quicklistSplitNode): with `after` the node
    /// keeps [0, off] and the new node gets the rest; without, the new node gets
    /// [0, off) and the node keeps the rest.
    fn split(&mut self, ni: usize, off: usize, after: bool) -> Listpack {
        let lp = self.nodes[ni].packed_mut();
        let mut other = lp.clone();
        if after {
            lp.remove_range(off + 1, usize::MAX);
            other.remove_range(0, off + 1);
        } else {
            lp.remove_range(0, off);
            other.remove_range(off, usize::MAX);
        }
        other
    }

    /// _quicklistInsert: `value` before or after element `off` of node `ni`.
    fn insert_at(
        &mut self,
        ni: usize,
        off: usize,
        after: bool,
        value: &[u8],
        threshold: Threshold,
    ) {
        let fill = self.fill;
        let sz = value.len();
        let count = self.nodes[ni].count();
        let full = !allow_insert(self.nodes.get(ni), fill, sz, threshold);
        let at_tail = after && off == count - 1;
        let at_head = !after && off == 0;
        let avail_next = at_tail && allow_insert(self.nodes.get(ni + 1), fill, sz, threshold);
        let avail_prev =
            at_head && ni > 0 && allow_insert(self.nodes.get(ni - 1), fill, sz, threshold);
        self.count += 1;
        if threshold.is_large(sz) {
            let plain = Node::Plain(value.into());
            if self.nodes[ni].is_plain() || at_tail || at_head {
                let at = if after { ni + 1 } else { ni };
                self.insert_node(at, plain);
                let other = if after { ni } else { ni + 1 };
                self.settle(&[at, other], 1);
            } else {
                let part = self.split(ni, off, after);
                let touched = if after {
                    self.insert_node(ni + 1, plain);
                    self.insert_node(ni + 2, Node::Packed(part));
                    [ni, ni + 1, ni + 2]
                } else {
                    self.insert_node(ni, Node::Packed(part));
                    self.insert_node(ni + 1, plain);
                    [ni, ni + 1, ni + 2]
                };
                self.settle(&touched, 2);
            }
            self.check();
            return;
        }
        if !full {
            let at = if after { off + 1 } else { off };
            self.nodes[ni].packed_mut().insert(at, value);
            self.settle(&[ni], 0);
        } else if at_tail && avail_next {
            self.nodes[ni + 1].packed_mut().push_front(value);
            self.settle(&[ni + 1], 0);
        } else if at_head && avail_prev {
            self.nodes[ni - 1].packed_mut().push_back(value);
            self.settle(&[ni - 1], 0);
        } else if at_tail || at_head {
            let at = if after { ni + 1 } else { ni };
            self.insert_node(at, Node::single(value));
            let other = if after { ni } else { ni + 1 };
            self.settle(&[at, other], 1);
        } else {
            let mut part = self.split(ni, off, after);
            let center = if after {
                part.push_front(value);
                self.insert_node(ni + 1, Node::Packed(part));
                ni
            } else {
                part.push_back(value);
                self.insert_node(ni, Node::Packed(part));
                ni + 1
            };
            self.merge_around(center);
            // Merges shift indices: every node that may have changed lies within
            // two places of where the split happened.
            let touched: Vec<usize> = (ni.saturating_sub(2)..ni + 4)
                .filter(|&i| i < self.nodes.len())
                .collect();
            self.settle(&touched, 1);
        }
        self.check();
    }

    /// Merge node `a` with node `a + 1` into one node at `a` (lpMerge).
    fn merge(&mut self, a: usize) {
        let right = self.nodes.remove(a + 1).expect("merge partner");
        let right = right.packed().into_owned();
        self.nodes[a].packed_mut().append(&right);
    }

    /// _quicklistMergeNodes: merge the pairs around `center` that fit together:
    /// (prev_prev, prev), (next, next_next), (prev, center), then (that, next).
    fn merge_around(&mut self, center: usize) {
        let fill = self.fill;
        let mut c = center;
        if c >= 2 && allow_merge(&self.nodes[c - 1], &self.nodes[c - 2], fill) {
            self.merge(c - 2);
            c -= 1;
        }
        if c + 2 < self.nodes.len() && allow_merge(&self.nodes[c + 1], &self.nodes[c + 2], fill) {
            self.merge(c + 1);
        }
        let target = if c >= 1 && allow_merge(&self.nodes[c], &self.nodes[c - 1], fill) {
            self.merge(c - 1);
            c - 1
        } else {
            c
        };
        if target + 1 < self.nodes.len()
            && allow_merge(&self.nodes[target], &self.nodes[target + 1], fill)
        {
            self.merge(target);
        }
    }

    /// quicklistDelRange: delete `count` elements from `start` (negative counts
    /// from the tail), clamped to the list.
    pub fn delete_range(&mut self, start: i64, count: usize) {
        if count == 0 || self.count == 0 {
            return;
        }
        let total = self.count as i64;
        let index = if start >= 0 { start } else { total + start };
        if index < 0 || index >= total {
            return;
        }
        let mut extent = count.min((total - index) as usize);
        let (mut ni, mut off) = self.locate(index as usize);
        let mut touched = Vec::new();
        // A partial first node.
        if off > 0 {
            let lp = self.nodes[ni].packed_mut();
            let del = extent.min(lp.len() - off);
            lp.remove_range(off, del);
            self.count -= del;
            extent -= del;
            touched.push(ni);
            ni += 1;
            off = 0;
        }
        debug_assert_eq!(off, 0);
        // Whole nodes, removed in one drain.
        let mut whole = 0;
        let mut whole_count = 0;
        while ni + whole < self.nodes.len()
            && self.nodes[ni + whole].count() <= extent - whole_count
        {
            whole_count += self.nodes[ni + whole].count();
            whole += 1;
        }
        self.nodes.drain(ni..ni + whole);
        self.fit_table();
        self.count -= whole_count;
        extent -= whole_count;
        // A partial last node.
        if extent > 0 {
            let lp = self.nodes[ni].packed_mut();
            lp.remove_range(0, extent);
            self.count -= extent;
            touched.push(ni);
        }
        self.settle(&touched, 0);
        self.check();
    }

    /// LREM: remove up to `limit` elements equal to `value` (all when 0), scanning
    /// from the tail when `from_tail`. Returns how many went.
    pub fn remove_matching(&mut self, value: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut budget = if limit == 0 { usize::MAX } else { limit };
        let mut changed = vec![false; self.nodes.len()];
        let mut removed = 0;
        let order: Box<dyn Iterator<Item = usize>> = if from_tail {
            Box::new((0..self.nodes.len()).rev())
        } else {
            Box::new(0..self.nodes.len())
        };
        for ni in order {
            if budget == 0 {
                break;
            }
            let node = &mut self.nodes[ni];
            if node.is_plain() {
                if *node.plain() == *value {
                    *node = Node::Packed(Listpack::new());
                    changed[ni] = true;
                    budget -= 1;
                    removed += 1;
                }
                continue;
            }
            // Find the matches this node gives up without touching it first.
            let lp = node.packed();
            let mut hits = 0usize;
            let mut cutoff = 0usize;
            if from_tail {
                for (i, e) in lp.iter().enumerate().rev() {
                    if hits == budget {
                        break;
                    }
                    if e.eq_bytes(value) {
                        hits += 1;
                        cutoff = i;
                    }
                }
            } else {
                for (i, e) in lp.iter().enumerate() {
                    if hits == budget {
                        break;
                    }
                    if e.eq_bytes(value) {
                        hits += 1;
                        cutoff = i;
                    }
                }
            }
            drop(lp);
            if hits == 0 {
                continue;
            }
            let gone = node.packed_mut().retain(|i, e| {
                let in_range = if from_tail { i >= cutoff } else { i <= cutoff };
                !(in_range && e.eq_bytes(value))
            });
            debug_assert_eq!(gone, hits);
            changed[ni] = true;
            budget -= hits;
            removed += hits;
        }
        if removed == 0 {
            return 0;
        }
        self.count -= removed;
        let kept = self.nodes.iter().filter(|n| n.count() > 0).count();
        let old = std::mem::replace(&mut self.nodes, VecDeque::with_capacity(kept));
        let mut touched = Vec::new();
        for (node, was_changed) in old.into_iter().zip(changed) {
            if node.count() == 0 {
                continue;
            }
            if was_changed {
                touched.push(self.nodes.len());
            }
            self.nodes.push_back(node);
        }
        self.settle(&touched, 0);
        self.check();
        removed
    }

    /// DEBUG QUICKLIST's dump (quicklistRepr); `full` adds every node's entries.
    pub fn repr(&self, full: bool) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{{count : {}}}\n{{len : {}}}\n{{fill : {}}}\n{{compress : {}}}\n{{bookmark_count : 0}}\n",
            self.count,
            self.nodes.len(),
            self.fill,
            self.depth
        );
        for (i, node) in self.nodes.iter().enumerate() {
            let _ = write!(
                out,
                "{{quicklist node({i})\n{{container : {}, encoding: {}, size: {}, count: {}, recompress: 0, attempted_compress: 0}}\n",
                if node.is_plain() { "PLAIN" } else { "PACKED" },
                if node.is_compressed() { "LZF" } else { "RAW" },
                node.sz(),
                node.count()
            );
            if full {
                if node.is_plain() {
                    let _ = writeln!(
                        out,
                        "{{ entry : {} }}",
                        String::from_utf8_lossy(&node.plain())
                    );
                } else {
                    out.push_str("{ listpack:\n");
                    out.push_str(&node.packed().repr());
                    out.push_str("}\n");
                }
                out.push_str("}\n");
            }
        }
        out
    }

    /// Per-node (plain, compressed, count, raw bytes), for tests and DEBUG output.
    pub fn node_shapes(&self) -> Vec<(bool, bool, usize, usize)> {
        self.nodes
            .iter()
            .map(|n| (n.is_plain(), n.is_compressed(), n.count(), n.sz()))
            .collect()
    }

    /// The nodes as an RDB file stores them (rdbSaveObject's quicklist loop): a
    /// compressed node goes out as its LZF stream, the others as raw bytes.
    pub fn stored_nodes(&self) -> impl Iterator<Item = StoredNode<'_>> {
        self.nodes.iter().map(|n| match n {
            Node::Packed(lp) => StoredNode::Raw {
                plain: false,
                bytes: lp.as_bytes(),
            },
            Node::Plain(b) => StoredNode::Raw {
                plain: true,
                bytes: b,
            },
            Node::Compressed(c) => StoredNode::Lzf {
                plain: c.plain(),
                lzf: c.lzf(),
                raw_len: c.raw_len(),
            },
        })
    }

    /// Each node's raw bytes (the listpack, or a plain node's element), as an RDB
    /// file stores them.
    pub fn node_bytes(&self) -> Vec<Vec<u8>> {
        self.nodes
            .iter()
            .map(|n| {
                if n.is_plain() {
                    n.plain().into_owned()
                } else {
                    n.packed().as_bytes().to_vec()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Threshold = Threshold(PACKED_THRESHOLD_DEFAULT);

    fn items(ql: &Quicklist) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        ql.walk(0, false, |e| {
            v.push(e.to_vec());
            true
        });
        v
    }

    #[test]
    fn nodes_stay_small() {
        // A node is the listpack's buffer plus 32 bytes, less than Redis's 40-byte
        // quicklistNode (48 with jemalloc's rounding).
        assert!(std::mem::size_of::<Node>() <= 32);
        assert!(std::mem::size_of::<Quicklist>() <= 64);
    }

    #[test]
    fn limits_follow_fill() {
        assert_eq!(node_limit(-1), (4096, COUNT_UNLIMITED));
        assert_eq!(node_limit(-5), (65536, COUNT_UNLIMITED));
        assert_eq!(node_limit(-1000), (65536, COUNT_UNLIMITED));
        assert_eq!(node_limit(0), (usize::MAX, 1));
        assert_eq!(node_limit(128), (usize::MAX, 128));
        assert!(exceeds_limit(-2, 8193, 1));
        assert!(!exceeds_limit(-2, 8192, 100_000));
        assert!(
            exceeds_limit(10, 8193, 2),
            "count limits keep the 8 KiB cap"
        );
        assert!(exceeds_limit(10, 100, 11));
        assert!(!exceeds_limit(10, 100, 10));
        let ql = Quicklist::new(100_000, 1 << 20);
        assert_eq!((ql.fill(), ql.depth()), (FILL_MAX, DEPTH_MAX as usize));
        assert_eq!(Quicklist::new(-9, -1).fill(), FILL_MIN);
    }

    #[test]
    fn pushes_fill_nodes_and_seek_from_either_end() {
        let mut ql = Quicklist::new(3, 0);
        for i in 0..10 {
            ql.push(format!("t{i}").as_bytes(), false, T);
            ql.push(format!("h{i}").as_bytes(), true, T);
        }
        assert_eq!(ql.len(), 20);
        // h0 t0 t1 share the first node; h1..h9 and t2..t9 fill nodes of three.
        assert_eq!(ql.node_count(), 7);
        for i in 0..20 {
            let want = if i < 10 {
                format!("h{}", 9 - i)
            } else {
                format!("t{}", i - 10)
            };
            assert_eq!(ql.get(i), Some(Elem::Str(want.into_bytes())), "index {i}");
        }
        assert_eq!(ql.get(20), None);
        let mut back = Vec::new();
        ql.walk(19, true, |e| {
            back.push(e.to_vec());
            back.len() < 5
        });
        assert_eq!(back, [b"t9", b"t8", b"t7", b"t6", b"t5"]);
        assert_eq!(ql.pop(true), Some(Elem::Str(b"h9".to_vec())));
        ql.push(b"42", false, T);
        assert_eq!(ql.pop(false), Some(Elem::Int(42)));
    }

    #[test]
    fn delete_range_clamps_like_quicklist_del_range() {
        let make = || {
            let mut ql = Quicklist::new(4, 0);
            for i in 0..20 {
                ql.push(i.to_string().as_bytes(), false, T);
            }
            ql
        };
        let ints = |ql: &Quicklist| -> Vec<i64> {
            items(ql)
                .iter()
                .map(|b| std::str::from_utf8(b).unwrap().parse().unwrap())
                .collect()
        };
        let mut ql = make();
        ql.delete_range(2, 7);
        assert_eq!(ints(&ql), [0, 1, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
        let mut ql = make();
        ql.delete_range(-3, 100);
        assert_eq!(ints(&ql).len(), 17);
        assert_eq!(*ints(&ql).last().unwrap(), 16);
        let mut ql = make();
        ql.delete_range(-30, 5);
        assert_eq!(ql.len(), 20, "a start before the head deletes nothing");
        ql.delete_range(20, 5);
        assert_eq!(ql.len(), 20);
        ql.delete_range(0, 20);
        assert!(ql.is_empty());
        assert_eq!(ql.node_count(), 0);
    }

    #[test]
    fn compression_keeps_ends_raw_at_every_depth() {
        for depth in 1..4 {
            let mut ql = Quicklist::new(2, depth);
            for i in 0..40 {
                ql.push(
                    format!("value-{i:03}-{}", "x".repeat(40)).as_bytes(),
                    i % 2 == 0,
                    T,
                );
            }
            let shapes = ql.node_shapes();
            let d = depth as usize;
            for (i, s) in shapes.iter().enumerate() {
                let interior = i >= d && i + d < shapes.len();
                assert_eq!(s.1, interior, "depth {depth} node {i}: {shapes:?}");
            }
            let before = items(&ql);
            // Popping moves compressed nodes to the ends: they come back raw.
            while ql.len() > 2 {
                ql.pop(true);
                ql.pop(false);
                let shapes = ql.node_shapes();
                assert!(!shapes[0].1 && !shapes[shapes.len() - 1].1);
                if shapes.len() <= 2 * d {
                    assert!(shapes.iter().all(|s| !s.1));
                }
            }
            assert_eq!(items(&ql), before[19..21].to_vec());
        }
    }

    #[test]
    fn replace_and_insert_through_compressed_nodes() {
        let mut ql = Quicklist::new(3, 1);
        for i in 0..30 {
            ql.push(
                format!("element-{i:02}-padding-padding").as_bytes(),
                false,
                T,
            );
        }
        assert!(ql.node_shapes()[3].1);
        ql.replace(10, b"replaced", T);
        assert!(ql.insert_at_pivot(b"element-20-padding-padding", b"inserted", true, T));
        assert!(!ql.insert_at_pivot(b"absent", b"x", true, T));
        let all = items(&ql);
        assert_eq!(all[10], b"replaced");
        assert_eq!(all[21], b"inserted");
        assert_eq!(all.len(), 31);
        assert_eq!(ql.remove_matching(b"replaced", 0, false), 1);
        assert_eq!(ql.len(), 30);
        let shapes = ql.node_shapes();
        // Interior nodes compress unless too small to bother (the "inserted" node).
        assert!(shapes[1..shapes.len() - 1]
            .iter()
            .all(|s| s.1 || s.3 < MIN_COMPRESS_BYTES));
        // A plain node for a large element, both when pushing and replacing.
        let big = vec![b'z'; 64];
        ql.replace(15, &big, Threshold(64));
        ql.push(&big, true, Threshold(64));
        assert_eq!(ql.get(0), Some(Elem::Str(big.clone())));
        assert_eq!(ql.get(16), Some(Elem::Str(big.clone())));
        assert_eq!(ql.node_shapes().iter().filter(|s| s.0).count(), 2);
        assert_eq!(ql.remove_matching(&big, 0, true), 2);
        assert_eq!(ql.node_shapes().iter().filter(|s| s.0).count(), 0);
        let copy = ql.clone();
        assert_eq!(items(&copy), items(&ql));
        assert!(ql.repr(true).contains("encoding: LZF"));
    }
}
