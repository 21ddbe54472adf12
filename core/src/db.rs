//! One logical database (`SELECT n`): the main dict of keys to objects and the expires
//! dict of keys to absolute wall-clock deadlines in milliseconds, as Redis's `redisDb`.
//!
//! `Db` is mechanical: it never looks at the clock or the stats. Expiry-aware lookups
//! (lazy expiration, keyspace hits and misses, the LRU clock) are `Server` methods in
//! `server::keyspace`, because they need the time and the counters.

use crate::dict::Dict;
use crate::object::{Object, Value};
use crate::util::FastSet;

#[derive(Debug)]
pub struct Db {
    pub id: usize,
    pub keys: Dict<Object>,
    pub expires: Dict<i64>,
    /// Running estimate of the average TTL of keys sampled by the active expire cycle
    /// (INFO keyspace `avg_ttl`), in milliseconds.
    pub avg_ttl_ms: i64,
    /// A background save in progress over this database (see [`DbSnapshot`]).
    pub snapshot: Option<DbSnapshot>,
}

/// The point-in-time view a background save (BGSAVE, an AOF rewrite) keeps of one
/// database while it walks it: fork's copy-on-write, per key, started in O(1).
///
/// The walk goes through the keys dict in hash order ([`Dict::walk_position`]),
/// which does not depend on the table's size, so the dict keeps resizing and
/// rehashing as usual and "has the walk written this key yet?" is one hash and one
/// comparison with `next`. A key at or after `next` still holds the snapshot's
/// version unless it is in `skip`: before any method of `Db` changes such a key, its
/// old object and deadline go to `preserved` (a clone for a change, a move for a
/// removal) and the key joins `skip`; a key created meanwhile joins `skip` too
/// (the file does not have it). The walk leaves out what `skip` names and forgets
/// it as it passes, so the extra memory is the versions and names of keys written
/// to during the save. FLUSHDB hands both dicts over whole (`frozen`), in O(1).
#[derive(Debug)]
pub struct DbSnapshot {
    /// The database number the file gives these keys (SWAPDB moves the struct).
    pub index: u64,
    /// Key and expire counts at the start (RESIZEDB).
    pub keys_at_start: u64,
    pub expires_at_start: u64,
    /// The hash-order position the walk has reached; `None` once it is through.
    next: Option<u64>,
    /// Keys at or after `next` whose current version is not the snapshot's.
    skip: FastSet<Box<[u8]>>,
    /// Old versions of keys changed or removed before the walk reached them.
    preserved: Vec<(Box<[u8]>, Object, Option<i64>)>,
    /// After FLUSHDB (or a flush of everything): the dicts as they were, which the
    /// walk goes on over; the live ones then hold only keys the file must not have.
    frozen: Option<(Dict<Object>, Dict<i64>)>,
}

impl DbSnapshot {
    pub fn is_done(&self) -> bool {
        self.next.is_none() && self.preserved.is_empty()
    }

    /// Old versions waiting to be written (memory the save holds).
    pub fn preserved_len(&self) -> usize {
        self.preserved.len()
    }
}

impl Db {
    pub fn new(id: usize, seed: u64) -> Db {
        Db {
            id,
            keys: Dict::new(seed),
            expires: Dict::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            avg_ttl_ms: 0,
            snapshot: None,
        }
    }

    /// Start a point-in-time snapshot of this database as number `index`: O(1).
    pub fn begin_snapshot(&mut self, index: u64) {
        debug_assert!(self.snapshot.is_none());
        self.snapshot = Some(DbSnapshot {
            index,
            keys_at_start: self.keys.len() as u64,
            expires_at_start: self.expires.len() as u64,
            next: (!self.keys.is_empty()).then_some(0),
            skip: FastSet::default(),
            preserved: Vec::new(),
            frozen: None,
        });
    }

    /// The snapshot's walk over the live dict, while it still has keys of it to
    /// write: the position it reached.
    fn walk_front(&self) -> Option<u64> {
        let snap = self.snapshot.as_ref()?;
        if snap.frozen.is_some() {
            return None;
        }
        snap.next
    }

    /// Is the key, which exists, still at the snapshot's version and unwritten?
    fn snapshot_needs(&self, key: &[u8]) -> bool {
        let Some(front) = self.walk_front() else {
            return false;
        };
        self.keys.walk_position(key) >= front
            && !self.snapshot.as_ref().expect("walking").skip.contains(key)
    }

