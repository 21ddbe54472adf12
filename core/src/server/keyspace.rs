//! Expiry-aware key access for command code: Redis's lookupKeyRead/Write,
//! expireIfNeeded, dbAdd, setKey and dbDelete, plus the keyspace hit/miss counters,
//! the LRU clock, and the hooks every modification goes through
//! (`signal_modified_key`, `signal_flushed_db`). Every command reaches the keyspace
//! through these, so lazy expiration and its `expired` event cannot be forgotten.

use super::notify::{NOTIFY_EXPIRED, NOTIFY_KEY_MISS, NOTIFY_NEW};
use super::Server;
use crate::object::{Object, Value};

impl Server {
    /// checkAlreadyExpired: does a deadline a command sets (EXPIRE and its family,
    /// GETEX EXAT/PXAT, RESTORE) lie in the past, so that the command deletes the
    /// key and propagates DEL instead? Never on a replica, for its master's commands
    /// and its own clients' alike: it keeps the key with its past deadline and waits
    /// for the master's DEL, since the master's clock decides. A replica whose clock
    /// runs ahead would otherwise drop a key its master keeps; promoted, it would
    /// never send the DEL, and the old master, re-pointed at it by a partial resync,
    /// would keep the key for good. Nor while loading: the AOF replay runs its
    /// commands at a wall clock of 0.
    pub fn already_expired(&self, when_ms: i64) -> bool {
        when_ms <= self.wall_ms() && self.expires_keys_itself()
    }

