//! Request intake and command dispatch: turn a client's query buffer into requests
//! (Redis's processInputBuffer), then refuse, queue (inside MULTI) or run each one in
//! processCommand's fixed order — existence, arity, protected commands,
//! authentication, commands barred from transactions — and account for it
//! (commandstats, errorstats, slowlog) as Redis's `call()` does.

use super::Server;
use crate::client::{Queued, ReplyMode};
use crate::command::spec::{
    CMD_LOADING, CMD_NO_AUTH, CMD_NO_MULTI, CMD_PROTECTED, CMD_SKIP_SLOWLOG, CMD_STALE, CMD_WRITE,
};
use crate::command::table::Entry;
use crate::command::{Ctx, Lookup};
use crate::config::Protected;
use crate::io::{ConnId, LogLevel};
use crate::object::{StrValue, Value};
use crate::resp::parse::peek_key_args;
use crate::resp::{Args, Parse, ParseLimits, ReplyBuf};
use crate::types::hash::Hash;
use crate::types::set::Set;
use crate::types::zset::Zset;
use bytes::Buf;

impl Server {
    /// Parse and run every complete request buffered for `conn`.
    pub(crate) fn process_input(&mut self, conn: ConnId) {
        self.command_clock = Some(self.probe.elapsed_ns());
        self.prefetch_pipelined_keys(conn);
        self.run_pipelined_input(conn);
        self.command_clock = None;
    }

    /// With several requests buffered against a table larger than the cache, warm the
    /// cache for what they will look up, in one batch before running them
    /// (`Dict::prefetch`): each request's key (its second argument) in the keyspace,
    /// and, when they share the first one's key and it holds a hash or set table, the
    /// fields or members that follow it (SADD, HSET, SISMEMBER, HGET …), or a big
    /// sorted set, the member after the score (ZADD, ZINCRBY) or else after the key
    /// (ZSCORE, ZRANK). Only reads: what runs is unchanged.
    fn prefetch_pipelined_keys(&self, conn: ConnId) {
        /// Below this many entries a table mostly sits in the cache already.
        const PREFETCH_MIN_ENTRIES: usize = 1 << 16;
        let Some(client) = self.clients.get(&conn) else {
            return;
        };
        let Some(db) = self.dbs.get(client.db) else {
            return;
        };
        let big_keyspace =
            db.keys.len() >= PREFETCH_MIN_ENTRIES || db.expires.len() >= PREFETCH_MIN_ENTRIES;
        let mut requests = [[&b""[..]; 3]; 32];
        if !big_keyspace {
            // Only a big collection under the first request's key can pay for the
            // look ahead (LPUSH into one list would spend 3% of its time on it).
            let first = peek_key_args(&client.query, &mut requests[..1]);
            let big_collection = first == 1
                && db
                    .keys
                    .get(requests[0][0])
                    .is_some_and(|obj| match &obj.value {
                        Value::Set(Set::Table(d)) => d.len() >= PREFETCH_MIN_ENTRIES,
                        Value::Hash(Hash::Table(d)) => d.len() >= PREFETCH_MIN_ENTRIES,
                        Value::Zset(Zset::Skiplist(sl)) => sl.len() >= PREFETCH_MIN_ENTRIES,
                        _ => false,
                    });
            if !big_collection {
                return;
            }
        }
        let found = peek_key_args(&client.query, &mut requests);
        if found < 2 {
            return;
        }
        let mut keys = [&b""[..]; 32];
        for (key, request) in keys.iter_mut().zip(&requests[..found]) {
            *key = request[0];
        }
        let keys = &keys[..found];
        if db.expires.len() >= PREFETCH_MIN_ENTRIES {
            // Every access to a key checks its deadline first.
            db.expires.prefetch(keys, |_| 0);
        }
        if db.keys.len() >= PREFETCH_MIN_ENTRIES {
            db.keys.prefetch(keys, |obj| match &obj.value {
                Value::Str(StrValue::Raw(bytes)) => bytes.first().map_or(0, |&b| b as usize),
                Value::Str(StrValue::Embstr(bytes)) => bytes.first().map_or(0, |&b| b as usize),
                _ => 0,
            });
        }
        let same_key = requests[..found]
            .iter()
            .take_while(|r| r[0] == keys[0])
            .count();
        if same_key < 2 {
            return;
        }
        let value = db.keys.get(keys[0]).map(|obj| &obj.value);
        let zset = matches!(value, Some(Value::Zset(_)));
        let mut members = [&b""[..]; 32];
        for (member, request) in members.iter_mut().zip(&requests[..same_key]) {
            *member = if zset && !request[2].is_empty() {
                request[2]
            } else {
                request[1]
            };
        }
        let members = &members[..same_key];
        match value {
            Some(Value::Zset(Zset::Skiplist(sl))) if sl.len() >= PREFETCH_MIN_ENTRIES => {
                sl.prefetch(members)
            }
            Some(Value::Set(Set::Table(d))) if d.len() >= PREFETCH_MIN_ENTRIES => {
                d.prefetch(members, |_| 0)
            }
            Some(Value::Hash(Hash::Table(d))) if d.len() >= PREFETCH_MIN_ENTRIES => {
                d.prefetch(members, |v| v.first().map_or(0, |&b| b as usize))
            }
            _ => {}
        }
    }

