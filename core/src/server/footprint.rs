//! What the server keeps besides the dataset — clients and their buffers, the
//! blocking, WATCH and Pub/Sub tables, the replication backlog, the AOF buffer —
//! measured, and checked for entries nothing can ever remove.
//!
//! The simulation's memory-growth checker calls [`Server::footprint`] after every
//! drain of effects: a table entry that names a connection the server no longer
//! has, or a key left in a table with nobody waiting on it, is memory that grows
//! with every client that comes and goes. Finding one is a leak, whatever the
//! sizes; the sizes themselves are kept so a run can report its peaks.

use super::Server;
use crate::io::ConnId;
use std::collections::BTreeMap;

/// The sizes of what the server keeps besides the dataset, and the entries found
/// that nothing would ever free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    pub clients: usize,
    /// Unparsed input over all clients.
    pub query_bytes: usize,
    /// Replies built and not yet handed to the network, plus output held for an
    /// fsync (`appendfsync always`), over all clients.
    pub reply_bytes: usize,
    pub blocked_clients: usize,
    /// (key, client) pairs of the blocking tables.
    pub blocking_entries: usize,
    /// (key, client) pairs of the WATCH tables.
    pub watch_entries: usize,
    /// (name, client) pairs of the Pub/Sub tables.
    pub subscription_entries: usize,
    pub backlog_bytes: usize,
    pub aof_buffer_bytes: usize,
    /// Effects produced and not yet taken by the loop.
    pub queued_effects: usize,
    /// Entries that nothing would ever remove, described.
    pub orphans: Vec<String>,
}

impl Footprint {
    /// The larger of each size of `self` and `other` (peaks over a run); orphans
    /// are not merged.
    pub fn max_sizes(&mut self, other: &Footprint) {
        self.clients = self.clients.max(other.clients);
        self.query_bytes = self.query_bytes.max(other.query_bytes);
        self.reply_bytes = self.reply_bytes.max(other.reply_bytes);
        self.blocked_clients = self.blocked_clients.max(other.blocked_clients);
        self.blocking_entries = self.blocking_entries.max(other.blocking_entries);
        self.watch_entries = self.watch_entries.max(other.watch_entries);
        self.subscription_entries = self.subscription_entries.max(other.subscription_entries);
        self.backlog_bytes = self.backlog_bytes.max(other.backlog_bytes);
        self.aof_buffer_bytes = self.aof_buffer_bytes.max(other.aof_buffer_bytes);
        self.queued_effects = self.queued_effects.max(other.queued_effects);
    }
}

/// One table of listeners by name (a key's blocked clients, a channel's
/// subscribers, in arrival order): count its (name, client) pairs, and describe
/// into `orphans` a name kept with nobody on it and a listener `live` rejects.
pub(crate) fn check_listeners<'a, N: AsRef<[u8]> + 'a>(
    table: impl IntoIterator<Item = (&'a N, &'a BTreeMap<u64, ConnId>)>,
    what: &dyn std::fmt::Display,
    live: &dyn Fn(ConnId) -> bool,
    orphans: &mut Vec<String>,
) -> usize {
    let mut entries = 0;
    for (name, listeners) in table {
        let name = String::from_utf8_lossy(name.as_ref());
        if listeners.is_empty() {
            orphans.push(format!("{what} {name:?} is kept with nobody on it"));
        }
        for conn in listeners.values() {
            entries += 1;
            if !live(*conn) {
                orphans.push(format!("{what} {name:?} lists {conn:?}, which is gone"));
            }
        }
    }
    entries
}