    /// A key about to change: keep a copy of the version the snapshot needs.
    fn preserve(&mut self, key: &[u8]) {
        if !self.snapshot_needs(key) {
            return;
        }
        let Some(obj) = self.keys.get(key) else {
            return;
        };
        let obj = obj.clone();
        let expire = self.expires.get(key).copied();
        let snap = self.snapshot.as_mut().expect("walking");
        snap.preserved.push((key.into(), obj, expire));
        snap.skip.insert(key.into());
    }

    /// A key just created: if the walk has not passed its position, it must not
    /// write it.
    fn note_created(&mut self, key: &[u8]) {
        if let Some(front) = self.walk_front() {
            if self.keys.walk_position(key) >= front {
                let snap = self.snapshot.as_mut().expect("walking");
                snap.skip.insert(key.into());
            }
        }
    }

    /// A key about to be removed: the snapshot takes the old version if it still
    /// needs it (returns true: `obj` must be moved to it), and `skip` forgets it.
    fn removing(&mut self, key: &[u8]) -> bool {
        if self.walk_front().is_none() {
            return false;
        }
        if self.snapshot_needs(key) {
            return self.keys.contains_key(key);
        }
        let snap = self.snapshot.as_mut().expect("walking");
        if !snap.skip.is_empty() {
            snap.skip.remove(key);
        }
        false
    }

    /// One step of the snapshot: hand `emit` the old versions kept so far, then
    /// walk on in hash order, until at least `budget` keys went out (a step of
    /// the walk is one bucket's span, never split) or everything is written.
    /// Returns how many went out.
    pub fn snapshot_step(&mut self, budget: usize, emit: &mut SnapshotEmit<'_>) -> usize {
        let Db {
            keys,
            expires,
            snapshot,
            ..
        } = self;
        let Some(snap) = snapshot.as_mut() else {
            return 0;
        };
        let mut n = 0;
        while n < budget {
            if let Some((key, obj, expire)) = snap.preserved.pop() {
                emit(&key, &obj.value, expire);
                n += 1;
                continue;
            }
            let Some(from) = snap.next else {
                break;
            };
            let (keys, expires) = match &snap.frozen {
                Some((k, e)) => (k, e),
                None => (&*keys, &*expires),
            };
            let skip = &mut snap.skip;
            snap.next = keys.walk_step(from, |key, obj| {
                if !skip.is_empty() && skip.remove(key) {
                    return;
                }
                emit(key, &obj.value, expires.get(key).copied());
                n += 1;
            });
        }
        debug_assert!(
            snap.next.is_some() || snap.skip.is_empty(),
            "every skipped key is met by the walk"
        );
        n
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// The key's object, ignoring expiry.
    pub fn peek(&self, key: &[u8]) -> Option<&Object> {
        self.keys.get(key)
    }

    /// The key's object for changing it (a background save keeps the old one first).
    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.preserve(key);
        self.keys.get_mut(key)
    }

