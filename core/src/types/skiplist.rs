//! The big sorted-set encoding (Redis's `zset`: a `zskiplist` ordered by score then
//! member, plus a dict from member to score), re-created for memory.
//!
//! Redis keeps one allocation per skiplist node (score, member pointer, backward
//! pointer, 16 bytes per level), one sds per member and one dict entry per member.
//! Here every node lives in a chunked arena and is named by a `u32` index:
//!
//! * a node holds its score, its member bytes (the only copy), its backward link, its
//!   level-0 link and span inline; levels 1.. of the rarer taller nodes (a quarter of
//!   them, p = 0.25 per level as Redis's ZSKIPLIST_P) live in per-height slabs;
//! * every link also carries what a search needs of the node it leads to: its score,
//!   height and slab block. A search compares against the link in hand and steps to
//!   the next node's levels directly, one cache miss per step as in Redis's inline
//!   levels, where reading the node, then its block, cost two (ZADD -P16 into a big
//!   set spent two thirds of its time there);
//! * the member index is a chained hash table whose buckets hold node indices and
//!   whose chains run through the nodes themselves (`chain`), so a member costs no
//!   dict entry and is never stored twice. It rehashes incrementally and scans with
//!   Redis's reverse-binary cursor, exactly like `dict.rs`, so ZSCAN keeps SCAN's
//!   guarantees;
//! * the arena is dense: deleting a node moves the last node into its slot, so memory
//!   shrinks with the set. A move re-finds the moved node's predecessors with one
//!   O(log n) search; bulk deletions compact in one O(n) pass when that is cheaper.
//!
//! Everything is safe code; indices are checked by the slices they index.

use crate::dict::KeyBytes;
use crate::rng::CoreRng;
use std::hash::BuildHasher;

/// Redis's ZSKIPLIST_MAXLEVEL.
pub const MAX_LEVEL: usize = 32;
/// The most members a skiplist can hold: node indices must stay below `HEAD`.
pub const MAX_LEN: usize = (u32::MAX - 2) as usize;
/// "No node": the end of a level, of a chain, or the backward link of the first node.
const NIL: u32 = u32::MAX;
/// The header pseudo-node, whose levels live in `SkipList::head`.
const HEAD: u32 = u32::MAX - 1;
const CHUNK_BITS: u32 = 10;
/// Nodes per arena chunk: growth copies at most one chunk, never the whole arena.
const CHUNK_LEN: usize = 1 << CHUNK_BITS;
const INITIAL_BUCKETS: usize = 4;
/// Below this fill percentage the member index shrinks (Redis's HASHTABLE_MIN_FILL).
const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets one rehash step may visit per bucket it is asked to move.
const EMPTY_VISITS_PER_STEP: usize = 10;
/// A bulk deletion compacts by moving nodes one at a time while that costs less than
/// rebuilding every link: a move is one search, about this many node visits.
const MOVE_COST_NODES: usize = 32;
/// Nodes a move may walk back over to find its predecessors before it searches from
/// the head instead (see `own_level_predecessors`).
const BACKWARD_WALK_STEPS: usize = 64;

/// One level of a node: the next node at this level and how many level-0 steps away
/// it is (for the last node of a level: how many nodes follow it), with copies of
/// that next node's score, height and slab block (invariant: always equal to the
/// node's own, checked by `check`), so a search need not read the node to compare or
/// to find its levels.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Level {
    forward: u32,
    span: u32,
    next_score: f64,
    next_block: u32,
    next_height: u8,
}

const END: Level = Level {
    forward: NIL,
    span: 0,
    next_score: 0.0,
    next_block: 0,
    next_height: 0,
};

/// Where a search stands: a node (or HEAD) and where its levels above 0 live.
#[derive(Clone, Copy)]
struct At {
    x: u32,
    height: u8,
    block: u32,
}

const AT_HEAD: At = At {
    x: HEAD,
    height: 0,
    block: 0,
};

#[derive(Clone, Debug)]
struct Node {
    score: f64,
    /// Inline when short, as dict keys are: the member index's compare and a
    /// search's tie-break then read the node alone.
    member: KeyBytes,
    backward: u32,
    /// Next node in the same member-index bucket.
    chain: u32,
    level0: Level,
    /// Block index in `uppers[height - 2]` holding levels 1..height (height >= 2).
    upper: u32,
    /// Number of levels; 0 marks a slot whose node was deleted in a bulk removal and
    /// not yet compacted away.
    height: u8,
}

/// The levels above 0 of every node of one height, `height - 1` per block, with the
/// node owning each block so a block can be moved when another is freed.
#[derive(Clone, Debug, Default)]
struct Slab {
    levels: Vec<Level>,
    owners: Vec<u32>,
}

#[derive(Clone, Debug)]
struct Table {
    heads: Vec<u32>,
    used: usize,
}

impl Table {
    fn empty() -> Table {
        Table {
            heads: Vec::new(),
            used: 0,
        }
    }

    fn with_size(size: usize) -> Table {
        debug_assert!(size.is_power_of_two());
        Table {
            heads: vec![NIL; size],
            used: 0,
        }
    }

    fn mask(&self) -> usize {
        self.heads.len().wrapping_sub(1)
    }
}

#[derive(Clone, Debug)]
pub struct SkipList {
    chunks: Vec<Vec<Node>>,
    /// Arena slots in use (live nodes plus, during a bulk removal, dead ones).
    slots: usize,
    /// Nodes linked in the skiplist (Redis's zsl->length).
    length: usize,
    uppers: Vec<Slab>,
    head: [Level; MAX_LEVEL],
    tail: u32,
    /// Levels in use (Redis's zsl->level), at least 1.
    level: usize,
    tables: [Table; 2],
    /// Next bucket of `tables[0]` to move into `tables[1]`; None when not rehashing.
    rehash_idx: Option<usize>,
    hasher: foldhash::fast::FixedState,
}

/// The predecessors of a position at every level, and their ranks.
struct Path {
    update: [u32; MAX_LEVEL],
    rank: [u32; MAX_LEVEL],
}

impl SkipList {
    /// An empty skiplist whose member index hashes with `seed` (from the core RNG).
    pub fn new(seed: u64) -> SkipList {
        SkipList {
            chunks: Vec::new(),
            slots: 0,
            length: 0,
            uppers: Vec::new(),
            head: [END; MAX_LEVEL],
            tail: NIL,
            level: 1,
            tables: [Table::empty(), Table::empty()],
            rehash_idx: None,
            hasher: foldhash::fast::FixedState::with_seed(seed),
        }
    }

    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    // ----- arena -------------------------------------------------------------------

