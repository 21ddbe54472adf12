//! The shape of one command's metadata: what `COMMAND INFO` and `COMMAND DOCS` report,
//! what dispatch checks (arity, flags), and where a command's keys are (key specs).
//!
//! The values live in the generated `specs.rs`; handlers are attached in `table.rs`.

pub const CMD_WRITE: u64 = 1 << 0;
pub const CMD_READONLY: u64 = 1 << 1;
pub const CMD_DENYOOM: u64 = 1 << 2;
pub const CMD_MODULE: u64 = 1 << 3;
pub const CMD_ADMIN: u64 = 1 << 4;
pub const CMD_PUBSUB: u64 = 1 << 5;
pub const CMD_NOSCRIPT: u64 = 1 << 6;
pub const CMD_BLOCKING: u64 = 1 << 7;
pub const CMD_LOADING: u64 = 1 << 8;
pub const CMD_STALE: u64 = 1 << 9;
pub const CMD_SKIP_MONITOR: u64 = 1 << 10;
pub const CMD_SKIP_SLOWLOG: u64 = 1 << 11;
pub const CMD_ASKING: u64 = 1 << 12;
pub const CMD_FAST: u64 = 1 << 13;
pub const CMD_NO_AUTH: u64 = 1 << 14;
pub const CMD_MAY_REPLICATE: u64 = 1 << 15;
pub const CMD_SENTINEL: u64 = 1 << 16;
pub const CMD_ONLY_SENTINEL: u64 = 1 << 17;
pub const CMD_NO_MANDATORY_KEYS: u64 = 1 << 18;
pub const CMD_PROTECTED: u64 = 1 << 19;
pub const CMD_MODULE_GETKEYS: u64 = 1 << 20;
pub const CMD_MODULE_NO_CLUSTER: u64 = 1 << 21;
pub const CMD_NO_ASYNC_LOADING: u64 = 1 << 22;
pub const CMD_NO_MULTI: u64 = 1 << 23;
pub const CMD_MOVABLE_KEYS: u64 = 1 << 24;
pub const CMD_ALLOW_BUSY: u64 = 1 << 25;
pub const CMD_MODULE_GETCHANNELS: u64 = 1 << 26;
pub const CMD_TOUCHES_ARBITRARY_KEYS: u64 = 1 << 27;