    /// A read: set the key's access clock and return it. The clock is not part of
    /// a snapshot (files carry no LRU here), so a background save keeps nothing.
    pub fn touch(&mut self, key: &[u8], lru: u32) -> Option<&Object> {
        let obj = self.keys.get_mut(key)?;
        obj.lru = lru;
        Some(obj)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.keys.contains_key(key)
    }

    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Has the key's deadline passed, i.e. is `now_ms` after it? (Redis's keyIsExpired:
    /// `now > when`, so a key is still visible during the millisecond of its deadline.)
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.get_expire(key).is_some_and(|when| now_ms > when)
    }

    /// Set the deadline of an existing key.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        assert!(self.keys.contains_key(key), "set_expire on a missing key");
        self.preserve(key);
        self.expires.insert(key, when_ms);
    }

    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        if !self.expires.contains_key(key) {
            return false;
        }
        self.preserve(key);
        self.expires.remove(key).is_some()
    }

    /// Add a key that must not exist (Redis's dbAdd).
    pub fn add(&mut self, key: &[u8], value: Value, lru: u32) {
        debug_assert!(!self.keys.contains_key(key));
        self.keys.insert_new(key, Object::new(value, lru));
        self.note_created(key);
    }

    /// Create or overwrite a key (Redis's setKey). The TTL is cleared unless `keep_ttl`.
    /// Returns true if the key was created.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32) -> bool {
        let keep_old = self.snapshot_needs(key);
        match self.keys.get_mut(key) {
            Some(obj) => {
                let old = std::mem::replace(&mut obj.value, value);
                if keep_old {
                    // Overwritten: the snapshot takes the old value itself, no copy.
                    let old = Object {
                        value: old,
                        lru: obj.lru,
                    };
                    let expire = self.expires.get(key).copied();
                    let snap = self.snapshot.as_mut().expect("walking");
                    snap.preserved.push((key.into(), old, expire));
                    snap.skip.insert(key.into());
                }
                let obj = self.keys.get_mut(key).expect("just found");
                obj.lru = lru;
                if !keep_ttl {
                    self.remove_expire(key);
                }
                false
            }
            None => {
                self.keys.insert_new(key, Object::new(value, lru));
                self.note_created(key);
                true
            }
        }
    }

    /// Delete a key and its deadline. Returns whether it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        if self.removing(key) {
            // Going away: the snapshot takes the object itself.
            let (k, obj) = self.keys.remove(key).expect("a pending key exists");
            let expire = self.expires.remove(key).map(|(_, w)| w);
            let snap = self.snapshot.as_mut().expect("claimed");
            snap.preserved.push((k.into_boxed(), obj, expire));
            return true;
        }
        let existed = self.keys.remove(key).is_some();
        if existed && !self.expires.is_empty() {
            self.expires.remove(key);
        }
        debug_assert!(
            existed || !self.expires.contains_key(key),
            "deadline without a key"
        );
        existed
    }

    /// Remove a key, returning its object and deadline (RENAME, MOVE).
    pub fn take(&mut self, key: &[u8]) -> Option<(Object, Option<i64>)> {
        // The caller moves the object on: the snapshot keeps a copy.
        self.preserve(key);
        self.removing(key);
        let (_, obj) = self.keys.remove(key)?;
        let expire = if self.expires.is_empty() {
            None
        } else {
            self.expires.remove(key).map(|(_, w)| w)
        };
        Some((obj, expire))
    }

    pub fn clear(&mut self) -> usize {
        let n = self.keys.len();
        if self.walk_front().is_some() {
            // The snapshot still needs keys of these dicts: it takes them whole.
            let keys = self.keys.take();
            let expires = self.expires.take();
            self.snapshot.as_mut().expect("walking").frozen = Some((keys, expires));
        }
        self.keys.clear();
        self.expires.clear();
        self.avg_ttl_ms = 0;
        n
    }

    /// BUGGIFY's early resize: grow the key table to `factor` times what its keys
    /// need (Redis's dictExpand), unless it is rehashing already or empty.
    pub fn buggify_grow_keys(&mut self, factor: usize) {
        if !self.keys.is_rehashing() && !self.keys.is_empty() {
            self.keys.expand(self.keys.len() * factor);
        }
    }

    /// Background maintenance from serverCron: shrink sparse tables, advance rehashing.
    pub fn cron_maintenance(&mut self, rehash_steps: usize) {
        self.keys.shrink_if_needed();
        self.expires.shrink_if_needed();
        if self.keys.is_rehashing() {
            self.keys.rehash(rehash_steps);
        } else if self.expires.is_rehashing() {
            self.expires.rehash(rehash_steps);
        }
    }
}

