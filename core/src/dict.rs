//! Redis's hash table (`dict.c`), re-created: power-of-two bucket arrays with chaining,
//! two tables during an incremental rehash, and the reverse-binary SCAN cursor that
//! guarantees every element present for a whole scan is returned at least once, even
//! while the table grows or shrinks between calls.
//!
//! Keys are byte strings; the hash is foldhash with a seed drawn from the core RNG, so
//! bucket order (and so SCAN and RANDOMKEY) is a function of the seed.

use crate::rng::CoreRng;
use std::hash::BuildHasher;

const INITIAL_SIZE: usize = 4;
/// Below this fill percentage a table is shrunk (Redis's HASHTABLE_MIN_FILL).
const MIN_FILL_PERCENT: usize = 10;
/// Empty buckets one rehash step may visit per bucket it is asked to move.
const EMPTY_VISITS_PER_STEP: usize = 10;

type Link<V> = Option<Box<Entry<V>>>;

/// How a conversion to the hash-table encoding builds its table: with `seed` for the
/// hash, sized once for every element as Redis does (dictExpand before the copy), or,
/// when BUGGIFY armed the slow path, grown insert by insert so it is left mid-rehash.
#[derive(Debug, Clone)]
pub struct NewTable {
    pub seed: u64,
    pub slow: Option<crate::buggify::Armed>,
}

impl NewTable {
    /// Redis's way: sized up front.
    pub fn sized(seed: u64) -> NewTable {
        NewTable { seed, slow: None }
    }

    /// An empty table for `len` elements about to be copied in.
    pub fn build<V>(&self, len: usize) -> Dict<V> {
        let mut d = Dict::new(self.seed);
        match &self.slow {
            Some(armed) => armed.record(),
            None => d.expand(len),
        }
        d
    }
}

/// Keys this short are kept inside their entry: most keys are (`user:1000`,
/// `key:000000123456`), and a lookup then reads the entry alone instead of the entry
/// and then the key's own allocation, one cache miss fewer per command on a large
/// keyspace. 22 bytes make the whole key 24 bytes, one word more than a boxed key,
/// and the entry's size class grows by at most what the key's allocation cost.
pub const INLINE_KEY_MAX: usize = 22;

/// A key's bytes, inline when at most [`INLINE_KEY_MAX`] long, boxed otherwise.
#[derive(Clone)]
pub struct KeyBytes(KeyRepr);

#[derive(Clone)]
enum KeyRepr {
    Inline {
        len: u8,
        bytes: [u8; INLINE_KEY_MAX],
    },
    Heap(Box<[u8]>),
}

impl KeyBytes {
    /// The key as a boxed slice (allocating only for an inline key).
    pub fn into_boxed(self) -> Box<[u8]> {
        match self.0 {
            KeyRepr::Inline { len, bytes } => bytes[..len as usize].into(),
            KeyRepr::Heap(b) => b,
        }
    }

    /// Whether the bytes live in their own allocation (memory accounting).
    pub fn is_heap(&self) -> bool {
        matches!(self.0, KeyRepr::Heap(_))
    }
}

impl std::ops::Deref for KeyBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline { len, bytes } => &bytes[..*len as usize],
            KeyRepr::Heap(b) => b,
        }
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &KeyBytes) -> bool {
        **self == **other
    }
}

impl Eq for KeyBytes {}

impl From<&[u8]> for KeyBytes {
    fn from(key: &[u8]) -> KeyBytes {
        if key.len() <= INLINE_KEY_MAX {
            let mut bytes = [0; INLINE_KEY_MAX];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes(KeyRepr::Inline {
                len: key.len() as u8,
                bytes,
            })
        } else {
            KeyBytes(KeyRepr::Heap(key.into()))
        }
    }
}

impl From<Box<[u8]>> for KeyBytes {
    fn from(key: Box<[u8]>) -> KeyBytes {
        if key.len() <= INLINE_KEY_MAX {
            KeyBytes::from(&key[..])
        } else {
            KeyBytes(KeyRepr::Heap(key))
        }
    }
}

impl From<Vec<u8>> for KeyBytes {
    fn from(key: Vec<u8>) -> KeyBytes {
        if key.len() <= INLINE_KEY_MAX {
            KeyBytes::from(&key[..])
        } else {
            KeyBytes(KeyRepr::Heap(key.into_boxed_slice()))
        }
    }
}

