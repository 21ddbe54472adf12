//! Expiry-aware key access for command code: Redis's lookupKeyRead/Write,
//! expireIfNeeded, setKey and dbDelete, plus the keyspace hit/miss counters and the
//! LRU clock. Every command reaches the keyspace through these, so lazy expiration
//! cannot be forgotten.

use super::Server;
use crate::object::{Object, Value};

impl Server {
    /// Delete the key if its deadline has passed. Returns true if it was expired.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        let now_ms = self.wall_ms();
        let d = &mut self.dbs[db];
        if !d.is_expired(key, now_ms) {
            return false;
        }
        d.delete(key);
        self.stats.expired_keys += 1;
        true
    }

    /// Lookup for reading: expires lazily, counts a keyspace hit or miss, and touches
    /// the access clock.
    pub fn lookup_read(&mut self, db: usize, key: &[u8]) -> Option<&mut Object> {
        self.expire_if_needed(db, key);
        let lru = self.lru_clock();
        match self.dbs[db].peek_mut(key) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                obj.lru = lru;
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Lookup for reading without touching the access clock (TYPE, EXISTS, TTL, OBJECT).
    pub fn lookup_read_no_touch(&mut self, db: usize, key: &[u8]) -> Option<&Object> {
        self.expire_if_needed(db, key);
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

    /// Lookup for writing: expires lazily and touches the access clock; no stats.
    pub fn lookup_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Object> {
        self.expire_if_needed(db, key);
        let lru = self.lru_clock();
        let obj = self.dbs[db].peek_mut(key)?;
        obj.lru = lru;
        Some(obj)
    }

    /// Does the key exist (and is it unexpired)? Expires lazily; no stats, no touch.
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed(db, key);
        self.dbs[db].contains(key)
    }

    /// Create or overwrite a key (setKey). Clears its TTL unless `keep_ttl`.
    pub fn set_key(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        let lru = self.lru_clock();
        self.dbs[db].set(key, value, keep_ttl, lru);
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
