//! Server commands (Redis's server.c, config.c, slowlog.c, debug.c): INFO, CONFIG,
//! TIME, SLOWLOG, DEBUG and SHUTDOWN.

use super::ERR_SYNTAX;
use crate::command::{Ctx, Handler};
use crate::digest;
use crate::io::LogLevel;
use crate::object::{StrValue, Value};
use crate::server::pubsub::SubKind;
use crate::server::Server;
use crate::util::{parse_f64, parse_i64};
use std::fmt::Write;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("info", info),
    ("config|get", config_get),
    ("config|set", config_set),
    ("config|resetstat", config_resetstat),
    ("config|help", config_help),
    ("time", time),
    ("slowlog|get", slowlog_get),
    ("slowlog|len", slowlog_len),
    ("slowlog|reset", slowlog_reset),
    ("slowlog|help", slowlog_help),
    ("debug", debug),
    ("shutdown", shutdown),
];

/// Redis's bytesToHuman.
fn human_bytes(n: u64) -> String {
    let n = n as f64;
    const UNITS: [(&str, f64); 6] = [
        ("K", 1024.0),
        ("M", 1024.0 * 1024.0),
        ("G", 1024.0 * 1024.0 * 1024.0),
        ("T", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("P", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("E", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ];
    if n < 1024.0 {
        return format!("{}B", n as u64);
    }
    for (i, (unit, size)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || n < UNITS[i + 1].1 {
            return format!("{:.2}{}", n / size, unit);
        }
    }
    unreachable!("the last unit always matches")
}

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Which INFO sections to produce, as Redis's genInfoSectionDict.
struct Sections {
    names: Vec<String>,
    all: bool,
}

impl Sections {
    fn parse(args: &[&[u8]]) -> Sections {
        let mut names: Vec<String> = Vec::new();
        let mut all = false;
        if args.is_empty() {
            names = DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect();
        }
        for a in args {
            let a = String::from_utf8_lossy(a).to_ascii_lowercase();
            match a.as_str() {
                "default" => names.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
                "all" | "everything" => all = true,
                _ => names.push(a),
            }
        }
        Sections { names, all }
    }

    fn wants(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

fn info(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let args: Vec<&[u8]> = (1..ctx.argc()).map(|i| ctx.arg(i)).collect();
    let text = info_text(srv, &Sections::parse(&args));
    ctx.reply.verbatim(text.as_bytes(), "txt");
}

/// The INFO text for the given sections, fields in Redis 7.0's order.
fn info_text(srv: &mut Server, want: &Sections) -> String {
    let mut out = String::new();
    let section = |out: &mut String, title: &str| {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n");
    };
    let used = srv.probe.used_memory();
    srv.used_memory_peak = srv.used_memory_peak.max(used);
    let uptime = srv.uptime_secs();
    if want.wants("server") {
        section(&mut out, "Server");
        let h = &srv.host;
        let _ = write!(
            out,
            "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:cinnabar-{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:{}\r\nmonotonic_clock:injected\r\nmultiplexing_api:tokio\r\natomicvar_api:none\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
            crate::REDIS_VERSION,
            crate::CINNABAR_VERSION,
            h.os,
            h.arch_bits,
            h.process_id,
            srv.run_id,
            srv.config.port,
            srv.now.wall.0,
            uptime,
            uptime / 86_400,
            srv.cron.hz,
            srv.config.hz,
            srv.lru_clock(),
            h.executable,
            h.config_file,
        );
    }
    if want.wants("clients") {
        section(&mut out, "Clients");
        let max_in = srv
            .clients
            .values()
            .map(|c| c.query.len())
            .max()
            .unwrap_or(0);
        // Recent peaks (seen whenever output grew), and what is held right now.
        let max_out = srv
            .clients
            .values()
            .map(|c| c.output_memory())
            .max()
            .unwrap_or(0)
            .max(srv.output_peaks.recent_max());
        let _ = write!(
            out,
            "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:{}\r\n",
            // Replicas are not counted (listLength(clients) - listLength(slaves)).
            srv.clients.len() - srv.repl.replicas.len(),
            srv.config.maxclients,
            max_in,
            max_out,
            srv.blocking.blocked_clients(),
            srv.blocking.clients_in_timeout_table(),
        );
    }
    if want.wants("memory") {
        section(&mut out, "Memory");
        let rss = srv.probe.rss_bytes();
        let peak = srv.used_memory_peak;
        let startup = srv.used_memory_startup;
        let clients_mem: u64 = srv
            .clients
            .values()
            .map(|c| (std::mem::size_of_val(c) + c.query.capacity() + c.reply.capacity()) as u64)
            .sum();
        let overhead = startup + clients_mem;
        let dataset = used.saturating_sub(overhead);
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                a as f64 * 100.0 / b as f64
            }
        };
        let frag = if used == 0 {
            0.0
        } else {
            rss as f64 / used as f64
        };
        let total_mem = srv.host.total_system_memory;
        let _ = write!(
            out,
            "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{overhead}\r\nused_memory_startup:{startup}\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{used}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total_mem}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:{frag:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{clients_mem}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
            human_bytes(used),
            human_bytes(rss),
            human_bytes(peak),
            pct(used, peak),
            pct(dataset, used.saturating_sub(startup)),
            human_bytes(total_mem),
            rss as i64 - used as i64,
            rss as i64 - used as i64,
            srv.host.mem_allocator,
        );
    }
    if want.wants("persistence") {
        section(&mut out, "Persistence");
        srv.info_persistence(&mut out);
    }
    if want.wants("stats") {
        section(&mut out, "Stats");
        let s = &srv.stats;
        let kbps = |m: &crate::server::Metric| m.per_sec() as f64 / 1024.0;
        let _ = write!(
            out,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:{}\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:{}\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:{}\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
            s.total_connections_received,
            s.total_commands_processed,
            srv.cron.ops.per_sec(),
            s.total_net_input_bytes,
            s.total_net_output_bytes,
            srv.repl.net_repl_output_bytes,
            kbps(&srv.cron.net_input),
            kbps(&srv.cron.net_output),
            s.rejected_connections,
            srv.repl.stat_sync_full,
            srv.repl.stat_sync_partial_ok,
            srv.repl.stat_sync_partial_err,
            s.expired_keys,
            s.expired_stale_perc * 100.0,
            s.expired_time_cap_reached_count,
            s.expire_cycle_cpu_milliseconds,
            s.keyspace_hits,
            s.keyspace_misses,
            srv.pubsub.active(SubKind::Channel),
            srv.pubsub.active(SubKind::Pattern),
            srv.pubsub.active(SubKind::Shard),
            s.unexpected_error_replies,
            s.total_error_replies,
            s.dump_payload_sanitizations,
            s.io_reads_processed,
            s.io_writes_processed,
        );
    }
    if want.wants("replication") {
        section(&mut out, "Replication");
        srv.info_replication(&mut out);
    }
    if want.wants("cpu") {
        section(&mut out, "CPU");
        let cpu = srv.probe.cpu_usage();
        let secs = |us: u64| format!("{}.{:06}", us / 1_000_000, us % 1_000_000);
        let _ = write!(
            out,
            "used_cpu_sys:{}\r\nused_cpu_user:{}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\nused_cpu_sys_main_thread:{}\r\nused_cpu_user_main_thread:{}\r\n",
            secs(cpu.sys_us),
            secs(cpu.user_us),
            secs(cpu.sys_us),
            secs(cpu.user_us),
        );
    }
    if want.wants("module_list") || want.wants("modules") {
        section(&mut out, "Modules");
    }
    if want.wants("commandstats") {
        section(&mut out, "Commandstats");
        let mut names: Vec<&&'static str> = srv.stats.commands.keys().collect();
        names.sort();
        for name in names {
            let c = &srv.stats.commands[*name];
            if c.calls == 0 && c.failed_calls == 0 && c.rejected_calls == 0 {
                continue;
            }
            let per_call = if c.calls == 0 {
                0.0
            } else {
                c.usec as f32 / c.calls as f32
            };
            let _ = write!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                name, c.calls, c.usec, per_call, c.rejected_calls, c.failed_calls
            );
        }
    }
    if want.wants("errorstats") {
        section(&mut out, "Errorstats");
        let mut names: Vec<&String> = srv.stats.errors.keys().collect();
        names.sort();
        for name in names {
            let _ = write!(
                out,
                "errorstat_{}:count={}\r\n",
                name, srv.stats.errors[name]
            );
        }
    }
    if want.wants("cluster") {
        section(&mut out, "Cluster");
        out.push_str("cluster_enabled:0\r\n");
    }
    if want.wants("keyspace") {
        section(&mut out, "Keyspace");
        for db in &srv.dbs {
            if !db.is_empty() || db.expires_len() > 0 {
                let _ = write!(
                    out,
                    "db{}:keys={},expires={},avg_ttl={}\r\n",
                    db.id,
                    db.len(),
                    db.expires_len(),
                    db.avg_ttl_ms
                );
            }
        }
    }
    out
}

fn config_get(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let patterns: Vec<&[u8]> = (2..ctx.argc()).map(|i| ctx.arg(i)).collect();
    let pairs = srv.config.get_matching(&patterns);
    ctx.reply.map(pairs.len());
    for (name, value) in pairs {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
}

fn config_set(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !ctx.argc().is_multiple_of(2) {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..ctx.argc())
        .step_by(2)
        .map(|i| (ctx.arg(i), ctx.arg(i + 1)))
        .collect();
    let aof_was = srv.config.appendonly;
    match srv.config.set_many(&pairs) {
        Ok(()) => {
            let max = usize::try_from(srv.config.slowlog_max_len).unwrap_or(usize::MAX);
            srv.slowlog.trim(max);
            // updateAppendonly: turning the AOF on writes a base of the dataset now.
            match (aof_was, srv.config.appendonly) {
                (false, true) if !srv.aof.is_on() => srv.aof_start(),
                (true, false) => srv.aof_stop(),
                _ => {}
            }
            ctx.reply.ok();
        }
        Err(e) => ctx.reply.error(&e),
    }
}

fn config_resetstat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    srv.stats.reset();
    srv.used_memory_peak = srv.probe.used_memory();
    ctx.reply.ok();
}

fn config_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.help(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
        ],
    );
}

