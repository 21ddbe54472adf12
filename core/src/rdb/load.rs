//! Reading RDB files (versions 1..=12) and DUMP payloads into values, as
//! rdbLoadRio / rdbLoadObject do, over a byte slice.
//!
//! Every declared length is checked against the bytes that remain before anything
//! is reserved, every compact encoding (listpack, intset, ziplist, zipmap) is fully
//! validated before it is adopted (Redis's deep sanitization, always: our
//! encodings' code relies on their invariants), duplicates are refused, and any
//! problem is an `RdbError` naming the offset and the reason. Nothing panics on bad
//! input.
//!
//! Encodings are chosen as Redis 7.2 chooses them while loading (our lists and sets
//! follow 7.2; hashes and sorted sets are the same in 7.0): element-by-element
//! conversion for plain collections, size checks for compact blobs, and old
//! ziplists/zipmaps converted to listpacks or to the big encodings.
//!
//! Not supported, refused with a reason: module values and module AUX data (with
//! Redis's "no matching module" messages: no module is ever loaded), streams, and
//! Redis 7.4's additions (hashes with field expiry, slot info). Function libraries
//! are handed to the caller as code (`Item::Function`).

use super::legacy::{ziplist_entries, zipmap_pairs};
use super::{crc64, opcode, types, Evict, RDB_VERSION};
use super::{CONTAINER_PACKED, CONTAINER_PLAIN};
use super::{ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF, LEN_14BIT, LEN_32BIT, LEN_64BIT, LEN_6BIT};
use crate::config::Config;
use crate::dict::Dict;
use crate::dict::NewTable;
use crate::intset::Intset;
use crate::listpack::{Listpack, LpEntry, MAX_SAFETY_SIZE};
use crate::object::{StrValue, Value};
use crate::rng::CoreRng;
use crate::types::hash::{Hash, HashLimits};
use crate::types::list::{List, ListConfig};
use crate::types::quicklist::{Quicklist, Threshold};
use crate::types::set::{Set, SetLimits};
use crate::types::zset::{Zset, ZsetLimits};
use crate::util::{fmt_i64, parse_i64, strtod, FastSet};
use std::borrow::Cow;
use std::fmt;

/// The newest format version accepted (Redis 7.4 writes 12; its new types are
/// refused one by one).
pub const RDB_VERSION_MAX: u32 = 12;

/// Why loading failed: where (byte offset in the input) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.reason, self.offset)
    }
}

impl std::error::Error for RdbError {}

type Result<T> = std::result::Result<T, RdbError>;

/// The encoding thresholds loading converts by (read from the config when the load
/// starts).
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    pub list: ListConfig,
    pub hash: HashLimits,
    pub set: SetLimits,
    pub zset: ZsetLimits,
}

impl LoadLimits {
    /// `packed_threshold` is the server's DEBUG QUICKLIST-PACKED-THRESHOLD value.
    pub fn from_config(c: &Config, packed_threshold: usize) -> LoadLimits {
        let size = |v: i64| usize::try_from(v).unwrap_or(usize::MAX);
        LoadLimits {
            list: ListConfig {
                max_listpack_size: c.list_max_listpack_size,
                compress_depth: c.list_compress_depth,
                packed_threshold,
            },
            hash: HashLimits {
                max_listpack_entries: size(c.hash_max_listpack_entries),
                max_listpack_value: size(c.hash_max_listpack_value),
            },
            set: SetLimits {
                max_intset_entries: size(c.set_max_intset_entries),
                max_listpack_entries: size(c.set_max_listpack_entries),
                max_listpack_value: size(c.set_max_listpack_value),
            },
            zset: ZsetLimits {
                max_listpack_entries: size(c.zset_max_listpack_entries),
                max_listpack_value: size(c.zset_max_listpack_value),
            },
        }
    }
}

/// One key as the file holds it.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    pub db: u64,
    pub key: Vec<u8>,
    pub value: Value,
    /// Absolute Unix milliseconds. Whether an already expired key is kept is the
    /// caller's choice (Redis drops them when it is a master and the file is not an
    /// AOF base).
    pub expire_ms: Option<i64>,
    /// IDLE or FREQ, when the file carries them for this key.
    pub evict: Evict,
}

/// What the file says, item by item.
#[derive(Debug, Clone)]
pub enum Item {
    Aux {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    SelectDb(u64),
    ResizeDb {
        keys: u64,
        expires: u64,
    },
    Key(LoadedKey),
    /// A function library's code (FUNCTION2, or 7.0 rc's FUNCTION translated to
    /// it): the caller loads it or refuses the file, as it supports functions.
    Function {
        code: Vec<u8>,
    },
    /// A collection with no elements: Redis skips it with a warning
    /// ("rdbLoadObject skipping empty key") rather than failing.
    EmptyKey {
        db: u64,
        key: Vec<u8>,
    },
}

/// What became of the checksum, once the loader reached EOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// EOF not reached yet.
    Pending,
    /// Stored and equal to the computed one.
    Verified,
    /// Stored as zero: the file was written with `rdbchecksum no`.
    Disabled,
    /// Not checked (`verify` off), or the version predates checksums (< 5).
    NotChecked,
}

/// A file being read. `next` yields items until EOF, then verifies the checksum
/// and returns `None`.
#[derive(Debug)]
pub struct Loader<'a> {
    r: Reader<'a>,
    /// The checksum of the file's bytes before `r`'s input (a streaming load's
    /// consumed part; empty for a whole file in memory).
    crc_before: crc64::Crc64,
    version: u32,
    db: u64,
    limits: LoadLimits,
    verify: bool,
    checksum: Checksum,
    done: bool,
    blobs: u64,
}