#[derive(Debug)]
pub struct Entry<V> {
    key: KeyBytes,
    pub value: V,
    // No stored hash: with the key inline a chain walk's compare and a rehash's
    // re-hash read the entry already in cache, and the 8 bytes would move a keyspace
    // entry from jemalloc's 80-byte class to the 96-byte one.
    next: Link<V>,
}

impl<V> Entry<V> {
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

#[derive(Debug)]
struct Table<V> {
    buckets: Vec<Link<V>>,
    used: usize,
}

impl<V> Table<V> {
    fn empty() -> Table<V> {
        Table {
            buckets: Vec::new(),
            used: 0,
        }
    }

    fn with_size(size: usize) -> Table<V> {
        debug_assert!(size.is_power_of_two());
        let mut buckets = Vec::with_capacity(size);
        buckets.resize_with(size, || None);
        Table { buckets, used: 0 }
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

#[derive(Debug)]
pub struct Dict<V> {
    tables: [Table<V>; 2],
    /// Next bucket of `tables[0]` to move into `tables[1]`; `None` when not rehashing.
    rehash_idx: Option<usize>,
    hasher: foldhash::fast::FixedState,
}

impl<V> Dict<V> {
    pub fn new(seed: u64) -> Dict<V> {
        Dict {
            tables: [Table::empty(), Table::empty()],
            rehash_idx: None,
            hasher: foldhash::fast::FixedState::with_seed(seed),
        }
    }

    fn hash(&self, key: &[u8]) -> usize {
        self.hasher.hash_one(key) as usize
    }

    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets across both tables (INFO/DEBUG HTSTATS style figure).
    pub fn buckets(&self) -> usize {
        self.tables[0].buckets.len() + self.tables[1].buckets.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|e| &e.value)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    fn find(&self, key: &[u8]) -> Option<&Entry<V>> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in 0..2 {
            let table = &self.tables[t];
            if table.buckets.is_empty() {
                continue;
            }
            let mut link = &table.buckets[h & table.mask()];
            while let Some(entry) = link {
                if *entry.key == *key {
                    return Some(entry);
                }
                link = &entry.next;
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    /// Which table and bucket hold `key`, if any.
    fn locate(&self, key: &[u8], h: usize) -> Option<(usize, usize)> {
        for t in 0..2 {
            let table = &self.tables[t];
            if table.buckets.is_empty() {
                continue;
            }
            let idx = h & table.mask();
            let mut link = &table.buckets[idx];
            while let Some(entry) = link {
                if *entry.key == *key {
                    return Some((t, idx));
                }
                link = &entry.next;
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = self.hash(key);
        let (t, idx) = self.locate(key, h)?;
        let mut cur = self.tables[t].buckets[idx].as_deref_mut();
        while let Some(entry) = cur {
            if *entry.key == *key {
                return Some(&mut entry.value);
            }
            cur = entry.next.as_deref_mut();
        }
        unreachable!("locate found the key in this bucket")
    }

    /// Warm the cache for lookups of `keys` about to happen, Valkey's batch key
    /// prefetch done with plain loads: the buckets of all keys are read first, then
    /// the chains they lead to, one entry of every chain per round, then whatever
    /// `touch` reads of each value found. Loads of one round do not depend on each
    /// other, so the CPU overlaps their misses instead of waiting for each in turn as
    /// the commands' own lookups would. Changes nothing, and only pays off on a table
    /// too large for the cache.
    pub fn prefetch(&self, keys: &[&[u8]], touch: impl Fn(&V) -> usize) {
        const BATCH_MAX: usize = 32;
        /// Chain entries read per key: chains are short at a load factor of at most 1.
        const CHAIN_ROUNDS: usize = 3;
        let keys = &keys[..keys.len().min(BATCH_MAX)];
        let mut hashes = [0usize; BATCH_MAX];
        let mut warm = 0usize;
        for (slot, key) in hashes.iter_mut().zip(keys) {
            *slot = self.hash(key);
            for t in &self.tables {
                if !t.buckets.is_empty() {
                    warm += usize::from(t.buckets[*slot & t.mask()].is_some());
                }
            }
        }
        // During a rehash a key may sit in either table: follow the old one, which
        // holds most of them until the rehash is nearly done.
        let t = &self.tables[usize::from(self.tables[0].buckets.is_empty())];
        let mut cursors: [Option<&Entry<V>>; BATCH_MAX] = [None; BATCH_MAX];
        for (cursor, h) in cursors.iter_mut().zip(&hashes[..keys.len()]) {
            *cursor = t.buckets.get(h & t.mask()).and_then(|b| b.as_deref());
        }
        let mut found: [Option<&Entry<V>>; BATCH_MAX] = [None; BATCH_MAX];
        for _ in 0..CHAIN_ROUNDS {
            for ((cursor, hit), key) in cursors.iter_mut().zip(found.iter_mut()).zip(keys) {
                if let Some(e) = *cursor {
                    if *e.key == **key {
                        *hit = Some(e);
                        *cursor = None;
                    } else {
                        *cursor = e.next.as_deref();
                    }
                }
            }
        }
        for e in found.iter().flatten() {
            warm += touch(&e.value);
        }
        std::hint::black_box(warm);
    }

    /// Insert `key`, which must not be present (asserted in debug builds).
    pub fn insert_new(&mut self, key: impl Into<KeyBytes>, value: V) {
        let key = key.into();
        debug_assert!(!self.contains_key(&key), "insert_new on a present key");
        self.rehash_step();
        self.expand_if_needed();
        let h = self.hash(&key);
        // New entries go to the new table while rehashing so the old one only drains.
        let t = if self.rehash_idx.is_some() { 1 } else { 0 };
        let table = &mut self.tables[t];
        let idx = h & table.mask();
        let next = table.buckets[idx].take();
        table.buckets[idx] = Some(Box::new(Entry { key, value, next }));
        table.used += 1;
    }

    /// Insert or overwrite; returns the previous value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if let Some(slot) = self.get_mut(key) {
            return Some(std::mem::replace(slot, value));
        }
        self.insert_new(key, value);
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<(KeyBytes, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = self.hash(key);
        let rehashing = self.rehash_idx.is_some();
        for t in 0..2 {
            if self.tables[t].buckets.is_empty() {
                continue;
            }
            let mask = self.tables[t].mask();
            let mut link = &mut self.tables[t].buckets[h & mask];
            loop {
                match link {
                    None => break,
                    Some(entry) if *entry.key == *key => {
                        let mut removed = link.take().expect("matched Some");
                        *link = removed.next.take();
                        self.tables[t].used -= 1;
                        let Entry { key, value, .. } = *removed;
                        return Some((key, value));
                    }
                    Some(entry) => link = &mut entry.next,
                }
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    pub fn clear(&mut self) {
        // Drop chains iteratively: a recursive Box drop of a long chain could overflow.
        for t in &mut self.tables {
            for bucket in &mut t.buckets {
                let mut link = bucket.take();
                while let Some(mut entry) = link {
                    link = entry.next.take();
                }
            }
        }
        self.tables = [Table::empty(), Table::empty()];
        self.rehash_idx = None;
    }

    fn expand_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        if self.tables[0].buckets.is_empty() {
            self.tables[0] = Table::with_size(INITIAL_SIZE);
            return;
        }
        if self.tables[0].used >= self.tables[0].buckets.len() {
            self.resize_to(self.tables[0].used + 1);
        }
    }

    /// Start a rehash into a table of at least `size` buckets (Redis's dictExpand),
    /// unless one runs already or the table has that size.
    pub fn expand(&mut self, size: usize) {
        if self.rehash_idx.is_none() {
            self.resize_to(size);
        }
    }

    /// Shrink when the table is mostly empty (Redis does this from serverCron).
    pub fn shrink_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let size = self.tables[0].buckets.len();
        let used = self.tables[0].used;
        if size > INITIAL_SIZE && used * 100 / size < MIN_FILL_PERCENT {
            self.resize_to(used.max(INITIAL_SIZE));
        }
    }

    fn resize_to(&mut self, min_size: usize) {
        let size = min_size.max(INITIAL_SIZE).next_power_of_two();
        if size == self.tables[0].buckets.len() {
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

    /// Move up to `n` buckets from the old table to the new one. Returns true while
    /// there is more to move.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = n * EMPTY_VISITS_PER_STEP;
        let mut moved = 0;
        while moved < n && self.tables[0].used != 0 {
            assert!(
                idx < self.tables[0].buckets.len(),
                "rehash index past the old table"
            );
            while self.tables[0].buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut link = self.tables[0].buckets[idx].take();
            let mask = self.tables[1].mask();
            while let Some(mut entry) = link {
                link = entry.next.take();
                let h = self.hasher.hash_one(&*entry.key) as usize;
                let dest = &mut self.tables[1].buckets[h & mask];
                entry.next = dest.take();
                *dest = Some(entry);
                self.tables[0].used -= 1;
                self.tables[1].used += 1;
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

    /// One SCAN step: visit the bucket(s) under `cursor`, return the next cursor (0 when
    /// the scan is complete). Redis's `dictScan`, including the walk over the larger
    /// table's expansions of the smaller table's bucket during a rehash.
    pub fn scan(&self, cursor: u64, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let emit = |table: &Table<V>, idx: usize, visit: &mut dyn FnMut(&[u8], &V)| {
            let mut link = &table.buckets[idx];
            while let Some(e) = link {
                visit(&e.key, &e.value);
                link = &e.next;
            }
        };
        if self.rehash_idx.is_none() {
            let t0 = &self.tables[0];
            let m0 = t0.mask() as u64;
            emit(t0, (v & m0) as usize, &mut visit);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.tables[0].buckets.len() <= self.tables[1].buckets.len() {
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

    /// A random entry, as Redis's `dictGetRandomKey`: a random non-empty bucket, then a
    /// random element of its chain.
    pub fn random_entry(&self, rng: &mut CoreRng) -> Option<(&[u8], &V)> {
        if self.is_empty() {
            return None;
        }
        let bucket = loop {
            let link = match self.rehash_idx {
                Some(start) => {
                    let s0 = self.tables[0].buckets.len();
                    let s1 = self.tables[1].buckets.len();
                    // Buckets below `start` in the old table are already empty.
                    let i = start + rng.index(s0 + s1 - start);
                    if i >= s0 {
                        &self.tables[1].buckets[i - s0]
                    } else {
                        &self.tables[0].buckets[i]
                    }
                }
                None => {
                    let t = &self.tables[0];
                    &t.buckets[rng.index(t.buckets.len())]
                }
            };
            if let Some(e) = link {
                break e;
            }
        };
        let bucket: &Entry<V> = bucket;
        let mut len = 0;
        let mut link = Some(bucket);
        while let Some(e) = link {
            len += 1;
            link = e.next.as_deref();
        }
        let mut pick = rng.index(len);
        let mut e = bucket;
        while pick > 0 {
            e = e.next.as_deref().expect("chain length counted above");
            pick -= 1;
        }
        Some((&e.key, &e.value))
    }

    /// A random entry as Redis's `dictGetFairRandomKey`: collect up to 15 entries from
    /// consecutive buckets after a random one (`dictGetSomeKeys`, reservoir-sampling
    /// a long last chain), then pick one of those uniformly. Fairer than
    /// `random_entry` when chain lengths differ; SPOP and SRANDMEMBER use it.
    pub fn fair_random_entry(&self, rng: &mut CoreRng) -> Option<(&[u8], &V)> {
        const SAMPLE_ENTRIES: usize = 15;
        if self.is_empty() {
            return None;
        }
        let count = SAMPLE_ENTRIES.min(self.len());
        let mut picked: [Option<&Entry<V>>; SAMPLE_ENTRIES] = [None; SAMPLE_ENTRIES];
        let mut stored = 0usize;
        let tables = if self.rehash_idx.is_some() { 2 } else { 1 };
        let mask = (0..tables)
            .map(|t| self.tables[t].mask())
            .max()
            .unwrap_or(0);
        let mut i = (rng.next_u64() as usize) & mask;
        let mut empty_run = 0usize;
        let mut steps_left = count * 10;
        'walk: while stored < count && steps_left > 0 {
            steps_left -= 1;
            for t in 0..tables {
                if let (2, 0, Some(start)) = (tables, t, self.rehash_idx) {
                    // Buckets of the old table below the rehash index are empty.
                    if i < start {
                        if i >= self.tables[1].buckets.len() {
                            i = start;
                        } else {
                            continue;
                        }
                    }
                }
                let table = &self.tables[t];
                if i >= table.buckets.len() {
                    continue;
                }
                let mut link = table.buckets[i].as_deref();
                if link.is_none() {
                    empty_run += 1;
                    if empty_run >= 5 && empty_run > count {
                        i = (rng.next_u64() as usize) & mask;
                        empty_run = 0;
                    }
                    continue;
                }
                empty_run = 0;
                while let Some(e) = link {
                    if stored < count {
                        picked[stored] = Some(e);
                    } else {
                        let r = rng.index(stored + 1);
                        if r < count {
                            picked[r] = Some(e);
                        }
                    }
                    stored += 1;
                    link = e.next.as_deref();
                }
                if stored >= count {
                    break 'walk;
                }
            }
            i = (i + 1) & mask;
        }
        let n = stored.min(count);
        if n == 0 {
            return self.random_entry(rng);
        }
        let e = picked[rng.index(n)].expect("the first n slots are filled");
        Some((&e.key, &e.value))
    }

    /// Where `key` falls in hash order: its hash with the bits reversed. A table of
    /// 2^b buckets puts a key in the bucket whose index, read backwards, is the top b
    /// bits of this number, so the order does not depend on the table's size (the
    /// reverse-binary SCAN cursor's idea). A background save walks a database in
    /// this order and knows a key is behind it from the key alone.
    pub fn walk_position(&self, key: &[u8]) -> u64 {
        (self.hasher.hash_one(key)).reverse_bits()
    }

    /// One step of a walk in hash order from position `from`: visit every entry
    /// whose position is in `[from, end)`, `end` being the end of the span one
    /// bucket of the smaller table covers (each such entry once, whatever resizing
    /// or rehashing happened between steps), and return `end`, or `None` once the
    /// walk has covered the whole space. Entries before `from` in that span were
    /// visited by an earlier step over a larger table and are skipped.
    pub fn walk_step(&self, from: u64, mut visit: impl FnMut(&[u8], &V)) -> Option<u64> {
        let sizes = [self.tables[0].buckets.len(), self.tables[1].buckets.len()];
        let smallest = sizes.iter().copied().filter(|&s| s > 0).min()?;
        let bits = smallest.trailing_zeros();
        debug_assert!((1..64).contains(&bits), "tables have 4..2^63 buckets");
        let span = 1u64 << (64 - bits);
        let start = from & !(span - 1);
        // The smaller table's bucket for this span: the span's top bits, reversed.
        let low = start.reverse_bits() as usize;
        for table in &self.tables {
            let size = table.buckets.len();
            if size == 0 {
                continue;
            }
            // A larger table splits that bucket into size/smallest buckets that share
            // its low bits.
            for high in 0..size / smallest {
                let idx = low | (high << bits);
                let mut link = &table.buckets[idx];
                while let Some(e) = link {
                    if self.walk_position(&e.key) >= from {
                        visit(&e.key, &e.value);
                    }
                    link = &e.next;
                }
            }
        }
        start.checked_add(span)
    }

    /// Move everything out into a new dict with the same hash seed (so it walks in
    /// the same order), leaving this one empty: O(1).
    pub fn take(&mut self) -> Dict<V> {
        Dict {
            tables: std::mem::replace(&mut self.tables, [Table::empty(), Table::empty()]),
            rehash_idx: self.rehash_idx.take(),
            hasher: self.hasher.clone(),
        }
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            dict: self,
            table: 0,
            bucket: 0,
            link: None,
        }
    }
}

impl<V: Clone> Clone for Dict<V> {
    /// A copy with the same hash seed, so it iterates and scans like the original.
    fn clone(&self) -> Dict<V> {
        let mut copy = Dict {
            tables: [Table::empty(), Table::empty()],
            rehash_idx: None,
            hasher: self.hasher.clone(),
        };
        for (k, v) in self.iter() {
            copy.insert_new(k, v.clone());
        }
        copy
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

pub struct Iter<'a, V> {
    dict: &'a Dict<V>,
    table: usize,
    bucket: usize,
    link: Option<&'a Entry<V>>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.link {
                self.link = e.next.as_deref();
                return Some((&e.key, &e.value));
            }
            if self.table >= 2 {
                return None;
            }
            let t = &self.dict.tables[self.table];
            if self.bucket >= t.buckets.len() {
                self.table += 1;
                self.bucket = 0;
                continue;
            }
            self.link = t.buckets[self.bucket].as_deref();
            self.bucket += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::FastSet;

    #[test]
    fn prefetch_reads_the_entries_it_finds_and_nothing_more() {
        let touched = std::cell::Cell::new(0);
        let count = |_: &usize| {
            touched.set(touched.get() + 1);
            0
        };
        let mut d: Dict<usize> = Dict::new(7);
        d.prefetch(&[b"a", b"b"], count);
        assert_eq!(touched.get(), 0, "an empty table has no entries to read");
        d.insert_new(&b"only"[..], 1);
        d.prefetch(&[b"only"], count);
        assert_eq!(touched.get(), 1);
        d.prefetch(&[b"absent"], count);
        assert_eq!(touched.get(), 1, "only values of keys found are read");
        // Mid-rehash, with more keys than one batch and absent ones: no panic, at
        // most one value read per key of the batch.
        for i in 0..1000 {
            d.insert(&key(i), i);
        }
        let keys: Vec<Vec<u8>> = (0..100).map(|i| key(i * 17)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        touched.set(0);
        d.prefetch(&refs, count);
        assert!(touched.get() <= 32);
        assert_eq!(d.len(), 1001);
    }

    #[test]
    fn short_keys_live_in_the_entry() {
        // A keyspace entry (key, object, link) fits jemalloc's 80-byte class, a TTL's
        // the 48-byte one, a set member's the 32-byte one, with no allocation of
        // their own for short keys.
        assert_eq!(std::mem::size_of::<KeyBytes>(), 24);
        assert!(std::mem::size_of::<Entry<crate::object::Object>>() <= 80);
        assert!(std::mem::size_of::<Entry<()>>() <= 32);
        assert!(std::mem::size_of::<Entry<i64>>() <= 48);
        let short = KeyBytes::from(&b"key:000000123456"[..]);
        assert!(!short.is_heap());
        assert_eq!(&*short, b"key:000000123456");
        let edge = KeyBytes::from(vec![7u8; INLINE_KEY_MAX]);
        assert!(!edge.is_heap());
        assert_eq!(
            edge.into_boxed(),
            vec![7u8; INLINE_KEY_MAX].into_boxed_slice()
        );
        let long = KeyBytes::from(vec![7u8; INLINE_KEY_MAX + 1].into_boxed_slice());
        assert!(long.is_heap());
        assert_eq!(&*long, &[7u8; INLINE_KEY_MAX + 1][..]);
        assert_eq!(KeyBytes::from(&b""[..]).len(), 0);
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove_across_rehash() {
        let mut d: Dict<usize> = Dict::new(1);
        for i in 0..1000 {
            d.insert_new(key(i), i);
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        assert_eq!(d.len(), 1000);
        for i in 0..1000 {
            assert_eq!(d.get(&key(i)), Some(&i), "lost key {i}");
        }
        for i in (0..1000).step_by(2) {
            assert_eq!(d.remove(&key(i)).map(|(_, v)| v), Some(i));
        }
        assert_eq!(d.len(), 500);
        assert!(d.remove(&key(0)).is_none());
        for _ in 0..10 {
            d.shrink_if_needed();
            while d.rehash(100) {}
        }
        for i in (1..1000).step_by(2) {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        assert_eq!(d.iter().count(), 500);
        *d.get_mut(&key(1)).unwrap() = 42;
        assert_eq!(d.insert(&key(1), 43), Some(42));
    }

    #[test]
    fn scan_returns_every_stable_key_despite_resizes() {
        let mut rng = CoreRng::from_seed(3);
        for round in 0..20 {
            let mut d: Dict<()> = Dict::new(round);
            for i in 0..200 {
                d.insert_new(key(i), ());
            }
            let mut seen = FastSet::default();
            let mut cursor = 0;
            let mut churn = 1000;
            loop {
                cursor = d.scan(cursor, |k, _| {
                    seen.insert(k.to_vec());
                });
                // Grow or shrink the table between calls, never touching keys 0..200.
                for _ in 0..rng.index(50) {
                    if rng.below(2) == 0 {
                        d.insert(&key(churn), ());
                        churn += 1;
                    } else if churn > 1000 {
                        churn -= 1;
                        d.remove(&key(churn));
                    }
                }
                if rng.below(3) == 0 {
                    d.shrink_if_needed();
                }
                if cursor == 0 {
                    break;
                }
            }
            for i in 0..200 {
                assert!(seen.contains(&key(i)), "round {round}: scan missed key {i}");
            }
        }
    }

    /// A walk in hash order visits every key present throughout exactly once, while
    /// the table grows, shrinks and rehashes between its steps, and a key's position
    /// alone says whether the walk has passed it.
    #[test]
    fn walk_visits_each_stable_key_once_across_resizes() {
        let mut rng = CoreRng::from_seed(11);
        for round in 0..12 {
            let mut d: Dict<()> = Dict::new(round);
            let stable = 300 + rng.index(300);
            for i in 0..stable {
                d.insert_new(key(i), ());
            }
            if round % 2 == 0 {
                // Start this walk in the middle of a rehash.
                d.insert(&key(20_000), ());
                while !d.is_rehashing() {
                    d.insert(&key(20_000 + d.len()), ());
                }
            }
            let mut seen: std::collections::BTreeMap<Vec<u8>, usize> = Default::default();
            let mut at = Some(0u64);
            let mut churn = 10_000;
            let mut step = 0;
            while let Some(from) = at {
                at = d.walk_step(from, |k, _| {
                    *seen.entry(k.to_vec()).or_default() += 1;
                });
                if let Some(next) = at {
                    assert!(next > from);
                    for i in 0..stable {
                        let passed = d.walk_position(&key(i)) < next;
                        assert_eq!(seen.contains_key(&key(i)), passed, "key {i}");
                    }
                }
                step += 1;
                if round % 3 == 1 && step == 3 {
                    // Grow a lot mid-walk, then shrink back: the next steps cover
                    // spans finer, then coarser, than the ones before.
                    for _ in 0..5000 {
                        d.insert(&key(churn), ());
                        churn += 1;
                    }
                }
                if round % 3 == 1 && step == 9 {
                    while churn > 10_000 {
                        churn -= 1;
                        d.remove(&key(churn));
                    }
                    while d.rehash(100) {}
                    d.shrink_if_needed();
                    assert!(d.is_rehashing(), "a shrink started");
                }
                // Churn keys other than the stable ones, forcing grows and shrinks.
                let n = rng.index(30);
                if rng.below(2) == 0 {
                    for _ in 0..n {
                        d.insert(&key(churn), ());
                        churn += 1;
                    }
                } else {
                    for _ in 0..n * 3 {
                        if churn > 10_000 {
                            churn -= 1;
                            d.remove(&key(churn));
                        }
                    }
                    d.shrink_if_needed();
                }
                if rng.below(2) == 0 {
                    d.rehash(rng.index(8));
                }
            }
            for i in 0..stable {
                assert_eq!(seen.get(&key(i)), Some(&1), "round {round}: key {i}");
            }
            assert!(seen.values().all(|&n| n == 1), "round {round}: a key twice");
        }
    }

    #[test]
    fn take_keeps_the_hash_order() {
        let mut d: Dict<usize> = Dict::new(7);
        for i in 0..100 {
            d.insert_new(key(i), i);
        }
        let p = d.walk_position(&key(3));
        let t = d.take();
        assert!(d.is_empty());
        assert_eq!(t.len(), 100);
        assert_eq!(t.walk_position(&key(3)), p);
        assert_eq!(t.get(&key(3)), Some(&3));
        d.insert_new(key(1), 1);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn random_entry_reaches_everything() {
        let mut rng = CoreRng::from_seed(9);
        let mut d: Dict<usize> = Dict::new(5);
        for i in 0..20 {
            d.insert_new(key(i), i);
        }
        let mut seen = [false; 20];
        for _ in 0..2000 {
            let (_, v) = d.random_entry(&mut rng).unwrap();
            seen[*v] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let mut seen = [false; 20];
        for _ in 0..2000 {
            let (_, v) = d.fair_random_entry(&mut rng).unwrap();
            seen[*v] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let empty: Dict<usize> = Dict::new(0);
        assert!(empty.fair_random_entry(&mut rng).is_none());
        let empty: Dict<usize> = Dict::new(0);
        assert!(empty.random_entry(&mut rng).is_none());
        assert_eq!(empty.scan(0, |_, _| {}), 0);
    }
}
