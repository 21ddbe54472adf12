//! Command propagation: what the AOF (and later replicas) receive for each change of
//! the dataset, as Redis 7.0's `call()`, `alsoPropagate()` and
//! `propagatePendingCommands()` decide it.
//!
//! * `call()` propagates the command's argument vector when the command made the
//!   dataset dirty (or forced propagation, as FLUSHALL does), after whatever the
//!   command asked for on the way (lazy-expiry DELs, SPOP's SREMs). A handler may
//!   rewrite that vector (SET EX → SET PXAT, EXPIRE → PEXPIREAT, INCRBYFLOAT → SET,
//!   BLPOP → LPOP, …) or prevent it, through [`PropCtl`] in its `Ctx`.
//! * Everything one top-level execution unit produced — a command, an EXEC with its
//!   queue, one served blocked client — is released together when the unit ends;
//!   more than one op is wrapped in MULTI/EXEC, except for the active expire cycle
//!   and commands that touch arbitrary keys (SCAN, RANDOMKEY), as Redis 7.0 does.
//! * The result is an ordered stream of [`PropOp`]s (database, argv, targets); the
//!   AOF writer turns it into bytes with [`FeedEncoder`], which emits SELECT when
//!   the database changes, exactly as `feedAppendOnlyFile` does.
//!
//! Nothing is recorded while no consumer listens (`active` empty), as Redis's
//! `shouldPropagate` refuses ops when the AOF is off and there are no replicas.

use super::Server;
use crate::command::spec::{CommandSpec, CMD_TOUCHES_ARBITRARY_KEYS};

/// Propagate to the append-only file.
pub const TARGET_AOF: u8 = 1;
/// Propagate to replicas and the replication backlog.
pub const TARGET_REPL: u8 = 2;
/// Both targets (Redis's PROPAGATE_AOF|PROPAGATE_REPL).
pub const TARGET_ALL: u8 = TARGET_AOF | TARGET_REPL;

/// One propagated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropOp {
    /// The database the command ran against (SELECT is the consumer's business).
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
    /// Which consumers get it (`TARGET_*` bits).
    pub target: u8,
}

/// What a running command asks `call()` to propagate for it (Redis's
/// rewriteClientCommandVector, forceCommandPropagation, preventCommandPropagation).
#[derive(Debug, Default)]
pub struct PropCtl {
    /// The argument vector to propagate instead of the request's.
    pub argv: Option<Vec<Vec<u8>>>,
    /// Propagate nothing for the command itself (it used `also_propagate`).
    pub prevent: bool,
    /// Targets to propagate to even if the dataset did not change.
    pub force: u8,
}

/// The propagation state of the server.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Consumers listening (`TARGET_*`): the AOF is on, replicas exist.
    pub active: u8,
    /// Ops of the execution unit in progress (Redis's `server.also_propagate`).
    pending: Vec<PropOp>,
    /// Depth of nested `call()`s (Redis's `server.in_nested_call`): the unit ends when
    /// the outermost call returns.
    pub(crate) depth: u32,
    /// Release pending ops without MULTI/EXEC (the active expire cycle).
    no_multi: bool,
    /// Released ops, in order, for the consumers to take.
    stream: Vec<PropOp>,
}

impl Propagation {
    /// Is anyone listening on `target`?
    pub fn wants(&self, target: u8) -> bool {
        self.active & target != 0
    }

    /// Take every op released so far.
    pub fn take_stream(&mut self) -> Vec<PropOp> {
        std::mem::take(&mut self.stream)
    }