    fn node(&self, x: u32) -> &Node {
        &self.chunks[(x >> CHUNK_BITS) as usize][x as usize & (CHUNK_LEN - 1)]
    }

    fn node_mut(&mut self, x: u32) -> &mut Node {
        &mut self.chunks[(x >> CHUNK_BITS) as usize][x as usize & (CHUNK_LEN - 1)]
    }

    /// Put a node in the next free slot; returns its index.
    fn push_node(&mut self, node: Node) -> u32 {
        assert!(self.slots < MAX_LEN, "sorted set too large for u32 indices");
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK_LEN) {
            self.chunks.push(Vec::with_capacity(4));
        }
        let chunk = self.chunks.last_mut().expect("a chunk with room exists");
        if chunk.len() == chunk.capacity() {
            // Grow by half, exactly: at most a third of one chunk is ever slack.
            let extra = (chunk.len() / 2).max(4).min(CHUNK_LEN - chunk.len());
            chunk.reserve_exact(extra);
        }
        chunk.push(node);
        self.slots += 1;
        (self.slots - 1) as u32
    }

    /// Drop the node in the last slot (already unlinked everywhere or dead).
    fn pop_node(&mut self) -> Node {
        let chunk = self.chunks.last_mut().expect("a node to pop");
        let node = chunk.pop().expect("chunks are never left empty");
        if chunk.is_empty() {
            self.chunks.pop();
        } else if chunk.len() < chunk.capacity() / 4 {
            chunk.shrink_to(chunk.len() * 2);
        }
        self.slots -= 1;
        node
    }

    fn level(&self, x: u32, i: usize) -> Level {
        if x == HEAD {
            return self.head[i];
        }
        let n = self.node(x);
        debug_assert!(
            i < n.height as usize,
            "level {i} of a node of height {}",
            n.height
        );
        if i == 0 {
            n.level0
        } else {
            let h = n.height as usize;
            self.uppers[h - 2].levels[n.upper as usize * (h - 1) + i - 1]
        }
    }

    fn level_mut(&mut self, x: u32, i: usize) -> &mut Level {
        if x == HEAD {
            return &mut self.head[i];
        }
        let (h, upper) = {
            let n = self.node(x);
            debug_assert!(i < n.height as usize);
            (n.height as usize, n.upper as usize)
        };
        if i == 0 {
            &mut self.node_mut(x).level0
        } else {
            &mut self.uppers[h - 2].levels[upper * (h - 1) + i - 1]
        }
    }

    fn forward(&self, x: u32, i: usize) -> u32 {
        self.level(x, i).forward
    }

    /// Level `i` of the node a search stands at, without reading the node for i >= 1.
    #[inline]
    fn level_at(&self, at: At, i: usize) -> Level {
        if at.x == HEAD {
            self.head[i]
        } else if i == 0 {
            self.node(at.x).level0
        } else {
            let h = at.height as usize;
            debug_assert!(i < h);
            self.uppers[h - 2].levels[at.block as usize * (h - 1) + i - 1]
        }
    }

    /// A link to node `to` (or NIL) spanning `span`, with `to`'s search fields.
    fn link_to(&self, to: u32, span: u32) -> Level {
        if to == NIL {
            return Level { span, ..END };
        }
        let n = self.node(to);
        Level {
            forward: to,
            span,
            next_score: n.score,
            next_block: n.upper,
            next_height: n.height,
        }
    }

    /// Where a search goes when it follows link `l`.
    #[inline]
    fn follow(l: &Level) -> At {
        At {
            x: l.forward,
            height: l.next_height,
            block: l.next_block,
        }
    }

    /// Give node `x` (height 0 or 1, no block) `h` levels, all unlinked.
    fn set_height(&mut self, x: u32, h: usize) {
        debug_assert!((1..=MAX_LEVEL).contains(&h));
        debug_assert!(self.node(x).height <= 1);
        if h >= 2 {
            while self.uppers.len() < h - 1 {
                self.uppers.push(Slab::default());
            }
            let slab = &mut self.uppers[h - 2];
            let block = slab.owners.len() as u32;
            slab.levels.extend(std::iter::repeat_n(END, h - 1));
            slab.owners.push(x);
            self.node_mut(x).upper = block;
        }
        let n = self.node_mut(x);
        n.height = h as u8;
        n.level0 = END;
    }

    /// Release the upper-level block of `x`, moving the slab's last block into its
    /// place; `x` keeps only level 0.
    fn free_upper(&mut self, x: u32) {
        let (h, block) = {
            let n = self.node(x);
            (n.height as usize, n.upper as usize)
        };
        if h < 2 {
            return;
        }
        let per = h - 1;
        let last = self.uppers[h - 2].owners.len() - 1;
        let moved_owner = self.uppers[h - 2].owners[last];
        // The links into the block's new owner carry its block: found before the
        // move, while every link is still exact.
        let moved_preds = (block != last).then(|| self.own_level_predecessors(moved_owner));
        let slab = &mut self.uppers[h - 2];
        debug_assert_eq!(slab.owners[block], x);
        if block != last {
            slab.levels
                .copy_within(last * per..(last + 1) * per, block * per);
            slab.owners[block] = moved_owner;
        }
        slab.levels.truncate(last * per);
        slab.owners.pop();
        if slab.owners.len() < slab.owners.capacity() / 4 {
            slab.owners.shrink_to(slab.owners.len() * 2);
            slab.levels.shrink_to(slab.levels.len() * 2);
        }
        if let Some(preds) = moved_preds {
            self.node_mut(moved_owner).upper = block as u32;
            for (i, &u) in preds.iter().enumerate().take(h) {
                let l = self.level_mut(u, i);
                debug_assert_eq!(l.forward, moved_owner);
                l.next_block = block as u32;
            }
        }
        self.node_mut(x).height = 1;
    }

    // ----- ordering and search -----------------------------------------------------

    /// The last node before (score, member) at every level, with ranks.
    fn path_to(&self, score: f64, member: &[u8]) -> Path {
        let mut path = Path {
            update: [HEAD; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        };
        let mut at = AT_HEAD;
        for i in (0..self.level).rev() {
            path.rank[i] = if i == self.level - 1 {
                0
            } else {
                path.rank[i + 1]
            };
            loop {
                let l = self.level_at(at, i);
                if l.forward == NIL || !self.link_before(&l, score, member) {
                    break;
                }
                path.rank[i] += l.span;
                at = Self::follow(&l);
            }
            path.update[i] = at.x;
        }
        path
    }

    /// Does the node link `l` leads to sort before (score, member)? Reads the node
    /// only on a score tie.
    #[inline]
    fn link_before(&self, l: &Level, score: f64, member: &[u8]) -> bool {
        debug_assert_eq!(l.next_score.to_bits(), self.node(l.forward).score.to_bits());
        l.next_score < score || (l.next_score == score && *self.node(l.forward).member < *member)
    }

    /// Path to the first node for which `past_start` is false, scanning while it holds
    /// (Redis's "go forward while *OUT* of range" loops).
    fn path_while(&self, past_start: impl Fn(&Node) -> bool) -> Path {
        let mut path = Path {
            update: [HEAD; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        };
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            path.rank[i] = if i == self.level - 1 {
                0
            } else {
                path.rank[i + 1]
            };
            loop {
                let l = self.level(x, i);
                if l.forward == NIL || !past_start(self.node(l.forward)) {
                    break;
                }
                path.rank[i] += l.span;
                x = l.forward;
            }
            path.update[i] = x;
        }
        path
    }

    /// Redis's zslRandomLevel from one draw of the core RNG: each further level with
    /// probability 1/4, two random bits per level.
    fn random_height(rng: &mut CoreRng) -> usize {
        let mut bits = rng.next_u64();
        let mut h = 1;
        while h < MAX_LEVEL && bits & 3 == 0 {
            h += 1;
            bits >>= 2;
        }
        h
    }

    /// Link node `x` (in the arena, not linked, no levels) at its sorted position.
    fn link(&mut self, x: u32, rng: &mut CoreRng) {
        let (score, member_path) = {
            let n = self.node(x);
            (n.score, self.path_to(n.score, &n.member))
        };
        debug_assert!(!score.is_nan(), "NaN scores never enter a sorted set");
        let mut path = member_path;
        let h = Self::random_height(rng);
        self.set_height(x, h);
        if h > self.level {
            for i in self.level..h {
                path.rank[i] = 0;
                path.update[i] = HEAD;
                self.head[i].span = self.length as u32;
            }
            self.level = h;
        }
        for i in 0..h {
            let u = self.level(path.update[i], i);
            let crossed = path.rank[0] - path.rank[i];
            *self.level_mut(x, i) = Level {
                span: u.span - crossed,
                ..u
            };
            let to_x = self.link_to(x, crossed + 1);
            *self.level_mut(path.update[i], i) = to_x;
        }
        for i in h..self.level {
            self.level_mut(path.update[i], i).span += 1;
        }
        let back = if path.update[0] == HEAD {
            NIL
        } else {
            path.update[0]
        };
        self.node_mut(x).backward = back;
        let next = self.node(x).level0.forward;
        if next == NIL {
            self.tail = x;
        } else {
            self.node_mut(next).backward = x;
        }
        self.length += 1;
    }

    /// Redis's zslDeleteNode: take `x` out of every level given its predecessors.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        let h = self.node(x).height as usize;
        for (i, &u) in update.iter().enumerate().take(self.level) {
            if i < h && self.forward(u, i) == x {
                let xl = self.level(x, i);
                let ul = self.level_mut(u, i);
                *ul = Level {
                    span: ul.span + xl.span - 1,
                    ..xl
                };
            } else {
                self.level_mut(u, i).span -= 1;
            }
        }
        let (next, back) = {
            let n = self.node(x);
            (n.level0.forward, n.backward)
        };
        if next == NIL {
            self.tail = back;
        } else {
            self.node_mut(next).backward = back;
        }
        while self.level > 1 && self.head[self.level - 1].forward == NIL {
            self.level -= 1;
        }
        self.length -= 1;
        self.free_upper(x);
    }

    // ----- member index ------------------------------------------------------------

    fn hash(&self, member: &[u8]) -> usize {
        self.hasher.hash_one(member) as usize
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        if self.length == 0 {
            return None;
        }
        let h = self.hash(member);
        for t in 0..2 {
            let table = &self.tables[t];
            if !table.heads.is_empty() {
                let mut x = table.heads[h & table.mask()];
                while x != NIL {
                    let n = self.node(x);
                    if *n.member == *member {
                        return Some(x);
                    }
                    x = n.chain;
                }
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Warm the cache for member lookups about to happen (`Dict::prefetch`'s method
    /// on the member index): all buckets first, then the chains one node per round.
    /// Changes nothing.
    pub fn prefetch(&self, members: &[&[u8]]) {
        const BATCH_MAX: usize = 32;
        const CHAIN_ROUNDS: usize = 3;
        let members = &members[..members.len().min(BATCH_MAX)];
        let table = &self.tables[usize::from(self.tables[0].heads.is_empty())];
        if table.heads.is_empty() {
            return;
        }
        let mut cursors = [NIL; BATCH_MAX];
        for (cursor, member) in cursors.iter_mut().zip(members) {
            *cursor = table.heads[self.hash(member) & table.mask()];
        }
        let mut warm = 0usize;
        let mut found = [NIL; BATCH_MAX];
        for _ in 0..CHAIN_ROUNDS {
            for ((cursor, hit), member) in cursors.iter_mut().zip(&mut found).zip(members) {
                if *cursor != NIL {
                    let n = self.node(*cursor);
                    if *n.member == **member {
                        *hit = *cursor;
                        *cursor = NIL;
                    } else {
                        *cursor = n.chain;
                    }
                }
            }
        }
        // A score update first looks at the neighbours, to stay in place if it can.
        for &x in found.iter().filter(|&&x| x != NIL) {
            let n = self.node(x);
            for neighbour in [n.backward, n.level0.forward] {
                if neighbour != NIL {
                    warm += self.node(neighbour).height as usize;
                }
            }
        }
        std::hint::black_box(warm);
    }

    fn index_insert(&mut self, x: u32) {
        self.rehash_step();
        if self.rehash_idx.is_none() {
            if self.tables[0].heads.is_empty() {
                self.tables[0] = Table::with_size(INITIAL_BUCKETS);
            } else if self.tables[0].used >= self.tables[0].heads.len() {
                self.start_resize(self.tables[0].used + 1);
            }
        }
        let h = self.hash(&self.node(x).member);
        let t = usize::from(self.rehash_idx.is_some());
        let bucket = h & self.tables[t].mask();
        let old = self.tables[t].heads[bucket];
        self.node_mut(x).chain = old;
        self.tables[t].heads[bucket] = x;
        self.tables[t].used += 1;
    }

    /// Replace the index's reference to node `from` by `to` (or drop it when `to` is
    /// NIL), wherever `from` sits in its bucket's chain.
    fn index_relink(&mut self, from: u32, to: u32) {
        let h = self.hash(&self.node(from).member);
        let next = self.node(from).chain;
        for t in 0..2 {
            if self.tables[t].heads.is_empty() {
                continue;
            }
            let bucket = h & self.tables[t].mask();
            let mut prev = NIL;
            let mut x = self.tables[t].heads[bucket];
            while x != NIL && x != from {
                prev = x;
                x = self.node(x).chain;
            }
            if x == from {
                let replacement = if to == NIL { next } else { to };
                if prev == NIL {
                    self.tables[t].heads[bucket] = replacement;
                } else {
                    self.node_mut(prev).chain = replacement;
                }
                if to == NIL {
                    self.tables[t].used -= 1;
                }
                return;
            }
        }
        unreachable!("node {from} is not in the member index");
    }

    fn index_remove(&mut self, x: u32) {
        self.rehash_step();
        self.index_relink(x, NIL);
    }

    /// Redis resizes a sorted set's dict after deletions (htNeedsResize/dictResize).
    fn shrink_index_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let size = self.tables[0].heads.len();
        let used = self.tables[0].used;
        if size > INITIAL_BUCKETS && used * 100 / size < MIN_FILL_PERCENT {
            self.start_resize(used);
        }
    }

    fn start_resize(&mut self, min_size: usize) {
        let size = min_size.max(INITIAL_BUCKETS).next_power_of_two();
        if size == self.tables[0].heads.len() {
            return;
        }
        assert!(self.rehash_idx.is_none(), "resize while rehashing");
        self.tables[1] = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn rehash_step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    /// Move up to `n` buckets into the new table; true while there is more to move.
    fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = n * EMPTY_VISITS_PER_STEP;
        let mut moved = 0;
        while moved < n && self.tables[0].used != 0 {
            assert!(
                idx < self.tables[0].heads.len(),
                "rehash index past the table"
            );
            while self.tables[0].heads[idx] == NIL {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut x = std::mem::replace(&mut self.tables[0].heads[idx], NIL);
            let mask = self.tables[1].mask();
            while x != NIL {
                let next = self.node(x).chain;
                let bucket = self.hash(&self.node(x).member) & mask;
                let old = self.tables[1].heads[bucket];
                self.node_mut(x).chain = old;
                self.tables[1].heads[bucket] = x;
                self.tables[0].used -= 1;
                self.tables[1].used += 1;
                x = next;
            }
            idx += 1;
            moved += 1;
        }
        if self.tables[0].used == 0 {
            self.tables[0] = std::mem::replace(&mut self.tables[1], Table::empty());
            self.rehash_idx = None;
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    // ----- freeing slots -----------------------------------------------------------

    /// Move the live node at `from` into the dead slot `to`, fixing every reference.
    fn relocate(&mut self, from: u32, to: u32) {
        debug_assert!(self.node(from).height > 0 && self.node(to).height == 0);
        let (h, upper, next) = {
            let n = self.node(from);
            (n.height as usize, n.upper, n.level0.forward)
        };
        let preds = self.own_level_predecessors(from);
        for (i, &u) in preds.iter().enumerate().take(h) {
            debug_assert_eq!(self.forward(u, i), from);
            self.level_mut(u, i).forward = to;
        }
        if next == NIL {
            self.tail = to;
        } else {
            self.node_mut(next).backward = to;
        }
        self.index_relink(from, to);
        if h >= 2 {
            self.uppers[h - 2].owners[upper as usize] = to;
        }
        let node = std::mem::replace(self.node_mut(from), dead_node());
        *self.node_mut(to) = node;
    }

    /// The predecessors of linked node `x` at its own levels (others are left HEAD).
    /// The one at level i is the nearest earlier node taller than i, so a walk back
    /// along level 0 finds them: for the three nodes in four that have one level it is
    /// just the backward link. A tall node whose walk gets long is searched for from
    /// the head instead.
    fn own_level_predecessors(&self, x: u32) -> [u32; MAX_LEVEL] {
        let h = self.node(x).height as usize;
        let mut preds = [HEAD; MAX_LEVEL];
        let mut cand = self.node(x).backward;
        let mut steps = 0;
        'levels: for (i, pred) in preds.iter_mut().enumerate().take(h) {
            loop {
                if cand == NIL {
                    // Nothing taller before x: the header is the predecessor from here up.
                    break 'levels;
                }
                if self.node(cand).height as usize > i {
                    *pred = cand;
                    break;
                }
                cand = self.node(cand).backward;
                steps += 1;
                if steps > BACKWARD_WALK_STEPS {
                    let n = self.node(x);
                    return self.path_to(n.score, &n.member).update;
                }
            }
        }
        preds
    }

    /// Mark `x` (unlinked everywhere) dead and free its member bytes.
    fn kill(&mut self, x: u32) -> (KeyBytes, f64) {
        let n = std::mem::replace(self.node_mut(x), dead_node());
        (n.member, n.score)
    }

    /// Remove dead slots, keeping the arena dense: `dead` lists them, in any order.
    fn compact(&mut self, dead: &mut [u32]) {
        let k = dead.len();
        if k == 0 {
            return;
        }
        let target = self.slots - k;
        let movers = dead.iter().filter(|&&d| (d as usize) < target).count();
        if movers.saturating_mul(MOVE_COST_NODES) < self.slots {
            dead.sort_unstable();
            let holes = dead.iter().copied().filter(|&d| (d as usize) < target);
            let mut from = self.slots as u32;
            for hole in holes {
                // The next live node above the target size fills the lowest hole.
                loop {
                    from -= 1;
                    if self.node(from).height != 0 {
                        break;
                    }
                }
                self.relocate(from, hole);
            }
            while self.slots > target {
                let n = self.pop_node();
                debug_assert_eq!(n.height, 0);
            }
        } else {
            self.rebuild_dense();
        }
        debug_assert_eq!(self.slots, self.length);
    }

    /// Renumber the live nodes 0..length in arena order and rewrite every link, in one
    /// pass over the arena.
    fn rebuild_dense(&mut self) {
        let mut remap = vec![NIL; self.slots];
        let mut next_id = 0u32;
        for (i, slot) in remap.iter_mut().enumerate() {
            if self.node(i as u32).height != 0 {
                *slot = next_id;
                next_id += 1;
            }
        }
        let map = |x: u32| {
            if x == NIL || x == HEAD {
                x
            } else {
                remap[x as usize]
            }
        };
        for l in self.head.iter_mut().take(self.level) {
            l.forward = map(l.forward);
        }
        self.tail = map(self.tail);
        for t in &mut self.tables {
            for head in &mut t.heads {
                *head = map(*head);
            }
        }
        for slab in &mut self.uppers {
            for l in &mut slab.levels {
                l.forward = map(l.forward);
            }
            for o in &mut slab.owners {
                *o = map(*o);
            }
        }
        for chunk in &mut self.chunks {
            for n in chunk.iter_mut().filter(|n| n.height != 0) {
                n.level0.forward = map(n.level0.forward);
                n.backward = map(n.backward);
                n.chain = map(n.chain);
            }
        }
        // Slide live nodes down into their new slots (new index <= old index).
        for (old, &new) in remap.iter().enumerate() {
            if new != NIL && new as usize != old {
                let node = std::mem::replace(self.node_mut(old as u32), dead_node());
                *self.node_mut(new) = node;
            }
        }
        while self.slots > next_id as usize {
            self.pop_node();
        }
    }

    // ----- public operations -------------------------------------------------------

    /// The score of `member`.
    pub fn score_of(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|x| self.node(x).score)
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }

    /// Add a member that is not present (asserted in debug builds).
    pub fn insert(&mut self, score: f64, member: &[u8], rng: &mut CoreRng) {
        debug_assert!(self.find(member).is_none(), "insert of a present member");
        assert!(!score.is_nan(), "NaN score");
        let x = self.push_node(Node {
            score,
            member: member.into(),
            backward: NIL,
            chain: NIL,
            level0: END,
            upper: 0,
            height: 0,
        });
        self.link(x, rng);
        self.index_insert(x);
        debug_assert_eq!(self.slots, self.length);
    }

    /// Change the score of a present member (Redis's zslUpdateScore: in place when the
    /// node keeps its position, otherwise unlinked and linked again).
    pub fn set_score(&mut self, member: &[u8], score: f64, rng: &mut CoreRng) {
        assert!(!score.is_nan(), "NaN score");
        let x = self.find(member).expect("set_score of a present member");
        let (back, next) = {
            let n = self.node(x);
            (n.backward, n.level0.forward)
        };
        if (back == NIL || self.node(back).score < score)
            && (next == NIL || self.node(next).score > score)
        {
            let preds = self.own_level_predecessors(x);
            let h = self.node(x).height as usize;
            self.node_mut(x).score = score;
            for (i, &u) in preds.iter().enumerate().take(h) {
                self.level_mut(u, i).next_score = score;
            }
            return;
        }
        let path = {
            let n = self.node(x);
            self.path_to(n.score, &n.member)
        };
        self.unlink(x, &path.update);
        self.node_mut(x).score = score;
        self.node_mut(x).height = 0;
        self.link(x, rng);
    }

    /// Remove `member`; its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let x = self.find(member)?;
        let path = {
            let n = self.node(x);
            self.path_to(n.score, &n.member)
        };
        debug_assert_eq!(self.forward(path.update[0], 0), x);
        self.index_remove(x);
        self.unlink(x, &path.update);
        let (_, score) = self.kill(x);
        self.compact(&mut [x]);
        self.shrink_index_if_needed();
        Some(score)
    }

    /// Remove and return the first (lowest) or last (highest) member.
    pub fn pop(&mut self, last: bool) -> Option<(Box<[u8]>, f64)> {
        let x = if last {
            self.tail
        } else {
            self.head[0].forward
        };
        if x == NIL {
            return None;
        }
        let update = if last {
            let n = self.node(x);
            self.path_to(n.score, &n.member).update
        } else {
            [HEAD; MAX_LEVEL]
        };
        self.index_remove(x);
        self.unlink(x, &update);
        let (member, score) = self.kill(x);
        self.compact(&mut [x]);
        self.shrink_index_if_needed();
        Some((member.into_boxed(), score))
    }

    /// 0-based rank of `member` from the lowest score (Redis's zslGetRank - 1).
    pub fn rank_of(&self, member: &[u8]) -> Option<usize> {
        let target = self.find(member)?;
        let (score, m) = {
            let n = self.node(target);
            (n.score, &n.member)
        };
        let mut at = AT_HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.level_at(at, i);
                if l.forward == NIL {
                    break;
                }
                if l.next_score < score
                    || (l.next_score == score && *self.node(l.forward).member <= **m)
                {
                    rank += l.span as usize;
                    at = Self::follow(&l);
                } else {
                    break;
                }
            }
            if at.x == target {
                return Some(rank - 1);
            }
        }
        unreachable!("a member in the index is in the skiplist")
    }

    /// The node at 0-based `rank` (Redis's zslGetElementByRank).
    pub fn by_rank(&self, rank: usize) -> Option<Cursor> {
        if rank >= self.length {
            return None;
        }
        let want = rank + 1;
        let mut at = AT_HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.level_at(at, i);
                if l.forward == NIL || traversed + l.span as usize > want {
                    break;
                }
                traversed += l.span as usize;
                at = Self::follow(&l);
            }
            if traversed == want {
                return Some(Cursor(at.x));
            }
        }
        unreachable!("rank {rank} is below the length {}", self.length)
    }

    /// The first node with `!before_start(node)`, if `in_range` holds for it (Redis's
    /// zslFirstInRange / zslFirstInLexRange after their early emptiness checks).
    pub fn first_where(
        &self,
        before_start: impl Fn(f64, &[u8]) -> bool,
        in_range: impl Fn(f64, &[u8]) -> bool,
    ) -> Option<Cursor> {
        let path = self.path_while(|n| before_start(n.score, &n.member));
        let x = self.forward(path.update[0], 0);
        (x != NIL && in_range(self.node(x).score, &self.node(x).member)).then_some(Cursor(x))
    }

    /// The last node for which `not_past_end` holds, if `in_range` holds for it
    /// (zslLastInRange / zslLastInLexRange).
    pub fn last_where(
        &self,
        not_past_end: impl Fn(f64, &[u8]) -> bool,
        in_range: impl Fn(f64, &[u8]) -> bool,
    ) -> Option<Cursor> {
        let path = self.path_while(|n| not_past_end(n.score, &n.member));
        let x = path.update[0];
        (x != HEAD && in_range(self.node(x).score, &self.node(x).member)).then_some(Cursor(x))
    }

    /// 0-based rank of the node under a cursor.
    pub fn rank_at(&self, c: Cursor) -> usize {
        self.rank_of(&self.node(c.0).member)
            .expect("a cursor names a live node")
    }

    /// Remove the members at 0-based ranks `start..=end` (clamped by the caller);
    /// returns how many were removed.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        debug_assert!(start <= end && end < self.length);
        let path = self.path_while_rank(start);
        let count = end - start + 1;
        let mut taken = 0;
        self.remove_run(&path, |_| {
            taken += 1;
            taken <= count
        })
    }

    /// Remove the run of members starting at the first with `!before_start` and
    /// continuing while `in_range` holds; returns how many were removed.
    pub fn remove_where(
        &mut self,
        before_start: impl Fn(f64, &[u8]) -> bool,
        in_range: impl Fn(f64, &[u8]) -> bool,
    ) -> usize {
        let path = self.path_while(|n| before_start(n.score, &n.member));
        self.remove_run(&path, |n| in_range(n.score, &n.member))
    }

    fn path_while_rank(&self, start: usize) -> Path {
        // Nodes ranked (1-based) below start + 1 are passed.
        let mut path = Path {
            update: [HEAD; MAX_LEVEL],
            rank: [0; MAX_LEVEL],
        };
        let mut at = AT_HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let l = self.level_at(at, i);
                if l.forward == NIL || traversed + l.span as usize > start {
                    break;
                }
                traversed += l.span as usize;
                at = Self::follow(&l);
            }
            path.update[i] = at.x;
            path.rank[i] = traversed as u32;
        }
        path
    }

    /// Unlink consecutive nodes after `path` while `keep` says so, then compact.
    fn remove_run(&mut self, path: &Path, mut keep: impl FnMut(&Node) -> bool) -> usize {
        let mut dead = Vec::new();
        let mut x = self.forward(path.update[0], 0);
        while x != NIL && keep(self.node(x)) {
            let next = self.node(x).level0.forward;
            self.index_remove(x);
            self.unlink(x, &path.update);
            self.kill(x);
            dead.push(x);
            x = next;
        }
        let removed = dead.len();
        self.compact(&mut dead);
        self.shrink_index_if_needed();
        removed
    }

    pub fn first(&self) -> Option<Cursor> {
        let x = self.head[0].forward;
        (x != NIL).then_some(Cursor(x))
    }

    pub fn last(&self) -> Option<Cursor> {
        (self.tail != NIL).then_some(Cursor(self.tail))
    }

    pub fn next(&self, c: Cursor) -> Option<Cursor> {
        let x = self.node(c.0).level0.forward;
        (x != NIL).then_some(Cursor(x))
    }

    pub fn prev(&self, c: Cursor) -> Option<Cursor> {
        let x = self.node(c.0).backward;
        (x != NIL).then_some(Cursor(x))
    }

    pub fn score(&self, c: Cursor) -> f64 {
        self.node(c.0).score
    }

    pub fn member(&self, c: Cursor) -> &[u8] {
        &self.node(c.0).member
    }

    /// Every (member, score) from the lowest score up.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            list: self,
            at: self.first(),
            reverse: false,
        }
    }

    /// (member, score) from `at` towards the end, or towards the start if `reverse`.
    pub fn iter_at(&self, at: Option<Cursor>, reverse: bool) -> Iter<'_> {
        Iter {
            list: self,
            at,
            reverse,
        }
    }

    /// One SCAN step over the member index (Redis's dictScan): visits the bucket(s)
    /// under `cursor` and returns the next cursor, 0 when done.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        if self.length == 0 {
            return 0;
        }
        let mut v = cursor;
        let emit = |table: &Table, idx: usize, visit: &mut dyn FnMut(&[u8], f64)| {
            let mut x = table.heads[idx];
            while x != NIL {
                let n = self.node(x);
                visit(&n.member, n.score);
                x = n.chain;
            }
        };
        if self.rehash_idx.is_none() {
            let t0 = &self.tables[0];
            let m0 = t0.mask() as u64;
            emit(t0, (v & m0) as usize, &mut visit);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.tables[0].heads.len() <= self.tables[1].heads.len() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let m0 = small.mask() as u64;
            let m1 = large.mask() as u64;
            emit(small, (v & m0) as usize, &mut visit);
            loop {
                emit(large, (v & m1) as usize, &mut visit);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// Check every structural invariant; panics with a description on the first
    /// violation. O(n); for tests.
    pub fn check(&self) {
        assert_eq!(self.slots, self.length, "arena is not dense");
        assert!(self.level >= 1 && self.level <= MAX_LEVEL);
        // Level 0: order, backward links, tail.
        let mut order = Vec::with_capacity(self.length);
        let mut x = self.head[0].forward;
        let mut prev = NIL;
        while x != NIL {
            let n = self.node(x);
            assert!(n.height as usize >= 1 && n.height as usize <= self.level);
            assert_eq!(n.backward, prev, "backward link of node {x}");
            if prev != NIL {
                let p = self.node(prev);
                assert!(
                    p.score < n.score || (p.score == n.score && *p.member < *n.member),
                    "order broken at node {x}"
                );
            }
            order.push(x);
            prev = x;
            x = n.level0.forward;
        }
        assert_eq!(self.tail, prev, "tail");
        assert_eq!(order.len(), self.length, "level-0 length");
        let mut rank = vec![0u32; self.slots];
        for (r, &x) in order.iter().enumerate() {
            rank[x as usize] = r as u32 + 1;
        }
        // Every level: forward links reach taller-or-equal nodes in order, spans agree
        // with ranks, the last span counts the nodes that follow.
        for i in 0..self.level {
            let mut x = HEAD;
            let mut at = 0u32;
            loop {
                let l = self.level(x, i);
                if l.forward == NIL {
                    assert_eq!(
                        at + l.span,
                        self.length as u32,
                        "end span at level {i} of node {x}"
                    );
                    break;
                }
                let next = self.node(l.forward);
                assert!(next.height as usize > i);
                assert_eq!(at + l.span, rank[l.forward as usize], "span at level {i}");
                assert_eq!(
                    (l.next_score.to_bits(), l.next_height, l.next_block),
                    (next.score.to_bits(), next.height, next.upper),
                    "search fields of the link at level {i} from node {x} to {}",
                    l.forward
                );
                at += l.span;
                x = l.forward;
            }
        }
        // Slabs: owners point back.
        for (k, slab) in self.uppers.iter().enumerate() {
            assert_eq!(slab.levels.len(), slab.owners.len() * (k + 1));
            for (b, &o) in slab.owners.iter().enumerate() {
                let n = self.node(o);
                assert_eq!(n.height as usize, k + 2, "slab owner height");
                assert_eq!(n.upper as usize, b, "slab owner block");
            }
        }
        // Index: every node reachable by its member, counts right.
        let mut in_index = 0;
        for t in &self.tables {
            let mut used = 0;
            for &h in &t.heads {
                let mut x = h;
                while x != NIL {
                    used += 1;
                    x = self.node(x).chain;
                }
            }
            assert_eq!(used, t.used, "table used count");
            in_index += used;
        }
        assert_eq!(in_index, self.length, "index size");
        for &x in &order {
            assert_eq!(self.find(&self.node(x).member), Some(x), "index lookup");
        }
    }
}

fn dead_node() -> Node {
    Node {
        score: 0.0,
        member: KeyBytes::from(&b""[..]),
        backward: NIL,
        chain: NIL,
        level0: END,
        upper: 0,
        height: 0,
    }
}

/// A position in a skiplist, valid until the next change to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(u32);

pub struct Iter<'a> {
    list: &'a SkipList,
    at: Option<Cursor>,
    reverse: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.at?;
        self.at = if self.reverse {
            self.list.prev(c)
        } else {
            self.list.next(c)
        };
        let n = self.list.node(c.0);
        Some((&n.member, n.score))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The model: (score bits made orderable, member).
    #[derive(PartialEq, PartialOrd, Clone, Debug)]
    struct Entry(f64, Vec<u8>);
    impl Eq for Entry {}
    #[allow(clippy::derive_ord_xor_partial_ord)]
    impl Ord for Entry {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.partial_cmp(o).expect("no NaN")
        }
    }

    fn member(i: u64) -> Vec<u8> {
        format!("m{i}").into_bytes()
    }

    fn contents(sl: &SkipList) -> Vec<Entry> {
        sl.iter().map(|(m, s)| Entry(s, m.to_vec())).collect()
    }

    #[test]
    fn random_operations_match_a_model() {
        let mut rng = CoreRng::from_seed(42);
        let mut sl = SkipList::new(7);
        let mut model: BTreeSet<Entry> = BTreeSet::new();
        let score_of =
            |model: &BTreeSet<Entry>, m: &[u8]| model.iter().find(|e| e.1 == m).map(|e| e.0);
        for step in 0..6000 {
            let m = member(rng.below(400));
            let score = (rng.below(50) as f64) / 2.0;
            match rng.below(8) {
                0..=2 => {
                    if let Some(old) = score_of(&model, &m) {
                        model.remove(&Entry(old, m.clone()));
                        model.insert(Entry(score, m.clone()));
                        sl.set_score(&m, score, &mut rng);
                    } else {
                        model.insert(Entry(score, m.clone()));
                        sl.insert(score, &m, &mut rng);
                    }
                }
                3 => {
                    let old = score_of(&model, &m);
                    if let Some(s) = old {
                        model.remove(&Entry(s, m.clone()));
                    }
                    assert_eq!(sl.remove(&m), old);
                }
                4 => {
                    let last = rng.below(2) == 0;
                    let want = if last {
                        model.iter().next_back().cloned()
                    } else {
                        model.iter().next().cloned()
                    };
                    if let Some(e) = &want {
                        model.remove(e);
                    }
                    let got = sl.pop(last).map(|(m, s)| Entry(s, m.to_vec()));
                    assert_eq!(got, want);
                }
                5 => {
                    if !model.is_empty() {
                        let a = rng.index(model.len());
                        let b = a + rng.index((model.len() - a).min(40));
                        let all: Vec<Entry> = model.iter().cloned().collect();
                        for e in &all[a..=b] {
                            model.remove(e);
                        }
                        assert_eq!(sl.remove_rank_range(a, b), b - a + 1);
                    }
                }
                6 => {
                    let lo = (rng.below(50) as f64) / 2.0;
                    let hi = lo + (rng.below(6) as f64);
                    let removed: Vec<Entry> = model
                        .iter()
                        .filter(|e| e.0 >= lo && e.0 <= hi)
                        .cloned()
                        .collect();
                    for e in &removed {
                        model.remove(e);
                    }
                    let n = sl.remove_where(|s, _| s < lo, |s, _| s <= hi);
                    assert_eq!(n, removed.len());
                }
                _ => {
                    if let Some(s) = score_of(&model, &m) {
                        let rank = model.iter().position(|e| e.1 == m).unwrap();
                        assert_eq!(sl.rank_of(&m), Some(rank));
                        assert_eq!(sl.score_of(&m), Some(s));
                        let c = sl.by_rank(rank).unwrap();
                        assert_eq!(sl.member(c), &m[..]);
                        assert_eq!(sl.rank_at(c), rank);
                    } else {
                        assert_eq!(sl.rank_of(&m), None);
                    }
                }
            }
            if step % 97 == 0 {
                sl.check();
                assert_eq!(contents(&sl), model.iter().cloned().collect::<Vec<_>>());
            }
        }
        sl.check();
        assert_eq!(contents(&sl), model.iter().cloned().collect::<Vec<_>>());
        assert_eq!(sl.by_rank(sl.len()), None);
    }

    /// The copies of a node's score, height and block that links carry stay exact
    /// through in-place score changes, relinks, removals that move slab blocks, and
    /// compactions (`check` compares every link with its node).
    #[test]
    fn link_search_fields_follow_every_change() {
        let mut rng = CoreRng::from_seed(9);
        let mut sl = SkipList::new(3);
        let mut scores: BTreeMap<u64, f64> = BTreeMap::new();
        for i in 0..5000 {
            let score = rng.below(1_000_000) as f64;
            sl.insert(score, &member(i), &mut rng);
            scores.insert(i, score);
        }
        sl.check();
        for round in 0..20 {
            for _ in 0..500 {
                let i = rng.below(5000);
                let Some(&old) = scores.get(&i) else {
                    continue;
                };
                let new = match rng.below(3) {
                    // Small steps mostly keep the node in place (ZINCRBY).
                    0 => old + 0.5,
                    1 => rng.below(1_000_000) as f64,
                    _ => {
                        assert_eq!(sl.remove(&member(i)), Some(old));
                        scores.remove(&i);
                        continue;
                    }
                };
                sl.set_score(&member(i), new, &mut rng);
                scores.insert(i, new);
            }
            if round % 5 == 4 {
                let removed = sl.remove_where(|s, _| s < 100_000.0, |s, _| s < 300_000.0);
                scores.retain(|_, s| !(100_000.0..300_000.0).contains(s));
                assert!(removed > 0);
            }
            sl.check();
            assert_eq!(sl.len(), scores.len());
            for (&i, &s) in &scores {
                assert_eq!(sl.score_of(&member(i)), Some(s));
            }
        }
    }

    #[test]
    fn prefetch_changes_nothing() {
        let mut rng = CoreRng::from_seed(5);
        let mut sl = SkipList::new(1);
        sl.prefetch(&[b"m1", b"absent"]);
        for i in 0..300 {
            sl.insert(i as f64, &member(i), &mut rng);
        }
        let members: Vec<Vec<u8>> = (0..40).map(|i| member(i * 11)).collect();
        let refs: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
        let before = contents(&sl);
        sl.prefetch(&refs);
        sl.prefetch(&[b"absent"]);
        assert_eq!(contents(&sl), before);
        sl.check();
    }

    #[test]
    fn bulk_removal_compacts_both_ways() {
        let mut rng = CoreRng::from_seed(3);
        // Small runs relocate nodes one by one; big ones rebuild the arena.
        for (n, start, end) in [
            (5000usize, 10usize, 20usize),
            (5000, 100, 4000),
            (5000, 0, 4999),
        ] {
            let mut sl = SkipList::new(1);
            for i in 0..n as u64 {
                // Insert out of order so arena order differs from rank order.
                let k = (i * 7919) % n as u64;
                sl.insert(k as f64, &member(k), &mut rng);
            }
            assert_eq!(sl.remove_rank_range(start, end), end - start + 1);
            sl.check();
            let left: Vec<f64> = sl.iter().map(|(_, s)| s).collect();
            let want: Vec<f64> = (0..n)
                .filter(|i| *i < start || *i > end)
                .map(|i| i as f64)
                .collect();
            assert_eq!(left, want);
            for i in (0..n).filter(|i| *i < start || *i > end) {
                assert_eq!(sl.score_of(&member(i as u64)), Some(i as f64));
            }
        }
    }

    #[test]
    fn ranges_and_cursors() {
        let mut rng = CoreRng::from_seed(5);
        let mut sl = SkipList::new(2);
        for i in 0..100u64 {
            sl.insert((i / 10) as f64, &member(i), &mut rng);
        }
        // First node with score >= 3 and last with score <= 5.
        let first = sl.first_where(|s, _| s < 3.0, |s, _| s <= 5.0).unwrap();
        assert_eq!(sl.score(first), 3.0);
        assert_eq!(sl.rank_at(first), 30);
        let last = sl.last_where(|s, _| s <= 5.0, |s, _| s >= 3.0).unwrap();
        assert_eq!(sl.rank_at(last), 59);
        assert!(sl.first_where(|s, _| s < 20.0, |_, _| true).is_none());
        assert!(sl.last_where(|s, _| s < -1.0, |_, _| true).is_none());
        let back: Vec<f64> = sl
            .iter_at(Some(last), true)
            .take(3)
            .map(|(_, s)| s)
            .collect();
        assert_eq!(back, vec![5.0, 5.0, 5.0]);
        assert_eq!(sl.remove_where(|s, _| s < 3.0, |s, _| s <= 5.0), 30);
        sl.check();
        assert_eq!(sl.len(), 70);
        let copy = sl.clone();
        copy.check();
        assert_eq!(contents(&copy), contents(&sl));
    }

    #[test]
    fn scan_sees_every_stable_member_across_resizes() {
        let mut rng = CoreRng::from_seed(11);
        let mut sl = SkipList::new(9);
        for i in 0..300u64 {
            sl.insert(i as f64, &member(i), &mut rng);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut churn = 10_000u64;
        loop {
            cursor = sl.scan(cursor, |m, _| {
                seen.insert(m.to_vec());
            });
            for _ in 0..rng.index(60) {
                if rng.below(2) == 0 {
                    sl.insert(0.5, &member(churn), &mut rng);
                    churn += 1;
                } else if churn > 10_000 {
                    churn -= 1;
                    sl.remove(&member(churn));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..300u64 {
            assert!(seen.contains(&member(i)), "scan missed {i}");
        }
        sl.check();
    }

    #[test]
    fn walked_predecessors_match_the_search() {
        let mut rng = CoreRng::from_seed(8);
        let mut sl = SkipList::new(3);
        for i in 0..20_000u64 {
            sl.insert((i % 977) as f64, &member(i), &mut rng);
        }
        let (mut walked, mut searched) = (0, 0);
        for x in 0..sl.slots as u32 {
            let n = sl.node(x);
            let h = n.height as usize;
            let want = sl.path_to(n.score, &n.member).update;
            assert_eq!(sl.own_level_predecessors(x)[..h], want[..h], "node {x}");
            // Tell the walk from the fallback: a walk needs at most the step budget.
            let mut steps = 0;
            let mut c = n.backward;
            while c != NIL && (sl.node(c).height as usize) < h {
                c = sl.node(c).backward;
                steps += 1;
            }
            if steps > BACKWARD_WALK_STEPS {
                searched += 1;
            } else {
                walked += 1;
            }
        }
        assert!(
            searched > 0 && walked > searched * 100,
            "{walked} walked, {searched} searched"
        );
    }

    #[test]
    fn shrinks_back_after_deletes() {
        let mut rng = CoreRng::from_seed(1);
        let mut sl = SkipList::new(4);
        for i in 0..20_000u64 {
            sl.insert(i as f64, &member(i), &mut rng);
        }
        for i in 0..19_990u64 {
            assert_eq!(sl.remove(&member(i)), Some(i as f64));
        }
        sl.check();
        assert_eq!(sl.chunks.len(), 1);
        assert!(sl.chunks[0].capacity() < 64);
        while sl.rehash(100) {}
        sl.shrink_index_if_needed();
        while sl.rehash(100) {}
        assert!(sl.tables[0].heads.len() <= 64);
        assert_eq!(sl.pop(false).map(|(_, s)| s), Some(19_990.0));
        assert_eq!(sl.pop(true).map(|(_, s)| s), Some(19_999.0));
        sl.check();
    }
}