    fn run_pipelined_input(&mut self, conn: ConnId) {
        loop {
            let suspended = self.suspended.is_some();
            let auth_required = self.config.requirepass.is_some();
            let proto_max_bulk_len = self.config.proto_max_bulk_len;
            let Some(client) = self.clients.get_mut(&conn) else {
                return;
            };
            if client.close_after_reply
                || client.close_asap
                || client.blocked
                || client.query.is_empty()
            {
                // A blocked client's input waits until it is unblocked.
                break;
            }
            if suspended {
                client.pending_input = true;
                break;
            }
            let limits = ParseLimits {
                proto_max_bulk_len,
                auth_required: auth_required && !client.authenticated,
            };
            match client.parser.parse(&client.query, limits) {
                Parse::Incomplete => break,
                Parse::Empty { consumed } => {
                    if client.is_master {
                        // A master's newlines count in the replication offset.
                        let bytes = client.query[..consumed].to_vec();
                        client.query.advance(consumed);
                        client.parser.reset();
                        self.replica_consumed(conn, &bytes);
                        continue;
                    }
                    client.query.advance(consumed);
                    client.parser.reset();
                }
                Parse::Error(message) => {
                    client.reply.error(&message);
                    client.close_after_reply = true;
                    client.query.clear();
                    client.parser.reset();
                    let errors = client.reply.take_errors();
                    let peer = client.peer;
                    for e in errors {
                        self.stats.count_error(e);
                    }
                    self.log(
                        LogLevel::Verbose,
                        format!("Protocol error ({message}) from client: addr={peer}"),
                    );
                    self.mark_pending_write(conn);
                    break;
                }
                Parse::Ready { consumed, inline } => {
                    // Move the buffers out so the command can borrow the whole server.
                    let query = std::mem::take(&mut client.query);
                    let parser = std::mem::take(&mut client.parser);
                    let placeholder = ReplyBuf::new(client.protocol == 3);
                    let mut reply = std::mem::replace(&mut client.reply, placeholder);
                    let args = parser.args(&query, inline);
                    // Redis checks the limits as the reply grows, under the class the
                    // client had then: SUBSCRIBE's confirmations still count as a
                    // normal client's output, UNSUBSCRIBE's as a subscriber's.
                    let class = client.obuf_class();
                    let from_master = client.is_master;
                    self.replica.executing_master = from_master;
                    self.process_command(conn, args, &mut reply);
                    self.replica.executing_master = false;
                    let client = self
                        .clients
                        .get_mut(&conn)
                        .expect("clients are never removed while one of their commands runs");
                    // Anything written to the client meanwhile (e.g. by a command it ran
                    // on itself) follows the command's own reply.
                    let meanwhile = std::mem::replace(&mut client.reply, reply);
                    if !meanwhile.is_empty() {
                        client.reply.raw(meanwhile.as_bytes());
                    }
                    // A blocked client keeps its arguments until it is unblocked.
                    if !client.blocked {
                        client.argv_bytes = 0;
                    }
                    let applied = from_master.then(|| query[..consumed].to_vec());
                    client.query = query;
                    client.parser = parser;
                    client.query.advance(consumed);
                    client.parser.reset();
                    if let Some(bytes) = applied {
                        self.replica_consumed(conn, &bytes);
                        continue;
                    }
                    self.enforce_output_limits_as(conn, class);
                }
            }
        }
        self.enforce_query_buffer_limit(conn);
        if self
            .clients
            .get(&conn)
            .is_some_and(|c| !c.reply.is_empty() || c.close_after_reply)
        {
            self.mark_pending_write(conn);
        }
    }