fn time(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let us = srv.now.wall.0;
    ctx.reply.array(2);
    ctx.reply
        .bulk(us.div_euclid(1_000_000).to_string().as_bytes());
    ctx.reply
        .bulk(us.rem_euclid(1_000_000).to_string().as_bytes());
}

fn slowlog_get(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut count = 10usize;
    if ctx.argc() == 3 {
        match parse_i64(ctx.arg(2)) {
            Some(-1) => count = usize::MAX,
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                ctx.reply
                    .error("count should be greater than or equal to -1");
                return;
            }
        }
    }
    let entries: Vec<_> = srv.slowlog.newest(count).cloned().collect();
    ctx.reply.array(entries.len());
    for e in entries {
        ctx.reply.array(6);
        ctx.reply.int(e.id as i64);
        ctx.reply.int(e.unix_secs);
        ctx.reply.int(e.duration_us as i64);
        ctx.reply.array(e.args.len());
        for a in &e.args {
            ctx.reply.bulk(a);
        }
        ctx.reply.bulk(e.peer.as_bytes());
        ctx.reply.bulk(&e.client_name);
    }
}

fn slowlog_len(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.int(srv.slowlog.len() as i64);
}

fn slowlog_reset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    srv.slowlog.reset();
    ctx.reply.ok();
}

