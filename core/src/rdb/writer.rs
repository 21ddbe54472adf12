//! Whole RDB files as rdbSaveRio writes them, one piece at a time, and DUMP
//! payloads (createDumpPayload).
//!
//! A file is: `REDIS0010`, the AUX fields, then per non-empty database SELECTDB and
//! RESIZEDB, then each key (EXPIRETIME_MS, IDLE or FREQ when asked, the type byte,
//! the key, the payload), then EOF and the CRC-64 of every byte before it,
//! little-endian (eight zero bytes with `rdbchecksum no`).
//!
//! Every method appends to a caller's buffer and folds exactly the appended bytes
//! into the running checksum, so the caller may write the buffer out and clear it
//! between calls (a BGSAVE interleaved with events does); the checksum covers the
//! whole file regardless.

use super::crc64::{self, Crc64};
use super::encode::{write_i64_le, write_len, EncodeOpts, Encoder};
use super::{opcode, rdb_type, RDB_VERSION};
use crate::object::Value;
use crate::util::fmt_i64;

/// Replication fields (written only when the save carries replication info).
#[derive(Debug, Clone, Copy)]
pub struct ReplAux<'a> {
    pub stream_db: i64,
    pub repl_id: &'a str,
    pub offset: i64,
}

/// The AUX fields Redis 7.0 writes at the head of every file, in its order.
#[derive(Debug, Clone, Copy)]
pub struct AuxFields<'a> {
    /// `redis-ver` (crate::REDIS_VERSION).
    pub redis_ver: &'a str,
    /// `redis-bits`: 64 on every platform we build for.
    pub redis_bits: i64,
    /// `ctime`: Unix seconds when the save started.
    pub ctime: i64,
    /// `used-mem`: bytes in use when the save started.
    pub used_mem: i64,
    /// `repl-stream-db`, `repl-id`, `repl-offset`, when the save has them.
    pub repl: Option<ReplAux<'a>>,
    /// `aof-base`: 1 when the file is an AOF's base (RDB preamble).
    pub aof_base: bool,
}

/// Per-key eviction metadata, written before the type byte
/// (maxmemory-policy decides which: LRU policies save IDLE, LFU ones FREQ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evict {
    None,
    /// Idle time in seconds (RDB_OPCODE_IDLE).
    IdleSecs(u64),
    /// The LFU counter (RDB_OPCODE_FREQ).
    Freq(u8),
}

/// Writer options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOpts {
    pub encode: EncodeOpts,
    /// `rdbchecksum`: when false the trailer is eight zero bytes.
    pub checksum: bool,
}

impl Default for WriterOpts {
    fn default() -> Self {
        WriterOpts {
            encode: EncodeOpts::default(),
            checksum: true,
        }
    }
}

/// An RDB file being written. Construction writes the header and the AUX fields;
/// `finish` writes EOF and the checksum.
#[derive(Debug)]
pub struct RdbWriter {
    enc: Encoder,
    crc: Crc64,
    checksum: bool,
    /// Bytes written so far (for progress reports and `rdb_last_cow_size`-like
    /// statistics the caller may keep).
    written: u64,
}

impl RdbWriter {
    /// Start a file: magic `REDIS0010` and the AUX fields.
    pub fn new(opts: WriterOpts, aux: &AuxFields<'_>, out: &mut Vec<u8>) -> RdbWriter {
        let mut w = RdbWriter {
            enc: Encoder::new(opts.encode),
            crc: Crc64::new(),
            checksum: opts.checksum,
            written: 0,
        };
        let start = out.len();
        out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.track(out, start);
        w.aux_str(b"redis-ver", aux.redis_ver.as_bytes(), out);
        w.aux_int(b"redis-bits", aux.redis_bits, out);
        w.aux_int(b"ctime", aux.ctime, out);
        w.aux_int(b"used-mem", aux.used_mem, out);
        if let Some(r) = aux.repl {
            w.aux_int(b"repl-stream-db", r.stream_db, out);
            w.aux_str(b"repl-id", r.repl_id.as_bytes(), out);
            w.aux_int(b"repl-offset", r.offset, out);
        }
        w.aux_int(b"aof-base", aux.aof_base as i64, out);
        w
    }

    /// Fold the bytes appended since `start` into the checksum.
    fn track(&mut self, out: &[u8], start: usize) {
        let new = &out[start..];
        if self.checksum {
            self.crc.update(new);
        }
        self.written += new.len() as u64;
    }

    /// One more AUX field (rdbSaveAuxField): both sides as RDB strings.
    pub fn aux_str(&mut self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.push(opcode::AUX);
        self.enc.string(key, out);
        self.enc.string(value, out);
        self.track(out, start);
    }

    /// rdbSaveAuxFieldStrInt: the value as decimal text (int-encoded when short).
    pub fn aux_int(&mut self, key: &[u8], value: i64, out: &mut Vec<u8>) {
        let mut digits = Vec::with_capacity(20);
        fmt_i64(value, &mut digits);
        self.aux_str(key, &digits, out);
    }

    /// SELECTDB then RESIZEDB with the database's key and expire counts (Redis
    /// writes them only for non-empty databases).
    pub fn select_db(&mut self, db: u64, keys: u64, expires: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(opcode::SELECTDB);
        write_len(db, out);
        out.push(opcode::RESIZEDB);
        write_len(keys, out);
        write_len(expires, out);
        self.track(out, start);
    }

