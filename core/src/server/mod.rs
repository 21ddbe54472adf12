//! `Server`: the state machine. It owns the databases, the clients, the config, the
//! RNG, the timers and the stats, consumes [`Event`]s and produces [`Effect`]s.
//!
//! Sub-modules split the work the way Redis's `server.c`/`networking.c` do:
//! `dispatch` (request parsing and processCommand's checks), `keyspace` (expiry-aware
//! key access), `cron` (serverCron, active expiry, the before-sleep hook), `pubsub`
//! (subscriptions and message delivery), `multi` (WATCH bookkeeping and transaction
//! teardown), `notify` (keyspace notifications), `output_limits`
//! (client-output-buffer-limit), `blocked` (clients blocked on keys).

pub mod aof;
mod blocked;
mod cron;
pub mod disk;
mod dispatch;
pub mod footprint;
mod keyspace;
mod multi;
pub mod notify;
mod output_limits;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod replica;
pub mod replication;
pub mod snapshot;

use crate::buggify::Point;
use crate::client::Client;
use crate::cmd;
use crate::command::CommandTable;
use crate::config::Config;
use crate::db::Db;
use crate::io::{ConnId, Effect, Event, HostInfo, HostProbe, LogLevel, MonoNs, Now, Signal};
use crate::rng::CoreRng;
use crate::slowlog::Slowlog;
use crate::stats::Stats;
use crate::util::FastMap;
use bytes::Bytes;
use std::collections::VecDeque;

pub(crate) use blocked::BlockOp;
pub use blocked::Blocking;
pub use cron::{CronState, Metric};
pub use multi::{WatchedKeys, Watcher};
pub use output_limits::REPLY_CHUNK_BYTES;

/// Why processing of all clients is suspended (DEBUG SLEEP, a synchronous save):
/// until this instant (or, for a save, until the disk is done), input is buffered and
/// no replies leave, exactly as if Redis's thread were blocked.
#[derive(Debug, Clone, Copy)]
struct Suspension {
    until: Option<MonoNs>,
}

pub struct Server {
    pub config: Config,
    pub dbs: Vec<Db>,
    pub clients: FastMap<ConnId, Client>,
    pub rng: CoreRng,
    /// Time of the input being handled.
    pub now: Now,
    /// When the server started (uptime, LRU clock origin).
    pub started: Now,
    pub stats: Stats,
    pub slowlog: Slowlog,
    pub commands: CommandTable,
    pub host: HostInfo,
    pub probe: Box<dyn HostProbe>,
    /// While a client's pipelined commands run (`process_input`), the probe reading
    /// that ended one command starts the next: one clock read per command instead of
    /// two. None outside of that loop, so no other path inherits a stale reading.
    pub(crate) command_clock: Option<u64>,
    pub run_id: String,
    /// Write commands executed since start (Redis's `server.dirty`, later reset by saves).
    pub dirty: u64,
    pub cron: CronState,
    pub blocking: Blocking,
    /// DEBUG SET-ACTIVE-EXPIRE: background expiry on or off.
    pub active_expire_enabled: bool,
    /// DEBUG PAUSE-CRON: serverCron does nothing while set.
    pub cron_paused: bool,
    /// Memory in use once the server was built (INFO used_memory_startup).
    pub used_memory_startup: u64,
    /// Highest used_memory seen by cron or INFO (INFO used_memory_peak).
    pub used_memory_peak: u64,
    /// The replication id a master advertises (INFO master_replid).
    pub replid: String,
    /// DEBUG QUICKLIST-PACKED-THRESHOLD: list elements this long or longer get a
    /// quicklist node of their own (a process-wide static in Redis).
    pub list_packed_threshold: usize,
    /// Channels, patterns and shard channels with their subscribers.
    pub pubsub: pubsub::PubSub,
    /// WATCHed keys of each database number and who watches them (Redis's
    /// `db->watched_keys`), kept apart from `dbs` so SWAPDB leaves watchers in place.
    pub watched_keys: Vec<WatchedKeys>,
    /// Recent peaks of client output (INFO client_recent_max_output_buffer).
    pub output_peaks: output_limits::OutputPeaks,
    /// What the dataset's changes propagate to the AOF and replicas.
    pub propagation: propagate::Propagation,
    /// The append-only file (`server/aof.rs`).
    pub aof: aof::Aof,
    /// Disk operations in flight and the ids for new ones.
    pub disk: disk::DiskState,
    /// RDB saving and loading.
    pub persist: persist::Persist,
    /// Replication: backlog, replicas, offsets (`server/replication.rs`).
    pub repl: replication::Repl,
    /// Replication, replica side: the link to our master (`server/replica.rs`).
    pub replica: replica::ReplicaLink,
    next_client_id: u64,
    effects: VecDeque<Effect>,
    pending_write: Vec<ConnId>,
    pending_close: Vec<ConnId>,
    suspended: Option<Suspension>,
    shutting_down: bool,
    /// Inputs arrived since the last drain: the before-sleep hook must run.
    needs_before_sleep: bool,
    /// Fault points in the core's own decisions, on only in simulation.
    pub(crate) buggify: crate::buggify::Buggify,
    /// The deliberately broken decision switched on, for the checkers' proof only.
    #[cfg(feature = "injected-bugs")]
    pub(crate) injected: crate::injected::Injected,
}