    fn enforce_query_buffer_limit(&mut self, conn: ConnId) {
        let limit = self.config.client_query_buffer_limit;
        let Some(client) = self.clients.get(&conn) else {
            return;
        };
        if (client.query.len() as i64) > limit {
            let (id, peer) = (client.id, client.peer);
            self.stats.client_qbuf_limit_disconnections += 1;
            self.log(
                LogLevel::Warning,
                format!("Closing client that reached max query buffer length: id={id} addr={peer}"),
            );
            self.close_client_asap(conn);
        }
    }

    /// processCommand: look the command up, refuse it in Redis's order, queue it inside
    /// MULTI, or run it.
    fn process_command(&mut self, conn: ConnId, args: Args<'_>, reply: &mut ReplyBuf) {
        debug_assert!(!args.is_empty());
        let lookup = self.commands.lookup(args.get(0), args.try_get(1));
        if let Some(c) = self.clients.get_mut(&conn) {
            // The request's argument bytes (argv-mem) belong to the client until the
            // request is done, also while EXEC runs its queue.
            c.argv_bytes = args.byte_len();
            // Redis's c->lastcmd is set by the lookup, whether the command then runs,
            // is refused or is queued (an unknown command leaves it NULL).
            c.last_command = match &lookup {
                Lookup::Found(entry) => Some(entry.spec.fullname),
                _ => None,
            };
        }
        let entry = match lookup {
            Lookup::Found(entry) => entry,
            Lookup::UnknownSubcommand => {
                let container = String::from_utf8_lossy(args.get(0)).to_uppercase();
                let sub = truncate_lossy(args.get(1), 128);
                self.reject(
                    conn,
                    reply,
                    None,
                    &format!("unknown subcommand '{sub}'. Try {container} HELP."),
                );
                return;
            }
            Lookup::Unknown => {
                let mut listed = String::new();
                for a in args.iter().skip(1) {
                    if listed.len() >= 128 {
                        break;
                    }
                    let room = 128 - listed.len();
                    listed.push_str(&format!("'{}' ", truncate_lossy(a, room)));
                }
                let name = truncate_lossy(args.get(0), 128);
                self.reject(
                    conn,
                    reply,
                    None,
                    &format!("unknown command '{name}', with args beginning with: {listed}"),
                );
                return;
            }
        };
        let spec = entry.spec;
        if !spec.arity_ok(args.len()) {
            self.reject(
                conn,
                reply,
                Some(entry),
                &format!("wrong number of arguments for '{}' command", spec.fullname),
            );
            return;
        }
        if spec.has(CMD_PROTECTED) && !self.protected_allowed(conn) {
            self.reject(
                conn,
                reply,
                Some(entry),
                "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            );
            return;
        }
        let authenticated = self.clients.get(&conn).is_some_and(|c| c.authenticated);
        if !authenticated && self.config.requirepass.is_some() && !spec.has(CMD_NO_AUTH) {
            self.reject(conn, reply, Some(entry), "-NOAUTH Authentication required.");
            return;
        }
        let in_multi = self.clients.get(&conn).is_some_and(|c| c.multi.is_some());
        if in_multi && spec.has(CMD_NO_MULTI) {
            self.reject(
                conn,
                reply,
                Some(entry),
                "Command not allowed inside a transaction",
            );
            return;
        }
        // writeCommandsDeniedByDiskError: after a failed background save (RDB) or
        // AOF write or fsync, writes (an EXEC of any, and PING) are refused.
        let is_write = spec.has(CMD_WRITE)
            || (spec.fullname == "exec"
                && self.clients.get(&conn).is_some_and(|c| {
                    c.multi
                        .as_ref()
                        .is_some_and(|m| m.commands.iter().any(|q| q.entry.spec.has(CMD_WRITE)))
                }));
        // mustObeyClient: the master's stream is applied whatever this server thinks.
        let obey = self.is_master_client(conn);
        if (is_write || spec.fullname == "ping") && !obey {
            if self.rdb_denies_writes() {
                self.reject(conn, reply, Some(entry), super::persist::MISCONF_ERR);
                return;
            }
            if let Some(err) = self.aof_denies_writes() {
                self.reject(conn, reply, Some(entry), &err);
                return;
            }
        }
        // Not enough good replicas for min-replicas-to-write.
        if is_write && !self.repl_good_replicas_ok() {
            self.reject(
                conn,
                reply,
                Some(entry),
                "-NOREPLICAS Not enough good replicas to write.",
            );
            return;
        }
        if is_write && self.is_replica() && self.config.replica_read_only && !obey {
            self.reject(
                conn,
                reply,
                Some(entry),
                "-READONLY You can't write against a read only replica.",
            );
            return;
        }
        let resp2_subscriber = self
            .clients
            .get(&conn)
            .is_some_and(|c| c.protocol == 2 && c.is_pubsub());
        if resp2_subscriber && !ALLOWED_WHILE_SUBSCRIBED.contains(&spec.fullname) {
            self.reject(
                conn,
                reply,
                Some(entry),
                &format!(
                    "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                    spec.fullname
                ),
            );
            return;
        }
        // With the master link down and replica-serve-stale-data no, only the
        // commands flagged `stale` run (INFO, REPLICAOF, ...).
        if self.is_replica()
            && self.replica.state != Some(super::replica::LinkState::Connected)
            && !self.config.replica_serve_stale_data
        {
            let denies_stale = !spec.has(CMD_STALE)
                || (spec.fullname == "exec"
                    && self.clients.get(&conn).is_some_and(|c| {
                        c.multi.as_ref().is_some_and(|m| {
                            m.commands.iter().any(|q| !q.entry.spec.has(CMD_STALE))
                        })
                    }));
            if denies_stale {
                self.reject(
                    conn,
                    reply,
                    Some(entry),
                    "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
                );
                return;
            }
        }
        let denied_while_loading = !spec.has(CMD_LOADING)
            || (spec.fullname == "exec"
                && self.clients.get(&conn).is_some_and(|c| {
                    c.multi
                        .as_ref()
                        .is_some_and(|m| m.commands.iter().any(|q| !q.entry.spec.has(CMD_LOADING)))
                }));
        if self.persist.is_loading() && denied_while_loading {
            self.reject(conn, reply, Some(entry), super::persist::LOADING_ERR);
            return;
        }
        if in_multi && !runs_inside_multi(spec.fullname) {
            self.queue_command(conn, entry, args, reply);
            return;
        }
        self.call(conn, entry, args, reply, false);
        // The offset WAIT waits for is the stream after this client's last command.
        let offset = self.repl.master_repl_offset;
        if let Some(c) = self.clients.get_mut(&conn) {
            c.woff = offset;
        }
        // Keys the command created may serve blocked clients: after the whole
        // command, so after an EXEC and not after each command inside it.
        self.handle_clients_blocked_on_keys();
    }

    /// Inside MULTI: keep the command for EXEC and reply +QUEUED (queueMultiCommand).
    /// A transaction already doomed keeps nothing, as Redis saves the memory.
    fn queue_command(&mut self, conn: ConnId, entry: Entry, args: Args<'_>, reply: &mut ReplyBuf) {
        let mark = reply.len();
        if let Some(c) = self.clients.get_mut(&conn) {
            let doomed = c.dirty_cas || c.dirty_exec;
            let multi = c
                .multi
                .as_mut()
                .expect("only a client inside MULTI queues commands");
            if !doomed {
                multi.argv_len_sums += args.byte_len() + args.len() * std::mem::size_of::<usize>();
                multi.commands.push(Queued::new(entry, args));
                multi.count += 1;
                debug_assert_eq!(multi.count, multi.commands.len());
            }
        }
        reply.simple("QUEUED");
        self.apply_reply_mode(conn, reply, mark);
    }

    fn protected_allowed(&self, conn: ConnId) -> bool {
        match self.config.enable_debug_command {
            Protected::Yes => true,
            Protected::No => false,
            Protected::Local => self
                .clients
                .get(&conn)
                .is_some_and(|c| c.peer.ip().is_loopback()),
        }
    }

    /// Refuse a command (Redis's rejectCommand): an error reply, counted as rejected.
    /// It dooms a transaction being queued; a refused EXEC aborts its transaction
    /// (execCommandAbort) with the reason in the error.
    fn reject(&mut self, conn: ConnId, reply: &mut ReplyBuf, entry: Option<Entry>, message: &str) {
        let mark = reply.len();
        self.flag_transaction(conn);
        if let Some(entry) = entry {
            self.stats.command(entry.spec.fullname).rejected_calls += 1;
        }
        if entry.is_some_and(|e| e.spec.fullname == "exec") {
            self.discard_transaction(conn);
            let reason = message.strip_prefix('-').unwrap_or(message);
            reply.error(&format!(
                "-EXECABORT Transaction discarded because of: {reason}"
            ));
        } else {
            reply.error(message);
        }
        for e in reply.take_errors() {
            self.stats.count_error(e);
        }
        self.apply_reply_mode(conn, reply, mark);
    }

    /// Run a command and account for it (Redis's `call()`). EXEC calls it for each
    /// queued command with `deny_blocking` set (CLIENT_DENY_BLOCKING).
    pub(crate) fn call(
        &mut self,
        conn: ConnId,
        entry: Entry,
        args: Args<'_>,
        reply: &mut ReplyBuf,
        deny_blocking: bool,
    ) {
        let handler = entry
            .handler
            .expect("dispatch only resolves commands that have handlers");
        let spec = entry.spec;
        let db = self.clients.get(&conn).map_or(0, |c| c.db);
        let mark = reply.len();
        let started_ns = match self.command_clock {
            Some(previous_end) => previous_end,
            None => self.probe.elapsed_ns(),
        };
        if let Some(c) = self.clients.get_mut(&conn) {
            if c.reply_mode == ReplyMode::SkipNext {
                c.reply_mode = ReplyMode::Skipping;
            }
        }
        let mut ctx = Ctx {
            conn,
            args,
            reply,
            db,
            spec,
            deny_blocking,
            propagating: self.propagating(),
            prop: Default::default(),
        };
        let dirty_before = self.dirty;
        self.propagation.depth += 1;
        handler(self, &mut ctx);
        self.propagation.depth -= 1;
        let dirtied = self.dirty != dirty_before;
        let new_db = ctx.db;
        let prop = std::mem::take(&mut ctx.prop);
        let ended_ns = self.probe.elapsed_ns();
        if self.command_clock.is_some() {
            self.command_clock = Some(ended_ns);
        }
        let duration_us = ended_ns.saturating_sub(started_ns) / 1000;
        debug_assert!(
            new_db < self.dbs.len(),
            "a command selected a database that does not exist"
        );

        let errors = reply.take_errors();
        let failed = !errors.is_empty();
        for e in errors {
            self.stats.count_error(e);
        }
        let stats = self.stats.command(spec.fullname);
        stats.calls += 1;
        stats.usec += duration_us;
        if failed {
            stats.failed_calls += 1;
        }
        self.stats.total_commands_processed += 1;

        let mut blocked = false;
        if let Some(c) = self.clients.get_mut(&conn) {
            c.db = new_db;
            blocked = c.blocked;
        }
        if blocked {
            // SLOWLOG and the rest of the accounting wait for the unblocking.
            self.note_blocking_call(conn, duration_us);
        } else if !spec.has(CMD_SKIP_SLOWLOG) {
            self.maybe_slowlog(conn, args, duration_us);
        }
        self.apply_reply_mode(conn, reply, mark);
        self.place_own_pushes(conn, reply, mark);

        // The command's own propagation follows what it queued while running (lazy
        // expiry's DELs first); the outermost call ends the execution unit.
        self.propagate_call(
            new_db,
            spec,
            || args.iter().map(|a| a.to_vec()).collect(),
            dirtied,
            prop,
        );
        if self.propagation.depth == 0 {
            self.propagate_pending(Some(spec));
        }
    }

    /// Pushes a command caused to its own client (subscribe confirmations, messages it
    /// published to itself, later keyspace events) were written to the client's
    /// stand-in buffer; they go in front of the command's reply, where Redis's inline
    /// writes put them, and survive CLIENT REPLY OFF as Redis's pushes do.
    fn place_own_pushes(&mut self, conn: ConnId, reply: &mut ReplyBuf, mark: usize) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        if c.reply.is_empty() {
            return;
        }
        let pushes = c.reply.take_bytes();
        debug_assert!(mark <= reply.len());
        reply.insert_raw(mark, &pushes);
    }