fn slowlog_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.help(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

const DEBUG_HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
];

/// C's atoi: optional spaces and sign, then digits until the first non-digit.
pub(crate) fn atoi(s: &[u8]) -> i64 {
    let t = std::str::from_utf8(s).unwrap_or("").trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n: i64 = digits
        .bytes()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |acc, c| {
            acc.wrapping_mul(10).wrapping_add((c - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

/// C's strtod as DEBUG SLEEP uses it: the longest numeric prefix, 0 if none.
fn strtod_prefix(s: &[u8]) -> f64 {
    let t = std::str::from_utf8(s).unwrap_or("").trim_start();
    (1..=t.len())
        .rev()
        .find_map(|end| t.get(..end).and_then(|p| parse_f64(p.as_bytes())))
        .unwrap_or(0.0)
}

fn debug(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let sub = ctx.arg(1).to_ascii_lowercase();
    let argc = ctx.argc();
    match (sub.as_slice(), argc) {
        (b"help", 2) => ctx.reply.help("DEBUG", DEBUG_HELP),
        (b"digest", 2) => {
            let d = digest::dataset_digest(&srv.dbs);
            ctx.reply.simple(&digest::hex(&d));
        }
        (b"digest-value", _) => {
            ctx.reply.array(argc - 2);
            for i in 2..argc {
                let d = digest::value_digest(&srv.dbs[ctx.db], ctx.arg(i));
                ctx.reply.simple(&digest::hex(&d));
            }
        }
        (b"sleep", 3) => {
            let secs = strtod_prefix(ctx.arg(2));
            let us = (secs * 1_000_000.0) as i64;
            if us > 0 {
                // Freeze every client, like Redis's blocked thread; +OK leaves on waking.
                let until = srv.now.mono.add_ns(us as u64 * 1000);
                srv.suspend_until(until);
            }
            ctx.reply.ok();
        }
        (b"set-active-expire", 3) => {
            srv.active_expire_enabled = atoi(ctx.arg(2)) != 0;
            ctx.reply.ok();
        }
        (b"change-repl-id", 2) => {
            srv.log(
                LogLevel::Warning,
                "Changing replication IDs after receiving DEBUG change-repl-id",
            );
            srv.repl_change_id();
            ctx.reply.ok();
        }
        (b"pause-cron", 3) => {
            srv.cron_paused = atoi(ctx.arg(2)) != 0;
            ctx.reply.ok();
        }
        (b"log", 3) => {
            let msg = format!("DEBUG LOG: {}", String::from_utf8_lossy(ctx.arg(2)));
            srv.log(LogLevel::Warning, msg);
            ctx.reply.ok();
        }
        (b"error", 3) => {
            // Written raw, as Redis does: not counted as an error reply.
            let mut line = vec![b'-'];
            line.extend(
                ctx.arg(2)
                    .iter()
                    .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
            );
            line.extend_from_slice(b"\r\n");
            ctx.reply.raw(&line);
        }
        (b"populate", 3..=5) => debug_populate(srv, ctx),
        (b"protocol", 3) => debug_protocol(ctx),
        (b"quicklist-packed-threshold", 3) => super::lists::debug_packed_threshold(srv, ctx),
        (b"listpack", 3) => super::lists::debug_listpack(srv, ctx),
        (b"quicklist", 3 | 4) => super::lists::debug_quicklist(srv, ctx),
        (b"reload", _) => debug_reload(srv, ctx),
        // The reply comes once the files are replayed (server/aof.rs).
        (b"loadaof", 2) => srv.aof_debug_load(ctx.conn),
        _ => ctx.reply.error(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(ctx.arg(1))
        )),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: the reply comes once the file is back.
fn debug_reload(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut opts = crate::server::persist::ReloadOpts {
        flush: true,
        merge: false,
    };
    let mut save = true;
    for i in 2..ctx.argc() {
        match ctx.arg(i).to_ascii_lowercase().as_slice() {
            b"merge" => opts.merge = true,
            b"noflush" => opts.flush = false,
            b"nosave" => save = false,
            _ => {
                ctx.reply
                    .error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
                return;
            }
        }
    }
    if srv.debug_reload(ctx.conn, save, opts).is_err() {
        // Redis would kill its saving child first; ours cannot be interrupted.
        ctx.reply.error("Background save already in progress");
    }
}

fn positive_arg(ctx: &mut Ctx<'_>, i: usize) -> Option<u64> {
    // Redis's getPositiveLongFromObjectOrReply gives one message for both cases.
    match parse_i64(ctx.arg(i)) {
        None => {
            ctx.reply.error("value is out of range, must be positive");
            None
        }
        Some(n) if n < 0 => {
            ctx.reply.error("value is out of range, must be positive");
            None
        }
        Some(n) => Some(n as u64),
    }
}

fn debug_populate(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(count) = positive_arg(ctx, 2) else {
        return;
    };
    let mut size = 0u64;
    if ctx.argc() == 5 {
        let Some(s) = positive_arg(ctx, 4) else {
            return;
        };
        size = s;
    }
    let prefix = if ctx.argc() >= 4 {
        ctx.arg(3).to_vec()
    } else {
        b"key".to_vec()
    };
    for j in 0..count {
        let mut key = prefix.clone();
        key.extend_from_slice(format!(":{j}").as_bytes());
        // Redis formats into a 128-byte buffer.
        key.truncate(127);
        if srv.lookup_write(ctx.db, &key).is_some() {
            continue;
        }
        let base = format!("value:{j}").into_bytes();
        let value = if size == 0 {
            base
        } else {
            let mut v = vec![0u8; size as usize];
            let n = base.len().min(size as usize);
            v[..n].copy_from_slice(&base[..n]);
            v
        };
        srv.db_add(ctx.db, &key, Value::Str(StrValue::plain(&value)));
        srv.signal_modified_key(ctx.db, &key);
    }
    ctx.reply.ok();
}

fn debug_protocol(ctx: &mut Ctx<'_>) {
    let name = ctx.arg(2).to_ascii_lowercase();
    let r = &mut *ctx.reply;
    match name.as_slice() {
        b"string" => r.bulk(b"Hello World"),
        b"integer" => r.int(12345),
        // Redis's fixed test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => r.double(3.141),
        b"bignum" => r.big_number("1234567999999999999999999999999999999"),
        b"null" => r.null(),
        b"array" | b"set" => {
            if name == b"array" {
                r.array(3);
            } else {
                r.set(3);
            }
            for j in 0..3 {
                r.int(j);
            }
        }
        b"map" => {
            r.map(3);
            for j in 0..3 {
                r.int(j);
                r.boolean(j == 1);
            }
        }
        b"attrib" => {
            if r.is_resp3() {
                r.attribute(1);
                r.bulk(b"key-popularity");
                r.array(2);
                r.bulk(b"key:123");
                r.int(90);
            }
            r.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !r.is_resp3() {
                r.error("RESP2 is not supported by this command");
                return;
            }
            r.push(2);
            r.bulk(b"server-cpu-usage");
            r.int(42);
            r.bulk(b"Some real reply following the push reply");
        }
        b"true" => r.boolean(true),
        b"false" => r.boolean(false),
        b"verbatim" => r.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => r.error("Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

fn shutdown(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (mut nosave, mut save, mut abort, mut force) = (false, false, false, false);
    let mut flags = 0;
    for i in 1..ctx.argc() {
        match ctx.arg(i).to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" => {}
            b"force" => force = true,
            b"abort" => abort = true,
            _ => {
                ctx.reply.error(ERR_SYNTAX);
                return;
            }
        }
        if !abort {
            flags += 1;
        }
    }
    if (abort && flags > 0) || (nosave && save) {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    if abort {
        // Shutdown never waits for replicas here, so none is ever in progress.
        ctx.reply.error("No shutdown in progress.");
        return;
    }
    // With a save, the reply (only on failure) or the exit comes when it is done.
    srv.prepare_shutdown(save, nosave, force, Some(ctx.conn), None);
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};
    use crate::Config;

    fn info_field(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.to_string()))
    }

    #[test]
    fn info_sections() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["GET", "a"]);
        t.cmd(&["GET", "nope"]);
        t.cmd(&["NOPE"]);
        t.cmd(&["GET"]);
        let text = t.cmd(&["INFO"]).as_str();
        assert!(text.starts_with("# Server\r\nredis_version:7.0.15\r\n"));
        for section in [
            "# Clients",
            "# Memory",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
        ] {
            assert!(
                text.contains(&format!("\r\n\r\n{section}\r\n")),
                "missing {section}"
            );
        }
        assert!(!text.contains("# Commandstats"));
        assert_eq!(info_field(&text, "keyspace_hits").as_deref(), Some("1"));
        assert_eq!(info_field(&text, "keyspace_misses").as_deref(), Some("1"));
        assert_eq!(
            info_field(&text, "db0").as_deref(),
            Some("keys=1,expires=0,avg_ttl=0")
        );
        assert_eq!(
            info_field(&text, "errorstat_ERR").as_deref(),
            Some("count=2")
        );
        assert_eq!(info_field(&text, "connected_clients").as_deref(), Some("1"));
        let stats = t.cmd(&["INFO", "commandstats"]).as_str();
        assert!(stats.starts_with("# Commandstats\r\n"));
        assert!(
            stats.contains(
                "cmdstat_get:calls=2,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
            ),
            "{stats}"
        );
        let two = t.cmd(&["INFO", "KEYSPACE", "cluster"]).as_str();
        assert_eq!(two, "# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n");
        let all = t.cmd(&["INFO", "all"]).as_str();
        assert!(all.contains("# Commandstats"));
        assert_eq!(t.cmd(&["INFO", "nosuch"]).as_str(), "");
    }

    #[test]
    fn config_commands() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "hz"]),
            Frame::Array(vec![Frame::bulk("hz"), Frame::bulk("10")])
        );
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "hz", "20", "timeout", "5"]),
            Frame::ok()
        );
        assert_eq!(t.server.config.hz, 20);
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "hz"]),
            Frame::err("ERR wrong number of arguments for 'config|set' command")
        );
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "hz", "1", "timeout"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "nope", "1"]),
            Frame::err("ERR Unknown option or number of arguments for CONFIG SET - 'nope'")
        );
        for _ in 0..5 {
            t.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        }
        assert!(t.server.slowlog.len() >= 4);
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "slowlog-max-len", "2"]),
            Frame::ok()
        );
        assert_eq!(t.cmd(&["SLOWLOG", "LEN"]), Frame::Int(2));
        assert_eq!(t.cmd(&["CONFIG", "RESETSTAT"]), Frame::ok());
        assert_eq!(
            t.server.stats.total_commands_processed, 1,
            "RESETSTAT itself is counted afterwards"
        );
        let got = t.cmd(&["CONFIG", "GET", "*max*len*", "port"]);
        let Frame::Array(items) = got else { panic!() };
        assert_eq!(items.len(), 6);
    }

    #[test]
    fn slowlog_records_and_truncates() {
        let config = Config {
            slowlog_log_slower_than_us: 0,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        t.cmd(&["SLOWLOG", "RESET"]);
        t.cmd(&["SET", "k", &"x".repeat(200)]);
        let Frame::Array(entries) = t.cmd(&["SLOWLOG", "GET", "1"]) else {
            panic!()
        };
        let Frame::Array(entry) = &entries[0] else {
            panic!()
        };
        assert_eq!(entry.len(), 6);
        let Frame::Array(args) = &entry[3] else {
            panic!()
        };
        assert_eq!(args[0], Frame::bulk("SET"));
        assert!(args[2].as_str().ends_with("... (72 more bytes)"));
        assert_eq!(entry[4], Frame::bulk("127.0.0.1:40001"));
        assert_eq!(
            t.cmd(&["SLOWLOG", "GET", "-2"]),
            Frame::err("ERR count should be greater than or equal to -1")
        );
        assert!(matches!(t.cmd(&["SLOWLOG", "GET", "-1"]), Frame::Array(v) if v.len() >= 2));
    }

    #[test]
    fn time_follows_the_wall_clock() {
        let mut t = TestServer::new();
        let Frame::Array(parts) = t.cmd(&["TIME"]) else {
            panic!()
        };
        assert_eq!(
            parts[0].as_str(),
            (crate::testing::TEST_EPOCH_US / 1_000_000).to_string()
        );
        assert_eq!(parts[1].as_str(), "0");
        t.jump_wall_ms(-1500);
        let Frame::Array(parts) = t.cmd(&["TIME"]) else {
            panic!()
        };
        assert_eq!(
            parts[0].as_str(),
            (crate::testing::TEST_EPOCH_US / 1_000_000 - 2).to_string()
        );
        assert_eq!(parts[1].as_str(), "500000");
    }

    #[test]
    fn debug_digest_matches_redis() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), Frame::err("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."));
        let config = Config {
            enable_debug_command: crate::config::Protected::Local,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), Frame::Simple("0".repeat(40)));
        // Digests observed from redis-server 7.0.15 for the same dataset.
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SET", "b", "hello"]);
        t.cmd(&["SET", "c", "v", "EX", "1000"]);
        t.cmd(&["SELECT", "2"]);
        t.cmd(&["SET", "z", &"y".repeat(100)]);
        t.cmd(&["SELECT", "0"]);
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST"]),
            Frame::Simple(REDIS_DIGEST.into())
        );
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST-VALUE", "a", "c", "nope"]),
            Frame::Array(vec![
                Frame::Simple(REDIS_DIGEST_A.into()),
                Frame::Simple(REDIS_DIGEST_C.into()),
                Frame::Simple("0".repeat(40)),
            ])
        );
    }

    const REDIS_DIGEST: &str = "bbb49fe13804f6918f0860bc8611f8789979b425";
    const REDIS_DIGEST_A: &str = "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da";
    const REDIS_DIGEST_C: &str = "311b17018163335616e089f6b951c82c477335ac";

    #[test]
    fn debug_sleep_freezes_everyone() {
        let config = Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        let a = t.connect();
        let b = t.connect();
        t.send_raw(a, b"DEBUG SLEEP 0.5\r\nPING\r\n");
        t.send_raw(b, b"PING\r\n");
        assert!(t.take_output(a).is_empty());
        assert!(t.take_output(b).is_empty());
        t.advance_ms(400);
        assert!(t.take_output(a).is_empty(), "still asleep");
        t.advance_ms(100);
        assert_eq!(t.take_output(a), b"+OK\r\n+PONG\r\n");
        assert_eq!(t.take_output(b), b"+PONG\r\n");
        assert_eq!(t.cmd_on(a, &["DEBUG", "SLEEP", "0"]), Frame::ok());
    }

    #[test]
    fn debug_misc() {
        let config = Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        assert_eq!(t.cmd(&["DEBUG", "POPULATE", "10"]), Frame::ok());
        assert_eq!(t.cmd(&["GET", "key:3"]), Frame::bulk("value:3"));
        assert_eq!(t.cmd(&["DEBUG", "POPULATE", "2", "p", "10"]), Frame::ok());
        assert_eq!(
            t.cmd(&["GET", "p:1"]),
            Frame::Bulk(b"value:1\0\0\0".to_vec())
        );
        assert_eq!(
            t.cmd(&["DEBUG", "POPULATE", "-1"]),
            Frame::err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "ERROR", "CUSTOM thing"]),
            Frame::err("CUSTOM thing")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "PROTOCOL", "bignum"]),
            Frame::bulk("1234567999999999999999999999999999999")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "PROTOCOL", "push"]),
            Frame::err("ERR RESP2 is not supported by this command")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "NOPE"]),
            Frame::err(
                "ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP."
            )
        );
        assert_eq!(t.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Frame::ok());
        assert!(!t.server.active_expire_enabled);
        assert_eq!(t.cmd(&["DEBUG", "LOG", "hello"]), Frame::ok());
        assert!(t.logs.iter().any(|l| l == "DEBUG LOG: hello"));
    }

    #[test]
    fn shutdown_forms() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["SHUTDOWN", "ABORT"]),
            Frame::err("ERR No shutdown in progress.")
        );
        assert_eq!(
            t.cmd(&["SHUTDOWN", "NOSAVE", "SAVE"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SHUTDOWN", "NOW", "ABORT"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["SHUTDOWN", "FOO"]), Frame::err("ERR syntax error"));
        // The save-and-exit forms are in cmd/persist.rs.
        let c = t.default_conn();
        t.send_raw(c, b"SHUTDOWN NOSAVE NOW FORCE\r\n");
        assert_eq!(t.exited, Some(0));
    }
}