impl Server {
    /// Build a server. `seed` drives every random choice the core makes.
    pub fn new(
        config: Config,
        seed: u64,
        host: HostInfo,
        probe: Box<dyn HostProbe>,
        now: Now,
    ) -> Server {
        let mut rng = CoreRng::from_seed(seed);
        let databases = usize::try_from(config.databases).expect("databases is at least 1");
        assert!(databases >= 1);
        let dbs = (0..databases).map(|i| Db::new(i, rng.next_u64())).collect();
        let run_id = host.run_id.clone().unwrap_or_else(|| rng.hex40());
        let cron = CronState::new(now.mono, config.effective_hz());
        let replid = rng.hex40();
        let used_memory_startup = probe.used_memory();
        let mut server = Server {
            config,
            dbs,
            clients: FastMap::default(),
            rng,
            now,
            started: now,
            stats: Stats::default(),
            slowlog: Slowlog::default(),
            commands: CommandTable::new(&cmd::all_handlers()),
            host,
            probe,
            command_clock: None,
            run_id,
            dirty: 0,
            cron,
            blocking: Blocking::new(databases),
            active_expire_enabled: true,
            cron_paused: false,
            used_memory_startup,
            used_memory_peak: used_memory_startup,
            replid,
            list_packed_threshold: crate::types::quicklist::PACKED_THRESHOLD_DEFAULT,
            pubsub: pubsub::PubSub::default(),
            watched_keys: (0..databases).map(|_| WatchedKeys::default()).collect(),
            output_peaks: output_limits::OutputPeaks::default(),
            propagation: propagate::Propagation::default(),
            aof: aof::Aof::default(),
            disk: disk::DiskState::default(),
            persist: persist::Persist::new(now.wall.secs()),
            repl: replication::Repl::default(),
            replica: replica::ReplicaLink::default(),
            next_client_id: 1,
            effects: VecDeque::new(),
            pending_write: Vec::new(),
            pending_close: Vec::new(),
            suspended: None,
            shutting_down: false,
            needs_before_sleep: true,
            buggify: crate::buggify::Buggify::default(),
            #[cfg(feature = "injected-bugs")]
            injected: crate::injected::Injected::default(),
        };
        server.repl_timer();
        server.replica_boot();
        // The dataset comes from the AOF when it is on (loadDataFromDisk), else from
        // the RDB file, if there is one.
        if server.config.appendonly {
            server.aof_boot();
        } else {
            server.load_at_startup();
        }
        server
    }

    /// How the next conversion to a hash table builds it: a fresh hash seed, and
    /// Redis's up-front sizing unless BUGGIFY armed the slow path.
    pub(crate) fn new_table(&mut self) -> crate::dict::NewTable {
        crate::dict::NewTable {
            seed: self.rng.next_u64(),
            slow: self.buggify.arm(Point::SlowConversion),
        }
    }

    /// Switch the BUGGIFY fault points on (simulation only: see `buggify.rs`), drawn
    /// from `seed`, counting into `counts`.
    pub fn enable_buggify(&mut self, seed: u64, counts: crate::buggify::FiredCounts) {
        self.buggify = crate::buggify::Buggify::enable(seed, counts);
    }

    /// Switch one deliberately broken decision on (test-only: see `injected.rs`).
    #[cfg(feature = "injected-bugs")]
    pub fn inject_bug(&mut self, bug: crate::injected::Bug) {
        self.injected = crate::injected::Injected::new(bug);
    }

    /// Is `bug` switched on for this server?
    #[cfg(feature = "injected-bugs")]
    #[inline]
    pub(crate) fn bug(&self, bug: crate::injected::Bug) -> bool {
        self.injected.is(bug)
    }

    fn advance_clock(&mut self, now: Now) {
        assert!(
            now.mono >= self.now.mono,
            "monotonic clock went backwards: {:?} -> {:?}",
            self.now.mono,
            now.mono
        );
        self.now = now;
        self.needs_before_sleep = true;
    }

