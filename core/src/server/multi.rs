//! Transaction state kept by the server (Redis's multi.c, minus the commands, which are
//! in `cmd/multi.rs`): the registry of WATCHed keys, invalidation of watchers when a
//! key is modified, expired or a whole database is flushed or swapped, and the
//! teardown of a client's transaction.
//!
//! The registry is indexed by database *number*, not by `Db`: SWAPDB swaps the
//! databases' contents while watchers stay on the number they watched, as in Redis,
//! where `watched_keys` stays with the `redisDb` whose dicts are swapped.

use super::Server;
use crate::io::ConnId;
use crate::util::FastMap;

/// One client watching one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watcher {
    pub conn: ConnId,
    /// The key was already logically expired when WATCH ran (Redis's
    /// `watchedKey.expired`): its deletion by expiry is then no change.
    pub expired: bool,
}

/// Watchers of every watched key of one database, each list in WATCH order.
pub type WatchedKeys = FastMap<Box<[u8]>, Vec<Watcher>>;

impl Server {
    /// Has `key`'s deadline passed (Redis's keyIsExpired)? Does not delete it.
    pub(crate) fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].is_expired(key, self.wall_ms())
    }

    /// WATCH one key for `conn` in `db` (watchForKey); a key already watched in that
    /// database is left as it is.
    pub(crate) fn watch_key(&mut self, conn: ConnId, db: usize, key: &[u8]) {
        let expired = self.key_is_expired(db, key);
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        if client
            .watched
            .iter()
            .any(|(d, k)| *d == db && k.as_ref() == key)
        {
            return;
        }
        client.watched.push((db, key.into()));
        let watchers = self.watched_keys[db].entry(key.into()).or_default();
        debug_assert!(watchers.iter().all(|w| w.conn != conn));
        watchers.push(Watcher { conn, expired });
    }

    /// Forget every key `conn` watches (unwatchAllKeys). The dirty flag is the
    /// caller's business.
    pub(crate) fn unwatch_all_keys(&mut self, conn: ConnId) {
        let Some(client) = self.clients.get_mut(&conn) else {
            return;
        };
        if client.watched.is_empty() {
            return;
        }
        for (db, key) in std::mem::take(&mut client.watched) {
            let registry = &mut self.watched_keys[db];
            let watchers = registry
                .get_mut(&key)
                .expect("a key a client watches is in its database's registry");
            let before = watchers.len();
            watchers.retain(|w| w.conn != conn);
            debug_assert_eq!(watchers.len() + 1, before);
            if watchers.is_empty() {
                registry.remove(&key);
            }
        }
    }

    /// Is any key `conn` watches logically expired now, that was not already expired
    /// when it was watched (isWatchedKeyExpired)? EXEC then fails.
    pub(crate) fn is_watched_key_expired(&self, conn: ConnId) -> bool {
        let Some(client) = self.clients.get(&conn) else {
            return false;
        };
        client.watched.iter().any(|(db, key)| {
            let expired_at_watch = self.watched_keys[*db]
                .get(key)
                .and_then(|ws| ws.iter().find(|w| w.conn == conn))
                .is_some_and(|w| w.expired);
            !expired_at_watch && self.key_is_expired(*db, key)
        })
    }

    /// A watched key was modified: fail the watchers' next EXEC (touchWatchedKey).
    pub(crate) fn touch_watched_key(&mut self, db: usize, key: &[u8]) {
        let registry = &mut self.watched_keys[db];
        if registry.is_empty() {
            return;
        }
        let Some(watchers) = registry.get_mut(key) else {
            return;
        };
        let exists = self.dbs[db].contains(key);
        let mut dirtied = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                if !exists {
                    // The expired key is now gone: logically nothing changed. Deleted
                    // keys are not flagged as expired any more.
                    w.expired = false;
                    continue;
                }
                // Redis 7.0 stops at the first watcher of a still-present key that
                // was expired at WATCH time, leaving later watchers untouched.
                break;
            }
            dirtied.push(w.conn);
        }
        for conn in dirtied {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.dirty_cas = true;
            }
            // A dirty client's EXEC fails whatever else happens: stop tracking it.
            self.unwatch_all_keys(conn);
        }
    }

    /// Every watched key of `emptied` that exists there (or, for SWAPDB, in
    /// `replaced_with`) is touched (touchAllWatchedKeysInDb). Called while the keys
    /// are still in place.
    pub(crate) fn touch_all_watched_keys_in_db(
        &mut self,
        emptied: usize,
        replaced_with: Option<usize>,
    ) {
        if self.watched_keys[emptied].is_empty() {
            return;
        }
        let now_ms = self.wall_ms();
        let mut dirtied = Vec::new();
        let (dbs, registry) = (&self.dbs, &mut self.watched_keys[emptied]);
        for (key, watchers) in registry.iter_mut() {
            let in_emptied = dbs[emptied].contains(key);
            let in_replacement = replaced_with.is_some_and(|r| dbs[r].contains(key));
            if !in_emptied && !in_replacement {
                continue;
            }
            let replacement_expired = replaced_with.is_some_and(|r| dbs[r].is_expired(key, now_ms));
            for w in watchers.iter_mut() {
                if w.expired {
                    if !in_replacement {
                        // An expired key deleted: no logical change.
                        w.expired = false;
                        continue;
                    } else if replacement_expired {
                        // Still an expired key after the swap.
                        continue;
                    }
                } else if !in_emptied && replacement_expired {
                    // A missing key replaced by an expired one: still no key.
                    w.expired = true;
                    continue;
                }
                dirtied.push(w.conn);
            }
        }
        // Unlike touch_watched_key, Redis leaves these clients' watches in place.
        for conn in dirtied {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.dirty_cas = true;
            }
        }
    }

    /// End `conn`'s transaction without running it (discardTransaction): drop the
    /// queue, clear MULTI and both dirty flags, unwatch everything.
    pub(crate) fn discard_transaction(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.get_mut(&conn) {
            c.multi = None;
            c.dirty_cas = false;
            c.dirty_exec = false;
        }
        self.unwatch_all_keys(conn);
    }

    /// A command was refused while `conn` queues a transaction: EXEC must abort
    /// (flagTransaction).
    pub(crate) fn flag_transaction(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.get_mut(&conn) {
            if c.multi.is_some() {
                c.dirty_exec = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    #[test]
    fn unwatch_removes_registry_entries() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        assert_eq!(t.cmd_on(a, &["WATCH", "k", "k", "j"]), Frame::ok());
        assert_eq!(t.cmd_on(b, &["WATCH", "k"]), Frame::ok());
        assert_eq!(t.server.watched_keys[0].len(), 2);
        assert_eq!(t.server.watched_keys[0][&b"k"[..]].len(), 2);
        assert_eq!(t.server.clients[&a].watched.len(), 2);
        assert_eq!(t.cmd_on(a, &["UNWATCH"]), Frame::ok());
        assert_eq!(t.server.watched_keys[0].len(), 1);
        t.disconnect(b);
        assert!(t.server.watched_keys[0].is_empty());
    }

    #[test]
    fn touching_a_key_unwatches_the_dirty_client() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        t.cmd_on(a, &["WATCH", "k", "other"]);
        t.cmd_on(b, &["SET", "k", "1"]);
        assert!(t.server.clients[&a].dirty_cas);
        assert!(t.server.clients[&a].watched.is_empty());
        assert!(t.server.watched_keys[0].is_empty());
    }

    #[test]
    fn a_watcher_of_an_expired_key_stops_the_touch_as_in_redis_7_0() {
        let mut t = TestServer::new();
        let a = t.connect();
        let c = t.connect();
        t.cmd_on(a, &["SET", "k", "1", "PX", "10"]);
        t.jump_wall_ms(100);
        // `a` watches the key while it is logically expired but still stored; the
        // wall clock then steps back, so `c` watches a live key.
        t.cmd_on(a, &["WATCH", "k"]);
        t.jump_wall_ms(-100);
        t.cmd_on(c, &["WATCH", "k"]);
        let flags: Vec<bool> = t.server.watched_keys[0][&b"k"[..]]
            .iter()
            .map(|w| w.expired)
            .collect();
        assert_eq!(flags, [true, false]);
        // A modification while the key is still there reaches `a` first, and Redis's
        // touchWatchedKey stops at it: neither client is dirtied.
        t.server.signal_modified_key(0, b"k");
        assert!(!t.server.clients[&a].dirty_cas);
        assert!(!t.server.clients[&c].dirty_cas);
        // Once the key is gone, `a` clears its flag and `c` is dirtied.
        t.server.dbs[0].delete(b"k");
        t.server.signal_modified_key(0, b"k");
        assert!(!t.server.clients[&a].dirty_cas);
        assert!(t.server.clients[&c].dirty_cas);
        let flags: Vec<bool> = t.server.watched_keys[0][&b"k"[..]]
            .iter()
            .map(|w| w.expired)
            .collect();
        assert_eq!(flags, [false]);
    }
}