    /// Ops released and not taken yet.
    pub fn stream(&self) -> &[PropOp] {
        &self.stream
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

fn bytes(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Server {
    /// alsoPropagate: queue a command to propagate when the current execution unit
    /// ends (after the ops queued before it). Dropped when nobody listens on `target`.
    pub fn also_propagate(&mut self, db: usize, argv: Vec<Vec<u8>>, target: u8) {
        debug_assert!(!argv.is_empty());
        debug_assert!(db < self.dbs.len());
        let target = target & self.propagation.active;
        if target == 0 {
            return;
        }
        self.propagation.pending.push(PropOp { db, argv, target });
    }

    /// Is any consumer listening (so building an argv to propagate is worth it)?
    pub fn propagating(&self) -> bool {
        self.propagation.active != 0
    }

    /// propagateDeletion: a key removed by expiry goes out as DEL, or UNLINK when
    /// `lazyfree-lazy-expire` frees it lazily.
    pub(crate) fn propagate_deletion(&mut self, db: usize, key: &[u8]) {
        if !self.propagating() {
            return;
        }
        let name = if self.config.lazyfree_lazy_expire {
            "UNLINK"
        } else {
            "DEL"
        };
        self.also_propagate(db, vec![bytes(name), key.to_vec()], TARGET_ALL);
    }

    /// The end of `call()` for one command: propagate its argv (as rewritten) when it
    /// dirtied the dataset or forced it, unless it prevented it; EXEC is never
    /// propagated itself (its queue's commands were).
    pub(crate) fn propagate_call(
        &mut self,
        db: usize,
        spec: &'static CommandSpec,
        request: impl FnOnce() -> Vec<Vec<u8>>,
        dirtied: bool,
        ctl: PropCtl,
    ) {
        if ctl.prevent || spec.fullname == "exec" {
            return;
        }
        let mut target = if dirtied { TARGET_ALL } else { 0 };
        target |= ctl.force;
        if target & self.propagation.active == 0 {
            return;
        }
        let argv = ctl.argv.unwrap_or_else(request);
        self.also_propagate(db, argv, target);
    }

    /// propagatePendingCommands: release what the execution unit produced, wrapped
    /// in MULTI/EXEC when it is more than one op — unless `top` (the command that
    /// was run directly) may touch arbitrary keys, or the active expire cycle runs.
    pub(crate) fn propagate_pending(&mut self, top: Option<&'static CommandSpec>) {
        let p = &mut self.propagation;
        debug_assert_eq!(p.depth, 0, "pending ops are released by the outermost call");
        if p.pending.is_empty() {
            return;
        }
        let mut transaction = p.pending.len() > 1 && !p.no_multi;
        if top.is_some_and(|s| s.has(CMD_TOUCHES_ARBITRARY_KEYS)) {
            transaction = false;
        }
        let ops = std::mem::take(&mut p.pending);
        if transaction {
            // MULTI takes the first op's database so the SELECT comes before it, EXEC
            // the last one's so it needs none.
            p.stream.push(PropOp {
                db: ops[0].db,
                argv: vec![bytes("MULTI")],
                target: TARGET_ALL & p.active,
            });
        }
        let last_db = ops[ops.len() - 1].db;
        let first = p.stream.len() - usize::from(transaction);
        p.stream.extend(ops);
        if transaction {
            p.stream.push(PropOp {
                db: last_db,
                argv: vec![bytes("EXEC")],
                target: TARGET_ALL & p.active,
            });
        }
        if p.wants(TARGET_REPL) {
            // Replicas and the backlog get the unit at once (replicationFeedSlaves
            // runs inside propagatePendingCommands), so WAIT sees its offset.
            let released = p.stream[first..].to_vec();
            self.repl_feed(&released);
        }
    }

    /// Run `f` as a unit whose ops are released without MULTI/EXEC (the active expire
    /// cycle: each DEL stands alone).
    pub(crate) fn propagate_unwrapped(&mut self, f: impl FnOnce(&mut Server)) {
        debug_assert!(!self.propagation.has_pending());
        self.propagation.no_multi = true;
        f(self);
        self.propagate_pending(None);
        self.propagation.no_multi = false;
    }
}

/// Turns propagated ops into the bytes of an AOF or replication stream: each command
/// as a RESP array of bulk strings, preceded by `SELECT <db>` when its database is
/// not the one selected last (feedAppendOnlyFile).
#[derive(Debug, Default, Clone)]
pub struct FeedEncoder {
    /// The database the stream has selected; `None` at the start of a file.
    pub selected_db: Option<usize>,
}

impl FeedEncoder {
    pub fn new() -> FeedEncoder {
        FeedEncoder::default()
    }

    /// Append `op` to `out`.
    pub fn feed(&mut self, op: &PropOp, out: &mut Vec<u8>) {
        if self.selected_db != Some(op.db) {
            let db = op.db.to_string();
            out.extend_from_slice(
                format!("*2\r\n$6\r\nSELECT\r\n${}\r\n{db}\r\n", db.len()).as_bytes(),
            );
            self.selected_db = Some(op.db);
        }
        encode_argv(&op.argv, out);
    }
}

/// catAppendOnlyGenericCommand: `*<argc>` then `$<len>` and the bytes of each argument.
pub fn encode_argv(argv: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Frame, TestServer};

    /// A server whose propagation an AOF would consume.
    fn server() -> TestServer {
        let mut t = TestServer::new();
        t.server.propagation.active = TARGET_AOF;
        t
    }

    /// The ops released so far, as (db, words).
    fn taken(t: &mut TestServer) -> Vec<(usize, Vec<String>)> {
        t.server
            .propagation
            .take_stream()
            .into_iter()
            .map(|op| {
                assert_eq!(op.target, TARGET_AOF);
                let words = op
                    .argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                (op.db, words)
            })
            .collect()
    }

    fn ops(t: &mut TestServer) -> Vec<String> {
        taken(t).into_iter().map(|(_, w)| w.join(" ")).collect()
    }

    fn now_ms(t: &TestServer) -> i64 {
        t.now.wall.0 / 1000
    }

    #[test]
    fn nothing_is_recorded_without_a_consumer() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "k", "v", "EX", "10"]);
        t.cmd(&["FLUSHALL"]);
        assert!(t.server.propagation.stream().is_empty());
        assert!(!t.server.propagation.has_pending());
    }

    #[test]
    fn writes_propagate_as_requested_reads_and_no_ops_do_not() {
        let mut t = server();
        t.cmd(&["set", "k", "v"]);
        t.cmd(&["GET", "k"]);
        t.cmd(&["DEL", "missing"]);
        t.cmd(&["SET", "k", "w", "NX"]);
        t.cmd(&["APPEND", "k", "x"]);
        t.cmd(&["INCR", "n"]);
        t.cmd(&["LPUSH", "l", "a", "b"]);
        assert_eq!(
            ops(&mut t),
            ["set k v", "APPEND k x", "INCR n", "LPUSH l a b"]
        );
    }

    #[test]
    fn relative_expires_become_absolute() {
        let mut t = server();
        let now = now_ms(&t);
        t.cmd(&["SET", "k", "v", "EX", "10"]);
        t.cmd(&["SET", "k", "v", "px", "500", "GET"]);
        t.cmd(&["SETEX", "k", "5", "v"]);
        t.cmd(&["PSETEX", "k", "700", "v"]);
        t.cmd(&["EXPIRE", "k", "100", "GT"]);
        t.cmd(&["PEXPIRE", "k", "200000"]);
        t.cmd(&["EXPIREAT", "k", &(now / 1000 + 1000).to_string()]);
        t.cmd(&["PEXPIREAT", "k", &(now + 2_000_000).to_string()]);
        t.cmd(&["GETEX", "k", "EX", "30"]);
        t.cmd(&["GETEX", "k", "PERSIST"]);
        t.cmd(&["GETEX", "k", "PERSIST"]);
        t.cmd(&["GETEX", "k"]);
        let at = |ms: i64| (now + ms).to_string();
        assert_eq!(
            ops(&mut t),
            [
                format!("SET k v PXAT {}", at(10_000)),
                format!("SET k v PXAT {}", at(500)),
                format!("SET k v PXAT {}", at(5_000)),
                format!("SET k v PXAT {}", at(700)),
                format!("PEXPIREAT k {} GT", at(100_000)),
                format!("PEXPIREAT k {}", at(200_000)),
                format!("PEXPIREAT k {}", (now / 1000 + 1000) * 1000),
                format!("PEXPIREAT k {}", at(2_000_000)),
                format!("PEXPIREAT k {}", at(30_000)),
                "PERSIST k".to_string(),
            ]
        );
    }

    #[test]
    fn set_get_drops_every_get_argument() {
        let mut t = server();
        t.cmd(&["SET", "k", "v", "GET", "KEEPTTL", "get"]);
        assert_eq!(ops(&mut t), ["SET k v KEEPTTL"]);
    }

    #[test]
    fn past_deadlines_are_deletions() {
        let mut t = server();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SET", "b", "1"]);
        t.cmd(&["EXPIRE", "a", "-1"]);
        t.cmd(&["GETEX", "b", "PXAT", "1"]);
        t.cmd(&["CONFIG", "SET", "lazyfree-lazy-expire", "yes"]);
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["PEXPIREAT", "a", "1"]);
        assert_eq!(
            ops(&mut t),
            ["SET a 1", "SET b 1", "DEL a", "DEL b", "SET a 1", "UNLINK a"]
        );
    }

    #[test]
    fn lazy_expiry_deletes_first_and_a_write_after_it_is_a_transaction() {
        let mut t = server();
        t.cmd(&["SET", "k", "v", "PX", "10"]);
        t.cmd(&["SET", "j", "v", "PX", "10"]);
        ops(&mut t);
        t.server.active_expire_enabled = false;
        t.advance_ms(20);
        // A read that expires the key: the DEL alone.
        assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
        // A write that expires it: DEL then the write, as one transaction.
        t.cmd(&["SET", "j", "w"]);
        assert_eq!(ops(&mut t), ["DEL k", "MULTI", "DEL j", "SET j w", "EXEC"]);
    }

    #[test]
    fn active_expiry_dels_stand_alone() {
        let mut t = server();
        for k in ["a", "b", "c"] {
            t.cmd(&["SET", k, "v", "PX", "5"]);
        }
        ops(&mut t);
        t.advance_ms(1000);
        let mut dels = ops(&mut t);
        dels.sort();
        assert_eq!(dels, ["DEL a", "DEL b", "DEL c"]);
    }

    #[test]
    fn scan_and_randomkey_expire_without_a_transaction() {
        let mut t = server();
        for k in ["a", "b"] {
            t.cmd(&["SET", k, "v", "PX", "5"]);
        }
        ops(&mut t);
        t.server.active_expire_enabled = false;
        t.advance_ms(10);
        t.cmd(&["SCAN", "0"]);
        let mut dels = ops(&mut t);
        dels.sort();
        assert_eq!(dels, ["DEL a", "DEL b"]);
        for k in ["a", "b"] {
            t.cmd(&["SET", k, "v", "PX", "5"]);
        }
        ops(&mut t);
        t.advance_ms(10);
        assert_eq!(t.cmd(&["RANDOMKEY"]), Frame::Null);
        let mut dels = ops(&mut t);
        dels.sort();
        assert_eq!(dels, ["DEL a", "DEL b"]);
    }

    #[test]
    fn float_increments_propagate_their_results() {
        let mut t = server();
        t.cmd(&["INCRBYFLOAT", "f", "1.5"]);
        t.cmd(&["INCRBYFLOAT", "f", "1e2"]);
        t.cmd(&["HINCRBYFLOAT", "h", "x", "0.25"]);
        t.cmd(&["INCRBYFLOAT", "f", "abc"]);
        assert_eq!(
            ops(&mut t),
            ["SET f 1.5 KEEPTTL", "SET f 101.5 KEEPTTL", "HSET h x 0.25"]
        );
    }

    #[test]
    fn getset_getdel_and_lazy_user_del() {
        let mut t = server();
        t.cmd(&["getset", "k", "v"]);
        t.cmd(&["GETDEL", "k"]);
        t.cmd(&["GETDEL", "k"]);
        t.cmd(&["SET", "k", "v"]);
        t.cmd(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]);
        t.cmd(&["GETDEL", "k"]);
        assert_eq!(ops(&mut t), ["SET k v", "DEL k", "SET k v", "UNLINK k"]);
    }

    #[test]
    fn spop_propagates_removals() {
        let mut t = server();
        t.cmd(&["SADD", "s", "1", "2", "3", "4", "5", "6", "7", "8"]);
        ops(&mut t);
        let Frame::Bulk(one) = t.cmd(&["SPOP", "s"]) else {
            panic!("a member");
        };
        assert_eq!(
            ops(&mut t),
            [format!("SREM s {}", String::from_utf8_lossy(&one))]
        );
        // A few of the rest: one SREM each, in reply order, as a transaction.
        let Frame::Array(two) = t.cmd(&["SPOP", "s", "2"]) else {
            panic!("members");
        };
        let mut want = vec!["MULTI".to_string()];
        want.extend(two.iter().map(|m| format!("SREM s {}", m.as_str())));
        want.push("EXEC".to_string());
        assert_eq!(ops(&mut t), want);
        // Most of the rest (the set is rebuilt from what stays).
        let Frame::Array(four) = t.cmd(&["SPOP", "s", "4"]) else {
            panic!("members");
        };
        let mut want = vec!["MULTI".to_string()];
        want.extend(four.iter().map(|m| format!("SREM s {}", m.as_str())));
        want.push("EXEC".to_string());
        assert_eq!(ops(&mut t), want);
        // All of it: a DEL.
        t.cmd(&["SPOP", "s", "10"]);
        t.cmd(&["SPOP", "s", "0"]);
        assert_eq!(ops(&mut t), ["DEL s"]);
    }

    #[test]
    fn multi_exec_is_kept_whole_and_a_single_write_is_not_wrapped() {
        let mut t = server();
        t.cmd(&["MULTI"]);
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["GET", "a"]);
        t.cmd(&["SELECT", "2"]);
        t.cmd(&["INCR", "b"]);
        t.cmd(&["EXEC"]);
        assert_eq!(
            taken(&mut t),
            [
                (0, vec!["MULTI".to_string()]),
                (0, vec!["SET".into(), "a".into(), "1".into()]),
                (2, vec!["INCR".into(), "b".into()]),
                (2, vec!["EXEC".to_string()]),
            ]
        );
        t.cmd(&["MULTI"]);
        t.cmd(&["INCR", "b"]);
        t.cmd(&["GET", "b"]);
        t.cmd(&["EXEC"]);
        t.cmd(&["MULTI"]);
        t.cmd(&["GET", "b"]);
        t.cmd(&["EXEC"]);
        assert_eq!(ops(&mut t), ["INCR b"]);
    }

    #[test]
    fn flushes_are_propagated_even_when_empty() {
        let mut t = server();
        t.cmd(&["FLUSHALL"]);
        t.cmd(&["FLUSHDB", "ASYNC"]);
        t.cmd(&["FLUSHDB", "BOGUS"]);
        assert_eq!(ops(&mut t), ["FLUSHALL", "FLUSHDB ASYNC"]);
    }

    #[test]
    fn publish_goes_to_replicas_only() {
        let mut t = server();
        t.cmd(&["PUBLISH", "ch", "m"]);
        assert!(ops(&mut t).is_empty());
        t.server.propagation.active = TARGET_ALL;
        t.cmd(&["PUBLISH", "ch", "m"]);
        let stream = t.server.propagation.take_stream();
        assert_eq!(stream.len(), 1);
        assert_eq!(stream[0].target, TARGET_REPL);
    }

    #[test]
    fn immediate_blocking_pops_propagate_their_plain_forms() {
        let mut t = server();
        t.cmd(&["RPUSH", "l", "a", "b", "c", "d"]);
        t.cmd(&["ZADD", "z", "1", "x", "2", "y", "3", "w"]);
        ops(&mut t);
        t.cmd(&["BLPOP", "none", "l", "0"]);
        t.cmd(&["BRPOP", "l", "0"]);
        t.cmd(&["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "5"]);
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        t.cmd(&["LMPOP", "2", "none", "l", "RIGHT"]);
        t.cmd(&["BLMOVE", "l", "m", "Left", "RIGHT", "0"]);
        t.cmd(&["BRPOPLPUSH", "l", "m", "0"]);
        t.cmd(&["BZPOPMIN", "z", "0"]);
        t.cmd(&["BZMPOP", "0", "1", "z", "MAX", "COUNT", "9"]);
        t.cmd(&["ZADD", "z", "1", "x", "2", "y"]);
        t.cmd(&["ZMPOP", "1", "z", "MIN"]);
        t.cmd(&["ZPOPMAX", "z", "3"]);
        assert_eq!(
            ops(&mut t),
            [
                "LPOP l",
                "RPOP l",
                "LPOP l 2",
                "RPUSH l a b c",
                "RPOP l 1",
                "LMOVE l m Left RIGHT",
                "RPOPLPUSH l m",
                "ZPOPMIN z",
                "ZPOPMAX z 2",
                "ZADD z 1 x 2 y",
                "ZPOPMIN z 1",
                "ZPOPMAX z 3",
            ]
        );
    }

    #[test]
    fn served_blocked_clients_propagate_after_the_push_each_on_its_own() {
        let mut t = server();
        let a = t.connect();
        let b = t.connect();
        let c = t.connect();
        let d = t.connect();
        let pusher = t.connect();
        t.send_raw(a, &crate::testing::encode_command(&[b"BLPOP", b"l", b"0"]));
        t.send_raw(
            b,
            &crate::testing::encode_command(&[b"BLMOVE", b"l", b"m", b"RIGHT", b"LEFT", b"0"]),
        );
        t.send_raw(
            c,
            &crate::testing::encode_command(&[b"BRPOPLPUSH", b"m", b"n", b"0"]),
        );
        t.send_raw(
            d,
            &crate::testing::encode_command(&[b"BZMPOP", b"0", b"1", b"z", b"MIN", b"COUNT", b"5"]),
        );
        t.cmd_on(pusher, &["RPUSH", "l", "1", "2"]);
        t.cmd_on(pusher, &["ZADD", "z", "1", "x", "2", "y"]);
        assert_eq!(
            ops(&mut t),
            [
                "RPUSH l 1 2",
                "LPOP l",
                "LMOVE l m right left",
                "RPOPLPUSH m n",
                "ZADD z 1 x 2 y",
                "ZPOPMIN z 2",
            ]
        );
    }

    #[test]
    fn select_is_emitted_when_the_database_changes() {
        let mut t = server();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SELECT", "3"]);
        t.cmd(&["SET", "b", "2"]);
        t.cmd(&["SET", "c", "3"]);
        t.cmd(&["SELECT", "0"]);
        t.cmd(&["MOVE", "a", "3"]);
        let mut enc = FeedEncoder::new();
        let mut out = Vec::new();
        for op in t.server.propagation.take_stream() {
            enc.feed(&op, &mut out);
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n\
             *3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n\
             *2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$4\r\nMOVE\r\n$1\r\na\r\n$1\r\n3\r\n"
        );
    }
}