    /// Feed one event.
    pub fn handle(&mut self, now: Now, event: Event<'_>) {
        let needed_before_sleep = self.needs_before_sleep;
        self.advance_clock(now);
        // A deadline that has passed ends its wait before anything else happens.
        let timed_out = self.suspended.is_none() && self.handle_blocked_timeouts();
        match event {
            Event::Accepted {
                conn,
                peer,
                local,
                fd,
            } => self.accept(conn, peer, local, fd),
            Event::Connected { conn, peer, local } => {
                if !self.replica_connected(conn, peer, local) {
                    self.repl_connected(conn);
                }
            }
            Event::ConnectFailed { conn, error } => {
                if !self.replica_connect_failed(conn, &error) {
                    self.repl_connect_failed(conn, &error);
                }
            }
            Event::Received { conn, data } => self.receive(conn, data),
            Event::Closed { conn } => self.peer_closed(conn),
            Event::Sent { conn, bytes } => {
                // Only bookkeeping: nothing to flush because of it.
                self.needs_before_sleep = needed_before_sleep || timed_out;
                self.sent(conn, bytes);
            }
            Event::Signal(signal) => self.signal(signal),
            Event::IoDone { id, result } => self.io_done(id, result),
        }
    }

    /// Run the timers due at `now` (call when `poll_timeout`'s deadline has passed;
    /// calling early is harmless).
    pub fn handle_timeout(&mut self, now: Now) {
        self.advance_clock(now);
        if let Some(s) = self.suspended {
            match s.until {
                Some(until) if now.mono >= until => self.resume(),
                _ => {
                    // A background snapshot is Redis's forked child: clients wait,
                    // it does not.
                    self.snapshot_produce();
                    return;
                }
            }
        }
        self.run_due_timers();
        self.repl_timer();
        self.snapshot_produce();
    }

    /// Next effect to carry out; drain until `None` after every input.
    #[must_use]
    pub fn poll_effect(&mut self) -> Option<Effect> {
        if self.needs_before_sleep {
            self.needs_before_sleep = false;
            // A background save moves on with every turn of the loop.
            self.snapshot_produce();
            self.before_sleep();
        }
        self.effects.pop_front()
    }