    /// CLIENT REPLY OFF|SKIP: drop what the command just wrote.
    fn apply_reply_mode(&mut self, conn: ConnId, reply: &mut ReplyBuf, mark: usize) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        match c.reply_mode {
            ReplyMode::On | ReplyMode::SkipNext => {}
            ReplyMode::Off => reply.truncate(mark),
            ReplyMode::Skipping => {
                reply.truncate(mark);
                // A blocked command's reply comes later: it is the one to skip.
                if !c.blocked {
                    c.reply_mode = ReplyMode::On;
                }
            }
        }
    }

    pub(super) fn maybe_slowlog(&mut self, conn: ConnId, args: Args<'_>, duration_us: u64) {
        let threshold = self.config.slowlog_log_slower_than_us;
        if threshold < 0 || (duration_us as i64) < threshold {
            return;
        }
        let (peer, name) = match self.clients.get(&conn) {
            Some(c) => (c.peer.to_string(), c.name.clone().unwrap_or_default()),
            None => (String::new(), Vec::new()),
        };
        let argv: Vec<&[u8]> = args.iter().collect();
        let max_len = usize::try_from(self.config.slowlog_max_len).unwrap_or(usize::MAX);
        self.slowlog.push(
            &argv,
            self.now.wall.secs(),
            duration_us,
            peer,
            name,
            max_len,
        );
    }
}

/// What a RESP2 client in Pub/Sub mode may still run (RESP3 clients may run anything).
const ALLOWED_WHILE_SUBSCRIBED: &[&str] = &[
    "ping",
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "quit",
    "reset",
];

/// The commands processCommand runs at once inside MULTI instead of queuing them.
fn runs_inside_multi(fullname: &str) -> bool {
    matches!(
        fullname,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// At most `max` bytes of `s`, shown as Redis's `%.*s` would.
fn truncate_lossy(s: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&s[..s.len().min(max)]).into_owned()
}
