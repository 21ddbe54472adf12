//! Object encoding as rdb.c's rdbSaveObjectType / rdbSaveObject /
//! rdbSaveRawString write it: the type byte, then the payload, with lengths, strings
//! and doubles in RDB's forms. Byte-identical to Redis 7.0 for the same value in the
//! same encoding, so DUMP payloads compare equal.

use super::{
    types, CONTAINER_PACKED, CONTAINER_PLAIN, ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF, LEN_14BIT,
    LEN_32BIT, LEN_64BIT, LEN_6BIT, LEN_ENCVAL,
};
use crate::listpack::LpEntry;
use crate::lzf::Compressor;
use crate::object::{StrValue, Value};
use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::quicklist::StoredNode;
use crate::types::set::Set;
use crate::types::zset::Zset;
use crate::util::{fmt_i64, parse_i64};

/// How values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOpts {
    /// `rdbcompression`: strings longer than 20 bytes are LZF-compressed when that
    /// saves at least 4 bytes.
    pub compress: bool,
}

impl Default for EncodeOpts {
    /// Redis's defaults (`rdbcompression yes`).
    fn default() -> Self {
        EncodeOpts { compress: true }
    }
}

/// The RDB type byte for a value in its current encoding (rdbSaveObjectType).
pub fn rdb_type(v: &Value) -> u8 {
    match v {
        Value::Str(_) => types::STRING,
        Value::List(_) => types::LIST_QUICKLIST_2,
        Value::Set(Set::Intset(_)) => types::SET_INTSET,
        // RDB 10 has no listpack set: 7.2's small set goes out as a plain set.
        Value::Set(Set::Listpack(_) | Set::Table(_)) => types::SET,
        Value::Zset(Zset::Listpack(_)) => types::ZSET_LISTPACK,
        Value::Zset(Zset::Skiplist(_)) => types::ZSET_2,
        Value::Hash(Hash::Listpack(_)) => types::HASH_LISTPACK,
        Value::Hash(Hash::Table(_)) => types::HASH,
    }
}

/// Type byte then payload: the body of a DUMP payload. A one-shot [`Encoder`].
pub fn encode_value(v: &Value, out: &mut Vec<u8>, opts: EncodeOpts) {
    let mut enc = Encoder::new(opts);
    out.push(rdb_type(v));
    enc.payload(v, out);
}