    /// One key (rdbSaveKeyValuePair).
    pub fn key(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_ms: Option<i64>,
        evict: Evict,
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        if let Some(ms) = expire_ms {
            out.push(opcode::EXPIRETIME_MS);
            write_i64_le(ms, out);
        }
        match evict {
            Evict::None => {}
            Evict::IdleSecs(s) => {
                out.push(opcode::IDLE);
                write_len(s, out);
            }
            Evict::Freq(f) => {
                out.push(opcode::FREQ);
                out.push(f);
            }
        }
        out.push(rdb_type(value));
        self.enc.string(key, out);
        self.enc.payload(value, out);
        self.track(out, start);
    }

    /// One function library (RDB_OPCODE_FUNCTION2 and its code, as
    /// rdbSaveFunctions writes each library before the databases).
    pub fn function(&mut self, code: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.push(opcode::FUNCTION2);
        self.enc.string(code, out);
        self.track(out, start);
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// EOF and the checksum; returns the checksum written (0 when disabled).
    pub fn finish(mut self, out: &mut Vec<u8>) -> u64 {
        let start = out.len();
        out.push(opcode::EOF);
        self.track(out, start);
        let crc = if self.checksum { self.crc.value() } else { 0 };
        out.extend_from_slice(&crc.to_le_bytes());
        crc
    }
}

/// DUMP's payload (createDumpPayload): type byte and payload, the RDB version as
/// two bytes little-endian, then the CRC-64 of all of that, little-endian.
pub fn dump_payload(value: &Value, opts: EncodeOpts) -> Vec<u8> {
    let mut out = Vec::new();
    super::encode_value(value, &mut out, opts);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::StrValue;

    fn aux() -> AuxFields<'static> {
        AuxFields {
            redis_ver: "7.0.15",
            redis_bits: 64,
            ctime: 1_767_225_600,
            used_mem: 1_000_000,
            repl: None,
            aof_base: false,
        }
    }

    #[test]
    fn header_aux_and_trailer() {
        let mut out = Vec::new();
        let mut w = RdbWriter::new(WriterOpts::default(), &aux(), &mut out);
        let mut want = b"REDIS0010".to_vec();
        want.extend_from_slice(b"\xfa\x09redis-ver\x067.0.15");
        want.extend_from_slice(b"\xfa\x0aredis-bits\xc0\x40");
        want.extend_from_slice(b"\xfa\x05ctime\xc2");
        want.extend_from_slice(&1_767_225_600i32.to_le_bytes());
        want.extend_from_slice(b"\xfa\x08used-mem\xc2");
        want.extend_from_slice(&1_000_000i32.to_le_bytes());
        want.extend_from_slice(b"\xfa\x08aof-base\xc0\x00");
        assert_eq!(out, want);

        w.select_db(0, 1, 1, &mut out);
        w.key(
            b"k",
            &Value::Str(StrValue::from_bytes(b"v")),
            Some(1234),
            Evict::None,
            &mut out,
        );
        let crc = w.finish(&mut out);
        want.extend_from_slice(b"\xfe\x00\xfb\x01\x01\xfc");
        want.extend_from_slice(&1234i64.to_le_bytes());
        want.extend_from_slice(b"\x00\x01k\x01v\xff");
        assert_eq!(crc, crc64::checksum(&want));
        want.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn chunks_flushed_between_calls_keep_the_checksum() {
        let mut whole = Vec::new();
        let mut w = RdbWriter::new(WriterOpts::default(), &aux(), &mut whole);
        w.select_db(3, 2, 0, &mut whole);
        let v = Value::Str(StrValue::from_bytes(b"value"));
        w.key(b"a", &v, None, Evict::IdleSecs(100), &mut whole);
        w.key(b"b", &v, None, Evict::Freq(5), &mut whole);
        w.finish(&mut whole);

        let mut file = Vec::new();
        let mut buf = Vec::new();
        let mut w = RdbWriter::new(WriterOpts::default(), &aux(), &mut buf);
        file.append(&mut buf);
        w.select_db(3, 2, 0, &mut buf);
        file.append(&mut buf);
        w.key(b"a", &v, None, Evict::IdleSecs(100), &mut buf);
        file.append(&mut buf);
        w.key(b"b", &v, None, Evict::Freq(5), &mut buf);
        file.append(&mut buf);
        w.finish(&mut buf);
        file.append(&mut buf);
        assert_eq!(file, whole);
        let n = file.len();
        assert_eq!(
            u64::from_le_bytes(file[n - 8..].try_into().unwrap()),
            crc64::checksum(&file[..n - 8])
        );
        assert!(file.windows(3).any(|w| w == b"\xf8\x40\x64"));
        assert!(file.windows(2).any(|w| w == b"\xf9\x05"));
    }

    #[test]
    fn no_checksum_writes_zeros() {
        let mut out = Vec::new();
        let w = RdbWriter::new(
            WriterOpts {
                checksum: false,
                ..WriterOpts::default()
            },
            &aux(),
            &mut out,
        );
        assert_eq!(w.finish(&mut out), 0);
        assert!(out.ends_with(&[0xff, 0, 0, 0, 0, 0, 0, 0, 0]));
    }

    #[test]
    fn dump_payload_matches_redis() {
        // redis-server 7.0.15: SET k hello; DUMP k.
        let p = dump_payload(
            &Value::Str(StrValue::from_bytes(b"hello")),
            EncodeOpts::default(),
        );
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(
            u64::from_le_bytes(p[9..].try_into().unwrap()),
            crc64::checksum(&p[..9])
        );
    }
}
