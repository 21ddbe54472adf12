//! Clients blocked on keys (Redis's blocked.c, and the blocked-client deadlines of
//! timeout.c): where BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX and
//! BZMPOP park their client while there is nothing to pop.
//!
//! * Blocking (blockForKeys): the client stops processing input (`Client::blocked`),
//!   waits in a FIFO per (database, key), and with a timeout in the deadline table,
//!   whose first entry `Server::poll_timeout` reports. Deadlines are monotonic
//!   instants, so wall-clock jumps neither fire nor delay them.
//! * Readiness (signalKeyAsReady): a key can wake its clients only by being created,
//!   because emptied lists and sorted sets leave the keyspace. Every creation passes
//!   through `Server::key_added` (Redis's dbAdd), which lists a waited-for list or
//!   sorted set as ready; SWAPDB lists the waited-for keys the swap made visible
//!   (scanDatabaseForReadyKeys).
//! * Serving (handleClientsBlockedOnKeys): after each top-level command — a whole
//!   EXEC, each command of a pipeline — every ready key serves its clients in the
//!   order they blocked, each exactly as if it had run the non-blocking pop
//!   (`cmd/lists.rs`, `cmd/zsets.rs`), until the key is gone. A client waiting for the
//!   other type is skipped and stays blocked. A BLMOVE's push may create a key others
//!   wait for; it is served in the next round.
//! * Unblocking, by service, timeout or CLIENT UNBLOCK, queues the client so the
//!   before-sleep hook runs the input it buffered meanwhile (processUnblockedClients).
//!   A client that goes away is forgotten at once: nothing of it stays in a queue.

use super::propagate::TARGET_ALL;
use super::Server;
use crate::client::ReplyMode;
use crate::cmd::{lists, zsets};
use crate::command::{CommandSpec, Ctx};
use crate::io::{ConnId, MonoNs};
use crate::object::Value;
use crate::resp::{Args, ReplyBuf};
use crate::util::{FastMap, FastSet};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a blocked client will do once a key it waits for is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BlockOp {
    /// BLPOP / BRPOP: one element, replied as [key, element].
    Pop { head: bool },
    /// BLMPOP: up to `count` elements, replied as [key, [elements]].
    Mpop { head: bool, count: u64 },
    /// BLMOVE / BRPOPLPUSH: one element moved to `dst`, replied alone.
    Move {
        dst: Vec<u8>,
        from_head: bool,
        to_head: bool,
    },
    /// BZPOPMIN / BZPOPMAX: [key, member, score].
    Zpop { max: bool },
    /// BZMPOP: [key, [[member, score], ...]].
    Zmpop { max: bool, count: i64 },
    /// WAIT (BLOCKED_WAIT): no keys; served by `serve_waiting_acks` once
    /// `numreplicas` replicas acknowledged `offset`, replied the count.
    WaitAcks { offset: i64, numreplicas: i64 },
}

impl BlockOp {
    /// Waits for a list (BLOCKED_LIST), else for a sorted set (BLOCKED_ZSET).
    fn wants_list(&self) -> bool {
        matches!(
            self,
            BlockOp::Pop { .. } | BlockOp::Mpop { .. } | BlockOp::Move { .. }
        )
    }

    /// Waits for a sorted set (BLOCKED_ZSET); WAIT waits for neither.
    fn wants_zset(&self) -> bool {
        matches!(self, BlockOp::Zpop { .. } | BlockOp::Zmpop { .. })
    }
}