/// What a snapshot step hands each key to: name, value, expiry deadline.
pub type SnapshotEmit<'a> = dyn FnMut(&[u8], &Value, Option<i64>) + 'a;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::StrValue;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::from_bytes(v.as_bytes()))
    }

    fn text(v: &Value) -> Vec<u8> {
        match v {
            Value::Str(s) => s.as_bytes().into_owned(),
            _ => unreachable!("strings only here"),
        }
    }

    type Image = std::collections::BTreeMap<Vec<u8>, (Vec<u8>, Option<i64>)>;

    fn image(db: &Db) -> Image {
        db.keys
            .iter()
            .map(|(k, o)| (k.to_vec(), (text(&o.value), db.get_expire(k))))
            .collect()
    }

    /// Run the snapshot to its end in steps of `budget`, calling `between` after
    /// each step; returns what it wrote, refusing a key written twice.
    fn walk(db: &mut Db, budget: usize, mut between: impl FnMut(&mut Db, usize)) -> Image {
        let mut out = Image::new();
        let mut turn = 0;
        while !db.snapshot.as_ref().unwrap().is_done() {
            db.snapshot_step(budget, &mut |k, v, e| {
                let old = out.insert(k.to_vec(), (text(v), e));
                assert!(
                    old.is_none(),
                    "{} written twice",
                    String::from_utf8_lossy(k)
                );
            });
            between(db, turn);
            turn += 1;
        }
        out
    }

    /// The snapshot is the database of the moment it started, whatever writes,
    /// deletes, renames, deadline changes and flushes land between its steps, and
    /// though the dict was rehashing when it started and resizes meanwhile.
    #[test]
    fn a_snapshot_is_point_in_time_under_interleaved_changes() {
        let mut rng = crate::rng::CoreRng::from_seed(42);
        for round in 0..40u64 {
            let mut db = Db::new(0, round);
            let n = 200 + rng.index(800);
            for i in 0..n {
                db.set(format!("k{i}").as_bytes(), s(&format!("v{i}")), false, 0);
                if i % 3 == 0 {
                    db.set_expire(format!("k{i}").as_bytes(), 1000 + i as i64);
                }
            }
            // Grow until the keys dict is in the middle of a rehash.
            let mut extra = 0;
            while !db.keys.is_rehashing() {
                db.add(format!("x{extra}").as_bytes(), s("x"), 0);
                extra += 1;
            }
            assert!(db.keys.is_rehashing());
            let start = image(&db);
            db.begin_snapshot(0);
            let flush_at = if round % 4 == 3 {
                Some(rng.index(6))
            } else {
                None
            };
            let mut created = 0;
            let got = walk(&mut db, 1 + rng.index(40), |db, turn| {
                if Some(turn) == flush_at {
                    db.clear();
                }
                for _ in 0..rng.index(30) {
                    let k = format!("k{}", rng.index(n + 50)).into_bytes();
                    match rng.index(9) {
                        0 => {
                            db.set(&k, s("overwritten"), rng.below(2) == 0, 0);
                        }
                        1 => {
                            db.delete(&k);
                        }
                        2 if db.contains(&k) => db.set_expire(&k, 5),
                        3 => {
                            db.remove_expire(&k);
                        }
                        4 => {
                            if let Some((obj, exp)) = db.take(&k) {
                                let to = format!("moved{created}").into_bytes();
                                created += 1;
                                db.delete(&to);
                                db.add(&to, obj.value, 0);
                                if let Some(e) = exp {
                                    db.set_expire(&to, e);
                                }
                            }
                        }
                        5 => {
                            if let Some(o) = db.peek_mut(&k) {
                                o.value = s("changed in place");
                            }
                        }
                        6 => {
                            // A read changes nothing the snapshot keeps.
                            db.touch(&k, 7);
                        }
                        7 => {
                            let k = format!("new{created}").into_bytes();
                            created += 1;
                            db.set(&k, s("new"), false, 0);
                        }
                        _ => {
                            // Deleted then created again under the same name.
                            if db.delete(&k) {
                                db.add(&k, s("reborn"), 0);
                            }
                        }
                    }
                }
                if rng.below(3) == 0 {
                    db.cron_maintenance(rng.index(20));
                }
            });
            assert_eq!(got, start, "round {round}");
            let snap = db.snapshot.take().unwrap();
            assert!(snap.skip.is_empty() && snap.preserved.is_empty());
        }
    }

    /// Starting costs nothing per key, and an untouched database is written from
    /// the dict itself: nothing is copied or remembered.
    #[test]
    fn an_untouched_snapshot_keeps_nothing() {
        let mut db = Db::new(0, 3);
        for i in 0..5000 {
            db.add(format!("k{i}").as_bytes(), s("v"), 0);
        }
        db.begin_snapshot(0);
        let mut written = 0;
        let mut reads = 0;
        while !db.snapshot.as_ref().unwrap().is_done() {
            written += db.snapshot_step(100, &mut |_, _, _| {});
            for i in (0..5000).step_by(97) {
                reads += db.touch(format!("k{i}").as_bytes(), 9).is_some() as usize;
            }
            let snap = db.snapshot.as_ref().unwrap();
            assert!(snap.skip.is_empty() && snap.preserved.is_empty());
        }
        assert_eq!(written, 5000);
        assert!(reads > 0);
    }

    #[test]
    fn set_clears_ttl_unless_kept() {
        let mut db = Db::new(0, 1);
        assert!(db.set(b"k", s("v"), false, 0), "created");
        db.set_expire(b"k", 100);
        assert!(db.is_expired(b"k", 101));
        assert!(!db.is_expired(b"k", 100));
        assert!(!db.set(b"k", s("w"), true, 0), "overwritten");
        assert_eq!(db.get_expire(b"k"), Some(100));
        db.set(b"k", s("x"), false, 0);
        assert_eq!(db.get_expire(b"k"), None);
        db.set_expire(b"k", 5);
        assert!(db.delete(b"k"));
        assert_eq!(db.expires_len(), 0);
        assert!(!db.delete(b"k"));
    }
}
