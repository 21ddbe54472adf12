//! The RDB format (Redis 7.0's rdb.c, format version 10): the one place that knows
//! its bytes. Owns the object encoder (`encode`: type bytes, lengths, int-encoded and
//! LZF strings, every value encoding), the incremental whole-file writer (`writer`:
//! header, AUX fields, SELECTDB/RESIZEDB, per-key metadata, EOF and the running
//! CRC-64), DUMP payloads, and the loader (`load`) for files and payloads of
//! versions 1..=12.
//!
//! Everything here is pure: bytes in, bytes (or values) out. Reading and writing
//! files is the backends' business (disk effects), so the BGSAVE can feed the writer
//! one key at a time between events and flush its output buffer whenever it likes:
//! the checksum is carried across calls.
//!
//! The writer emits exactly what redis-server 7.0 emits for the same value in the
//! same encoding (DUMP payloads are byte-comparable), with two documented
//! departures that 7.0 cannot express: a listpack-encoded list (7.2's small list) is
//! a QUICKLIST_2 list of one PACKED node, as 7.2 writes it, and a listpack-encoded
//! set (7.2) is a plain set (type 2) because version 10 has no set-listpack type.

pub mod crc64;
pub mod encode;
pub mod legacy;
pub mod load;
pub mod writer;

pub use encode::{encode_value, rdb_type, EncodeOpts, Encoder};
pub use load::{
    decode_dump_payload, verify_dump_payload, Checksum, DumpError, Item, LoadLimits, LoadedKey,
    Loader, Next, RdbError, StreamLoader,
};
pub use writer::{dump_payload, AuxFields, Evict, RdbWriter, ReplAux, WriterOpts};

/// The format version this server writes (Redis 7.0's RDB_VERSION).
pub const RDB_VERSION: u16 = 10;

/// Object types (rdb.h RDB_TYPE_*).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Redis 7.2 (RDB 11).
    pub const SET_LISTPACK: u8 = 20;
    /// Redis 7.2.x (RDB 11/12).
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Special opcodes (rdb.h RDB_OPCODE_*).
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Length prefixes (the top two bits of the first byte).
pub(crate) const LEN_6BIT: u8 = 0;
pub(crate) const LEN_14BIT: u8 = 1;
pub(crate) const LEN_32BIT: u8 = 0x80;
pub(crate) const LEN_64BIT: u8 = 0x81;
pub(crate) const LEN_ENCVAL: u8 = 3;

/// Special string encodings after an ENCVAL prefix.
pub(crate) const ENC_INT8: u8 = 0;
pub(crate) const ENC_INT16: u8 = 1;
pub(crate) const ENC_INT32: u8 = 2;
pub(crate) const ENC_LZF: u8 = 3;

/// Quicklist node containers (quicklist.h QUICKLIST_NODE_CONTAINER_*).
pub(crate) const CONTAINER_PLAIN: u64 = 1;
pub(crate) const CONTAINER_PACKED: u64 = 2;
