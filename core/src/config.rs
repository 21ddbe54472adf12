//! Server configuration: the parameter table behind redis.conf, command-line flags,
//! CONFIG GET and CONFIG SET — names, aliases, types, bounds, defaults and Redis's
//! exact error texts. Loading a config file is pure string processing and lives here;
//! reading the file is the backend's job.

use crate::glob::glob_match;
use crate::io::LogLevel;
use crate::resp::splitargs::split_args;
use crate::util::parse_i64;

/// `appendfsync`: when the AOF is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFsync {
    /// After every write, before any reply that depends on it leaves.
    Always,
    /// About once a second, in the background.
    Everysec,
    /// Left to the operating system.
    No,
}

const APPEND_FSYNC: &[(&str, AppendFsync)] = &[
    ("always", AppendFsync::Always),
    ("everysec", AppendFsync::Everysec),
    ("no", AppendFsync::No),
];

/// Who may run DEBUG (and other protected commands): Redis's `enable-*-command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    No,
    Yes,
    Local,
}

/// The client classes `client-output-buffer-limit` configures, in Redis's order
/// (CLIENT_TYPE_NORMAL, _SLAVE, _PUBSUB); masters are limited as normal clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObufClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

impl ObufClass {
    pub const ALL: [ObufClass; 3] = [ObufClass::Normal, ObufClass::Replica, ObufClass::Pubsub];

    /// The name CONFIG GET shows (Redis's getClientTypeName).
    pub fn name(self) -> &'static str {
        match self {
            ObufClass::Normal => "normal",
            ObufClass::Replica => "slave",
            ObufClass::Pubsub => "pubsub",
        }
    }

    /// Redis's getClientTypeByName, minus `master`, which has no limits of its own.
    fn by_name(name: &[u8]) -> Option<ObufClass> {
        let name = name.to_ascii_lowercase();
        match name.as_slice() {
            b"normal" => Some(ObufClass::Normal),
            b"slave" | b"replica" => Some(ObufClass::Replica),
            b"pubsub" => Some(ObufClass::Pubsub),
            _ => None,
        }
    }
}

/// One class's output buffer limits: 0 bytes means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: i64,
}

/// Redis's clientBufferLimitsDefaults.
pub const OBUF_LIMIT_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit {
        hard_bytes: 0,
        soft_bytes: 0,
        soft_seconds: 0,
    },
    ObufLimit {
        hard_bytes: 256 * 1024 * 1024,
        soft_bytes: 64 * 1024 * 1024,
        soft_seconds: 60,
    },
    ObufLimit {
        hard_bytes: 32 * 1024 * 1024,
        soft_bytes: 8 * 1024 * 1024,
        soft_seconds: 60,
    },
];

