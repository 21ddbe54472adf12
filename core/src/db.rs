//! One logical database (`SELECT n`): the main dict of keys to objects and the expires
//! dict of keys to absolute wall-clock deadlines in milliseconds, as Redis's `redisDb`.
//!
//! `Db` is mechanical: it never looks at the clock or the stats. Expiry-aware lookups
//! (lazy expiration, keyspace hits and misses, the LRU clock) are `Server` methods in
//! `server::keyspace`, because they need the time and the counters.

use crate::dict::Dict;
use crate::object::{Object, Value};

#[derive(Debug)]
pub struct Db {
    pub id: usize,
    pub keys: Dict<Object>,
    pub expires: Dict<i64>,
    /// Running estimate of the average TTL of keys sampled by the active expire cycle
    /// (INFO keyspace `avg_ttl`), in milliseconds.
    pub avg_ttl_ms: i64,
}

impl Db {
    pub fn new(id: usize, seed: u64) -> Db {
        Db {
            id,
            keys: Dict::new(seed),
            expires: Dict::new(seed ^ 0x9e37_79b9_7f4a_7c15),
            avg_ttl_ms: 0,
        }
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

    pub fn peek_mut(&mut self, key: &[u8]) -> Option<&mut Object> {
        self.keys.get_mut(key)
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
        self.expires.insert(key, when_ms);
    }

    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Add a key that must not exist (Redis's dbAdd).
    pub fn add(&mut self, key: &[u8], value: Value, lru: u32) {
        debug_assert!(!self.keys.contains_key(key));
        self.keys.insert_new(key.into(), Object::new(value, lru));
    }

    /// Create or overwrite a key (Redis's setKey). The TTL is cleared unless `keep_ttl`.
    /// Returns true if the key was created.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool, lru: u32) -> bool {
        match self.keys.get_mut(key) {
            Some(obj) => {
                obj.value = value;
                obj.lru = lru;
                if !keep_ttl {
                    self.remove_expire(key);
                }
                false
            }
            None => {
                self.keys.insert_new(key.into(), Object::new(value, lru));
                true
            }
        }
    }

    /// Delete a key and its deadline. Returns whether it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
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
        self.keys.clear();
        self.expires.clear();
        self.avg_ttl_ms = 0;
        n
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::StrValue;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::from_bytes(v.as_bytes()))
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