    /// Does this server delete keys past their deadline by its own clock? A master
    /// does; a replica only hides them and waits for its master's DELs.
    pub(crate) fn expires_keys_itself(&self) -> bool {
        // Injected bug: a replica expires keys itself.
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::ReplicaExpires) {
            return true;
        }
        !self.is_replica()
    }

    /// Delete the key if its deadline has passed (expireIfNeeded, then
    /// deleteExpiredKeyAndPropagate). Returns true if it was expired. A replica
    /// leaves expiry to its master's DELs: the master's own commands see the key,
    /// everyone else is told it expired while it stays (a read-only replica must
    /// not drift from its master).
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed_with(db, key, false)
    }

    /// expireIfNeeded for a write lookup: a writable replica deletes the key
    /// (EXPIRE_FORCE_DELETE_EXPIRED).
    fn expire_for_write(&mut self, db: usize, key: &[u8]) -> bool {
        let force = !self.config.replica_read_only;
        self.expire_if_needed_with(db, key, force)
    }

    fn expire_if_needed_with(&mut self, db: usize, key: &[u8], force: bool) -> bool {
        let now_ms = self.wall_ms();
        if !self.dbs[db].is_expired(key, now_ms) {
            return false;
        }
        if !self.expires_keys_itself() {
            if self.replica.executing_master {
                return false;
            }
            if !force {
                return true;
            }
        }
        let d = &mut self.dbs[db];
        d.delete(key);
        self.key_expired(db, key);
        true
    }

    /// What follows the deletion of an expired key, lazily or by the active cycle:
    /// the `expired` event, watchers invalidated, the counter.
    pub(crate) fn key_expired(&mut self, db: usize, key: &[u8]) {
        debug_assert!(!self.dbs[db].contains(key), "the expired key is gone first");
        self.notify_keyspace_event(NOTIFY_EXPIRED, "expired", key, db);
        self.signal_modified_key(db, key);
        self.propagate_deletion(db, key);
        self.stats.expired_keys += 1;
    }

    /// Every modification of a key ends here (signalModifiedKey): watchers of the key
    /// will fail their EXEC.
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8]) {
        // Injected bug: the write leaves the key's watchers unflagged.
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::ForgetWatch) {
            return;
        }
        self.touch_watched_key(db, key);
    }

    /// A database (`Some`) or all of them (`None`) is about to be emptied
    /// (signalFlushedDb): called while the keys are still there, so only watchers of
    /// keys that existed are invalidated.
    pub fn signal_flushed_db(&mut self, db: Option<usize>) {
        let range = match db {
            Some(d) => d..d + 1,
            None => 0..self.dbs.len(),
        };
        for d in range {
            self.touch_all_watched_keys_in_db(d, None);
        }
    }

    /// Lookup for reading: expires lazily, counts a keyspace hit or miss (a miss is a
    /// `keymiss` event), and touches the access clock. The object is read-only: a
    /// read costs a background save nothing (only the lazy expiry, a deletion,
    /// hands the old version over); a command that changes what it read looks the
    /// key up for writing.
    pub fn lookup_read(&mut self, db: usize, key: &[u8]) -> Option<&Object> {
        if self.expired_but_kept(db, key, true) || self.miss_to_announce(db, key, true) {
            return None;
        }
        let lru = self.lru_clock();
        match self.dbs[db].touch(key, lru) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Lookup for reading without touching the access clock (TYPE, EXISTS, TTL).
    pub fn lookup_read_no_touch(&mut self, db: usize, key: &[u8]) -> Option<&Object> {
        self.lookup_read_untouched(db, key, true)
    }

    /// Lookup for inspecting (OBJECT, DEBUG): no access clock, and no `keymiss` event
    /// (Redis's LOOKUP_NOTOUCH | LOOKUP_NONOTIFY); hits and misses are counted.
    pub fn lookup_read_no_notify(&mut self, db: usize, key: &[u8]) -> Option<&Object> {
        self.lookup_read_untouched(db, key, false)
    }

    fn lookup_read_untouched(&mut self, db: usize, key: &[u8], notify: bool) -> Option<&Object> {
        if self.expired_but_kept(db, key, notify) || self.miss_to_announce(db, key, notify) {
            return None;
        }
        match self.dbs[db].peek(key) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Expire the key lazily; on a replica, where an expired key stays until its
    /// master deletes it, the read is a miss all the same (counted, and
    /// announced when `notify`). True for such a kept key.
    fn expired_but_kept(&mut self, db: usize, key: &[u8], notify: bool) -> bool {
        if !self.expire_if_needed(db, key) || !self.dbs[db].contains(key) {
            return false;
        }
        if notify && self.config.notify_keyspace_events & NOTIFY_KEY_MISS != 0 {
            self.notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", key, db);
        }
        self.stats.keyspace_misses += 1;
        true
    }

    /// A read miss that must be announced (`keymiss` on, key absent): counts and
    /// publishes it. Costs a second lookup only while `m` notifications are enabled,
    /// so the usual hit path stays one probe.
    fn miss_to_announce(&mut self, db: usize, key: &[u8], notify: bool) -> bool {
        if !notify
            || self.config.notify_keyspace_events & NOTIFY_KEY_MISS == 0
            || self.dbs[db].contains(key)
        {
            return false;
        }
        self.notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", key, db);
        self.stats.keyspace_misses += 1;
        true
    }

    /// Lookup for writing: expires lazily and touches the access clock; no stats.
    pub fn lookup_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Object> {
        if self.expire_for_write(db, key) && self.dbs[db].contains(key) {
            // Expired on a read-only replica: gone for this client, kept for the
            // master's DEL.
            return None;
        }
        let lru = self.lru_clock();
        let obj = self.dbs[db].peek_mut(key)?;
        obj.lru = lru;
        Some(obj)
    }

    /// Does the key exist (and is it unexpired)? Expires lazily; no stats, no touch.
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        !self.expire_if_needed(db, key) && self.dbs[db].contains(key)
    }

    /// Create or overwrite a key (setKey): a logically expired key is expired first,
    /// a new key is announced (`new`), the TTL is cleared unless `keep_ttl`, and
    /// watchers are signalled. The caller publishes its own command's event.
    pub fn set_key(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        self.expire_for_write(db, key);
        let lru = self.lru_clock();
        if self.dbs[db].set(key, value, keep_ttl, lru) {
            self.key_added(db, key);
        }
        self.signal_modified_key(db, key);
    }

    /// Add a key that does not exist (dbAdd), announcing it (`new`). Watchers are the
    /// caller's to signal, as in Redis.
    pub fn db_add(&mut self, db: usize, key: &[u8], value: Value) {
        let lru = self.lru_clock();
        self.db_add_with_lru(db, key, value, lru);
    }

    /// dbAdd of an object that keeps its access clock (RENAME, MOVE move the object).
    pub fn db_add_with_lru(&mut self, db: usize, key: &[u8], value: Value, lru: u32) {
        self.dbs[db].add(key, value, lru);
        self.key_added(db, key);
    }

    /// What follows the creation of any key (the tail of Redis's dbAdd): clients
    /// blocked on it may be served, and the `new` event.
    fn key_added(&mut self, db: usize, key: &[u8]) {
        debug_assert!(self.dbs[db].contains(key));
        self.signal_key_as_ready(db, key);
        self.notify_keyspace_event(NOTIFY_NEW, "new", key, db);
    }

    /// Delete a key (dbDelete). Returns whether it existed.
    pub fn delete_key(&mut self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].delete(key)
    }

    /// Set a key's absolute deadline in wall-clock milliseconds.
    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        self.dbs[db].set_expire(key, when_ms);
    }

    /// Record that a write happened (Redis's `server.dirty++`).
    pub fn mark_dirty(&mut self, n: u64) {
        self.dirty += n;
    }
}