#[derive(Debug, Clone)]
pub struct Config {
    pub port: i64,
    pub bind: Vec<String>,
    pub dir: String,
    pub databases: i64,
    pub hz: i64,
    pub dynamic_hz: bool,
    pub requirepass: Option<Vec<u8>>,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub pidfile: String,
    pub daemonize: bool,
    pub always_show_logo: bool,
    pub timeout_secs: i64,
    pub tcp_keepalive_secs: i64,
    pub tcp_backlog: i64,
    pub maxclients: i64,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub slowlog_log_slower_than_us: i64,
    pub slowlog_max_len: i64,
    pub active_expire_effort: i64,
    pub enable_debug_command: Protected,
    pub lazyfree_lazy_user_flush: bool,
    /// Expired keys are freed lazily: they propagate as UNLINK instead of DEL.
    pub lazyfree_lazy_expire: bool,
    /// `appendonly`: the AOF is on.
    pub appendonly: bool,
    /// `appendfilename`: the base name of the AOF's files and manifest.
    pub appendfilename: String,
    /// `appenddirname`: the directory under `dir` holding the AOF's files.
    pub appenddirname: String,
    pub appendfsync: AppendFsync,
    /// `aof-use-rdb-preamble`: base files are RDB snapshots (else AOF commands).
    pub aof_use_rdb_preamble: bool,
    /// `aof-timestamp-enabled`: `#TS:` annotations in the AOF.
    pub aof_timestamp_enabled: bool,
    /// `aof-load-truncated`: a torn tail of the last AOF file is cut back at startup
    /// instead of refusing to start.
    pub aof_load_truncated: bool,
    /// `no-appendfsync-on-rewrite`: no AOF fsync while a background save or
    /// rewrite runs.
    pub no_appendfsync_on_rewrite: bool,
    /// `aof-rewrite-incremental-fsync`: a rewrite's base is fsynced every 4 MiB.
    pub aof_rewrite_incremental_fsync: bool,
    /// `rdb-save-incremental-fsync`: an RDB save is fsynced every 4 MiB.
    pub rdb_save_incremental_fsync: bool,
    /// `auto-aof-rewrite-percentage`: growth over the last rewrite that triggers one
    /// (0: never).
    pub auto_aof_rewrite_percentage: i64,
    /// `auto-aof-rewrite-min-size`: no automatic rewrite below this size.
    pub auto_aof_rewrite_min_size: i64,
    /// DEL frees lazily as UNLINK does: GETDEL propagates as UNLINK.
    pub lazyfree_lazy_user_del: bool,
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    pub set_max_intset_entries: i64,
    pub set_max_listpack_entries: i64,
    pub set_max_listpack_value: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    pub hll_sparse_max_bytes: i64,
    /// Keyspace notification classes (`server::notify` flags).
    pub notify_keyspace_events: u32,
    /// client-output-buffer-limit, indexed by `ObufClass`.
    pub client_obuf_limits: [ObufLimit; 3],
    /// `save`: (seconds, changes) points; a BGSAVE starts once `changes` writes
    /// happened and `seconds` passed since the last save.
    pub save: Vec<(i64, i64)>,
    /// `dbfilename`: the RDB file's name inside `dir`.
    pub dbfilename: String,
    /// `stop-writes-on-bgsave-error`: refuse writes (MISCONF) after a failed save.
    pub stop_writes_on_bgsave_error: bool,
    /// Set while a config file is applied: its first `save` line replaces the
    /// defaults and later ones add to it (Redis's `reading_config_file`).
    pub reading_config_file: bool,
    pub save_loaded: bool,
    /// `rdbcompression`: LZF for long strings in RDB files and DUMP payloads.
    pub rdbcompression: bool,
    /// `rdbchecksum`: write (and verify) the CRC-64 trailer of RDB files.
    pub rdbchecksum: bool,
    /// `sanitize-dump-payload`: deep validation of RESTORE payloads.
    pub sanitize_dump_payload: SanitizeDump,
    /// `repl-backlog-size`: bytes of stream kept for partial resyncs (at least 16k
    /// are kept whatever it says).
    pub repl_backlog_size: i64,
    /// `repl-backlog-ttl`: seconds without replicas before the backlog is freed
    /// (0: never).
    pub repl_backlog_ttl: i64,
    /// `repl-ping-replica-period`: seconds between PINGs in the stream.
    pub repl_ping_replica_period: i64,
    /// `repl-timeout`: seconds of silence after which a replica link is dropped.
    pub repl_timeout: i64,
    /// `min-replicas-to-write`: writes are refused (NOREPLICAS) with fewer good
    /// replicas than this (0: no check).
    pub min_replicas_to_write: i64,
    /// `min-replicas-max-lag`: seconds since its last ACK for a replica to be good.
    pub min_replicas_max_lag: i64,
    /// `repl-diskless-sync`: full resyncs stream the snapshot to the replicas'
    /// sockets (`$EOF:<mark>` framing) instead of writing the RDB file first.
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay`: seconds a diskless sync waits for more replicas.
    pub repl_diskless_sync_delay: i64,
    /// `repl-diskless-sync-max-replicas`: start at once when this many wait (0: no).
    pub repl_diskless_sync_max_replicas: i64,
    /// `replicaof host port` (config file only; REPLICAOF changes it at run time):
    /// the master this server replicates, none for a master.
    pub replicaof: Option<(String, u16)>,
    /// `masterauth` / `masteruser`: the AUTH the replica handshake sends.
    pub masterauth: Option<Vec<u8>>,
    pub masteruser: Option<Vec<u8>>,
    /// `replica-read-only`: clients may not write to a replica.
    pub replica_read_only: bool,
    /// `replica-serve-stale-data`: with the master link down, still answer.
    pub replica_serve_stale_data: bool,
    /// `replica-lazy-flush`: accepted; the flush before loading is synchronous here
    /// either way, which clients cannot tell apart.
    pub replica_lazy_flush: bool,
    /// `replica-announce-ip` / `replica-announce-port`: what the handshake's
    /// REPLCONF tells the master instead of the connection's address / our port.
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: i64,
    /// `replica-priority` and `replica-announced`, shown in INFO for Sentinel.
    pub replica_priority: i64,
    pub replica_announced: bool,
}

/// `sanitize-dump-payload`: when RESTORE (and RDB loading) validate collection
/// payloads element by element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeDump {
    No,
    Yes,
    /// Only for clients that are not the master or a trusted loader.
    Clients,
}

const SANITIZE_DUMP: &[(&str, SanitizeDump)] = &[
    ("no", SanitizeDump::No),
    ("yes", SanitizeDump::Yes),
    ("clients", SanitizeDump::Clients),
];

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            dir: String::new(),
            databases: 16,
            hz: 10,
            dynamic_hz: true,
            requirepass: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            pidfile: String::new(),
            daemonize: false,
            always_show_logo: false,
            timeout_secs: 0,
            tcp_keepalive_secs: 300,
            tcp_backlog: 511,
            maxclients: 10000,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            slowlog_log_slower_than_us: 10000,
            slowlog_max_len: 128,
            active_expire_effort: 1,
            enable_debug_command: Protected::No,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_expire: false,
            appendonly: false,
            appendfilename: "appendonly.aof".into(),
            appenddirname: "appendonlydir".into(),
            appendfsync: AppendFsync::Everysec,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_load_truncated: true,
            no_appendfsync_on_rewrite: false,
            aof_rewrite_incremental_fsync: true,
            rdb_save_incremental_fsync: true,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            lazyfree_lazy_user_del: false,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            notify_keyspace_events: 0,
            client_obuf_limits: OBUF_LIMIT_DEFAULTS,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            dbfilename: "dump.rdb".into(),
            stop_writes_on_bgsave_error: true,
            reading_config_file: false,
            save_loaded: false,
            rdbcompression: true,
            rdbchecksum: true,
            sanitize_dump_payload: SanitizeDump::No,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_read_only: true,
            replica_serve_stale_data: true,
            replica_lazy_flush: false,
            replica_announce_ip: None,
            replica_announce_port: 0,
            replica_priority: 100,
            replica_announced: true,
        }
    }
}

/// Redis clamps `hz` into this range wherever it is set.
pub const HZ_MIN: i64 = 1;
pub const HZ_MAX: i64 = 500;

const IMMUTABLE: u8 = 1 << 0;
const SENSITIVE: u8 = 1 << 1;
const MULTI_ARG: u8 = 1 << 2;
/// CONFIG SET refuses it (Redis's PROTECTED_CONFIG with enable-protected-configs no).
const PROTECTED_CONFIG: u8 = 1 << 3;

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &[Vec<u8>]) -> Result<(), String>;

/// One configuration parameter.
pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    flags: u8,
    get: Getter,
    set: Setter,
}

impl Param {
    pub fn is_immutable(&self) -> bool {
        self.flags & IMMUTABLE != 0
    }
}

fn one_arg(args: &[Vec<u8>]) -> Result<&[u8], String> {
    match args {
        [one] => Ok(one),
        _ => Err("wrong number of arguments".into()),
    }
}

fn parse_bool(args: &[Vec<u8>]) -> Result<bool, String> {
    let v = one_arg(args)?;
    if v.eq_ignore_ascii_case(b"yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case(b"no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'".into())
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// Redis's `memtoull`: a number with an optional b/k/kb/m/mb/g/gb unit.
pub fn parse_memory(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.to_ascii_lowercase();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // memtoull uses strtoull: leading digits only, no sign.
    if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok()?.checked_mul(mul)
}

/// Redis's `memtoull` exactly: digits then an optional unit; no sign; an empty
/// number is 0, a number too big for 64 bits saturates (strtoull) and a unit
/// multiplies with wrap-around, as the C code does.
pub fn memtoull(v: &[u8]) -> Option<u64> {
    if v.first() == Some(&b'-') {
        return None;
    }
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = v[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // The digits are copied into a 128-byte buffer first.
    if digits >= 128 {
        return None;
    }
    let mut val: u64 = 0;
    for &c in &v[..digits] {
        val = val
            .checked_mul(10)
            .and_then(|x| x.checked_add((c - b'0') as u64))
            .unwrap_or(u64::MAX);
        if val == u64::MAX {
            break;
        }
    }
    Some(val.wrapping_mul(mul))
}

/// C's `strtoll(s, &end, 10)` followed by Redis's `*end == '\0'` test: optional
/// leading whitespace and sign, out-of-range values saturate, and a string with no
/// digits converts nothing (so only the empty string passes, as 0). None when
/// anything is left over.
fn strtoll_whole(v: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < v.len() && matches!(v[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match v.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut mag: i128 = 0;
    while i < v.len() && v[i].is_ascii_digit() {
        mag = (mag * 10 + (v[i] - b'0') as i128).min(i64::MAX as i128 + 1);
        i += 1;
    }
    if i == start {
        // No conversion: strtoll leaves `end` at the very start of the string.
        return if v.is_empty() { Some(0) } else { None };
    }
    if i != v.len() {
        return None;
    }
    let signed = if neg { -mag } else { mag };
    Some(signed.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// setConfigSaveOption: `""` alone empties the list; otherwise pairs of seconds (at
/// least 1) and changes (at least 0), all checked first. CONFIG SET replaces the
/// list; in a config file the first `save` line replaces the defaults and later
/// lines add to it.
fn set_save(c: &mut Config, args: &[Vec<u8>]) -> Result<(), String> {
    let args: &[Vec<u8>] = if args.len() == 1 && args[0].is_empty() {
        c.save.clear();
        &[]
    } else {
        args
    };
    if args.len() % 2 == 1 {
        return Err("Invalid save parameters".into());
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks(2) {
        let secs = strtoll_whole(&pair[0]).filter(|v| *v >= 1);
        let changes = strtoll_whole(&pair[1]).filter(|v| *v >= 0);
        match (secs, changes) {
            // Redis keeps the changes in an int.
            (Some(s), Some(n)) => points.push((s, n as i32 as i64)),
            _ => return Err("Invalid save parameters".into()),
        }
    }
    if !c.reading_config_file || !c.save_loaded {
        c.save_loaded = c.reading_config_file;
        c.save.clear();
    }
    c.save.extend(points);
    Ok(())
}

/// Redis's updateClientOutputBufferLimit: `<class> <hard> <soft> <soft seconds>`
/// groups, all checked before any is applied.
fn set_obuf_limits(c: &mut Config, args: &[Vec<u8>]) -> Result<(), String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut next = c.client_obuf_limits;
    for group in args.chunks(4) {
        let Some(class) = ObufClass::by_name(&group[0]) else {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = memtoull(&group[1]).ok_or_else(bad)?;
        let soft = memtoull(&group[2]).ok_or_else(bad)?;
        // Parsed as a long long and stored in an int, as Redis does.
        let seconds = strtoll_whole(&group[3]).ok_or_else(bad)? as i32;
        if seconds < 0 {
            return Err(bad().into());
        }
        next[class as usize] = ObufLimit {
            hard_bytes: hard,
            soft_bytes: soft,
            soft_seconds: seconds as i64,
        };
    }
    c.client_obuf_limits = next;
    Ok(())
}

fn get_obuf_limits(c: &Config) -> String {
    ObufClass::ALL
        .iter()
        .map(|&class| {
            let l = c.client_obuf_limits[class as usize];
            format!(
                "{} {} {} {}",
                class.name(),
                l.hard_bytes,
                l.soft_bytes,
                l.soft_seconds
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_bounded(args: &[Vec<u8>], min: i64, max: i64, memory: bool) -> Result<i64, String> {
    let v = one_arg(args)?;
    let n = if memory {
        parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?
    } else {
        parse_i64(v).ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?
    };
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

fn parse_string(args: &[Vec<u8>]) -> Result<String, String> {
    Ok(String::from_utf8_lossy(one_arg(args)?).into_owned())
}

/// isValidAOFfilename / isValidAOFdirname: not empty, no path separators.
fn aof_base_name(args: &[Vec<u8>], param: &str, what: &str) -> Result<String, String> {
    let v = parse_string(args)?;
    if v.is_empty() {
        return Err(format!("{param} can't be empty"));
    }
    if v.contains('/') || v.contains('\\') {
        return Err(format!("{param} can't be a path, just a {what}"));
    }
    Ok(v)
}

fn parse_enum<T: Copy>(args: &[Vec<u8>], names: &[(&str, T)]) -> Result<T, String> {
    let v = one_arg(args)?;
    for (name, value) in names {
        if v.eq_ignore_ascii_case(name.as_bytes()) {
            return Ok(*value);
        }
    }
    let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    Err(format!(
        "argument(s) must be one of the following: {}",
        list.join(", ")
    ))
}

const LOGLEVELS: &[(&str, LogLevel)] = &[
    ("debug", LogLevel::Debug),
    ("verbose", LogLevel::Verbose),
    ("notice", LogLevel::Notice),
    ("warning", LogLevel::Warning),
];

const PROTECTED: &[(&str, Protected)] = &[
    ("no", Protected::No),
    ("yes", Protected::Yes),
    ("local", Protected::Local),
];

fn enum_name<T: Copy + PartialEq>(names: &[(&'static str, T)], v: T) -> String {
    names
        .iter()
        .find(|(_, x)| *x == v)
        .map(|(n, _)| n.to_string())
        .unwrap_or_default()
}

macro_rules! bool_param {
    ($name:expr, $flags:expr, $field:ident) => {
        Param {
            name: $name,
            alias: None,
            flags: $flags,
            get: |c| yes_no(c.$field),
            set: |c, a| {
                c.$field = parse_bool(a)?;
                Ok(())
            },
        }
    };
}

macro_rules! int_param {
    ($name:expr, $flags:expr, $field:ident, $min:expr, $max:expr, $memory:expr) => {
        int_param!($name, None, $flags, $field, $min, $max, $memory)
    };
    ($name:expr, $alias:expr, $flags:expr, $field:ident, $min:expr, $max:expr, $memory:expr) => {
        Param {
            name: $name,
            alias: $alias,
            flags: $flags,
            get: |c| c.$field.to_string(),
            set: |c, a| {
                c.$field = parse_bounded(a, $min, $max, $memory)?;
                Ok(())
            },
        }
    };
}

const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;

/// Every parameter cinnabar implements.
pub static PARAMS: &[Param] = &[
    int_param!("port", IMMUTABLE, port, 0, 65535, false),
    Param {
        name: "bind",
        alias: None,
        flags: IMMUTABLE | MULTI_ARG,
        get: |c| c.bind.join(" "),
        set: |c, a| {
            if a.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            c.bind = if a.len() == 1 && a[0].is_empty() {
                Vec::new()
            } else {
                a.iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            };
            Ok(())
        },
    },
    // Redis chdirs into `dir`; cinnabar keeps the path and joins it to every file
    // name instead. It is a protected config, so only the command line and the
    // config file set it, and the backend checks at startup that it exists.
    Param {
        name: "dir",
        alias: None,
        flags: PROTECTED_CONFIG,
        get: |c| c.dir.clone(),
        set: |c, a| {
            c.dir = parse_string(a)?;
            Ok(())
        },
    },
    Param {
        name: "dbfilename",
        alias: None,
        flags: PROTECTED_CONFIG,
        get: |c| c.dbfilename.clone(),
        set: |c, a| {
            let name = parse_string(a)?;
            // pathIsBaseName: no '/' anywhere.
            if name.contains('/') {
                return Err("dbfilename can't be a path, just a filename".into());
            }
            c.dbfilename = name;
            Ok(())
        },
    },
    Param {
        name: "save",
        alias: None,
        flags: MULTI_ARG,
        get: |c| {
            c.save
                .iter()
                .map(|(secs, changes)| format!("{secs} {changes}"))
                .collect::<Vec<_>>()
                .join(" ")
        },
        set: set_save,
    },
    Param {
        name: "stop-writes-on-bgsave-error",
        alias: None,
        flags: 0,
        get: |c| yes_no(c.stop_writes_on_bgsave_error),
        set: |c, a| {
            c.stop_writes_on_bgsave_error = parse_bool(a)?;
            Ok(())
        },
    },
    int_param!("databases", IMMUTABLE, databases, 1, INT_MAX, false),
    Param {
        name: "hz",
        alias: None,
        flags: 0,
        get: |c| c.hz.to_string(),
        set: |c, a| {
            // Redis keeps the configured value and clamps the one it runs with.
            c.hz = parse_bounded(a, 0, INT_MAX, false)?;
            Ok(())
        },
    },
    bool_param!("dynamic-hz", 0, dynamic_hz),
    Param {
        name: "requirepass",
        alias: None,
        flags: SENSITIVE,
        get: |c| {
            c.requirepass
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, a| {
            let v = one_arg(a)?;
            c.requirepass = if v.is_empty() { None } else { Some(v.to_vec()) };
            Ok(())
        },
    },
    Param {
        name: "loglevel",
        alias: None,
        flags: 0,
        get: |c| enum_name(LOGLEVELS, c.loglevel),
        set: |c, a| {
            c.loglevel = parse_enum(a, LOGLEVELS)?;
            Ok(())
        },
    },
    Param {
        name: "logfile",
        alias: None,
        flags: IMMUTABLE,
        get: |c| c.logfile.clone(),
        set: |c, a| {
            c.logfile = parse_string(a)?;
            Ok(())
        },
    },
    Param {
        name: "pidfile",
        alias: None,
        flags: IMMUTABLE,
        get: |c| c.pidfile.clone(),
        set: |c, a| {
            c.pidfile = parse_string(a)?;
            Ok(())
        },
    },
    Param {
        name: "daemonize",
        alias: None,
        flags: IMMUTABLE,
        get: |c| yes_no(c.daemonize),
        set: |c, a| {
            // cinnabar never forks; run it under a supervisor instead.
            if parse_bool(a)? {
                return Err("daemonize is not supported: run cinnabar under a supervisor".into());
            }
            c.daemonize = false;
            Ok(())
        },
    },
    bool_param!("always-show-logo", IMMUTABLE, always_show_logo),
    int_param!("timeout", 0, timeout_secs, 0, INT_MAX, false),
    int_param!("tcp-keepalive", 0, tcp_keepalive_secs, 0, INT_MAX, false),
    int_param!("tcp-backlog", IMMUTABLE, tcp_backlog, 0, INT_MAX, false),
    int_param!("maxclients", 0, maxclients, 1, UINT_MAX, false),
    int_param!(
        "proto-max-bulk-len",
        0,
        proto_max_bulk_len,
        1024 * 1024,
        i64::MAX,
        true
    ),
    int_param!(
        "client-query-buffer-limit",
        0,
        client_query_buffer_limit,
        1024 * 1024,
        i64::MAX,
        true
    ),
    int_param!(
        "slowlog-log-slower-than",
        0,
        slowlog_log_slower_than_us,
        -1,
        i64::MAX,
        false
    ),
    int_param!("slowlog-max-len", 0, slowlog_max_len, 0, i64::MAX, false),
    int_param!(
        "active-expire-effort",
        0,
        active_expire_effort,
        1,
        10,
        false
    ),
    Param {
        name: "enable-debug-command",
        alias: None,
        flags: IMMUTABLE,
        get: |c| enum_name(PROTECTED, c.enable_debug_command),
        set: |c, a| {
            c.enable_debug_command = parse_enum(a, PROTECTED)?;
            Ok(())
        },
    },
    bool_param!("lazyfree-lazy-user-flush", 0, lazyfree_lazy_user_flush),
    bool_param!("lazyfree-lazy-expire", 0, lazyfree_lazy_expire),
    int_param!("repl-backlog-size", 0, repl_backlog_size, 1, i64::MAX, true),
    int_param!("repl-backlog-ttl", 0, repl_backlog_ttl, 0, i64::MAX, false),
    int_param!(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        0,
        repl_ping_replica_period,
        1,
        INT_MAX,
        false
    ),
    int_param!("repl-timeout", 0, repl_timeout, 1, INT_MAX, false),
    int_param!(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        0,
        min_replicas_to_write,
        0,
        INT_MAX,
        false
    ),
    int_param!(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        0,
        min_replicas_max_lag,
        0,
        INT_MAX,
        false
    ),
    bool_param!("repl-diskless-sync", 0, repl_diskless_sync),
    int_param!(
        "repl-diskless-sync-delay",
        0,
        repl_diskless_sync_delay,
        0,
        INT_MAX,
        false
    ),
    int_param!(
        "repl-diskless-sync-max-replicas",
        0,
        repl_diskless_sync_max_replicas,
        0,
        INT_MAX,
        false
    ),
    Param {
        name: "replicaof",
        alias: Some("slaveof"),
        flags: IMMUTABLE | MULTI_ARG,
        get: |c| {
            c.replicaof
                .as_ref()
                .map(|(h, p)| format!("{h} {p}"))
                .unwrap_or_default()
        },
        set: |c, a| {
            if a.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            c.replicaof = None;
            if a[0].eq_ignore_ascii_case(b"no") && a[1].eq_ignore_ascii_case(b"one") {
                return Ok(());
            }
            // strtol with the whole argument consumed, then the range.
            let port = std::str::from_utf8(&a[1])
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .filter(|p| (0..=65535).contains(p))
                .ok_or("Invalid master port")?;
            c.replicaof = Some((String::from_utf8_lossy(&a[0]).into_owned(), port as u16));
            Ok(())
        },
    },
    Param {
        name: "masterauth",
        alias: None,
        flags: SENSITIVE,
        get: |c| {
            c.masterauth
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, a| {
            let v = one_arg(a)?;
            c.masterauth = if v.is_empty() { None } else { Some(v.to_vec()) };
            Ok(())
        },
    },
    Param {
        name: "masteruser",
        alias: None,
        flags: SENSITIVE,
        get: |c| {
            c.masteruser
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, a| {
            let v = one_arg(a)?;
            c.masteruser = if v.is_empty() { None } else { Some(v.to_vec()) };
            Ok(())
        },
    },
    Param {
        name: "replica-read-only",
        alias: Some("slave-read-only"),
        flags: 0,
        get: |c| yes_no(c.replica_read_only),
        set: |c, a| {
            c.replica_read_only = parse_bool(a)?;
            Ok(())
        },
    },
    Param {
        name: "replica-serve-stale-data",
        alias: Some("slave-serve-stale-data"),
        flags: 0,
        get: |c| yes_no(c.replica_serve_stale_data),
        set: |c, a| {
            c.replica_serve_stale_data = parse_bool(a)?;
            Ok(())
        },
    },
    Param {
        name: "replica-lazy-flush",
        alias: Some("slave-lazy-flush"),
        flags: 0,
        get: |c| yes_no(c.replica_lazy_flush),
        set: |c, a| {
            c.replica_lazy_flush = parse_bool(a)?;
            Ok(())
        },
    },
    Param {
        name: "replica-announce-ip",
        alias: Some("slave-announce-ip"),
        flags: 0,
        get: |c| c.replica_announce_ip.clone().unwrap_or_default(),
        set: |c, a| {
            let v = parse_string(a)?;
            c.replica_announce_ip = if v.is_empty() { None } else { Some(v) };
            Ok(())
        },
    },
    int_param!(
        "replica-announce-port",
        Some("slave-announce-port"),
        0,
        replica_announce_port,
        0,
        65535,
        false
    ),
    int_param!(
        "replica-priority",
        Some("slave-priority"),
        0,
        replica_priority,
        0,
        INT_MAX,
        false
    ),
    bool_param!("replica-announced", 0, replica_announced),
    bool_param!("appendonly", 0, appendonly),
    Param {
        name: "appendfilename",
        alias: None,
        flags: IMMUTABLE,
        get: |c| c.appendfilename.clone(),
        set: |c, a| {
            c.appendfilename = aof_base_name(a, "appendfilename", "filename")?;
            Ok(())
        },
    },
    Param {
        name: "appenddirname",
        alias: None,
        flags: IMMUTABLE,
        get: |c| c.appenddirname.clone(),
        set: |c, a| {
            c.appenddirname = aof_base_name(a, "appenddirname", "dirname")?;
            Ok(())
        },
    },
    Param {
        name: "appendfsync",
        alias: None,
        flags: 0,
        get: |c| enum_name(APPEND_FSYNC, c.appendfsync),
        set: |c, a| {
            c.appendfsync = parse_enum(a, APPEND_FSYNC)?;
            Ok(())
        },
    },
    bool_param!("aof-use-rdb-preamble", 0, aof_use_rdb_preamble),
    bool_param!("aof-timestamp-enabled", 0, aof_timestamp_enabled),
    bool_param!("aof-load-truncated", 0, aof_load_truncated),
    bool_param!("no-appendfsync-on-rewrite", 0, no_appendfsync_on_rewrite),
    bool_param!(
        "aof-rewrite-incremental-fsync",
        0,
        aof_rewrite_incremental_fsync
    ),
    bool_param!("rdb-save-incremental-fsync", 0, rdb_save_incremental_fsync),
    int_param!(
        "auto-aof-rewrite-percentage",
        0,
        auto_aof_rewrite_percentage,
        0,
        INT_MAX,
        false
    ),
    int_param!(
        "auto-aof-rewrite-min-size",
        0,
        auto_aof_rewrite_min_size,
        0,
        i64::MAX,
        true
    ),
    bool_param!("lazyfree-lazy-user-del", 0, lazyfree_lazy_user_del),
    bool_param!("rdbcompression", 0, rdbcompression),
    bool_param!("rdbchecksum", IMMUTABLE, rdbchecksum),
    Param {
        name: "sanitize-dump-payload",
        alias: None,
        flags: 0,
        get: |c| enum_name(SANITIZE_DUMP, c.sanitize_dump_payload),
        set: |c, a| {
            c.sanitize_dump_payload = parse_enum(a, SANITIZE_DUMP)?;
            Ok(())
        },
    },
    Param {
        name: "notify-keyspace-events",
        alias: None,
        flags: 0,
        get: |c| crate::server::notify::format_classes(c.notify_keyspace_events),
        set: |c, a| {
            let v = one_arg(a)?;
            c.notify_keyspace_events = crate::server::notify::parse_classes(v)
                .ok_or_else(|| crate::server::notify::ERR_INVALID_CLASS.to_string())?;
            Ok(())
        },
    },
    int_param!(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        0,
        hash_max_listpack_entries,
        0,
        i64::MAX,
        false
    ),
    int_param!(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        0,
        hash_max_listpack_value,
        0,
        i64::MAX,
        true
    ),
    int_param!(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        0,
        list_max_listpack_size,
        i32::MIN as i64,
        INT_MAX,
        false
    ),
    int_param!(
        "list-compress-depth",
        0,
        list_compress_depth,
        0,
        INT_MAX,
        false
    ),
    int_param!(
        "set-max-intset-entries",
        0,
        set_max_intset_entries,
        0,
        i64::MAX,
        false
    ),
    // Redis 7.2's listpack-encoded sets (see ARCHITECTURE.md, "Encodings").
    int_param!(
        "set-max-listpack-entries",
        0,
        set_max_listpack_entries,
        0,
        i64::MAX,
        false
    ),
    int_param!(
        "set-max-listpack-value",
        0,
        set_max_listpack_value,
        0,
        i64::MAX,
        true
    ),
    int_param!(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        0,
        zset_max_listpack_entries,
        0,
        i64::MAX,
        false
    ),
    int_param!(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        0,
        zset_max_listpack_value,
        0,
        i64::MAX,
        true
    ),
    Param {
        name: "client-output-buffer-limit",
        alias: None,
        flags: MULTI_ARG,
        get: get_obuf_limits,
        set: set_obuf_limits,
    },
    int_param!(
        "hll-sparse-max-bytes",
        0,
        hll_sparse_max_bytes,
        0,
        i64::MAX,
        true
    ),
];

pub fn lookup(name: &[u8]) -> Option<&'static Param> {
    PARAMS.iter().find(|p| {
        name.eq_ignore_ascii_case(p.name.as_bytes())
            || p.alias
                .is_some_and(|a| name.eq_ignore_ascii_case(a.as_bytes()))
    })
}

/// An error while loading configuration text, reported the way Redis does at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    /// 1-based line number and the offending (trimmed) line, when the error has one.
    pub line: Option<(usize, String)>,
    pub message: String,
}

impl ConfigFileError {
    /// The text Redis prints to stderr before exiting with status 1.
    pub fn report(&self) -> String {
        let mut s = format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n",
            crate::REDIS_VERSION
        );
        if let Some((n, text)) = &self.line {
            s.push_str(&format!(
                "Reading the configuration file, at line {n}\n>>> '{text}'\n"
            ));
        }
        s.push_str(&self.message);
        s.push('\n');
        s
    }
}

impl Config {
    /// Apply redis.conf-syntax text (a file's contents with command-line options
    /// appended), as Redis's `loadServerConfigFromString`.
    pub fn load_from_string(&mut self, text: &str) -> Result<(), ConfigFileError> {
        self.reading_config_file = true;
        let result = self.apply_config_text(text);
        self.reading_config_file = false;
        result
    }

    fn apply_config_text(&mut self, text: &str) -> Result<(), ConfigFileError> {
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |message: String| ConfigFileError {
                line: Some((i + 1, line.to_string())),
                message,
            };
            let Some(mut argv) = split_args(line.as_bytes()) else {
                return Err(fail("Unbalanced quotes in configuration line".into()));
            };
            if argv.is_empty() {
                continue;
            }
            argv[0].make_ascii_lowercase();
            let Some(param) = lookup(&argv[0]) else {
                return Err(fail("Bad directive or wrong number of arguments".into()));
            };
            let mut args: Vec<Vec<u8>> = argv[1..].to_vec();
            if param.flags & MULTI_ARG == 0 && args.len() != 1 {
                return Err(fail("wrong number of arguments".into()));
            }
            if param.flags & MULTI_ARG != 0 && args.len() == 1 && !args[0].is_empty() {
                // `--bind "a b"` on the command line arrives as one argument.
                args = split_args(&args[0]).unwrap_or_default();
            }
            (param.set)(self, &args).map_err(fail)?;
        }
        // A config file's out-of-range hz is clamped for good, as Redis does.
        self.hz = self.hz.clamp(HZ_MIN, HZ_MAX);
        Ok(())
    }

    /// CONFIG GET: every (name, value) matching any of the patterns, each once.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let add = |name: &str, p: &Param, out: &mut Vec<(String, String)>| {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_string(), (p.get)(self)));
            }
        };
        for pattern in patterns {
            let is_glob = pattern.iter().any(|c| matches!(c, b'[' | b'*' | b'?'));
            if !is_glob {
                if let Some(p) = lookup(pattern) {
                    add(&String::from_utf8_lossy(pattern), p, &mut out);
                }
                continue;
            }
            for p in PARAMS {
                for name in std::iter::once(p.name).chain(p.alias) {
                    if glob_match(pattern, name.as_bytes(), true) {
                        add(name, p, &mut out);
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET name value [name value ...]: all or nothing. On error returns the
    /// reply text Redis gives (without the `-ERR ` prefix).
    pub fn set_many(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        let mut seen: Vec<&'static str> = Vec::new();
        let mut next = self.clone();
        for (name, value) in pairs {
            let Some(param) = lookup(name) else {
                return Err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(name)
                ));
            };
            let shown = String::from_utf8_lossy(name);
            if param.is_immutable() {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - can't set immutable config"
                ));
            }
            if param.flags & PROTECTED_CONFIG != 0 {
                return Err(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - can't set protected config"
                ));
            }
            if seen.contains(&param.name) {
                return Err(format!("CONFIG SET failed (possibly related to argument '{shown}') - duplicate parameter"));
            }
            seen.push(param.name);
            let args: Vec<Vec<u8>> = if param.flags & MULTI_ARG != 0 {
                // CONFIG SET splits on single spaces, quotes and all (sdssplitlen);
                // only config files and command lines honour quoting.
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&c| c == b' ').map(<[u8]>::to_vec).collect()
                }
            } else {
                vec![value.to_vec()]
            };
            (param.set)(&mut next, &args).map_err(|e| {
                format!("CONFIG SET failed (possibly related to argument '{shown}') - {e}")
            })?;
        }
        *self = next;
        Ok(())
    }

    /// The cron frequency actually used.
    pub fn effective_hz(&self) -> u64 {
        self.hz.clamp(HZ_MIN, HZ_MAX) as u64
    }

    pub fn is_sensitive(name: &[u8]) -> bool {
        lookup(name).is_some_and(|p| p.flags & SENSITIVE != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_config_text() {
        let mut c = Config::default();
        c.load_from_string(
            "# comment\nport 7000\n\nhz 1000\nbind 127.0.0.1 ::1\nrequirepass \"s p\"\n",
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.hz, HZ_MAX);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.requirepass.as_deref(), Some(&b"s p"[..]));
        let err = c.load_from_string("port 1\nnosuchthing 3\n").unwrap_err();
        assert_eq!(err.line, Some((2, "nosuchthing 3".into())));
        assert_eq!(err.message, "Bad directive or wrong number of arguments");
        assert!(err
            .report()
            .contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"));
        let err = c.load_from_string("port 70000").unwrap_err();
        assert_eq!(
            err.message,
            "argument must be between 0 and 65535 inclusive"
        );
        let err = c.load_from_string("timeout 1 2").unwrap_err();
        assert_eq!(err.message, "wrong number of arguments");
    }

    #[test]
    fn config_set_is_atomic_with_redis_errors() {
        let mut c = Config::default();
        assert_eq!(c.set_many(&[(b"hz", b"20"), (b"timeout", b"5")]), Ok(()));
        assert_eq!((c.hz, c.timeout_secs), (20, 5));
        let err = c
            .set_many(&[(b"hz", b"30"), (b"timeout", b"x")])
            .unwrap_err();
        assert_eq!(
            err,
            "CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"
        );
        assert_eq!(c.hz, 20, "a failed CONFIG SET changes nothing");
        assert_eq!(
            c.set_many(&[(b"port", b"1")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        assert_eq!(
            c.set_many(&[(b"nope", b"1")]).unwrap_err(),
            "Unknown option or number of arguments for CONFIG SET - 'nope'"
        );
        assert_eq!(
            c.set_many(&[(b"hz", b"1"), (b"HZ", b"2")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        c.set_many(&[(b"client-query-buffer-limit", b"2mb")])
            .unwrap();
        assert_eq!(c.client_query_buffer_limit, 2 * 1024 * 1024);
        assert_eq!(
            c.set_many(&[(b"loglevel", b"loud")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"
        );
    }

    #[test]
    fn rdb_params() {
        let mut c = Config::default();
        assert!(c.rdbcompression && c.rdbchecksum);
        assert_eq!(c.sanitize_dump_payload, SanitizeDump::No);
        c.set_many(&[
            (b"rdbcompression", b"no"),
            (b"sanitize-dump-payload", b"clients"),
        ])
        .unwrap();
        assert!(!c.rdbcompression);
        assert_eq!(c.sanitize_dump_payload, SanitizeDump::Clients);
        assert_eq!(
            c.set_many(&[(b"rdbchecksum", b"no")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'rdbchecksum') - can't set immutable config"
        );
        assert_eq!(
            c.set_many(&[(b"sanitize-dump-payload", b"maybe")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'sanitize-dump-payload') - argument(s) must be one of the following: no, yes, clients"
        );
        assert_eq!(
            c.set_many(&[(b"rdbcompression", b"maybe")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'rdbcompression') - argument must be 'yes' or 'no'"
        );
        c.load_from_string("rdbchecksum no\n").unwrap();
        assert!(!c.rdbchecksum);
    }

    #[test]
    fn config_get_globs() {
        let c = Config::default();
        let got = c.get_matching(&[b"*max*len", b"hz"]);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"proto-max-bulk-len"));
        assert!(names.contains(&"slowlog-max-len"));
        assert!(names.contains(&"hz"));
        assert_eq!(
            c.get_matching(&[b"HZ"]),
            vec![("HZ".to_string(), "10".to_string())]
        );
    }

    fn obuf(c: &Config) -> String {
        c.get_matching(&[b"client-output-buffer-limit"])[0]
            .1
            .clone()
    }

    #[test]
    fn client_output_buffer_limit_defaults_units_and_classes() {
        let mut c = Config::default();
        assert_eq!(
            obuf(&c),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        c.set_many(&[(b"client-output-buffer-limit", b"pubsub 1kb 2mb 3")])
            .unwrap();
        assert_eq!(
            c.client_obuf_limits[ObufClass::Pubsub as usize],
            ObufLimit {
                hard_bytes: 1024,
                soft_bytes: 2 * 1024 * 1024,
                soft_seconds: 3
            }
        );
        // `replica` is `slave`; names are case-blind; later groups win.
        c.set_many(&[(
            b"client-output-buffer-limit",
            b"REPLICA 1g 1GB 0 normal 1k 2m 4 normal 5 6 +7",
        )])
        .unwrap();
        assert_eq!(
            obuf(&c),
            "normal 5 6 7 slave 1000000000 1073741824 0 pubsub 1024 2097152 3"
        );
        // Nothing at all is accepted and changes nothing.
        c.set_many(&[(b"client-output-buffer-limit", b"")]).unwrap();
        assert_eq!(
            c.client_obuf_limits[ObufClass::Normal as usize].soft_seconds,
            7
        );
        // memtoull's and strtoll's corners.
        c.set_many(&[(
            b"client-output-buffer-limit",
            b"pubsub kb 99999999999999999999 4294967296",
        )])
        .unwrap();
        assert_eq!(
            c.client_obuf_limits[ObufClass::Pubsub as usize],
            ObufLimit {
                hard_bytes: 0,
                soft_bytes: u64::MAX,
                soft_seconds: 0
            }
        );
        c.set_many(&[(b"client-output-buffer-limit", b"pubsub 1 2 99999999999")])
            .unwrap();
        assert_eq!(
            c.client_obuf_limits[ObufClass::Pubsub as usize].soft_seconds,
            1215752191
        );
    }

    #[test]
    fn client_output_buffer_limit_errors_change_nothing() {
        let mut c = Config::default();
        let before = obuf(&c);
        let err = |v: &[u8]| {
            let mut c = Config::default();
            let e = c
                .set_many(&[(b"client-output-buffer-limit", v)])
                .unwrap_err();
            assert_eq!(obuf(&c), before);
            e
        };
        let prefix =
            "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
        let wrong = format!("{prefix}Wrong number of arguments in buffer limit configuration.");
        let class =
            format!("{prefix}Invalid client class specified in buffer limit configuration.");
        let value = format!(
            "{prefix}Error in hard, soft or soft_seconds setting in buffer limit configuration."
        );
        assert_eq!(err(b"normal 1 2"), wrong);
        // Split on single spaces: quotes are characters, doubled spaces make fields.
        assert_eq!(err(b"pubsub 1 2 3 'x"), wrong);
        assert_eq!(err(b"pubsub  1 2 3"), wrong);
        assert_eq!(err(b"master 1 2 3"), class);
        assert_eq!(err(b"pubsub 1k 2 3 foo 1 2 3"), class);
        for v in [
            &b"pubsub -1 2 3"[..],
            b"pubsub 1 2 -3",
            b"pubsub 1 2 x",
            b"pubsub 1 2 ''",
            b"pubsub 1 2 '3'",
            b"pubsub 1.5 2 3",
            b"pubsub +1 0 0",
            b"pubsub 0x10 2 3",
            b"pubsub 1 2 2147483648",
            b"pubsub 1 2 9223372036854775808",
            b"pubsub 1 1kib 0",
        ] {
            assert_eq!(err(v), value, "{}", String::from_utf8_lossy(v));
        }
        c.set_many(&[(b"client-output-buffer-limit", b"pubsub 1 2 -0")])
            .unwrap();
    }

    #[test]
    fn client_output_buffer_limit_in_config_files() {
        let mut c = Config::default();
        c.load_from_string(
            "client-output-buffer-limit normal 1mb 2mb 3\nclient-output-buffer-limit \"pubsub 4 5 6\"\n",
        )
        .unwrap();
        assert_eq!(
            obuf(&c),
            "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 4 5 6"
        );
        let e = c
            .load_from_string("client-output-buffer-limit master 1 2 3\n")
            .unwrap_err();
        assert_eq!(
            e.message,
            "Invalid client class specified in buffer limit configuration."
        );
    }
}
