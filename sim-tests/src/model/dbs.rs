//! The databases other than 0: what SWAPDB moves in and out of them, and what the
//! commands of a connection that SELECTed one do there ([`Model::exec`] puts that
//! database in db 0's place for the command). Their keys keep their possible states,
//! and active expiry may delete those past their deadline there too (see
//! [`Model::after_input`]), notified on `__keyspace@<db>__` / `__keyevent@<db>__`
//! (see [`Model::notify_swapdb`]). Connections watch keys, block and scan elements
//! in db 0 only.
//!
//! SWAPDB as Redis 7.0's `dbSwapDatabases`: watched keys are touched when the key
//! exists in either database (`touchAllWatchedKeysInDb`, both ways; a key absent
//! from db 0 replaced by one already expired is not a logical change, it is only
//! flagged expired), then the tables are swapped (watched and blocking keys stay
//! with their database), then every key a client blocked on db 0 waits for that
//! exists in the new db 0 is signalled ready (`scanDatabaseForReadyKeys`), if it
//! holds a type some client blocks for ([`Model::signals_ready`]).

use super::multi::Tri;
use super::{expect_exact, Key, Model, Slot};
use crate::resp;
use std::collections::BTreeMap;

/// `databases 16`, Redis's default.
pub(crate) const DATABASES: i64 = 16;

/// Keys of one database, as [`Model`]'s `keys`.
pub(crate) type Db = BTreeMap<Key, Vec<Slot>>;

/// getIntFromObjectOrReply with a custom message: a strict integer that fits an int.
fn db_index(raw: &[u8], msg: &str) -> Result<i64, Vec<u8>> {
    crate::numbers::parse_i64_strict(raw)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| resp::err(msg))
}

impl Model {
    /// SWAPDB index index.
    pub(crate) fn swapdb(
        &mut self,
        wall_ms: i64,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        let a = match db_index(&request[1], "invalid first DB index") {
            Ok(a) => a,
            Err(e) => return expect_exact(actual, &e),
        };
        let b = match db_index(&request[2], "invalid second DB index") {
            Ok(b) => b,
            Err(e) => return expect_exact(actual, &e),
        };
        if !(0..DATABASES).contains(&a) || !(0..DATABASES).contains(&b) {
            return expect_exact(actual, &resp::err("DB index is out of range"));
        }
        expect_exact(actual, &resp::ok())?;
        if a == b {
            return Ok(());
        }
        self.notify_swapdb(a, b);
        if a != 0 && b != 0 {
            // Nobody watches or waits in those: only their contents move.
            let (x, y) = (self.other_dbs.remove(&a), self.other_dbs.remove(&b));
            if let Some(x) = x {
                self.other_dbs.insert(b, x);
            }
            if let Some(y) = y {
                self.other_dbs.insert(a, y);
            }
            return Ok(());
        }
        let other = a.max(b);
        let theirs = self.other_dbs.remove(&other).unwrap_or_default();
        let watched: Vec<Key> = self
            .watches
            .values()
            .flat_map(|w| w.watched_keys())
            .cloned()
            .collect();
        for k in watched {
            let mine = self.keys.get(&k).cloned().unwrap_or_else(|| vec![None]);
            let there = theirs.get(&k).cloned().unwrap_or_else(|| vec![None]);
            let in_mine = Tri::of_counts(mine.iter().filter(|s| s.is_some()).count(), mine.len());
            let visible_there = Tri::of_counts(
                there
                    .iter()
                    .filter(|s| s.as_ref().is_some_and(|e| e.visible_at(wall_ms)))
                    .count(),
                there.len(),
            );
            let how = match (in_mine, visible_there) {
                (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
                (Tri::No, t) => t,
                _ => Tri::Maybe,
            };
            if how == Tri::Yes {
                self.note("swapdb: a watched key touched".into());
            }
            self.touch(&k, how);
            let expired_there = there
                .iter()
                .any(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)));
            if in_mine != Tri::Yes && expired_there {
                // Flagged expired (or touched): EXEC may not abort for its expiry.
                self.may_have_watched_expired(&k);
            }
        }
        let mine = std::mem::replace(&mut self.keys, theirs);
        if !mine.is_empty() {
            self.other_dbs.insert(other, mine);
        }
        // Every element scan now walks another collection, if any.
        for s in self.scans.values_mut() {
            s.always.clear();
        }
        let waited: Vec<Key> = self
            .blocked
            .iter()
            .flat_map(|b| b.keys.iter())
            .filter(|k| self.keys.get(*k).is_some_and(|s| self.signals_ready(k, s)))
            .cloned()
            .collect();
        self.ready_unordered = !waited.is_empty();
        for k in waited {
            self.note("swapdb: a key a client waits for swapped in".into());
            if !self.ready.contains(&k) {
                self.ready.push(k);
            }
        }
        self.note(if self.keys.is_empty() {
            "swapdb: db 0 swapped with an empty database".into()
        } else {
            "swapdb: db 0 swapped with a database holding keys".into()
        });
        Ok(())
    }

    /// SELECT index (Redis 7.0's selectCommand: getIntFromObjectOrReply with no
    /// message of its own, then selectDb's range check).
    pub(crate) fn select(
        &mut self,
        session: &mut super::Session,
        request: &[Vec<u8>],
        actual: &[u8],
    ) -> Result<(), String> {
        let Some(db) = crate::numbers::parse_i64_strict(&request[1]) else {
            let msg = "value is not an integer or out of range";
            return expect_exact(actual, &resp::err(msg));
        };
        if i32::try_from(db).is_err() {
            // getRangeLongFromObjectOrReply's own message for an int out of range.
            let msg = "value is out of range, value must between -2147483648 and 2147483647";
            return expect_exact(actual, &resp::err(msg));
        }
        if !(0..DATABASES).contains(&db) {
            return expect_exact(actual, &resp::err("DB index is out of range"));
        }
        expect_exact(actual, &resp::ok())?;
        session.db = db;
        if db != 0 {
            self.note("select: another database".into());
        }
        Ok(())
    }

    /// [`Model::merge`] for the other databases.
    pub(crate) fn merge_other_dbs(&mut self, other: &BTreeMap<i64, Db>) {
        let ids: Vec<i64> = self.other_dbs.keys().chain(other.keys()).copied().collect();
        for id in ids {
            let empty = Db::new();
            let theirs = other.get(&id).unwrap_or(&empty).clone();
            let mine = self.other_dbs.entry(id).or_default();
            let keys: Vec<Key> = mine.keys().chain(theirs.keys()).cloned().collect();
            for k in keys {
                let mut slots = mine.get(&k).cloned().unwrap_or_else(|| vec![None]);
                slots.extend(theirs.get(&k).cloned().unwrap_or_else(|| vec![None]));
                slots.sort();
                slots.dedup();
                if slots != [None] {
                    mine.insert(k, slots);
                }
            }
        }
    }

    /// Active expiry in the other databases: a key past its deadline there may be
    /// gone (the same as [`Model::after_input`] does for db 0).
    pub(crate) fn other_dbs_after_input(&mut self, wall_ms: i64) {
        for db in self.other_dbs.values_mut() {
            for slots in db.values_mut() {
                let stale = slots
                    .iter()
                    .any(|s| s.as_ref().is_some_and(|e| !e.visible_at(wall_ms)));
                if stale && !slots.contains(&None) {
                    slots.insert(0, None);
                }
            }
        }
        // Their deletion is notified in their database.
        self.owe_expired_other_dbs(wall_ms);
    }
}