/// Command flags in the order `COMMAND INFO` lists them (hidden flags are absent).
pub const CMD_FLAG_NAMES: &[(u64, &str)] = &[
    (CMD_WRITE, "write"),
    (CMD_READONLY, "readonly"),
    (CMD_DENYOOM, "denyoom"),
    (CMD_MODULE, "module"),
    (CMD_ADMIN, "admin"),
    (CMD_PUBSUB, "pubsub"),
    (CMD_NOSCRIPT, "noscript"),
    (CMD_BLOCKING, "blocking"),
    (CMD_LOADING, "loading"),
    (CMD_STALE, "stale"),
    (CMD_SKIP_MONITOR, "skip_monitor"),
    (CMD_SKIP_SLOWLOG, "skip_slowlog"),
    (CMD_ASKING, "asking"),
    (CMD_FAST, "fast"),
    (CMD_NO_AUTH, "no_auth"),
    (CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (CMD_NO_ASYNC_LOADING, "no_async_loading"),
    (CMD_NO_MULTI, "no_multi"),
    (CMD_MOVABLE_KEYS, "movablekeys"),
    (CMD_ALLOW_BUSY, "allow_busy"),
];

pub const ACL_KEYSPACE: u64 = 1 << 0;
pub const ACL_READ: u64 = 1 << 1;
pub const ACL_WRITE: u64 = 1 << 2;
pub const ACL_SET: u64 = 1 << 3;
pub const ACL_SORTEDSET: u64 = 1 << 4;
pub const ACL_LIST: u64 = 1 << 5;
pub const ACL_HASH: u64 = 1 << 6;
pub const ACL_STRING: u64 = 1 << 7;
pub const ACL_BITMAP: u64 = 1 << 8;
pub const ACL_HYPERLOGLOG: u64 = 1 << 9;
pub const ACL_GEO: u64 = 1 << 10;
pub const ACL_STREAM: u64 = 1 << 11;
pub const ACL_PUBSUB: u64 = 1 << 12;
pub const ACL_ADMIN: u64 = 1 << 13;
pub const ACL_FAST: u64 = 1 << 14;
pub const ACL_SLOW: u64 = 1 << 15;
pub const ACL_BLOCKING: u64 = 1 << 16;
pub const ACL_DANGEROUS: u64 = 1 << 17;
pub const ACL_CONNECTION: u64 = 1 << 18;
pub const ACL_TRANSACTION: u64 = 1 << 19;
pub const ACL_SCRIPTING: u64 = 1 << 20;

/// ACL category names in Redis's table order (bit i is entry i).
pub const ACL_CATEGORY_NAMES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

pub const KEY_RO: u64 = 1 << 0;
pub const KEY_RW: u64 = 1 << 1;
pub const KEY_OW: u64 = 1 << 2;
pub const KEY_RM: u64 = 1 << 3;
pub const KEY_ACCESS: u64 = 1 << 4;
pub const KEY_UPDATE: u64 = 1 << 5;
pub const KEY_INSERT: u64 = 1 << 6;
pub const KEY_DELETE: u64 = 1 << 7;
pub const KEY_NOT_KEY: u64 = 1 << 8;
pub const KEY_INCOMPLETE: u64 = 1 << 9;
pub const KEY_VARIABLE_FLAGS: u64 = 1 << 10;

/// Key-spec flags in the order Redis prints them.
pub const KEY_FLAG_NAMES: &[(u64, &str)] = &[
    (KEY_RO, "RO"),
    (KEY_RW, "RW"),
    (KEY_OW, "OW"),
    (KEY_RM, "RM"),
    (KEY_ACCESS, "access"),
    (KEY_UPDATE, "update"),
    (KEY_INSERT, "insert"),
    (KEY_DELETE, "delete"),
    (KEY_NOT_KEY, "not_key"),
    (KEY_INCOMPLETE, "incomplete"),
    (KEY_VARIABLE_FLAGS, "variable_flags"),
];

pub const DOC_DEPRECATED: u8 = 1 << 0;
pub const DOC_SYSCMD: u8 = 1 << 1;

pub const ARG_OPTIONAL: u8 = 1 << 0;
pub const ARG_MULTIPLE: u8 = 1 << 1;
pub const ARG_MULTIPLE_TOKEN: u8 = 1 << 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    pub fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }
}

#[derive(Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgType,
    pub key_spec_index: i32,
    pub token: Option<&'static str>,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: u8,
    pub subargs: &'static [ArgSpec],
}

#[derive(Debug, Clone, Copy)]
pub enum BeginSearch {
    Index(i32),
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

#[derive(Debug, Clone, Copy)]
pub enum FindKeys {
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

#[derive(Debug)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: u64,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case declared name (`get`, or `info` for `client|info`).
    pub name: &'static str,
    /// `get`, or `client|info` for a subcommand.
    pub fullname: &'static str,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub group: &'static str,
    pub complexity: Option<&'static str>,
    pub doc_flags: u8,
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    pub history: &'static [(&'static str, &'static str)],
    pub has_history: bool,
    pub tips: &'static [&'static str],
    pub arity: i32,
    pub flags: u64,
    pub acl_categories: u64,
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub key_specs: &'static [KeySpec],
    pub args: &'static [ArgSpec],
    pub has_args: bool,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// Redis's arity rule: positive means exact, negative means at least `-arity`.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        (arity > 0 && argc == arity) || (arity < 0 && argc >= -arity)
    }
}