/// One blocked client (Redis's `client->bpop` plus the argv it keeps while blocked).
#[derive(Debug)]
struct Blocked {
    client_id: u64,
    db: usize,
    /// The distinct keys waited for, in argument order.
    keys: Vec<Vec<u8>>,
    /// Position in every key's FIFO: blocking order across the server.
    seq: u64,
    op: BlockOp,
    deadline: Option<MonoNs>,
    spec: &'static CommandSpec,
    /// The blocking command's arguments, concatenated, and their spans: the served
    /// pop runs with them and SLOWLOG shows them.
    argv: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Microseconds the call that blocked took (added again when served, as Redis's
    /// updateStatsOnUnblock does).
    call_us: u64,
}

/// The server's blocked-client state.
#[derive(Debug)]
pub struct Blocking {
    clients: FastMap<ConnId, Blocked>,
    /// Per database: key → the clients waiting for it, by `seq` (db->blocking_keys).
    waiting: Vec<FastMap<Vec<u8>, BTreeMap<u64, ConnId>>>,
    /// (deadline, client id, conn) of clients blocked with a timeout
    /// (clients_timeout_table).
    deadlines: BTreeSet<(MonoNs, u64, ConnId)>,
    /// Keys to serve, in the order they became ready (server.ready_keys), and the
    /// same keys per database for the duplicate check (db->ready_keys).
    ready: Vec<(usize, Vec<u8>)>,
    ready_set: Vec<FastSet<Vec<u8>>>,
    /// Clients unblocked since the last before-sleep (server.unblocked_clients).
    unblocked: VecDeque<ConnId>,
    next_seq: u64,
}

impl Blocking {
    pub fn new(databases: usize) -> Blocking {
        Blocking {
            clients: FastMap::default(),
            waiting: (0..databases).map(|_| FastMap::default()).collect(),
            deadlines: BTreeSet::new(),
            ready: Vec::new(),
            ready_set: (0..databases).map(|_| FastSet::default()).collect(),
            unblocked: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Count the (key, client) pairs waiting, and describe into `orphans` every
    /// entry that outlived its client or its key's last waiter
    /// (`Server::footprint`).
    pub(crate) fn check_tables(
        &self,
        known: &dyn Fn(ConnId) -> bool,
        orphans: &mut Vec<String>,
    ) -> usize {
        let mut entries = 0;
        for conn in self.clients.keys() {
            if !known(*conn) {
                orphans.push(format!("blocked client {conn:?} is gone"));
            }
        }
        let blocked = |conn: ConnId| self.clients.contains_key(&conn);
        for (db, table) in self.waiting.iter().enumerate() {
            let what = format_args!("db {db}: the blocking table's key");
            entries += super::footprint::check_listeners(table, &what, &blocked, orphans);
        }
        for (_, _, conn) in &self.deadlines {
            if !self.clients.contains_key(conn) {
                orphans.push(format!(
                    "a timeout is set for {conn:?}, which is not blocked"
                ));
            }
        }
        entries
    }

    /// INFO blocked_clients.
    pub fn blocked_clients(&self) -> usize {
        self.clients.len()
    }

    /// INFO clients_in_timeout_table: blocked clients with a deadline.
    pub fn clients_in_timeout_table(&self) -> usize {
        self.deadlines.len()
    }

    /// The earliest deadline of a blocked client.
    pub fn next_deadline(&self) -> Option<MonoNs> {
        self.deadlines.first().map(|&(d, _, _)| d)
    }

    pub fn is_blocked(&self, conn: ConnId) -> bool {
        self.clients.contains_key(&conn)
    }

    /// Keys clients wait for in `db` (memory and consistency checks in tests).
    pub fn waited_keys(&self, db: usize) -> usize {
        self.waiting[db].len()
    }

    /// Clients waiting for `key` in `db`, in serving order.
    pub fn waiting_for(&self, db: usize, key: &[u8]) -> Vec<ConnId> {
        self.waiting[db]
            .get(key)
            .map(|q| q.values().copied().collect())
            .unwrap_or_default()
    }
}

impl Server {
    /// blockForKeys: park the running client of `ctx` on `keys` until one can serve
    /// `op`, or until `deadline` (None: forever). The command must not have replied.
    pub(crate) fn block_for_keys(
        &mut self,
        ctx: &Ctx<'_>,
        keys: &[&[u8]],
        op: BlockOp,
        deadline: Option<MonoNs>,
    ) {
        assert!(
            !keys.is_empty() || matches!(op, BlockOp::WaitAcks { .. }),
            "a client blocks on at least one key"
        );
        let conn = ctx.conn;
        let client = self
            .clients
            .get_mut(&conn)
            .expect("the running command's client exists");
        assert!(!client.blocked, "a blocked client runs no command");
        client.blocked = true;
        let client_id = client.id;
        let b = &mut self.blocking;
        let seq = b.next_seq;
        b.next_seq += 1;
        let mut distinct = Vec::with_capacity(keys.len());
        for &key in keys {
            // A key named twice waits once (Redis's dictAdd into bpop.keys).
            let queue = b.waiting[ctx.db].entry(key.to_vec()).or_default();
            if queue.insert(seq, conn).is_none() {
                distinct.push(key.to_vec());
            }
        }
        let mut argv = Vec::with_capacity(ctx.args.byte_len());
        let mut spans = Vec::with_capacity(ctx.argc());
        for a in ctx.args.iter() {
            spans.push((argv.len(), argv.len() + a.len()));
            argv.extend_from_slice(a);
        }
        // Injected bug: the deadline is kept on the wall clock (in nanoseconds since
        // the epoch) instead of the monotonic one.
        #[cfg(feature = "injected-bugs")]
        let deadline = match deadline {
            Some(d) if self.bug(crate::injected::Bug::TimersOnWallClock) => {
                let wait = d.0.saturating_sub(self.now.mono.0);
                Some(MonoNs(injected_wall_ns(self.now).saturating_add(wait)))
            }
            d => d,
        };
        #[cfg(feature = "injected-bugs")]
        let b = &mut self.blocking;
        if let Some(d) = deadline {
            b.deadlines.insert((d, client_id, conn));
        }
        let previous = b.clients.insert(
            conn,
            Blocked {
                client_id,
                db: ctx.db,
                keys: distinct,
                seq,
                op,
                deadline,
                spec: ctx.spec,
                argv,
                spans,
                call_us: 0,
            },
        );
        debug_assert!(previous.is_none());
    }

    /// The duration of the call that just blocked `conn` (dispatch reports it).
    pub(crate) fn note_blocking_call(&mut self, conn: ConnId, duration_us: u64) {
        if let Some(b) = self.blocking.clients.get_mut(&conn) {
            b.call_us = duration_us;
        }
    }

    /// Take `conn` out of every queue and the deadline table (unblockClient's
    /// bookkeeping, and resetClient's end of CLIENT REPLY SKIP).
    fn detach_blocked(&mut self, conn: ConnId) -> Option<Blocked> {
        let b = self.blocking.clients.remove(&conn)?;
        let waiting = &mut self.blocking.waiting[b.db];
        for key in &b.keys {
            let queue = waiting
                .get_mut(key.as_slice())
                .expect("a blocked client's keys have queues");
            let removed = queue.remove(&b.seq);
            debug_assert_eq!(removed, Some(conn));
            if queue.is_empty() {
                waiting.remove(key.as_slice());
            }
        }
        if let Some(d) = b.deadline {
            let removed = self.blocking.deadlines.remove(&(d, b.client_id, conn));
            debug_assert!(removed);
        }
        if self.blocking.clients.is_empty() {
            debug_assert!(self.blocking.waiting.iter().all(|w| w.is_empty()));
            debug_assert!(self.blocking.deadlines.is_empty());
        }
        if let Some(c) = self.clients.get_mut(&conn) {
            c.blocked = false;
            c.argv_bytes = 0;
            if c.reply_mode == ReplyMode::Skipping {
                c.reply_mode = ReplyMode::On;
            }
        }
        Some(b)
    }

    /// unblockClient: detach and queue the client to run the input it buffered.
    fn unblock_client(&mut self, conn: ConnId) -> Option<Blocked> {
        let b = self.detach_blocked(conn)?;
        if let Some(c) = self.clients.get_mut(&conn) {
            if !c.unblocked {
                c.unblocked = true;
                self.blocking.unblocked.push_back(conn);
            }
        }
        Some(b)
    }

    /// A client is going away (closed, killed): forget that it was blocked.
    pub(crate) fn forget_blocked(&mut self, conn: ConnId) {
        self.detach_blocked(conn);
    }

    /// Run `f` as the blocked client `conn` — its database, arguments and reply
    /// buffer, CLIENT REPLY OFF/SKIP honoured, errors counted — and say whether it
    /// replied with an error.
    fn run_as_blocked(&mut self, conn: ConnId, f: impl FnOnce(&mut Server, &mut Ctx<'_>)) -> bool {
        let b = self
            .blocking
            .clients
            .get_mut(&conn)
            .expect("running as a blocked client");
        let (db, spec) = (b.db, b.spec);
        let argv = std::mem::take(&mut b.argv);
        let spans = std::mem::take(&mut b.spans);
        let client = self.clients.get_mut(&conn).expect("blocked clients exist");
        let placeholder = ReplyBuf::new(client.protocol == 3);
        let mut reply = std::mem::replace(&mut client.reply, placeholder);
        debug_assert_eq!(reply.error_count(), 0);
        let mark = reply.len();
        let mut ctx = Ctx {
            conn,
            args: Args::new(&argv, &spans),
            reply: &mut reply,
            db,
            spec,
            // A served client pops what is there; it never blocks again from here.
            deny_blocking: true,
            propagating: self.propagating(),
            prop: Default::default(),
        };
        f(self, &mut ctx);
        // What the served pop propagates (the plain pop it was rewritten to) is the
        // unit's only op but for lazy-expiry DELs (serveClientBlockedOnList's
        // alsoPropagate); a failed one propagates nothing.
        let prop = std::mem::take(&mut ctx.prop);
        if let Some(argv) = prop.argv {
            self.also_propagate(db, argv, TARGET_ALL);
        }
        let errors = reply.take_errors();
        let failed = !errors.is_empty();
        for e in errors {
            self.stats.count_error(e);
        }
        let client = self.clients.get_mut(&conn).expect("blocked clients exist");
        if matches!(client.reply_mode, ReplyMode::Off | ReplyMode::Skipping) {
            reply.truncate(mark);
        }
        let meanwhile = std::mem::replace(&mut client.reply, reply);
        if !meanwhile.is_empty() {
            client.reply.raw(meanwhile.as_bytes());
        }
        self.mark_pending_write(conn);
        let b = self
            .blocking
            .clients
            .get_mut(&conn)
            .expect("still blocked while replying");
        b.argv = argv;
        b.spans = spans;
        failed
    }

    /// updateStatsOnUnblock: the command's time, failure and SLOWLOG entry, accounted
    /// when the client is done with it.
    fn stats_on_unblock(&mut self, conn: ConnId, b: &Blocked, reply_us: u64, failed: bool) {
        let total_us = b.call_us + reply_us;
        let stats = self.stats.command(b.spec.fullname);
        stats.usec += total_us;
        if failed {
            stats.failed_calls += 1;
        }
        self.maybe_slowlog(conn, Args::new(&b.argv, &b.spans), total_us);
    }

    /// Time out every blocked client whose deadline has come (handleBlockedClientsTimeout):
    /// the null array, whatever the command. Returns whether any did.
    pub(crate) fn handle_blocked_timeouts(&mut self) -> bool {
        let mut any = false;
        #[allow(unused_mut)]
        let mut now = self.now.mono;
        // Injected bug: deadlines are compared with the wall clock.
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::TimersOnWallClock) {
            now = MonoNs(injected_wall_ns(self.now));
        }
        while let Some(&(deadline, _, conn)) = self.blocking.deadlines.first() {
            if deadline > now {
                break;
            }
            let acks = self.wait_acks_reply(conn);
            self.run_as_blocked(conn, |_, ctx| match acks {
                Some(n) => ctx.reply.int(n),
                None => ctx.reply.null_array(),
            });
            let b = self.unblock_client(conn);
            debug_assert!(b.is_some());
            any = true;
        }
        any
    }

    /// CLIENT UNBLOCK: end `conn`'s wait with the timeout reply or the UNBLOCKED
    /// error. False if it is not blocked.
    pub(crate) fn unblock_on_request(&mut self, conn: ConnId, with_error: bool) -> bool {
        if !self.blocking.is_blocked(conn) {
            return false;
        }
        let acks = self.wait_acks_reply(conn);
        self.run_as_blocked(conn, |_, ctx| {
            if with_error {
                ctx.reply
                    .error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
            } else if let Some(n) = acks {
                ctx.reply.int(n);
            } else {
                ctx.reply.null_array();
            }
        });
        let b = self.unblock_client(conn).expect("checked to be blocked");
        // Redis counts the command as failed either way.
        self.stats_on_unblock(conn, &b, 0, true);
        true
    }

    /// disconnectAllBlockedClients: a server turning into a replica ends every wait
    /// with an error and closes those clients once it is sent.
    pub(crate) fn disconnect_all_blocked_clients(&mut self) {
        let mut blocked: Vec<(u64, ConnId)> = self
            .blocking
            .clients
            .iter()
            .map(|(conn, b)| (b.client_id, *conn))
            .collect();
        blocked.sort_unstable();
        for (_, conn) in blocked {
            self.run_as_blocked(conn, |_, ctx| {
                ctx.reply.error(
                    "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
                );
            });
            if let Some(b) = self.unblock_client(conn) {
                self.stats_on_unblock(conn, &b, 0, true);
            }
            if let Some(c) = self.clients.get_mut(&conn) {
                c.close_after_reply = true;
            }
            self.mark_pending_write(conn);
        }
    }

    /// The timeout reply of a WAIT (replyToBlockedClientTimedOut: the replicas that
    /// acknowledged its offset by now); None for a client blocked on keys.
    fn wait_acks_reply(&self, conn: ConnId) -> Option<i64> {
        match self.blocking.clients.get(&conn)?.op {
            BlockOp::WaitAcks { offset, .. } => Some(self.repl_count_acks(offset) as i64),
            _ => None,
        }
    }

    /// processClientsWaitingReplicas: every WAIT whose replicas acknowledged enough
    /// replies the count, newest first (clients_waiting_acks is pushed at the head);
    /// one that asks no more than an earlier-served one is given that one's count.
    pub(crate) fn serve_waiting_acks(&mut self) {
        let mut waiting: Vec<(u64, ConnId, i64, i64)> = self
            .blocking
            .clients
            .iter()
            .filter_map(|(conn, b)| match b.op {
                BlockOp::WaitAcks {
                    offset,
                    numreplicas,
                } => Some((b.seq, *conn, offset, numreplicas)),
                _ => None,
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        waiting.sort_unstable_by_key(|w| std::cmp::Reverse(w.0));
        let mut last: Option<(i64, i64)> = None;
        for (_, conn, offset, numreplicas) in waiting {
            let count = match last {
                Some((last_off, last_n)) if last_off >= offset && last_n >= numreplicas => last_n,
                _ => {
                    let n = self.repl_count_acks(offset) as i64;
                    if n < numreplicas {
                        continue;
                    }
                    last = Some((offset, n));
                    n
                }
            };
            let failed = self.run_as_blocked(conn, |_, ctx| ctx.reply.int(count));
            let b = self.unblock_client(conn).expect("was blocked");
            self.stats_on_unblock(conn, &b, 0, failed);
        }
    }

    /// processUnblockedClients: run what unblocked clients buffered while waiting.
    pub(crate) fn process_unblocked_clients(&mut self) {
        while let Some(conn) = self.blocking.unblocked.pop_front() {
            let Some(c) = self.clients.get_mut(&conn) else {
                continue;
            };
            c.unblocked = false;
            if c.blocked {
                continue;
            }
            self.process_input(conn);
        }
    }

    /// SWAPDB: keys clients wait for in `a` or `b` may exist there now.
    pub(crate) fn signal_swapped_dbs(&mut self, a: usize, b: usize) {
        for db in [a, b] {
            let mut keys: Vec<Vec<u8>> = self.blocking.waiting[db].keys().cloned().collect();
            // The hash order of the waiting table is no order to serve in.
            keys.sort_unstable();
            for key in keys {
                self.signal_key_as_ready(db, &key);
            }
        }
    }

    /// signalKeyAsReady, for every key created (dbAdd): list it to be served after
    /// the command when it is a list or a sorted set someone waits for, once. As in
    /// Redis, the type is the one the key holds now, and it only counts while some
    /// client blocks for that type (`blocked_clients_by_type`), on whatever key: the
    /// key is served with what it holds at the end of the command, which may be
    /// another type by then (an overwrite signals nothing).
    pub(crate) fn signal_key_as_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking.clients.is_empty() {
            return;
        }
        let is_list = match self.dbs[db].peek(key).map(|o| &o.value) {
            Some(Value::List(_)) => true,
            Some(Value::Zset(_)) => false,
            _ => return,
        };
        let b = &mut self.blocking;
        if !b.waiting[db].contains_key(key) || b.ready_set[db].contains(key) {
            return;
        }
        let someone_blocks_for_type = b.clients.values().any(|c| {
            if is_list {
                c.op.wants_list()
            } else {
                c.op.wants_zset()
            }
        });
        if someone_blocks_for_type {
            b.ready_set[db].insert(key.to_vec());
            b.ready.push((db, key.to_vec()));
        }
    }

    /// handleClientsBlockedOnKeys: serve the clients of every key that became ready,
    /// round after round while serving makes more keys ready.
    pub(crate) fn handle_clients_blocked_on_keys(&mut self) {
        while !self.blocking.ready.is_empty() {
            let round = std::mem::take(&mut self.blocking.ready);
            for (db, key) in round {
                self.blocking.ready_set[db].remove(&key);
                self.serve_key(db, &key);
            }
        }
        debug_assert!(self.blocking.ready_set.iter().all(|s| s.is_empty()));
    }

    /// Serve the clients waiting for `key` in `db`, first blocked first, while it lasts.
    fn serve_key(&mut self, db: usize, key: &[u8]) {
        // lookupKeyReadWithFlags(NOSTATS): an expired key is deleted, not served,
        // and its DEL propagated on its own.
        if self.expire_if_needed(db, key) {
            self.propagate_pending(None);
        }
        let is_list = match self.dbs[db].peek(key).map(|o| &o.value) {
            Some(Value::List(_)) => true,
            Some(Value::Zset(_)) => false,
            _ => return,
        };
        for conn in self.blocking.waiting_for(db, key) {
            let Some(b) = self.blocking.clients.get(&conn) else {
                continue;
            };
            if b.op.wants_list() != is_list {
                continue;
            }
            let op = b.op.clone();
            let started_ns = self.probe.elapsed_ns();
            let failed = self.run_as_blocked(conn, |srv, ctx| match &op {
                BlockOp::Pop { head } => lists::pop_with_key(srv, ctx, key, *head),
                BlockOp::Mpop { head, count } => lists::mpop_with_key(srv, ctx, key, *head, *count),
                BlockOp::Move {
                    dst,
                    from_head,
                    to_head,
                } => {
                    lists::lmove_keys(srv, ctx, key, dst, *from_head, *to_head);
                    // Moved (not refused by a wrong-type destination): a served
                    // BLMOVE propagates LMOVE with Redis's lowercase positions,
                    // BRPOPLPUSH as itself unblocked.
                    if ctx.prop.argv.is_some() {
                        let position = |head: bool| -> Vec<u8> {
                            if head {
                                b"left".to_vec()
                            } else {
                                b"right".to_vec()
                            }
                        };
                        ctx.prop.argv = Some(if ctx.spec.fullname == "brpoplpush" {
                            vec![b"RPOPLPUSH".to_vec(), key.to_vec(), dst.clone()]
                        } else {
                            vec![
                                b"LMOVE".to_vec(),
                                key.to_vec(),
                                dst.clone(),
                                position(*from_head),
                                position(*to_head),
                            ]
                        });
                    }
                }
                BlockOp::Zpop { max } => {
                    zsets::generic_zpop(srv, ctx, &[key], *max, -1, false, true)
                }
                BlockOp::Zmpop { max, count } => {
                    zsets::generic_zpop(srv, ctx, &[key], *max, *count, true, true)
                }
                // A WAIT is in no key's queue.
                BlockOp::WaitAcks { .. } => debug_assert!(false, "WAIT waits for no key"),
            });
            let reply_us = self.probe.elapsed_ns().saturating_sub(started_ns) / 1000;
            let b = self
                .unblock_client(conn)
                .expect("served clients were blocked");
            self.stats_on_unblock(conn, &b, reply_us, failed);
            // Each served client is an execution unit of its own (afterCommand).
            self.propagate_pending(None);
            // A large BLMPOP or BZMPOP reply counts against the client's output limit.
            self.enforce_output_limits(conn);
            if !self.dbs[db].contains(key) {
                break;
            }
        }
    }
}

/// For the injected `TimersOnWallClock` bug: the wall clock as the nanoseconds a
/// wall-clock deadline is kept in.
#[cfg(feature = "injected-bugs")]
pub(crate) fn injected_wall_ns(now: crate::io::Now) -> u64 {
    u64::try_from(now.wall.0).unwrap_or(0).saturating_mul(1000)
}