/// rdbSaveLen: 6-bit, 14-bit (big-endian), 32-bit or 64-bit (big-endian) lengths.
pub fn write_len(len: u64, out: &mut Vec<u8>) {
    if len < 1 << 6 {
        out.push((LEN_6BIT << 6) | len as u8);
    } else if len < 1 << 14 {
        out.push((LEN_14BIT << 6) | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(LEN_32BIT);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(LEN_64BIT);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// rdbEncodeInteger: an integer in the smallest ENCVAL form, if it fits 32 bits.
fn encode_integer(v: i64, out: &mut Vec<u8>) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.push((LEN_ENCVAL << 6) | ENC_INT8);
        out.push(b as u8);
    } else if let Ok(w) = i16::try_from(v) {
        out.push((LEN_ENCVAL << 6) | ENC_INT16);
        out.extend_from_slice(&w.to_le_bytes());
    } else if let Ok(d) = i32::try_from(v) {
        out.push((LEN_ENCVAL << 6) | ENC_INT32);
        out.extend_from_slice(&d.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// rdbSaveLongLongAsStringObject: ENCVAL when it fits, else the decimal digits
/// (never long enough to be worth compressing).
pub fn write_i64_string(v: i64, out: &mut Vec<u8>) {
    if !encode_integer(v, out) {
        let mut digits = Vec::with_capacity(20);
        fmt_i64(v, &mut digits);
        write_len(digits.len() as u64, out);
        out.extend_from_slice(&digits);
    }
}

/// rdbSaveMillisecondTime / rdbSaveBinaryDoubleValue: 8 bytes little-endian.
pub fn write_i64_le(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn write_f64_binary(v: f64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// rdbSaveLzfBlob: ENCVAL|LZF, compressed length, original length, stream.
fn write_lzf_blob(lzf: &[u8], raw_len: usize, out: &mut Vec<u8>) {
    out.push((LEN_ENCVAL << 6) | ENC_LZF);
    write_len(lzf.len() as u64, out);
    write_len(raw_len as u64, out);
    out.extend_from_slice(lzf);
}

/// Writes values, keeping one LZF hash table for every string it compresses.
#[derive(Debug, Default)]
pub struct Encoder {
    opts: EncodeOpts,
    lzf: Compressor,
}

impl Encoder {
    pub fn new(opts: EncodeOpts) -> Encoder {
        Encoder {
            opts,
            lzf: Compressor::new(),
        }
    }

    pub fn opts(&self) -> EncodeOpts {
        self.opts
    }

    /// rdbSaveRawString: int-encoded if at most 11 bytes of canonical integer text,
    /// else LZF if enabled, longer than 20 bytes and at least 4 bytes smaller, else
    /// length and bytes.
    pub fn string(&mut self, s: &[u8], out: &mut Vec<u8>) {
        if s.len() <= 11 {
            if let Some(v) = canonical_integer(s) {
                if encode_integer(v, out) {
                    return;
                }
            }
        }
        if self.opts.compress && s.len() > 20 {
            // rdbSaveLzfStringObject: the output may use at most len - 4 bytes.
            if let Some(lzf) = self.lzf.compress(s, s.len() - 4) {
                write_lzf_blob(&lzf, s.len(), out);
                return;
            }
        }
        write_len(s.len() as u64, out);
        out.extend_from_slice(s);
    }

    /// A listpack entry as a string (integers in their decimal form).
    fn entry(&mut self, e: LpEntry<'_>, out: &mut Vec<u8>) {
        match e {
            LpEntry::Str(s) => self.string(s, out),
            LpEntry::Int(n) => {
                let mut digits = Vec::with_capacity(20);
                fmt_i64(n, &mut digits);
                self.string(&digits, out)
            }
        }
    }

    /// A string object (rdbSaveStringObject): int-encoded objects keep their
    /// integer form, the others go through rdbSaveRawString.
    pub fn str_value(&mut self, s: &StrValue, out: &mut Vec<u8>) {
        match s {
            StrValue::Int(n) => write_i64_string(*n, out),
            StrValue::Embstr(b) => self.string(b, out),
            StrValue::Raw(v) => self.string(v, out),
        }
    }

    /// The payload after the type byte (rdbSaveObject).
    pub fn payload(&mut self, v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Str(s) => self.str_value(s, out),
            Value::List(List::Listpack(lp)) => {
                // 7.2's rdbSaveObject for a listpack list: one PACKED node.
                write_len(1, out);
                write_len(CONTAINER_PACKED, out);
                self.string(lp.as_bytes(), out);
            }
            Value::List(List::Quicklist(ql)) => {
                write_len(ql.node_count() as u64, out);
                for node in ql.stored_nodes() {
                    match node {
                        StoredNode::Raw { plain, bytes } => {
                            write_len(container(plain), out);
                            self.string(bytes, out);
                        }
                        StoredNode::Lzf {
                            plain,
                            lzf,
                            raw_len,
                        } => {
                            write_len(container(plain), out);
                            write_lzf_blob(lzf, raw_len, out);
                        }
                    }
                }
            }
            Value::Set(Set::Intset(is)) => self.string(is.as_bytes(), out),
            Value::Set(set) => {
                write_len(set.len() as u64, out);
                for m in set.iter() {
                    self.entry(m, out);
                }
            }
            Value::Zset(Zset::Listpack(lp)) => self.string(lp.as_bytes(), out),
            Value::Zset(z) => {
                // Highest score first, so loading inserts at the head in O(1).
                write_len(z.len() as u64, out);
                for (m, score) in z.iter(true) {
                    self.entry(m, out);
                    write_f64_binary(score, out);
                }
            }
            Value::Hash(Hash::Listpack(lp)) => self.string(lp.as_bytes(), out),
            Value::Hash(h) => {
                write_len(h.len() as u64, out);
                for (f, v) in h.iter() {
                    self.string(&f, out);
                    self.string(&v, out);
                }
            }
        }
    }
}

fn container(plain: bool) -> u64 {
    if plain {
        CONTAINER_PLAIN
    } else {
        CONTAINER_PACKED
    }
}

/// rdbTryIntegerEncoding's test: the text is an integer that prints back exactly.
fn canonical_integer(s: &[u8]) -> Option<i64> {
    let v = parse_i64(s)?;
    let mut back = Vec::with_capacity(20);
    fmt_i64(v, &mut back);
    (back == s).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestServer;

    fn raw(s: &[u8], compress: bool) -> Vec<u8> {
        let mut out = Vec::new();
        Encoder::new(EncodeOpts { compress }).string(s, &mut out);
        out
    }

    #[test]
    fn lengths_use_redis_widths() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (63, &[0x3f]),
            (64, &[0x40, 0x40]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0, 0, 0x40, 0]),
            (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (len, bytes) in cases {
            let mut out = Vec::new();
            write_len(len, &mut out);
            assert_eq!(out, bytes, "length {len}");
        }
    }

    #[test]
    fn strings_are_int_encoded_only_when_canonical() {
        assert_eq!(raw(b"12", true), [0xc0, 12]);
        assert_eq!(raw(b"-128", true), [0xc0, 0x80]);
        assert_eq!(raw(b"1000", true), [0xc1, 0xe8, 0x03]);
        assert_eq!(raw(b"-2147483648", true), [0xc2, 0, 0, 0, 0x80]);
        // Beyond 32 bits, or not canonical: plain bytes.
        assert_eq!(raw(b"2147483648", true), b"\x0a2147483648");
        assert_eq!(raw(b"012", true), b"\x03012");
        assert_eq!(raw(b"+1", true), b"\x02+1");
        assert_eq!(raw(b"", true), [0]);
        let mut out = Vec::new();
        write_i64_string(i64::MIN, &mut out);
        assert_eq!(out, b"\x14-9223372036854775808");
    }

    #[test]
    fn long_strings_compress_when_it_pays() {
        let s = [b'a'; 21];
        let lzf = raw(&s, true);
        assert_eq!(lzf[0], 0xc3);
        let expect = crate::lzf::compress(&s, 17).unwrap();
        let mut want = vec![0xc3, expect.len() as u8, 21];
        want.extend_from_slice(&expect);
        assert_eq!(lzf, want);
        // Not compressed when disabled, or when 20 bytes or fewer.
        assert_eq!(raw(&s, false)[0], 21);
        assert_eq!(raw(&[b'a'; 20], true)[0], 20);
        // Incompressible text stays verbatim.
        let noise: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(97) ^ 0x5a).collect();
        assert_eq!(raw(&noise, true)[0], 64);
    }

    fn value(t: &mut TestServer, key: &str) -> Value {
        t.server.dbs[0]
            .peek(key.as_bytes())
            .expect("key exists")
            .value
            .clone()
    }

    fn dump_body(t: &mut TestServer, key: &str) -> Vec<u8> {
        let v = value(t, key);
        let mut out = Vec::new();
        encode_value(&v, &mut out, EncodeOpts::default());
        out
    }

    /// (commands, key, DUMP payload from redis-server 7.0.15 after those commands).
    type Case = (
        &'static [&'static [&'static str]],
        &'static str,
        &'static [u8],
    );

    const REDIS_DUMPS: &[Case] = &[
        (&[&["SET", "s", "hello"]], "s", b"\x00\x05hello\x0a\x00cr\xdfve4 \x0a"),
        (&[&["SET", "n", "300"]], "n", b"\x00\xc1,\x01\x0a\x00\x95Ba\xf2e\x82\x5c\x10"),
        (
            &[&["SADD", "is", "1", "2", "3"]],
            "is",
            b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\x0a\x00\xa5\x02\x5c\xe2mnM\x1b",
        ),
        (
            &[&["HSET", "h", "f", "v"]],
            "h",
            b"\x10\x0d\x0d\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff\x0a\x00 \xf1=D#T\x08\x9d",
        ),
        (
            &[&["ZADD", "z", "1", "m"]],
            "z",
            b"\x11\x0c\x0c\x00\x00\x00\x02\x00\x81m\x02\x01\x01\xff\x0a\x00&\xe3\xfd\x9d\xdd}n\xcb",
        ),
        (
            &[&["RPUSH", "l", "a", "1"]],
            "l",
            b"\x12\x01\x02\x0c\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff\x0a\x00\x94\x96+#\xac\x17\xaa\x85",
        ),
        (
            &[
                &["CONFIG", "SET", "zset-max-listpack-entries", "0"],
                &["ZADD", "z2", "1.5", "a", "2", "b"],
            ],
            "z2",
            b"\x05\x02\x01b\x00\x00\x00\x00\x00\x00\x00@\x01a\x00\x00\x00\x00\x00\x00\xf8?\x0a\x00\xe7|\x0b\x13\x9fNg\x1e",
        ),
        (
            &[
                &["CONFIG", "SET", "hash-max-listpack-entries", "0"],
                &["HSET", "h2", "f", "7"],
            ],
            "h2",
            b"\x04\x01\x01f\xc0\x07\x0a\x00H7\xc5F+\x15J\xa0",
        ),
        (
            &[&["SET", "lz", "abababababababababababababababababababababababababababababababababababababababababababababababababab"]],
            "lz",
            b"\x00\xc3\x0a@d\x02aba\xe0V\x01\x01ab\x0a\x00\x178=\x94 \x96\xd8c",
        ),
    ];

    #[test]
    fn dump_payloads_equal_redis_7_0() {
        for (cmds, key, want) in REDIS_DUMPS {
            let mut t = TestServer::new();
            for c in *cmds {
                t.cmd(c);
            }
            let v = value(&mut t, key);
            assert_eq!(
                crate::rdb::dump_payload(&v, EncodeOpts::default()),
                *want,
                "DUMP {key}"
            );
        }
    }

    #[test]
    fn compressed_quicklist_equals_redis_7_0() {
        // list-compress-depth 1, 4 entries a node, 12 long elements: the middle node
        // is LZF-compressed by the quicklist, the ends by rdbcompression.
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "list-compress-depth", "1"]);
        t.cmd(&["CONFIG", "SET", "list-max-listpack-size", "4"]);
        let elems: Vec<String> = (0..12).map(|i| format!("element-{i}-").repeat(6)).collect();
        let mut args = vec!["RPUSH", "ql"];
        args.extend(elems.iter().map(String::as_str));
        t.cmd(&args);
        let v = value(&mut t, "ql");
        let want: &[u8] = b"\x12\x03\x02\xc3;@\xff\x10\xff\x00\x00\x00\x04\x00\xbcelement-0-\xe0)\x09\x00=\xe0\x00=\x001\xe0\x00=\xe0!\x09\xe0\x01=\x002\xe0\x00=\xe0!\x09\xe0\x01=\x003\xe0\x00=\xe0!\x09\x01=\xff\x02\xc3;@\xff\x10\xff\x00\x00\x00\x04\x00\xbcelement-4-\xe0)\x09\x00=\xe0\x00=\x005\xe0\x00=\xe0!\x09\xe0\x01=\x006\xe0\x00=\xe0!\x09\xe0\x01=\x007\xe0\x00=\xe0!\x09\x01=\xff\x02\xc3@AA\x0d\x10\x0d\x01\x00\x00\x04\x00\xbcelement-8-\xe0)\x09\x00=\xe0\x00=\x009\xe0\x00=\xe0!\x09\x02=\xe0B\xc0r\x0110\xe0\x00?\xe0&\x0a\x00D\xe0\x02D\x001\xe0\x01D\xe0%\x0a\x01D\xff\x0a\x00\x84p\x85\xf9D\x0fuZ";
        assert_eq!(crate::rdb::dump_payload(&v, EncodeOpts::default()), want);
    }

    #[test]
    fn big_encodings_write_every_element() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        t.cmd(&["ZADD", "z", "1.5", "a", "2", "b"]);
        // Highest score first, binary doubles.
        let mut want = vec![types::ZSET_2, 2, 1, b'b'];
        want.extend_from_slice(&2f64.to_le_bytes());
        want.extend_from_slice(&[1, b'a']);
        want.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(dump_body(&mut t, "z"), want);

        t.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
        t.cmd(&["HSET", "h", "f", "7"]);
        assert_eq!(dump_body(&mut t, "h"), b"\x04\x01\x01f\xc0\x07");

        t.cmd(&["SADD", "s", "x", "12"]);
        let body = dump_body(&mut t, "s");
        assert_eq!(&body[..2], &[types::SET, 2]);
        // Members in the encoding's order: the 7.2 listpack keeps insertion order.
        assert_eq!(&body[2..], b"\x01x\xc0\x0c");
    }
}