impl Server {
    /// Measure what the server keeps besides the dataset and look for entries that
    /// outlived what they belong to. Walks every table: for tests and the
    /// simulation, not for the hot path.
    pub fn footprint(&self) -> Footprint {
        let mut f = Footprint {
            clients: self.clients.len(),
            blocked_clients: self.blocking.blocked_clients(),
            backlog_bytes: self
                .repl
                .backlog
                .as_ref()
                .map_or(0, |b| b.histlen() as usize),
            aof_buffer_bytes: self.aof.buffer_len(),
            queued_effects: self.effects.len(),
            ..Footprint::default()
        };
        for client in self.clients.values() {
            f.query_bytes += client.query.len();
            f.reply_bytes += client.reply.len();
            f.reply_bytes += client.held.iter().map(|(_, b)| b.len()).sum::<usize>();
        }
        let known = |conn: ConnId| self.clients.contains_key(&conn);
        f.blocking_entries = self.blocking.check_tables(&known, &mut f.orphans);
        f.subscription_entries = self.pubsub.check_tables(&known, &mut f.orphans);
        for (db, table) in self.watched_keys.iter().enumerate() {
            for (key, watchers) in table {
                if watchers.is_empty() {
                    f.orphans.push(format!(
                        "db {db}: WATCH table keeps key {:?} with no watcher",
                        String::from_utf8_lossy(key)
                    ));
                }
                for w in watchers {
                    f.watch_entries += 1;
                    let listed = self
                        .clients
                        .get(&w.conn)
                        .is_some_and(|c| c.watched.iter().any(|(d, k)| *d == db && k == key));
                    if !listed {
                        f.orphans.push(format!(
                            "db {db}: WATCH table names {:?} for key {:?}, which that client does not watch (or is gone)",
                            w.conn,
                            String::from_utf8_lossy(key)
                        ));
                    }
                }
            }
        }
        for (conn, client) in &self.clients {
            for (db, key) in &client.watched {
                let listed = self.watched_keys.get(*db).is_some_and(|t| {
                    t.get(key)
                        .is_some_and(|ws| ws.iter().any(|w| w.conn == *conn))
                });
                if !listed {
                    f.orphans.push(format!(
                        "{conn:?} watches key {:?} in db {db}, which the WATCH table does not list",
                        String::from_utf8_lossy(key)
                    ));
                }
            }
        }
        self.aof.check_held(&known, &mut f.orphans);
        for r in &self.repl.replicas {
            if !known(r.conn) {
                f.orphans
                    .push(format!("replica {:?} has no client", r.conn));
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{encode_command, TestServer};

    #[test]
    fn a_client_that_leaves_takes_its_table_entries_with_it() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        t.cmd_on(a, &["WATCH", "k1", "k2"]);
        t.cmd_on(a, &["SUBSCRIBE", "ch"]);
        t.send_raw(b, &encode_command(&[b"BLPOP", b"list", b"0"]));
        let during = t.server.footprint();
        assert_eq!(during.orphans, Vec::<String>::new());
        assert_eq!(during.watch_entries, 2);
        assert_eq!(during.subscription_entries, 1);
        assert_eq!(during.blocking_entries, 1);
        assert_eq!(during.blocked_clients, 1);
        t.disconnect(a);
        t.disconnect(b);
        let after = t.server.footprint();
        assert_eq!(after.orphans, Vec::<String>::new());
        assert_eq!(
            (
                after.clients,
                after.watch_entries,
                after.subscription_entries
            ),
            (0, 0, 0)
        );
        assert_eq!((after.blocking_entries, after.blocked_clients), (0, 0));
    }

    #[test]
    fn an_entry_left_behind_by_a_gone_client_is_a_leak() {
        let mut t = TestServer::new();
        let a = t.connect();
        t.cmd_on(a, &["WATCH", "k"]);
        // What a forgotten cleanup would leave: the client gone, its watch kept.
        t.server.clients.remove(&a);
        let f = t.server.footprint();
        assert_eq!(f.orphans.len(), 1, "{:?}", f.orphans);
        assert!(
            f.orphans[0].contains("WATCH table names"),
            "{:?}",
            f.orphans
        );
        // And a key kept with nobody watching it.
        t.server.watched_keys[0].clear();
        t.server.watched_keys[0].insert(b"x".to_vec().into_boxed_slice(), Vec::new());
        let f = t.server.footprint();
        assert!(
            f.orphans.iter().any(|o| o.contains("with no watcher")),
            "{:?}",
            f.orphans
        );
    }
}