    /// When `handle_timeout` must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<MonoNs> {
        if self.shutting_down {
            return None;
        }
        if let Some(s) = self.suspended {
            if self.snapshot_wants_to_run() {
                return Some(self.now.mono);
            }
            // A save ends with a disk completion, not a timer.
            return s.until;
        }
        if self.snapshot_wants_to_run() {
            // More of a background save to produce: come back at once (after what
            // the network has for us).
            return Some(self.now.mono);
        }
        let mut next = self.cron.next_deadline();
        #[allow(unused_mut)]
        let mut blocked = self.blocking.next_deadline();
        // Injected bug: a blocked client's deadline is on the wall clock; the timer
        // is set for when the wall clock, running from now, reaches it.
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::TimersOnWallClock) {
            let wall = blocked::injected_wall_ns(self.now);
            blocked = blocked.map(|d| self.now.mono.add_ns(d.0.saturating_sub(wall)));
        }
        for d in [blocked, self.repl_next_deadline()].into_iter().flatten() {
            next = next.min(d);
        }
        Some(next)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Emit a log line if the configured level lets it through.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        if level >= self.config.loglevel {
            self.effects.push_back(Effect::Log {
                level,
                message: message.into(),
            });
        }
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    pub fn client(&self, conn: ConnId) -> Option<&Client> {
        self.clients.get(&conn)
    }

    pub fn client_mut(&mut self, conn: ConnId) -> Option<&mut Client> {
        self.clients.get_mut(&conn)
    }

    pub fn is_suspended(&self) -> bool {
        self.suspended.is_some()
    }

    /// Freeze every client until `until` (DEBUG SLEEP): buffered input waits, nothing is
    /// sent, timers hold — the observable behaviour of Redis's blocked thread.
    pub fn suspend_until(&mut self, until: MonoNs) {
        self.suspended = Some(Suspension { until: Some(until) });
    }

    /// Freeze every client until `resume_from_disk` (a synchronous save).
    pub(crate) fn suspend_for_disk(&mut self) {
        debug_assert!(self.suspended.is_none());
        self.suspended = Some(Suspension { until: None });
    }

    pub(crate) fn resume_from_disk(&mut self) {
        if self.suspended.is_some_and(|s| s.until.is_none()) {
            self.resume();
        }
    }

    fn resume(&mut self) {
        self.suspended = None;
        let waiting: Vec<ConnId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.pending_input)
            .map(|(id, _)| *id)
            .collect();
        let mut waiting = waiting;
        waiting.sort_by_key(|conn| self.clients[conn].id);
        for conn in waiting {
            if let Some(c) = self.clients.get_mut(&conn) {
                c.pending_input = false;
            }
            self.process_input(conn);
        }
    }

    fn accept(
        &mut self,
        conn: ConnId,
        peer: std::net::SocketAddr,
        local: std::net::SocketAddr,
        fd: i64,
    ) {
        assert!(
            !self.clients.contains_key(&conn),
            "connection id {conn:?} reused while open"
        );
        self.stats.total_connections_received += 1;
        if self.clients.len() as i64 >= self.config.maxclients {
            self.stats.rejected_connections += 1;
            self.effects.push_back(Effect::Send {
                conn,
                data: Bytes::from_static(b"-ERR max number of clients reached\r\n"),
            });
            self.effects.push_back(Effect::Close { conn });
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut client = Client::new(id, conn, peer, local, fd, self.now.mono);
        client.authenticated = self.config.requirepass.is_none();
        self.clients.insert(conn, client);
        self.log(LogLevel::Debug, format!("Accepted {peer}"));
    }

    fn receive(&mut self, conn: ConnId, data: &[u8]) {
        if self.replica_link_received(conn, data) {
            return;
        }
        let suspended = self.suspended.is_some();
        let Some(client) = self.clients.get_mut(&conn) else {
            // Bytes for a connection we already closed: the backend raced us; drop them.
            return;
        };
        if client.close_after_reply || client.close_asap {
            return;
        }
        self.stats.total_net_input_bytes += data.len() as u64;
        self.stats.io_reads_processed += 1;
        client.query.extend_from_slice(data);
        client.last_interaction = self.now.mono;
        if suspended {
            client.pending_input = true;
            return;
        }
        self.process_input(conn);
    }

    /// Take a client out of the server with everything that refers to it (Redis's
    /// freeClient minus the socket): its subscriptions go with it.
    fn remove_client(&mut self, conn: ConnId) -> Option<Client> {
        self.forget_blocked(conn);
        self.pubsub_unsubscribe_all_silently(conn);
        self.unwatch_all_keys(conn);
        self.repl_client_removed(conn);
        let client = self.clients.remove(&conn);
        if client.as_ref().is_some_and(|c| c.is_master) {
            self.replica_master_lost(conn);
        }
        client
    }

    fn peer_closed(&mut self, conn: ConnId) {
        if self.replica_link_closed(conn) {
            return;
        }
        if let Some(mut client) = self.remove_client(conn) {
            self.log(LogLevel::Debug, "Client closed connection");
            // Replies already produced still go out (the peer may have only half-closed),
            // then the backend may drop the connection.
            if !client.reply.is_empty() && !client.close_asap {
                let data = client.reply.take_bytes();
                self.stats.total_net_output_bytes += data.len() as u64;
                self.effects.push_back(Effect::Send {
                    conn,
                    data: Bytes::from(data),
                });
            }
            self.effects.push_back(Effect::Close { conn });
        }
        self.pending_write.retain(|c| *c != conn);
        self.pending_close.retain(|c| *c != conn);
    }

    /// The backend wrote `bytes` of this client's output.
    fn sent(&mut self, conn: ConnId, bytes: usize) {
        // A report for a connection closed meanwhile is moot.
        if let Some(c) = self.clients.get_mut(&conn) {
            debug_assert!(
                bytes <= c.unsent_bytes,
                "the backend reported more bytes written than it was given"
            );
            c.unsent_bytes = c.unsent_bytes.saturating_sub(bytes);
        }
    }

    fn signal(&mut self, signal: Signal) {
        let name = match signal {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        };
        self.log(
            LogLevel::Warning,
            format!("Received {name} scheduling shutdown..."),
        );
        if self.shutting_down {
            return;
        }
        if self.persist.blocking_save_in_progress() {
            self.persist.defer_signal(name);
            return;
        }
        self.prepare_shutdown(false, false, false, None, Some(name));
    }

    /// Stop the server without saving: flush what clients are owed, then ask the
    /// backend to exit.
    pub fn shutdown(&mut self, exit_code: i32) {
        if self.shutting_down {
            return;
        }
        self.log(LogLevel::Warning, "User requested shutdown...");
        self.begin_shutdown();
        self.finish_shutdown_with(exit_code);
    }

    /// No more timers: the server is on its way out (or saving before it).
    pub(crate) fn begin_shutdown(&mut self) {
        self.shutting_down = true;
    }

    /// A shutdown's save failed: carry on serving.
    pub(crate) fn cancel_shutdown(&mut self) {
        self.shutting_down = false;
    }

    pub(crate) fn finish_shutdown(&mut self) {
        self.finish_shutdown_with(0);
    }

    fn finish_shutdown_with(&mut self, exit_code: i32) {
        debug_assert!(self.shutting_down);
        if self.aof_shutdown(exit_code) {
            // The exit follows the fsync of everything fed (prepareForShutdown's
            // flushAppendOnlyFile and fsync).
            self.log(LogLevel::Warning, "Redis is now ready to exit, bye bye...");
            self.flush_replies();
            return;
        }
        self.log(LogLevel::Warning, "Redis is now ready to exit, bye bye...");
        self.flush_replies();
        self.effects.push_back(Effect::Exit { code: exit_code });
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Queue a client for the next flush of replies.
    pub(crate) fn mark_pending_write(&mut self, conn: ConnId) {
        if let Some(c) = self.clients.get_mut(&conn) {
            if !c.pending_write {
                c.pending_write = true;
                self.pending_write.push(conn);
                // Output produced outside an input (a publish from the embedding code)
                // still leaves at the next drain.
                self.needs_before_sleep = true;
            }
        }
    }

    /// Close a client at the next flush, without sending what it is still owed
    /// (Redis's freeClientAsync).
    pub fn close_client_asap(&mut self, conn: ConnId) {
        // Redis frees such a client at once: it must not be served meanwhile.
        self.forget_blocked(conn);
        if let Some(c) = self.clients.get_mut(&conn) {
            if !c.close_asap {
                c.close_asap = true;
                self.pending_close.push(conn);
            }
        }
    }

    /// Turn pending replies into `Send` effects and carry out pending closes.
    fn flush_replies(&mut self) {
        if self.suspended.is_some() && !self.shutting_down {
            return;
        }
        let pending = std::mem::take(&mut self.pending_write);
        let (hold, tag) = (self.aof_must_hold(), self.aof_hold_tag());
        for conn in pending {
            let Some(c) = self.clients.get_mut(&conn) else {
                continue;
            };
            c.pending_write = false;
            if c.close_asap {
                continue;
            }
            if c.is_master {
                // A master is never answered (prepareClientToWrite); its ACKs
                // go out on their own.
                c.reply.take_bytes();
                continue;
            }
            if !c.reply.is_empty() && (hold || !c.held.is_empty()) {
                // appendfsync always: output that may reveal a write not yet durable
                // waits for the fsync covering it (group commit).
                let data = Bytes::from(c.reply.take_bytes());
                c.held.push_back((tag, data));
                self.aof.note_held(conn);
            } else if !c.reply.is_empty() {
                let mut data = Bytes::from(c.reply.take_bytes());
                c.unsent_bytes += data.len();
                self.stats.total_net_output_bytes += data.len() as u64;
                self.stats.io_writes_processed += 1;
                if data.len() > 1 && self.buggify.fire(Point::SplitReply) {
                    let at = 1 + self.buggify.below(data.len() as u64 - 1) as usize;
                    let head = data.split_to(at);
                    self.effects.push_back(Effect::Send { conn, data: head });
                }
                self.effects.push_back(Effect::Send { conn, data });
            }
            if c.close_after_reply && c.held.is_empty() {
                self.remove_client(conn);
                self.effects.push_back(Effect::Close { conn });
            }
        }
        let closing = std::mem::take(&mut self.pending_close);
        for conn in closing {
            if self.remove_client(conn).is_some() {
                // Whatever the backend still holds for it is dropped, as freeClient
                // drops a client's buffers: the peer may never read it.
                self.effects.push_back(Effect::Abort { conn });
            }
        }
    }

    /// Milliseconds of wall-clock time, as command code sees it (Redis's mstime()).
    pub fn wall_ms(&self) -> i64 {
        self.now.wall.ms()
    }

    /// The 24-bit LRU clock in seconds (Redis's LRU_CLOCK at 1s resolution), driven
    /// by the monotonic clock so wall-clock jumps cannot distort idle times.
    pub fn lru_clock(&self) -> u32 {
        ((self.now.mono.0 / 1_000_000_000) & LRU_CLOCK_MAX as u64) as u32
    }

    /// OBJECT IDLETIME for an object last touched at `lru`, in seconds.
    pub fn idle_secs(&self, lru: u32) -> u64 {
        let now = self.lru_clock();
        if now >= lru {
            (now - lru) as u64
        } else {
            (LRU_CLOCK_MAX - lru) as u64 + now as u64
        }
    }

    pub fn uptime_secs(&self) -> u64 {
        self.now.mono.secs_since(self.started.mono)
    }
}

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