impl<'a> Loader<'a> {
    /// Check the magic and the version. `verify_checksum` is `rdbchecksum`.
    pub fn new(data: &'a [u8], limits: LoadLimits, verify_checksum: bool) -> Result<Loader<'a>> {
        let mut r = Reader {
            buf: data,
            pos: 0,
            short: false,
        };
        let magic = r.take(9)?;
        if &magic[..5] != b"REDIS" {
            return Err(RdbError {
                offset: 0,
                reason: "Wrong signature trying to load DB from file".into(),
            });
        }
        let version = atoi(&magic[5..]);
        if version < 1 || version > RDB_VERSION_MAX as i64 {
            return Err(RdbError {
                offset: 5,
                reason: format!("Can't handle RDB format version {version}"),
            });
        }
        Ok(Loader {
            r,
            crc_before: crc64::Crc64::new(),
            version: version as u32,
            db: 0,
            limits,
            verify: verify_checksum,
            checksum: Checksum::Pending,
            done: false,
            blobs: 0,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes consumed so far (loading progress).
    pub fn offset(&self) -> usize {
        self.r.pos
    }

    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// Compact blobs validated so far: what INFO's `dump_payload_sanitizations`
    /// counts when deep sanitization applies (`sanitize-dump-payload yes`; loading
    /// skips it under `clients`). Every blob is validated regardless.
    pub fn sanitized_blobs(&self) -> u64 {
        self.blobs
    }

    /// The next item; `Ok(None)` once EOF is read and the checksum checked.
    pub fn next_item(&mut self, rng: &mut CoreRng) -> Result<Option<Item>> {
        if self.done {
            return Ok(None);
        }
        let mut expire_ms = None;
        let mut evict = Evict::None;
        loop {
            let at = self.r.pos;
            let t = self.r.u8()?;
            match t {
                opcode::EXPIRETIME => {
                    let b = self.r.take(4)?;
                    let secs = i32::from_le_bytes(b.try_into().expect("4 bytes"));
                    expire_ms = Some(secs as i64 * 1000);
                }
                opcode::EXPIRETIME_MS => {
                    let b = self.r.take(8)?;
                    expire_ms = Some(i64::from_le_bytes(b.try_into().expect("8 bytes")));
                }
                opcode::FREQ => evict = Evict::Freq(self.r.u8()?),
                opcode::IDLE => evict = Evict::IdleSecs(self.r.length()?),
                opcode::EOF => {
                    self.finish()?;
                    return Ok(None);
                }
                opcode::SELECTDB => {
                    self.db = self.r.length()?;
                    return Ok(Some(Item::SelectDb(self.db)));
                }
                opcode::RESIZEDB => {
                    let keys = self.r.length()?;
                    let expires = self.r.length()?;
                    return Ok(Some(Item::ResizeDb { keys, expires }));
                }
                opcode::AUX => {
                    let key = self.r.string()?.into_owned();
                    let value = self.r.string()?.into_owned();
                    return Ok(Some(Item::Aux { key, value }));
                }
                opcode::MODULE_AUX => {
                    // No modules are ever loaded: Redis's message for an unknown one.
                    let id = self.r.length()?;
                    return Err(RdbError {
                        offset: at,
                        reason: format!(
                            "The RDB file contains AUX module data I can't load: no matching module '{}'",
                            module_name(id)
                        ),
                    });
                }
                opcode::FUNCTION2 => {
                    let code = self.r.string()?.into_owned();
                    return Ok(Some(Item::Function { code }));
                }
                opcode::FUNCTION => {
                    // 7.0 rc1/rc2's form, translated as rdbFunctionLoad does.
                    let name = self.r.string()?.into_owned();
                    let engine = self.r.string()?.into_owned();
                    if self.r.length()? != 0 {
                        self.r.string()?;
                    }
                    let blob = self.r.string()?;
                    let mut code = b"#!".to_vec();
                    code.extend_from_slice(&engine);
                    code.extend_from_slice(b" name=");
                    code.extend_from_slice(&name);
                    code.push(b'\n');
                    code.extend_from_slice(&blob);
                    return Ok(Some(Item::Function { code }));
                }
                244 => {
                    return Err(RdbError {
                        offset: at,
                        reason: "slot info (Redis 7.4+) is not supported".into(),
                    })
                }
                _ => {
                    let key = self.r.string()?.into_owned();
                    let value = load_object(&mut self.r, t, &self.limits, rng, &mut self.blobs)?;
                    return Ok(Some(match value {
                        Some(value) => Item::Key(LoadedKey {
                            db: self.db,
                            key,
                            value,
                            expire_ms,
                            evict,
                        }),
                        None => Item::EmptyKey { db: self.db, key },
                    }));
                }
            }
        }
    }

    /// After EOF: the stored checksum against the one of every byte before it.
    fn finish(&mut self) -> Result<()> {
        self.done = true;
        if self.version < 5 {
            self.checksum = Checksum::NotChecked;
            return Ok(());
        }
        let covered = self.r.pos;
        let stored = u64::from_le_bytes(self.r.take(8)?.try_into().expect("8 bytes"));
        self.checksum = if !self.verify {
            Checksum::NotChecked
        } else if stored == 0 {
            Checksum::Disabled
        } else {
            let mut crc = self.crc_before.clone();
            crc.update(&self.r.buf[..covered]);
            let expected = crc.value();
            if stored != expected {
                return Err(RdbError {
                    offset: covered,
                    reason: format!(
                        "Wrong RDB checksum expected: ({expected:x}) but got ({stored:x}). Aborting now."
                    ),
                });
            }
            Checksum::Verified
        };
        Ok(())
    }
}

/// What a streaming load has next.
#[derive(Debug)]
pub enum Next {
    Item(Item),
    /// The next item is not all in the bytes fed so far: feed more (at least
    /// `StreamLoader::wanted` bytes, so a big value is not parsed over and over).
    NeedMore,
    /// EOF read and the checksum checked.
    Done,
}

/// A file loaded as it is read: the caller feeds chunks, and the loader keeps
/// only the bytes of items not yet complete, so memory is bounded by a chunk plus
/// the item being read (Redis's rdbLoad streams its file the same way). An item
/// cut by the end of what was fed is parsed again once more bytes arrive; the
/// caller reads at least `wanted()` more, doubling, so that costs O(item) overall.
#[derive(Debug)]
pub struct StreamLoader {
    buf: Vec<u8>,
    /// Bytes of `buf` already parsed into items.
    start: usize,
    /// The file offset of `buf[0]`.
    base: usize,
    crc: crc64::Crc64,
    limits: LoadLimits,
    verify: bool,
    /// Set once the header is read.
    state: Option<StreamState>,
    /// Consecutive `NeedMore`s for the same item: how much to read next.
    want: usize,
}

#[derive(Debug, Clone, Copy)]
struct StreamState {
    version: u32,
    db: u64,
    checksum: Checksum,
    done: bool,
    blobs: u64,
}

impl StreamLoader {
    pub fn new(limits: LoadLimits, verify_checksum: bool) -> StreamLoader {
        StreamLoader {
            buf: Vec::new(),
            start: 0,
            base: 0,
            crc: crc64::Crc64::new(),
            limits,
            verify: verify_checksum,
            state: None,
            want: 0,
        }
    }

    /// Append the next bytes of the file.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 {
            // Drop what was parsed: only the unfinished item stays.
            self.buf.drain(..self.start);
            self.base += self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes of the file parsed into items so far (loading progress, and where an
    /// error is).
    pub fn offset(&self) -> usize {
        self.base + self.start
    }

    /// Bytes held: the unfinished item's.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// How many more bytes to read before trying again after `NeedMore`.
    pub fn wanted(&self) -> usize {
        self.want
    }

    pub fn checksum(&self) -> Checksum {
        self.state.map_or(Checksum::Pending, |s| s.checksum)
    }

    pub fn sanitized_blobs(&self) -> u64 {
        self.state.map_or(0, |s| s.blobs)
    }

    pub fn version(&self) -> Option<u32> {
        self.state.map(|s| s.version)
    }

    fn need_more(&mut self, eof: bool, e: RdbError, short: bool) -> Result<Next> {
        if short && !eof {
            // At least double what is held, so a big item is re-parsed O(log) times.
            self.want = self.buffered().max(1);
            return Ok(Next::NeedMore);
        }
        Err(RdbError {
            offset: e.offset + self.base + self.start,
            reason: e.reason,
        })
    }

    /// The next item. `eof`: everything has been fed (a cut item is then an error).
    pub fn next_item(&mut self, rng: &mut CoreRng, eof: bool) -> Result<Next> {
        let input = &self.buf[self.start..];
        let state = match self.state {
            Some(s) => s,
            None => match Loader::new(input, self.limits, self.verify) {
                Ok(l) => {
                    let consumed = l.r.pos;
                    self.crc.update(&input[..consumed]);
                    self.start += consumed;
                    let s = StreamState {
                        version: l.version,
                        db: 0,
                        checksum: Checksum::Pending,
                        done: false,
                        blobs: 0,
                    };
                    self.state = Some(s);
                    s
                }
                Err(e) => {
                    // Only a short header is worth waiting for.
                    let short = input.len() < 9;
                    return self.need_more(eof, e, short);
                }
            },
        };
        if state.done {
            return Ok(Next::Done);
        }
        let input = &self.buf[self.start..];
        let mut l = Loader {
            r: Reader {
                buf: input,
                pos: 0,
                short: false,
            },
            crc_before: self.crc.clone(),
            version: state.version,
            db: state.db,
            limits: self.limits,
            verify: self.verify,
            checksum: state.checksum,
            done: false,
            blobs: state.blobs,
        };
        match l.next_item(rng) {
            Ok(item) => {
                let consumed = l.r.pos;
                self.state = Some(StreamState {
                    version: l.version,
                    db: l.db,
                    checksum: l.checksum,
                    done: l.done,
                    blobs: l.blobs,
                });
                self.crc.update(&input[..consumed]);
                self.start += consumed;
                self.want = 0;
                Ok(match item {
                    Some(item) => Next::Item(item),
                    None => Next::Done,
                })
            }
            Err(e) => {
                let short = l.r.short;
                self.need_more(eof, e, short)
            }
        }
    }
}

/// moduleTypeNameByID: the 9-character type name in a module id's top 54 bits.
fn module_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// C's atoi over the four version digits (leading blanks and a sign allowed, stops
/// at the first non-digit).
fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && crate::util::is_c_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
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
    let mut v = 0i64;
    while let Some(d @ b'0'..=b'9') = s.get(i) {
        v = v * 10 + (d - b'0') as i64;
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Why RESTORE refused a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpError {
    /// Too short, a version above ours, or a wrong CRC ("DUMP payload version or
    /// checksum are wrong").
    VersionOrChecksum,
    /// The body does not decode ("Bad data format"); the error says why.
    BadFormat(RdbError),
}

/// verifyDumpPayload: at least the 10-byte footer, version at most ours, and (when
/// `verify_checksum`) the CRC-64 of everything before the CRC.
pub fn verify_dump_payload(p: &[u8], verify_checksum: bool) -> std::result::Result<u16, DumpError> {
    if p.len() < 10 {
        return Err(DumpError::VersionOrChecksum);
    }
    let footer = &p[p.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    if verify_checksum {
        let crc = u64::from_le_bytes(footer[2..].try_into().expect("8 bytes"));
        if crc64::checksum(&p[..p.len() - 8]) != crc {
            return Err(DumpError::VersionOrChecksum);
        }
    }
    Ok(version)
}

/// RESTORE's decoding: verify the footer, then read the type and the object from
/// the payload (as Redis does, over the whole buffer: trailing bytes are ignored).
/// An empty collection is `BadFormat`, as in Redis. `blobs` is increased by the
/// compact blobs met (see [`Loader::sanitized_blobs`]), also when decoding fails.
pub fn decode_dump_payload(
    p: &[u8],
    limits: &LoadLimits,
    rng: &mut CoreRng,
    verify_checksum: bool,
    blobs: &mut u64,
) -> std::result::Result<Value, DumpError> {
    verify_dump_payload(p, verify_checksum)?;
    let mut r = Reader {
        buf: p,
        pos: 0,
        short: false,
    };
    let t = r.u8().map_err(DumpError::BadFormat)?;
    // rdbLoadObjectType (7.0's rdbIsObjectType): 0..=7 and 9..=19 only, so a
    // payload of our version never carries 7.2's set listpack or an opcode.
    if !matches!(t, 0..=7 | 9..=19) {
        return Err(DumpError::BadFormat(RdbError {
            offset: 0,
            reason: format!("Unknown RDB encoding type {t}"),
        }));
    }
    match load_object(&mut r, t, limits, rng, blobs) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(DumpError::BadFormat(RdbError {
            offset: r.pos,
            reason: "empty collection".into(),
        })),
        Err(e) => Err(DumpError::BadFormat(e)),
    }
}

/// A cursor over the input with RDB's primitive reads, all bounds-checked.
#[derive(Debug)]
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// A read failed for want of bytes (the input may just not be all there yet:
    /// the streaming loader reads on and tries again).
    short: bool,
}

impl<'a> Reader<'a> {
    fn err(&self, at: usize, reason: impl Into<String>) -> RdbError {
        RdbError {
            offset: at,
            reason: reason.into(),
        }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            self.short = true;
            return Err(self.err(
                self.pos,
                format!(
                    "Unexpected EOF reading RDB file: {n} bytes wanted, {} left",
                    self.remaining()
                ),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// rdbLoadLenByRef: (value, is an ENCVAL special encoding).
    fn len(&mut self) -> Result<(u64, bool)> {
        let at = self.pos;
        let b = self.u8()?;
        match b >> 6 {
            3 => Ok(((b & 0x3f) as u64, true)),
            LEN_6BIT => Ok(((b & 0x3f) as u64, false)),
            LEN_14BIT => Ok(((((b & 0x3f) as u64) << 8) | self.u8()? as u64, false)),
            _ if b == LEN_32BIT => Ok((
                u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as u64,
                false,
            )),
            _ if b == LEN_64BIT => Ok((
                u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")),
                false,
            )),
            t => Err(self.err(at, format!("Unknown length encoding {t} in rdbLoadLen()"))),
        }
    }

    /// A plain length (rdbLoadLen where an encoded value is not expected).
    fn length(&mut self) -> Result<u64> {
        let at = self.pos;
        match self.len()? {
            (n, false) => Ok(n),
            (_, true) => Err(self.err(at, "a length is int-encoded")),
        }
    }

    /// A collection's element count, which cannot exceed the bytes left (every
    /// element takes at least one).
    fn count(&mut self) -> Result<u64> {
        let at = self.pos;
        let n = self.length()?;
        if n > self.remaining() as u64 {
            self.short = true;
            return Err(self.err(
                at,
                format!("length {n} exceeds the {} bytes left", self.remaining()),
            ));
        }
        Ok(n)
    }

    /// rdbGenericLoadStringObject: raw bytes, an ENCVAL integer as its decimal
    /// text, or an LZF blob decompressed.
    fn string(&mut self) -> Result<Cow<'a, [u8]>> {
        let at = self.pos;
        let (len, encoded) = self.len()?;
        if !encoded {
            return Ok(Cow::Borrowed(self.take(len)?));
        }
        let v = match len as u8 {
            ENC_INT8 => self.u8()? as i8 as i64,
            ENC_INT16 => i16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")) as i64,
            ENC_INT32 => i32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")) as i64,
            ENC_LZF => {
                let clen = self.length()?;
                let raw_len = self.length()?;
                let data = self.take(clen)?;
                let raw_len =
                    usize::try_from(raw_len).map_err(|_| self.err(at, "LZF length overflows"))?;
                return crate::lzf::decompress(data, raw_len)
                    .map(Cow::Owned)
                    .map_err(|e| self.err(at, format!("Invalid LZF compressed string: {e}")));
            }
            t => {
                return Err(self.err(at, format!("Unknown RDB string encoding type {t}")));
            }
        };
        let mut digits = Vec::with_capacity(20);
        fmt_i64(v, &mut digits);
        Ok(Cow::Owned(digits))
    }

    /// rdbLoadBinaryDoubleValue.
    fn f64_binary(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    /// rdbLoadDoubleValue (old zsets): a length byte, 253..255 for NaN, +inf,
    /// -inf, else that many bytes of text read as %lg.
    fn f64_text(&mut self) -> Result<f64> {
        let at = self.pos;
        match self.u8()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            n => {
                let text = self.take(n as u64)?;
                let r = strtod(text);
                if r.len == 0 {
                    return Err(self.err(at, "bad double value"));
                }
                Ok(r.value)
            }
        }
    }
}

/// A blob's decoded string form (listpack or ziplist entry).
fn entry_bytes(e: LpEntry<'_>) -> Cow<'_, [u8]> {
    match e {
        LpEntry::Str(s) => Cow::Borrowed(s),
        LpEntry::Int(n) => {
            let mut digits = Vec::with_capacity(20);
            fmt_i64(n, &mut digits);
            Cow::Owned(digits)
        }
    }
}

/// rdbLoadObject for object type `t`; `None` for an empty collection.
/// `blobs` counts the compact blobs Redis counts as sanitized (quicklist 2 packed
/// nodes, intsets, set/zset/hash listpacks) when deep validation is on.
fn load_object(
    r: &mut Reader<'_>,
    t: u8,
    limits: &LoadLimits,
    rng: &mut CoreRng,
    blobs: &mut u64,
) -> Result<Option<Value>> {
    let at = r.pos;
    let corrupt = |what: &str| RdbError {
        offset: at,
        reason: what.to_string(),
    };
    let v = match t {
        types::STRING => Value::Str(StrValue::from_bytes(&r.string()?)),
        types::LIST => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let cfg = &limits.list;
            let mut ql = Quicklist::new(cfg.max_listpack_size, cfg.compress_depth);
            for _ in 0..n {
                let e = r.string()?;
                ql.push(&e, false, Threshold(cfg.packed_threshold));
            }
            Value::List(List::from_loaded_quicklist(ql, cfg))
        }
        types::SET => match load_set(r, limits.set, rng)? {
            Some(s) => Value::Set(s),
            None => return Ok(None),
        },
        types::ZSET | types::ZSET_2 => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
            for _ in 0..n {
                let m = r.string()?.into_owned();
                let s = if t == types::ZSET_2 {
                    r.f64_binary()?
                } else {
                    r.f64_text()?
                };
                if s.is_nan() {
                    return Err(corrupt("Zset with NAN score detected"));
                }
                items.push((m, s));
            }
            Value::Zset(zset_from_items(items, limits.zset, rng).map_err(|e| corrupt(&e))?)
        }
        types::HASH => match load_hash(r, limits.hash, rng)? {
            Some(h) => Value::Hash(h),
            None => return Ok(None),
        },
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let n = r.count()?;
            if n == 0 {
                return Ok(None);
            }
            let cfg = &limits.list;
            let mut ql = Quicklist::new(cfg.max_listpack_size, cfg.compress_depth);
            for _ in 0..n {
                let node_at = r.pos;
                let container = if t == types::LIST_QUICKLIST_2 {
                    let c = r.length()?;
                    if c != CONTAINER_PACKED && c != CONTAINER_PLAIN {
                        return Err(r.err(node_at, "Quicklist integrity check failed."));
                    }
                    c
                } else {
                    CONTAINER_PACKED
                };
                let data = r.string()?.into_owned();
                if data.is_empty() {
                    return Err(r.err(node_at, "quicklist node is empty"));
                }
                if container == CONTAINER_PLAIN {
                    ql.append_plain_node(data.into_boxed_slice());
                    continue;
                }
                let lp = if t == types::LIST_QUICKLIST_2 {
                    *blobs += 1;
                    Listpack::from_bytes(data).map_err(|e| {
                        r.err(node_at, format!("Listpack integrity check failed: {e}"))
                    })?
                } else {
                    let entries = ziplist_entries(&data).map_err(|e| {
                        r.err(node_at, format!("Ziplist integrity check failed: {e}"))
                    })?;
                    listpack_of(&entries)
                };
                // Empty nodes are skipped; an empty list is caught below.
                if !lp.is_empty() {
                    ql.append_listpack_node(lp);
                }
            }
            if ql.is_empty() {
                return Ok(None);
            }
            Value::List(List::from_loaded_quicklist(ql, cfg))
        }
        types::HASH_ZIPMAP
        | types::LIST_ZIPLIST
        | types::SET_INTSET
        | types::SET_LISTPACK
        | types::ZSET_ZIPLIST
        | types::ZSET_LISTPACK
        | types::HASH_ZIPLIST
        | types::HASH_LISTPACK => {
            let blob = r.string()?.into_owned();
            if matches!(
                t,
                types::SET_INTSET
                    | types::SET_LISTPACK
                    | types::ZSET_LISTPACK
                    | types::HASH_LISTPACK
            ) {
                *blobs += 1;
            }
            match load_blob(t, blob, limits, rng).map_err(|e| corrupt(&e))? {
                Some(v) => v,
                None => return Ok(None),
            }
        }
        types::MODULE | types::MODULE_2 => {
            let id = r.length()?;
            return Err(corrupt(&format!(
                "The RDB file contains module data I can't load: no matching module type '{}'",
                module_name(id)
            )));
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
            return Err(corrupt("stream values are not supported"))
        }
        22..=25 => {
            return Err(corrupt(
                "hashes with field expiry (Redis 7.4+) are not supported",
            ))
        }
        _ => return Err(corrupt(&format!("Unknown RDB encoding type {t}"))),
    };
    Ok(Some(v))
}

/// A listpack of entries as the ziplist converters build it (lpAppend for
/// strings, which stores integer-looking strings as integers; integers as such).
fn listpack_of(entries: &[LpEntry<'_>]) -> Listpack {
    let mut lp = Listpack::new();
    for e in entries {
        match e {
            LpEntry::Int(v) => lp.push_back_int(*v),
            LpEntry::Str(s) => lp.push_back(s),
        }
    }
    lp
}

/// RDB_TYPE_SET: element by element, as 7.2 builds it (intset while every member
/// is an integer, listpack while small, else a hash table).
fn load_set(r: &mut Reader<'_>, lim: SetLimits, rng: &mut CoreRng) -> Result<Option<Set>> {
    let n = r.count()?;
    if n == 0 {
        return Ok(None);
    }
    let intset_max = lim.max_intset_entries.min(1 << 30);
    let mut set = if n as usize > intset_max {
        Set::Table(Box::new(Dict::new(rng.next_u64())))
    } else {
        Set::Intset(Intset::new())
    };
    let (mut max_len, mut sum_len) = (0usize, 0usize);
    // The listpack phase's members, for an O(1) duplicate check (Redis scans the
    // listpack, which is quadratic in set-max-listpack-entries).
    let mut seen: FastSet<Vec<u8>> = FastSet::default();
    for _ in 0..n {
        let at = r.pos;
        let dup = || RdbError {
            offset: at,
            reason: "Duplicate set members detected".into(),
        };
        let m = r.string()?;
        max_len = max_len.max(m.len());
        sum_len += m.len();
        if let Set::Intset(is) = &mut set {
            match parse_i64(&m) {
                Some(v) => {
                    if !is.add(v) {
                        return Err(dup());
                    }
                    continue;
                }
                None => {
                    if is.len() < lim.max_listpack_entries
                        && max_len <= lim.max_listpack_value
                        && sum_len <= MAX_SAFETY_SIZE
                    {
                        let mut lp = Listpack::new();
                        for v in is.iter() {
                            lp.push_back_int(v);
                            seen.insert(v.to_string().into_bytes());
                        }
                        set = Set::Listpack(lp);
                    } else {
                        set.convert_to_table(&NewTable::sized(rng.next_u64()));
                    }
                }
            }
        }
        if let Set::Listpack(lp) = &mut set {
            if lp.len() < lim.max_listpack_entries
                && m.len() <= lim.max_listpack_value
                && lp.safe_to_add(m.len())
            {
                if !seen.insert(m.to_vec()) {
                    return Err(dup());
                }
                lp.push_back(&m);
                continue;
            }
            seen = FastSet::default();
            set.convert_to_table(&NewTable::sized(rng.next_u64()));
        }
        if let Set::Table(d) = &mut set {
            if d.contains_key(&m[..]) {
                return Err(dup());
            }
            d.insert_new(m.into_owned().into_boxed_slice(), ());
        }
    }
    Ok(Some(set))
}

/// RDB_TYPE_HASH: a listpack while the pairs stay small, else a hash table.
fn load_hash(r: &mut Reader<'_>, lim: HashLimits, rng: &mut CoreRng) -> Result<Option<Hash>> {
    let n = r.count()?;
    if n == 0 {
        return Ok(None);
    }
    let mut h = if n as usize > lim.max_listpack_entries {
        Hash::Table(Box::new(Dict::new(rng.next_u64())))
    } else {
        Hash::Listpack(Listpack::new())
    };
    let mut seen: FastSet<Vec<u8>> = FastSet::default();
    for _ in 0..n {
        let at = r.pos;
        let dup = || RdbError {
            offset: at,
            reason: "Duplicate hash fields detected".into(),
        };
        let f = r.string()?;
        let v = r.string()?;
        if let Hash::Listpack(lp) = &mut h {
            if f.len() <= lim.max_listpack_value
                && v.len() <= lim.max_listpack_value
                && lp.safe_to_add(f.len() + v.len())
            {
                if !seen.insert(f.to_vec()) {
                    return Err(dup());
                }
                lp.push_back(&f);
                lp.push_back(&v);
                continue;
            }
            seen = FastSet::default();
            h.convert_to_table(&NewTable::sized(rng.next_u64()));
        }
        if let Hash::Table(d) = &mut h {
            if d.contains_key(&f[..]) {
                return Err(dup());
            }
            d.insert_new(
                f.into_owned().into_boxed_slice(),
                v.into_owned().into_boxed_slice(),
            );
        }
    }
    Ok(Some(h))
}

/// Sorted set members as loaded (any order): refuse duplicates, then the encoding
/// zsetConvert would give after inserting them all.
fn zset_from_items(
    mut items: Vec<(Vec<u8>, f64)>,
    lim: ZsetLimits,
    rng: &mut CoreRng,
) -> std::result::Result<Zset, String> {
    {
        let mut names: Vec<&[u8]> = items.iter().map(|(m, _)| &m[..]).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("Duplicate zset fields detected".into());
        }
    }
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .expect("NaN scores are refused before")
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(Zset::from_sorted(&items, lim, rng))
}

/// Pairs of a listpack or ziplist blob (hash fields or zset members): an even
/// count and no repeated first element (lpValidateIntegrityAndDups).
fn check_pairs(entries: &[LpEntry<'_>], what: &str) -> std::result::Result<(), String> {
    if !entries.len().is_multiple_of(2) {
        return Err(format!("{what} has an odd number of entries"));
    }
    let mut seen: FastSet<Cow<'_, [u8]>> = FastSet::default();
    for e in entries.iter().step_by(2) {
        if !seen.insert(entry_bytes(*e)) {
            return Err(format!("{what} has duplicate entries"));
        }
    }
    Ok(())
}

/// A listpack or ziplist zset's pairs: every score a number, ascending by
/// (score, member) as our listpack zsets require.
fn check_zset_order(entries: &[LpEntry<'_>]) -> std::result::Result<(), String> {
    let mut prev: Option<(f64, Cow<'_, [u8]>)> = None;
    for pair in entries.chunks(2) {
        let score = match pair[1] {
            LpEntry::Int(n) => n as f64,
            LpEntry::Str(s) => {
                let r = strtod(s);
                if r.len != s.len() || s.is_empty() || r.value.is_nan() {
                    return Err("sorted set score is not a number".into());
                }
                r.value
            }
        };
        let m = entry_bytes(pair[0]);
        if let Some((ps, pm)) = &prev {
            if score < *ps || (score == *ps && m <= *pm) {
                return Err("sorted set entries are not in order".into());
            }
        }
        prev = Some((score, m));
    }
    Ok(())
}

/// The compact blob types: validated, then converted when over the limits.
fn load_blob(
    t: u8,
    blob: Vec<u8>,
    limits: &LoadLimits,
    rng: &mut CoreRng,
) -> std::result::Result<Option<Value>, String> {
    Ok(Some(match t {
        types::HASH_ZIPMAP => {
            let pairs =
                zipmap_pairs(&blob).map_err(|e| format!("Zipmap integrity check failed: {e}"))?;
            let mut seen: FastSet<&[u8]> = FastSet::default();
            let mut lp = Listpack::new();
            let mut max_len = 0;
            for (f, v) in &pairs {
                if !seen.insert(f) || !lp.safe_to_add(f.len() + v.len()) {
                    return Err(format!(
                        "Hash zipmap with dup elements, or big length ({})",
                        f.len()
                    ));
                }
                max_len = max_len.max(f.len()).max(v.len());
                lp.push_back(f);
                lp.push_back(v);
            }
            let mut h = Hash::Listpack(lp);
            if pairs.len() > limits.hash.max_listpack_entries
                || max_len > limits.hash.max_listpack_value
            {
                h.convert_to_table(&NewTable::sized(rng.next_u64()));
            }
            Value::Hash(h)
        }
        types::LIST_ZIPLIST => {
            let entries = ziplist_entries(&blob)
                .map_err(|e| format!("List ziplist integrity check failed: {e}"))?;
            if entries.is_empty() {
                return Ok(None);
            }
            let cfg = &limits.list;
            let mut ql = Quicklist::new(cfg.max_listpack_size, cfg.compress_depth);
            for e in &entries {
                ql.push(&entry_bytes(*e), false, Threshold(cfg.packed_threshold));
            }
            // 7.2 keeps a converted ziplist list a quicklist, whatever its size.
            Value::List(List::Quicklist(Box::new(ql)))
        }
        types::SET_INTSET => {
            let is = Intset::from_bytes(blob)
                .map_err(|e| format!("Intset integrity check failed: {e}"))?;
            let mut s = Set::Intset(is);
            if s.len() > limits.set.max_intset_entries {
                s.convert_to_table(&NewTable::sized(rng.next_u64()));
            }
            Value::Set(s)
        }
        types::SET_LISTPACK => {
            let lp = Listpack::from_bytes(blob)
                .map_err(|e| format!("Set listpack integrity check failed: {e}"))?;
            let mut seen: FastSet<Cow<'_, [u8]>> = FastSet::default();
            if !lp.iter().all(|e| seen.insert(entry_bytes(e))) {
                return Err("Set listpack integrity check failed: duplicate members".into());
            }
            drop(seen);
            if lp.is_empty() {
                return Ok(None);
            }
            let mut s = Set::Listpack(lp);
            if s.len() > limits.set.max_listpack_entries {
                s.convert_to_table(&NewTable::sized(rng.next_u64()));
            }
            Value::Set(s)
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let lp = if t == types::ZSET_ZIPLIST {
                let entries = ziplist_entries(&blob)
                    .map_err(|e| format!("Zset ziplist integrity check failed: {e}"))?;
                listpack_of(&entries)
            } else {
                Listpack::from_bytes(blob)
                    .map_err(|e| format!("Zset listpack integrity check failed: {e}"))?
            };
            let entries: Vec<LpEntry<'_>> = lp.iter().collect();
            check_pairs(&entries, "Zset listpack")?;
            check_zset_order(&entries)?;
            drop(entries);
            if lp.is_empty() {
                return Ok(None);
            }
            let mut z = Zset::Listpack(lp);
            if z.len() > limits.zset.max_listpack_entries {
                z.convert_to_skiplist(rng);
            }
            Value::Zset(z)
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let lp = if t == types::HASH_ZIPLIST {
                let entries = ziplist_entries(&blob)
                    .map_err(|e| format!("Hash ziplist integrity check failed: {e}"))?;
                listpack_of(&entries)
            } else {
                Listpack::from_bytes(blob)
                    .map_err(|e| format!("Hash listpack integrity check failed: {e}"))?
            };
            let entries: Vec<LpEntry<'_>> = lp.iter().collect();
            check_pairs(&entries, "Hash listpack")?;
            drop(entries);
            if lp.is_empty() {
                return Ok(None);
            }
            let mut h = Hash::Listpack(lp);
            if h.len() > limits.hash.max_listpack_entries {
                h.convert_to_table(&NewTable::sized(rng.next_u64()));
            }
            Value::Hash(h)
        }
        _ => unreachable!("load_blob is called for blob types only"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{object_digest, Digest20};
    use crate::object::Object;
    use crate::rdb::legacy::build;
    use crate::rdb::writer::{AuxFields, RdbWriter, WriterOpts};
    use crate::rdb::{dump_payload, EncodeOpts};
    use crate::testing::TestServer;

    fn digest(v: &Value) -> Digest20 {
        let mut d = [0u8; 20];
        object_digest(&mut d, &Object::new(v.clone(), 0), false);
        d
    }

    fn limits() -> LoadLimits {
        LoadLimits::from_config(&Config::default(), 1 << 30)
    }

    /// The thresholds of the server that wrote the file, so encodings survive.
    fn limits_of(t: &TestServer) -> LoadLimits {
        LoadLimits::from_config(&t.server.config, 1 << 30)
    }

    fn rng() -> CoreRng {
        CoreRng::from_seed(7)
    }

    /// A server holding every type in every encoding, with their expected names.
    fn populated() -> (TestServer, Vec<(&'static str, &'static str)>) {
        let mut t = TestServer::new();
        let big: Vec<String> = (0..300).map(|i| format!("member-{i}")).collect();
        let bigs: Vec<&str> = big.iter().map(String::as_str).collect();
        let long = "x".repeat(100);
        t.cmd(&["SET", "int", "12345"]);
        t.cmd(&["SET", "emb", "hello"]);
        t.cmd(&["SET", "raw", &long]);
        t.cmd(&["RPUSH", "lp-list", "a", "1", "b"]);
        t.cmd(&["CONFIG", "SET", "list-max-listpack-size", "4"]);
        t.cmd(&["CONFIG", "SET", "list-compress-depth", "1"]);
        let mut args = vec!["RPUSH", "ql"];
        args.extend(&bigs);
        t.cmd(&args);
        t.cmd(&["SADD", "intset", "1", "2", "-70000", "5000000000"]);
        t.cmd(&["SADD", "lp-set", "a", "b", "3"]);
        let mut args = vec!["SADD", "ht-set"];
        args.extend(&bigs);
        t.cmd(&args);
        t.cmd(&["HSET", "lp-hash", "f", "v", "n", "7"]);
        t.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "100"]);
        let mut args = vec!["HSET", "ht-hash"];
        for m in &bigs {
            args.push(m);
            args.push(m);
        }
        t.cmd(&args);
        t.cmd(&["ZADD", "lp-zset", "1", "a", "2.5", "b", "-inf", "c"]);
        let mut args = vec!["ZADD", "sl-zset"];
        let scores: Vec<String> = (0..300).map(|i| format!("{}", i as f64 / 3.0)).collect();
        for (s, m) in scores.iter().zip(&bigs) {
            args.push(s);
            args.push(m);
        }
        t.cmd(&args);
        t.cmd(&["PEXPIREAT", "emb", "1900000000000"]);
        let names = vec![
            ("int", "int"),
            ("emb", "embstr"),
            ("raw", "raw"),
            ("lp-list", "listpack"),
            ("ql", "quicklist"),
            ("intset", "intset"),
            ("lp-set", "listpack"),
            ("ht-set", "hashtable"),
            ("lp-hash", "listpack"),
            ("ht-hash", "hashtable"),
            ("lp-zset", "listpack"),
            ("sl-zset", "skiplist"),
        ];
        for (k, enc) in &names {
            assert_eq!(
                t.server.dbs[0]
                    .peek(k.as_bytes())
                    .unwrap()
                    .value
                    .encoding_name(),
                *enc,
                "{k}"
            );
        }
        (t, names)
    }

    fn write_file(t: &TestServer, opts: WriterOpts) -> Vec<u8> {
        let aux = AuxFields {
            redis_ver: "7.0.15",
            redis_bits: 64,
            ctime: 1_767_225_600,
            used_mem: 1 << 20,
            repl: None,
            aof_base: false,
        };
        let mut out = Vec::new();
        let mut w = RdbWriter::new(opts, &aux, &mut out);
        let db = &t.server.dbs[0];
        w.select_db(0, db.len() as u64, db.expires_len() as u64, &mut out);
        let mut keys: Vec<Vec<u8>> = db.keys.iter().map(|(k, _)| k.to_vec()).collect();
        keys.sort();
        for k in keys {
            let obj = db.peek(&k).unwrap();
            w.key(&k, &obj.value, db.get_expire(&k), Evict::None, &mut out);
        }
        w.finish(&mut out);
        out
    }

    fn load_all(file: &[u8]) -> Result<Vec<Item>> {
        let mut l = Loader::new(file, limits(), true)?;
        let mut rng = rng();
        let mut items = Vec::new();
        while let Some(item) = l.next_item(&mut rng)? {
            items.push(item);
        }
        Ok(items)
    }

    /// The file fed to a `StreamLoader` in chunks of `chunk` bytes (growing as it
    /// asks): its items, and the most it ever held.
    fn stream_all(file: &[u8], chunk: usize) -> Result<(Vec<Item>, usize)> {
        let mut l = StreamLoader::new(limits(), true);
        let mut rng = rng();
        let mut items = Vec::new();
        let mut at = 0;
        let mut held = 0;
        loop {
            let eof = at >= file.len();
            match l.next_item(&mut rng, eof)? {
                Next::Item(item) => items.push(item),
                Next::Done => {
                    assert_eq!(l.checksum(), Checksum::Verified);
                    return Ok((items, held));
                }
                Next::NeedMore => {
                    let n = chunk.max(l.wanted()).min(file.len() - at);
                    l.feed(&file[at..at + n]);
                    at += n;
                    held = held.max(l.buffered());
                }
            }
        }
    }

    /// Items by content: a value's random internals (a skiplist's levels, a
    /// dict's seed) depend on how many draws came before.
    fn contents(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Key(k) => format!(
                    "{} {:?} {:?} {:?} {:?}",
                    k.db,
                    k.key,
                    digest(&k.value),
                    k.expire_ms,
                    k.evict
                ),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// Chunked reading yields exactly the items of the whole file, holds no more
    /// than a chunk and the item in progress, and fails where the whole-file
    /// loader fails, at the same offset.
    #[test]
    fn a_streamed_load_equals_the_whole_file_load() {
        let (t, _) = populated();
        let file = write_file(&t, WriterOpts::default());
        let whole = contents(&load_all(&file).unwrap());
        for chunk in [1, 2, 7, 64, 1000, 4096, file.len()] {
            let (items, held) = stream_all(&file, chunk).unwrap();
            assert_eq!(contents(&items), whole, "chunk {chunk}");
            if chunk >= 4096 {
                continue;
            }
            // The largest item in `populated` is a few KiB.
            assert!(held < 64 * 1024, "chunk {chunk} held {held}");
        }
        for cut in (0..file.len()).step_by(37) {
            let a = load_all(&file[..cut]).unwrap_err();
            let b = stream_all(&file[..cut], 100).unwrap_err();
            assert_eq!(a, b, "cut at {cut}");
        }
        let mut bad = file.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let a = load_all(&bad).unwrap_err();
        assert_eq!(stream_all(&bad, 333).unwrap_err(), a);
        assert!(a.reason.starts_with("Wrong RDB checksum"));
    }

    #[test]
    fn every_encoding_round_trips_through_a_file() {
        let (t, names) = populated();
        let file = write_file(&t, WriterOpts::default());
        let mut l = Loader::new(&file, limits_of(&t), true).unwrap();
        assert_eq!(l.version(), 10);
        let mut rng = rng();
        let mut aux = Vec::new();
        let mut keys = Vec::new();
        while let Some(item) = l.next_item(&mut rng).unwrap() {
            match item {
                Item::Aux { key, value } => aux.push((key, value)),
                Item::SelectDb(0) | Item::ResizeDb { .. } => {}
                Item::Key(k) => keys.push(k),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(l.checksum(), Checksum::Verified);
        assert_eq!(aux[0], (b"redis-ver".to_vec(), b"7.0.15".to_vec()));
        assert_eq!(aux.len(), 5);
        assert_eq!(keys.len(), names.len());
        for k in &keys {
            let orig = t.server.dbs[0].peek(&k.key).unwrap();
            assert_eq!(digest(&k.value), digest(&orig.value), "{:?}", k.key);
            let want = names.iter().find(|(n, _)| n.as_bytes() == k.key).unwrap().1;
            assert_eq!(k.value.encoding_name(), want, "{:?}", k.key);
            assert_eq!(k.expire_ms, t.server.dbs[0].get_expire(&k.key));
            // Same encoding, same bytes: re-encoding gives the original payload
            // (hash tables aside, whose order depends on the seed).
            if !matches!(want, "hashtable") {
                assert_eq!(
                    dump_payload(&k.value, EncodeOpts::default()),
                    dump_payload(&orig.value, EncodeOpts::default()),
                    "{:?}",
                    k.key
                );
            }
        }
    }

    #[test]
    fn without_compression_or_checksum() {
        let (t, names) = populated();
        let file = write_file(
            &t,
            WriterOpts {
                encode: EncodeOpts { compress: false },
                checksum: false,
            },
        );
        let mut l = Loader::new(&file, limits_of(&t), true).unwrap();
        let mut rng = rng();
        let mut n = 0;
        while let Some(item) = l.next_item(&mut rng).unwrap() {
            n += matches!(item, Item::Key(_)) as usize;
        }
        assert_eq!(n, names.len());
        assert_eq!(l.checksum(), Checksum::Disabled);
    }

    #[test]
    fn truncation_and_corruption_never_panic() {
        let (t, _) = populated();
        let file = write_file(&t, WriterOpts::default());
        let cuts = (0..file.len().min(3000)).chain((3000..file.len()).step_by(61));
        for cut in cuts {
            assert!(load_all(&file[..cut]).is_err(), "cut at {cut}");
        }
        // Flipped bytes: the checksum catches what decoding does not.
        let mut x = 0x1234_5678_u32;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let mut bad = file.clone();
            let at = 9 + (x as usize) % (file.len() - 9);
            bad[at] ^= 1 << (x >> 29);
            assert!(load_all(&bad).is_err(), "flip at {at}");
            // Without a checksum: any outcome, but no panic.
            if let Ok(mut l) = Loader::new(&bad, limits(), false) {
                let mut rng = rng();
                while let Ok(Some(_)) = l.next_item(&mut rng) {}
            }
        }
    }

    #[test]
    fn header_errors_are_redis_messages() {
        let e = Loader::new(b"RADIS0010", limits(), true).unwrap_err();
        assert_eq!(e.reason, "Wrong signature trying to load DB from file");
        let e = Loader::new(b"REDIS0013", limits(), true).unwrap_err();
        assert_eq!(e.reason, "Can't handle RDB format version 13");
        let e = Loader::new(b"REDIS0000", limits(), true).unwrap_err();
        assert_eq!(e.reason, "Can't handle RDB format version 0");
        for v in 1..=12 {
            let header = format!("REDIS{v:04}");
            assert!(Loader::new(header.as_bytes(), limits(), true).is_ok());
        }
        let mut file = b"REDIS0010\xff".to_vec();
        file.extend_from_slice(&1u64.to_le_bytes());
        let e = load_all(&file).unwrap_err();
        assert!(
            e.reason.starts_with("Wrong RDB checksum expected: ("),
            "{e}"
        );
        assert!(e.reason.ends_with(") but got (1). Aborting now."), "{e}");
        // Versions before 5 have no checksum.
        assert!(load_all(b"REDIS0004\xff").unwrap().is_empty());
    }

    fn file_with(t: u8, key: &[u8], body: &[u8]) -> Vec<u8> {
        let mut f = b"REDIS0010\xfe\x00".to_vec();
        f.push(t);
        f.push(key.len() as u8);
        f.extend_from_slice(key);
        f.extend_from_slice(body);
        f.push(0xff);
        f.extend_from_slice(&0u64.to_le_bytes());
        f
    }

    fn blob(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::rdb::encode::write_len(b.len() as u64, &mut out);
        out.extend_from_slice(b);
        out
    }

    fn only_key(file: &[u8]) -> Value {
        let items = load_all(file).unwrap();
        let mut keys = items.into_iter().filter_map(|i| match i {
            Item::Key(k) => Some(k.value),
            _ => None,
        });
        keys.next().expect("one key")
    }

    fn list_items(v: &Value) -> Vec<Vec<u8>> {
        let Value::List(l) = v else {
            panic!("not a list")
        };
        let mut out = Vec::new();
        l.walk(0, false, |e| {
            out.push(e.to_vec());
            true
        });
        out
    }

    #[test]
    fn old_encodings_convert() {
        // List ziplist (type 10): stays a quicklist, as 7.2 leaves it.
        let zl = build::ziplist(&[Err(b"a"), Ok(7), Err(b"bc")]);
        let v = only_key(&file_with(types::LIST_ZIPLIST, b"l", &blob(&zl)));
        assert_eq!(
            list_items(&v),
            [b"a".to_vec(), b"7".to_vec(), b"bc".to_vec()]
        );
        assert_eq!(v.encoding_name(), "quicklist");

        // Quicklist of ziplists (type 14): one small node becomes a listpack.
        let mut body = vec![1];
        body.extend(blob(&zl));
        let v = only_key(&file_with(types::LIST_QUICKLIST, b"l", &body));
        assert_eq!(list_items(&v).len(), 3);
        assert_eq!(v.encoding_name(), "listpack");

        // Old linked list (type 1).
        let v = only_key(&file_with(types::LIST, b"l", b"\x02\x01x\xc0\x05"));
        assert_eq!(list_items(&v), [b"x".to_vec(), b"5".to_vec()]);

        // Hash ziplist (13) and zipmap (9): listpacks, or tables when too big.
        let zl = build::ziplist(&[Err(b"f"), Err(b"v"), Err(b"n"), Ok(1)]);
        let v = only_key(&file_with(types::HASH_ZIPLIST, b"h", &blob(&zl)));
        assert_eq!(v.encoding_name(), "listpack");
        let Value::Hash(h) = &v else { panic!() };
        assert_eq!(h.get(b"n"), Some(b"1".to_vec()));
        let long = vec![b'v'; 100];
        let zm = build::zipmap(&[(b"a", b"1"), (b"b", &long)], 1);
        let v = only_key(&file_with(types::HASH_ZIPMAP, b"h", &blob(&zm)));
        assert_eq!(v.encoding_name(), "hashtable");
        let Value::Hash(h) = &v else { panic!() };
        assert_eq!(h.get(b"b"), Some(long.clone()));
        let zm = build::zipmap(&[(b"a", b"1"), (b"a", b"2")], 0);
        assert!(load_all(&file_with(types::HASH_ZIPMAP, b"h", &blob(&zm))).is_err());

        // Zset ziplist (12) and old text-score zset (3).
        let zl = build::ziplist(&[Err(b"a"), Ok(1), Err(b"b"), Err(b"2.5")]);
        let v = only_key(&file_with(types::ZSET_ZIPLIST, b"z", &blob(&zl)));
        let Value::Zset(z) = &v else { panic!() };
        assert_eq!(z.score(b"b"), Some(2.5));
        let v = only_key(&file_with(types::ZSET, b"z", b"\x02\x01a\x031.5\x01b\xfe"));
        let Value::Zset(z) = &v else { panic!() };
        assert_eq!(z.score(b"a"), Some(1.5));
        assert_eq!(z.score(b"b"), Some(f64::INFINITY));
        assert!(load_all(&file_with(types::ZSET, b"z", b"\x01\x01a\xfd")).is_err());
    }

    #[test]
    fn plain_collections_pick_our_encodings() {
        // Set (type 2): all integers -> intset; small strings -> listpack.
        let v = only_key(&file_with(types::SET, b"s", b"\x02\xc0\x01\xc0\x02"));
        assert_eq!(v.encoding_name(), "intset");
        let v = only_key(&file_with(types::SET, b"s", b"\x02\xc0\x01\x01a"));
        assert_eq!(v.encoding_name(), "listpack");
        assert!(load_all(&file_with(types::SET, b"s", b"\x02\x01a\x01a")).is_err());
        // An integer met again after the intset became a listpack.
        assert!(load_all(&file_with(types::SET, b"s", b"\x03\xc0\x01\x01a\xc0\x01")).is_err());
        assert!(load_all(&file_with(types::SET, b"s", b"\x03\xc0\x01\x01a\x011")).is_err());
        assert!(load_all(&file_with(types::SET, b"s", b"\x02\xc0\x01\xc0\x01")).is_err());
        // Hash (type 4) with a long value -> hashtable; duplicates refused.
        let mut body = b"\x01\x01f".to_vec();
        body.extend(blob(&[b'v'; 65]));
        assert_eq!(
            only_key(&file_with(types::HASH, b"h", &body)).encoding_name(),
            "hashtable"
        );
        assert!(load_all(&file_with(types::HASH, b"h", b"\x02\x01f\x01v\x01f\x01w")).is_err());
        // Zset 2 with a NaN score.
        let mut body = b"\x01\x01m".to_vec();
        body.extend_from_slice(&f64::NAN.to_le_bytes());
        let e = load_all(&file_with(types::ZSET_2, b"z", &body)).unwrap_err();
        assert_eq!(e.reason, "Zset with NAN score detected");
        // Empty collections are skipped keys, not errors.
        let items = load_all(&file_with(types::SET, b"s", b"\x00")).unwrap();
        assert!(matches!(items.last(), Some(Item::EmptyKey { key, .. }) if key == b"s"));
    }

    #[test]
    fn unsupported_types_say_so() {
        let e = load_all(&file_with(types::STREAM_LISTPACKS, b"x", b"\x00")).unwrap_err();
        assert_eq!(e.reason, "stream values are not supported");
        // A module id naming type "mymodule1" (encver 3).
        let mut id = 0u64;
        for c in b"mymodule1" {
            let cset = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            id = (id << 6) | cset.iter().position(|x| x == c).unwrap() as u64;
        }
        id = (id << 10) | 3;
        let mut body = vec![0x81];
        body.extend_from_slice(&id.to_be_bytes());
        let e = load_all(&file_with(types::MODULE_2, b"x", &body)).unwrap_err();
        assert_eq!(
            e.reason,
            "The RDB file contains module data I can't load: no matching module type 'mymodule1'"
        );
        let mut f = b"REDIS0010\xf7".to_vec();
        f.extend_from_slice(&body);
        let e = load_all(&f).unwrap_err();
        assert_eq!(
            e.reason,
            "The RDB file contains AUX module data I can't load: no matching module 'mymodule1'"
        );
        let e = load_all(&file_with(24, b"x", b"\x00")).unwrap_err();
        assert!(e.reason.contains("7.4"));
        let mut f = b"REDIS0010\xf5\x0bhello world".to_vec();
        f.extend_from_slice(b"\xf6\x03lib\x03LUA\x01\x04desc\x04code\xff");
        f.extend_from_slice(&0u64.to_le_bytes());
        let items = load_all(&f).unwrap();
        let code: Vec<&[u8]> = items
            .iter()
            .map(|i| match i {
                Item::Function { code } => &code[..],
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(code, [&b"hello world"[..], b"#!LUA name=lib\ncode"]);
    }

    #[test]
    fn lengths_beyond_the_input_allocate_nothing() {
        // A set claiming 2^32 members, a string claiming 4 GiB, an LZF blob
        // claiming to inflate hugely: refused before reserving anything.
        assert!(load_all(&file_with(types::SET, b"s", b"\x80\xff\xff\xff\xff")).is_err());
        assert!(load_all(&file_with(types::STRING, b"s", b"\x80\xff\xff\xff\xff")).is_err());
        assert!(load_all(&file_with(
            types::STRING,
            b"s",
            b"\xc3\x01\x80\xff\xff\xff\xff\x00"
        ))
        .is_err());
    }

    #[test]
    fn dump_payloads_decode_and_refuse_corruption() {
        let (t, names) = populated();
        for (k, _) in &names {
            let v = &t.server.dbs[0].peek(k.as_bytes()).unwrap().value;
            let p = dump_payload(v, EncodeOpts::default());
            let back = decode_dump_payload(&p, &limits_of(&t), &mut rng(), true, &mut 0).unwrap();
            assert_eq!(back.encoding_name(), v.encoding_name(), "{k}");
            assert_eq!(digest(&back), digest(v), "{k}");
            let mut bad = p.clone();
            bad[0] ^= 0x40;
            assert_eq!(
                decode_dump_payload(&bad, &limits(), &mut rng(), true, &mut 0).unwrap_err(),
                DumpError::VersionOrChecksum
            );
            // With checksums off a corrupt body is a format error or a value, never
            // a panic.
            for i in 0..p.len().min(200) {
                let mut bad = p.clone();
                bad[i] = bad[i].wrapping_add(0x51);
                let _ = decode_dump_payload(&bad, &limits(), &mut rng(), false, &mut 0);
            }
        }
        let mut p = b"\x00\x01a\x0b\x00".to_vec();
        let crc = crc64::checksum(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            decode_dump_payload(&p, &limits(), &mut rng(), true, &mut 0).unwrap_err(),
            DumpError::VersionOrChecksum
        );
        assert_eq!(
            decode_dump_payload(b"short", &limits(), &mut rng(), true, &mut 0).unwrap_err(),
            DumpError::VersionOrChecksum
        );
    }
}
