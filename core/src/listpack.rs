//! Listpack: Redis's compact sequence of strings and integers in one byte buffer, the
//! small encoding of lists, hashes, sets and sorted sets and the node format of
//! quicklists. The bytes are exactly Redis's (listpack.c), so RDB files can carry them
//! as they are.
//!
//! Layout: `<total-bytes u32 LE> <num-elements u16 LE> <entry>* <0xFF>`. An entry is an
//! encoding byte (with data) followed by its "backlen", the length of encoding+data
//! written so it can be read backwards from the entry's last byte. Strings that parse
//! as canonical integers (`string2ll`) are stored as integers, in the smallest of
//! Redis's integer encodings.

use crate::util::parse_i64;
use std::borrow::Cow;

const HEADER_SIZE: usize = 6;
const EOF: u8 = 0xFF;
/// The element count field saturates here; the real count is then found by walking.
const NUMELE_UNKNOWN: usize = u16::MAX as usize;
/// Redis refuses to grow a listpack past this (lpSafeToAdd), converting the value to
/// its big encoding instead.
pub const MAX_SAFETY_SIZE: usize = 1 << 30;

/// The usable size jemalloc (Redis's allocator) hands out for a request of `n`
/// bytes: 8, multiples of 16 up to 128, then four classes per doubling. Buffers grow
/// and shrink in these steps, so a listpack holds what Redis's would, without the
/// up-to-2x slack of doubling growth, and still reallocates only now and then.
pub fn alloc_size_class(n: usize) -> usize {
    if n <= 8 {
        return if n == 0 { 0 } else { 8 };
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let log2 = usize::BITS - 1 - (n - 1).leading_zeros();
    let spacing = 1usize << (log2 - 2);
    n.div_ceil(spacing).saturating_mul(spacing)
}

/// One entry as stored: listpack keeps integer-looking strings as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpEntry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpEntry<'_> {
    /// The entry's string form.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().into_owned()
    }

    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            LpEntry::Int(n) => Cow::Owned(n.to_string().into_bytes()),
            LpEntry::Str(s) => Cow::Borrowed(s),
        }
    }

    /// Does the entry hold exactly `other`? An integer entry equals only the canonical
    /// spelling of its number, which is the only spelling stored as an integer.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match self {
            LpEntry::Int(n) => parse_i64(other) == Some(*n),
            LpEntry::Str(s) => *s == other,
        }
    }

    /// The entry as an integer: integer entries, or strings `string2ll` accepts.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            LpEntry::Int(n) => Some(*n),
            LpEntry::Str(s) => parse_i64(s),
        }
    }
}

/// A listpack. `count` mirrors the number of entries, which the header can only hold
/// up to 65534.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Listpack {
    fn default() -> Self {
        Listpack::new()
    }
}

/// How an entry's value is written.
enum Encoded<'a> {
    Int(i64),
    Str(&'a [u8]),
}

fn classify(value: &[u8]) -> Encoded<'_> {
    match parse_i64(value) {
        Some(n) => Encoded::Int(n),
        None => Encoded::Str(value),
    }
}

/// Bytes of encoding+data for an integer.
fn int_len(v: i64) -> usize {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

fn str_header_len(len: usize) -> usize {
    if len < 64 {
        1
    } else if len < 4096 {
        2
    } else {
        5
    }
}

fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// Append an entry (encoding, data and backlen) for `value` to `out`.
fn encode_entry(out: &mut Vec<u8>, value: Encoded<'_>) {
    let start = out.len();
    match value {
        Encoded::Int(v) => match int_len(v) {
            1 => out.push(v as u8),
            2 => {
                let u = (v as u64) & 0x1FFF;
                out.push(0xC0 | (u >> 8) as u8);
                out.push(u as u8);
            }
            3 => {
                out.push(0xF1);
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            4 => {
                out.push(0xF2);
                out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            5 => {
                out.push(0xF3);
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                out.push(0xF4);
                out.extend_from_slice(&v.to_le_bytes());
            }
        },
        Encoded::Str(s) => {
            let len = s.len();
            if len < 64 {
                out.push(0x80 | len as u8);
            } else if len < 4096 {
                out.push(0xE0 | (len >> 8) as u8);
                out.push(len as u8);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(s);
        }
    }
    let l = out.len() - start;
    match backlen_size(l) {
        1 => out.push(l as u8),
        2 => out.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
        3 => out.extend_from_slice(&[
            (l >> 14) as u8,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        4 => out.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        _ => out.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
    }
}

/// The length of encoding+data of the entry starting with `p[0]`, or None if the
/// bytes are too short for what the encoding byte announces.
fn entry_body_len(p: &[u8]) -> Option<usize> {
    let b = *p.first()?;
    let len = if b & 0x80 == 0 {
        1
    } else if b & 0xC0 == 0x80 {
        1 + (b & 0x3F) as usize
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        2 + ((((b & 0x0F) as usize) << 8) | *p.get(1)? as usize)
    } else {
        match b {
            0xF0 => 5 + u32::from_le_bytes(p.get(1..5)?.try_into().ok()?) as usize,
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            _ => return None,
        }
    };
    (len <= p.len()).then_some(len)
}

/// Decode the entry body at the start of `p` (already bounds-checked).
fn decode_body(p: &[u8]) -> LpEntry<'_> {
    let b = p[0];
    if b & 0x80 == 0 {
        LpEntry::Int(b as i64)
    } else if b & 0xC0 == 0x80 {
        let len = (b & 0x3F) as usize;
        LpEntry::Str(&p[1..1 + len])
    } else if b & 0xE0 == 0xC0 {
        let u = (((b & 0x1F) as u16) << 8) | p[1] as u16;
        // Sign-extend 13 bits.
        LpEntry::Int(((u << 3) as i16 >> 3) as i64)
    } else if b & 0xF0 == 0xE0 {
        let len = (((b & 0x0F) as usize) << 8) | p[1] as usize;
        LpEntry::Str(&p[2..2 + len])
    } else {
        match b {
            0xF0 => {
                let len = u32::from_le_bytes(p[1..5].try_into().unwrap()) as usize;
                LpEntry::Str(&p[5..5 + len])
            }
            0xF1 => LpEntry::Int(i16::from_le_bytes([p[1], p[2]]) as i64),
            0xF2 => {
                let u = u32::from_le_bytes([0, p[1], p[2], p[3]]);
                LpEntry::Int((u as i32 >> 8) as i64)
            }
            0xF3 => LpEntry::Int(i32::from_le_bytes(p[1..5].try_into().unwrap()) as i64),
            0xF4 => LpEntry::Int(i64::from_le_bytes(p[1..9].try_into().unwrap())),
            _ => unreachable!("entry_body_len accepted encoding byte {b:#x}"),
        }
    }
}

/// Read a backlen whose last byte is at `end - 1`: (value, bytes it took).
fn decode_backlen(buf: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut val = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        if i <= HEADER_SIZE || shift > 28 {
            return None;
        }
        i -= 1;
        let b = buf[i];
        val |= ((b & 127) as usize) << shift;
        shift += 7;
        if b & 128 == 0 {
            return Some((val, end - i));
        }
    }
}

impl Listpack {
    pub fn new() -> Listpack {
        let mut buf = Vec::with_capacity(HEADER_SIZE + 1);
        buf.extend_from_slice(&((HEADER_SIZE + 1) as u32).to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(EOF);
        Listpack { buf, count: 0 }
    }

    /// Adopt bytes from outside (an RDB file), checking every entry the way Redis's
    /// deep integrity validation does. The error names the offset and the reason.
    pub fn from_bytes(buf: Vec<u8>) -> Result<Listpack, String> {
        if buf.len() < HEADER_SIZE + 1 {
            return Err(format!(
                "listpack of {} bytes is shorter than its header",
                buf.len()
            ));
        }
        let total = u32::from_le_bytes(buf[0..4].try_into().unwrap()) as usize;
        if total != buf.len() {
            return Err(format!(
                "listpack header says {total} bytes but {} were given",
                buf.len()
            ));
        }
        if buf[buf.len() - 1] != EOF {
            return Err(format!(
                "listpack does not end with 0xFF at offset {}",
                buf.len() - 1
            ));
        }
        let header_count = u16::from_le_bytes([buf[4], buf[5]]) as usize;
        let mut p = HEADER_SIZE;
        let mut count = 0usize;
        let end = buf.len() - 1;
        while p < end {
            let body = entry_body_len(&buf[p..end]).ok_or_else(|| {
                format!("listpack entry at offset {p} has a bad encoding or overruns")
            })?;
            let back = backlen_size(body);
            if p + body + back > end {
                return Err(format!("listpack entry at offset {p} overruns the buffer"));
            }
            match decode_backlen(&buf, p + body + back) {
                Some((v, n)) if v == body && n == back => {}
                _ => {
                    return Err(format!(
                        "listpack entry at offset {p} has a wrong back length"
                    ))
                }
            }
            p += body + back;
            count += 1;
        }
        if header_count != NUMELE_UNKNOWN && header_count != count {
            return Err(format!(
                "listpack header counts {header_count} entries but holds {count}"
            ));
        }
        Ok(Listpack { buf, count })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Adopt bytes this process wrote itself (a quicklist node coming back from
    /// LZF), whose entry count is known; checked in full only in debug builds.
    pub fn from_trusted_bytes(buf: Vec<u8>, count: usize) -> Listpack {
        assert!(buf.len() > HEADER_SIZE && buf[buf.len() - 1] == EOF);
        debug_assert_eq!(
            Listpack::from_bytes(buf.clone()).map(|lp| lp.count),
            Ok(count)
        );
        Listpack { buf, count }
    }

    /// lpRepr's dump of every entry (DEBUG LISTPACK). Redis prints each entry's
    /// address; there is no address here, so `addr` shows its offset.
    pub fn repr(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{{total bytes {}}} {{num entries {}}}\n",
            self.buf.len(),
            self.count
        );
        let mut p = HEADER_SIZE;
        let mut index = 0;
        while p < self.end_offset() {
            let body = entry_body_len(&self.buf[p..]).expect("listpack entries are valid");
            let back = backlen_size(body);
            let b = self.buf[p];
            let hdr = if b & 0xF0 == 0xE0 {
                2
            } else if b == 0xF0 {
                5
            } else {
                1
            };
            let _ = write!(
                out,
                "{{\n\taddr: 0x{:08x},\n\tindex: {:2},\n\toffset: {:1},\n\thdr+entrylen+backlen: {:2},\n\thdrlen: {:3},\n\tbacklen: {:2},\n\tpayload: {:1}\n\tbytes: ",
                p,
                index,
                p,
                body + back,
                hdr,
                back,
                body - hdr
            );
            for byte in &self.buf[p..p + body + back] {
                let _ = write!(out, "{byte:02x}|");
            }
            let value = self.entry_at(p).to_vec();
            out.push_str("\n\t[str]");
            if value.len() > 40 {
                out.push_str(&String::from_utf8_lossy(&value[..40]));
                out.push_str("...");
            } else {
                out.push_str(&String::from_utf8_lossy(&value));
            }
            out.push_str("\n}\n");
            index += 1;
            p += body + back;
        }
        out.push_str("{end}\n\n");
        out
    }

    /// Total bytes (lpBytes).
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes an entry holding `value` would take.
    pub fn entry_size(value: &[u8]) -> usize {
        let body = match classify(value) {
            Encoded::Int(v) => int_len(v),
            Encoded::Str(s) => str_header_len(s.len()) + s.len(),
        };
        body + backlen_size(body)
    }

    /// lpSafeToAdd: would adding `add` bytes keep the listpack under 1 GiB.
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.buf.len() + add <= MAX_SAFETY_SIZE
    }

    fn end_offset(&self) -> usize {
        self.buf.len() - 1
    }

    /// Offset of the entry after the one at `p` (the EOF offset after the last).
    fn next_offset(&self, p: usize) -> usize {
        debug_assert!(p < self.end_offset());
        let body = entry_body_len(&self.buf[p..]).expect("listpack entries are valid");
        p + body + backlen_size(body)
    }

    /// Offset of the entry before the one at `p` (`p` may be the EOF offset).
    fn prev_offset(&self, p: usize) -> usize {
        debug_assert!(p > HEADER_SIZE);
        let (body, n) = decode_backlen(&self.buf, p).expect("listpack entries are valid");
        p - n - body
    }

    fn entry_at(&self, p: usize) -> LpEntry<'_> {
        decode_body(&self.buf[p..])
    }

    /// Offset of entry `index` (or the EOF offset when `index == len`), walking from
    /// the nearer end.
    fn offset_of(&self, index: usize) -> usize {
        assert!(
            index <= self.count,
            "listpack index {index} out of {}",
            self.count
        );
        if index <= self.count / 2 {
            let mut p = HEADER_SIZE;
            for _ in 0..index {
                p = self.next_offset(p);
            }
            p
        } else {
            let mut p = self.end_offset();
            for _ in index..self.count {
                p = self.prev_offset(p);
            }
            p
        }
    }

    /// Make room for `extra` more bytes, growing to the next size class only.
    fn reserve_classed(&mut self, extra: usize) {
        let needed = self.buf.len() + extra;
        if needed > self.buf.capacity() {
            self.buf
                .reserve_exact(alloc_size_class(needed) - self.buf.len());
        }
    }

    /// After removals, give back capacity once it is well past the size class of
    /// what is left (the margin keeps push/pop at a class edge from reallocating).
    fn shrink_classed(&mut self) {
        let class = alloc_size_class(self.buf.len());
        if self.buf.capacity() > class + class / 2 {
            self.buf.shrink_to(class);
        }
    }

    fn write_header(&mut self) {
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = self.count.min(NUMELE_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
    }

    pub fn get(&self, index: usize) -> Option<LpEntry<'_>> {
        (index < self.count).then(|| self.entry_at(self.offset_of(index)))
    }

    pub fn first(&self) -> Option<LpEntry<'_>> {
        self.get(0)
    }

    pub fn last(&self) -> Option<LpEntry<'_>> {
        (self.count > 0).then(|| self.entry_at(self.prev_offset(self.end_offset())))
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            lp: self,
            front: HEADER_SIZE,
            back: self.end_offset(),
            remaining: self.count,
        }
    }

    /// Iterate from entry `index` to the end.
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        let index = index.min(self.count);
        Iter {
            lp: self,
            front: self.offset_of(index),
            back: self.end_offset(),
            remaining: self.count - index,
        }
    }

    fn insert_encoded(&mut self, offset: usize, value: Encoded<'_>) {
        let body = match value {
            Encoded::Int(v) => int_len(v),
            Encoded::Str(s) => str_header_len(s.len()) + s.len(),
        };
        self.reserve_classed(body + backlen_size(body));
        if offset == self.end_offset() {
            // Appending: encode in place instead of splicing a copy.
            self.buf.pop();
            encode_entry(&mut self.buf, value);
            self.buf.push(EOF);
        } else {
            let mut entry = Vec::with_capacity(body + 5);
            encode_entry(&mut entry, value);
            self.buf.splice(offset..offset, entry);
        }
        self.count += 1;
        self.write_header();
    }

    /// Append a copy of an entry read from another listpack, keeping its encoding.
    pub fn push_back_entry(&mut self, entry: LpEntry<'_>) {
        let end = self.end_offset();
        match entry {
            LpEntry::Int(v) => self.insert_encoded(end, Encoded::Int(v)),
            LpEntry::Str(s) => self.insert_encoded(end, Encoded::Str(s)),
        }
    }

    /// Append every entry of `other` (Redis's lpMerge keeps the same bytes: the
    /// entries of both, in order, under one header).
    pub fn append(&mut self, other: &Listpack) {
        let entries = &other.buf[HEADER_SIZE..other.buf.len() - 1];
        self.reserve_classed(entries.len());
        self.buf.pop();
        self.buf.extend_from_slice(entries);
        self.buf.push(EOF);
        self.count += other.count;
        self.write_header();
    }

    /// Keep only the entries `keep(index, entry)` accepts, in one pass that copies
    /// the kept entries' bytes. Returns how many were removed.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, LpEntry<'_>) -> bool) -> usize {
        let mut out: Option<Vec<u8>> = None;
        let mut kept = 0usize;
        let mut p = HEADER_SIZE;
        let end = self.end_offset();
        let mut index = 0usize;
        while p < end {
            let next = self.next_offset(p);
            if keep(index, self.entry_at(p)) {
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(&self.buf[p..next]);
                }
                kept += 1;
            } else if out.is_none() {
                // The first removal: copy what was kept so far and go on copying.
                let mut o = Vec::with_capacity(alloc_size_class(self.buf.len()));
                o.extend_from_slice(&self.buf[..p]);
                out = Some(o);
            }
            p = next;
            index += 1;
        }
        debug_assert_eq!(index, self.count);
        let Some(mut o) = out else {
            return 0;
        };
        o.push(EOF);
        let removed = self.count - kept;
        self.buf = o;
        self.count = kept;
        self.shrink_classed();
        self.write_header();
        removed
    }

    /// Iterate over `len` entries from entry `start` (clamped to the end); the
    /// iterator runs from either end of that range.
    pub fn iter_range(&self, start: usize, len: usize) -> Iter<'_> {
        let start = start.min(self.count);
        let len = len.min(self.count - start);
        Iter {
            lp: self,
            front: self.offset_of(start),
            back: self.offset_of(start + len),
            remaining: len,
        }
    }

    pub fn push_back(&mut self, value: &[u8]) {
        let end = self.end_offset();
        self.insert_encoded(end, classify(value));
    }

    pub fn push_front(&mut self, value: &[u8]) {
        self.insert_encoded(HEADER_SIZE, classify(value));
    }

    pub fn push_back_int(&mut self, value: i64) {
        let end = self.end_offset();
        self.insert_encoded(end, Encoded::Int(value));
    }

    /// Insert before entry `index`; `index == len` appends.
    pub fn insert(&mut self, index: usize, value: &[u8]) {
        let p = self.offset_of(index);
        self.insert_encoded(p, classify(value));
    }

    pub fn replace(&mut self, index: usize, value: &[u8]) {
        assert!(
            index < self.count,
            "listpack replace {index} out of {}",
            self.count
        );
        let p = self.offset_of(index);
        let next = self.next_offset(p);
        let mut entry = Vec::with_capacity(16);
        encode_entry(&mut entry, classify(value));
        self.reserve_classed(entry.len().saturating_sub(next - p));
        self.buf.splice(p..next, entry);
        self.shrink_classed();
        self.write_header();
    }

    /// Remove `count` entries starting at `index` (clamped to the end).
    pub fn remove_range(&mut self, index: usize, count: usize) {
        if index >= self.count || count == 0 {
            return;
        }
        let count = count.min(self.count - index);
        let start = self.offset_of(index);
        let mut end = start;
        for _ in 0..count {
            end = self.next_offset(end);
        }
        self.buf.drain(start..end);
        self.shrink_classed();
        self.count -= count;
        self.write_header();
    }

    /// First index >= `start` whose entry equals `value`, looking only at every
    /// (skip+1)-th entry from `start` (hash fields and zset members: skip = 1).
    pub fn find(&self, value: &[u8], start: usize, skip: usize) -> Option<usize> {
        if start >= self.count {
            return None;
        }
        let wanted = classify(value);
        let mut p = self.offset_of(start);
        let mut index = start;
        while index < self.count {
            let hit = match (&wanted, self.entry_at(p)) {
                (Encoded::Int(a), LpEntry::Int(b)) => *a == b,
                (Encoded::Str(a), LpEntry::Str(b)) => *a == b,
                _ => false,
            };
            if hit {
                return Some(index);
            }
            for _ in 0..=skip {
                if index >= self.count {
                    break;
                }
                p = self.next_offset(p);
                index += 1;
            }
        }
        None
    }
}

/// Entries in order, from either end.
pub struct Iter<'a> {
    lp: &'a Listpack,
    front: usize,
    back: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let entry = self.lp.entry_at(self.front);
        self.front = self.lp.next_offset(self.front);
        self.remaining -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.back = self.lp.prev_offset(self.back);
        self.remaining -= 1;
        Some(self.lp.entry_at(self.back))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lp: &Listpack) -> Vec<Vec<u8>> {
        lp.iter().map(|e| e.to_vec()).collect()
    }

    #[test]
    fn bytes_match_redis_encodings() {
        let mut lp = Listpack::new();
        assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xFF]);
        lp.push_back(b"a");
        lp.push_back(b"5");
        lp.push_back(b"-1");
        // "a": 0x81 'a' backlen 2; 5: 0x05 backlen 1; -1: 13-bit 0xDF 0xFF backlen 2.
        assert_eq!(
            lp.as_bytes(),
            &[15, 0, 0, 0, 3, 0, 0x81, b'a', 2, 0x05, 1, 0xDF, 0xFF, 2, 0xFF]
        );
        // The listpack redis-server 7.0 DUMPs for `HSET h a 5 x -1`.
        let mut h = Listpack::new();
        for v in ["a", "5", "x", "-1"] {
            h.push_back(v.as_bytes());
        }
        assert_eq!(
            h.as_bytes(),
            b"\x12\x00\x00\x00\x04\x00\x81a\x02\x05\x01\x81x\x02\xdf\xff\x02\xff"
        );
        let mut lp = Listpack::new();
        lp.push_back(b"1000");
        lp.push_back(b"100000");
        lp.push_back(b"10000000");
        lp.push_back(b"10000000000");
        let e: Vec<_> = lp.iter().collect();
        assert_eq!(
            e,
            vec![
                LpEntry::Int(1000),
                LpEntry::Int(100_000),
                LpEntry::Int(10_000_000),
                LpEntry::Int(10_000_000_000)
            ]
        );
        // 1000 -> 13-bit; 100000 -> 24-bit; 10^7 -> 32-bit; 10^10 -> 64-bit, the same
        // bytes redis-server DUMPs for these values (c3e8, f2a08601, f3 80969800, f4 ...).
        assert_eq!(&lp.as_bytes()[6..9], &[0xC3, 0xE8, 2]);
        assert_eq!(&lp.as_bytes()[9..14], &[0xF2, 0xA0, 0x86, 0x01, 4]);
        assert_eq!(&lp.as_bytes()[14..20], &[0xF3, 0x80, 0x96, 0x98, 0x00, 5]);
        assert_eq!(lp.bytes_len(), 6 + 3 + 5 + 6 + 10 + 1);
    }

    #[test]
    fn integer_boundaries_round_trip() {
        let values: [i64; 16] = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            -4097,
            4096,
            -32768,
            32767,
            -8_388_608,
            8_388_607,
            i32::MIN as i64,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ];
        let mut lp = Listpack::new();
        for v in values {
            lp.push_back(v.to_string().as_bytes());
        }
        let got: Vec<i64> = lp.iter().map(|e| e.as_i64().unwrap()).collect();
        assert_eq!(got, values);
        let back: Vec<i64> = lp.iter().rev().map(|e| e.as_i64().unwrap()).collect();
        assert_eq!(back, values.iter().rev().copied().collect::<Vec<_>>());
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_ok());
        // Non-canonical spellings stay strings.
        let mut lp = Listpack::new();
        lp.push_back(b"007");
        lp.push_back(b"+1");
        lp.push_back(b"-0");
        assert!(lp.iter().all(|e| matches!(e, LpEntry::Str(_))));
        assert!(lp.get(0).unwrap().eq_bytes(b"007"));
    }

    #[test]
    fn long_strings_and_backlens() {
        let mut lp = Listpack::new();
        let sizes = [0usize, 63, 64, 4095, 4096, 20_000, 3_000_000];
        for (i, n) in sizes.iter().enumerate() {
            lp.push_back(&vec![b'a' + i as u8; *n]);
        }
        for (i, n) in sizes.iter().enumerate() {
            assert_eq!(lp.get(i).unwrap().to_vec(), vec![b'a' + i as u8; *n]);
            assert_eq!(
                Listpack::entry_size(&vec![b'x'; *n]),
                {
                    let mut one = Listpack::new();
                    one.push_back(&vec![b'x'; *n]);
                    one.bytes_len() - 7
                },
                "entry_size for {n}"
            );
        }
        let rev: Vec<usize> = lp.iter().rev().map(|e| e.to_vec().len()).collect();
        assert_eq!(rev, sizes.iter().rev().copied().collect::<Vec<_>>());
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_ok());
    }

    #[test]
    fn insert_replace_remove_find() {
        let mut lp = Listpack::new();
        for v in ["f1", "v1", "f2", "2", "f3", "v3"] {
            lp.push_back(v.as_bytes());
        }
        assert_eq!(lp.find(b"f2", 0, 1), Some(2));
        assert_eq!(lp.find(b"2", 0, 1), None, "values are skipped");
        assert_eq!(lp.find(b"2", 1, 1), Some(3));
        assert_eq!(lp.find(b"v3", 0, 0), Some(5));
        lp.replace(3, b"a much longer value than before");
        lp.insert(0, b"head");
        lp.push_front(b"first");
        lp.insert(lp.len(), b"tail");
        assert_eq!(
            strings(&lp),
            [
                "first",
                "head",
                "f1",
                "v1",
                "f2",
                "a much longer value than before",
                "f3",
                "v3",
                "tail"
            ]
            .map(|s| s.as_bytes().to_vec())
        );
        lp.remove_range(1, 2);
        lp.remove_range(5, 100);
        assert_eq!(
            strings(&lp),
            ["first", "v1", "f2", "a much longer value than before", "f3"]
                .map(|s| s.as_bytes().to_vec())
        );
        assert_eq!(lp.last().unwrap().to_vec(), b"f3");
        assert_eq!(lp.iter_from(3).count(), 2);
        let again = Listpack::from_bytes(lp.as_bytes().to_vec()).unwrap();
        assert_eq!(again, lp);
    }

    #[test]
    fn size_classes_are_jemallocs() {
        let classes: Vec<usize> = [0, 1, 8, 9, 16, 17, 128, 129, 160, 161, 256, 257, 8192, 8193]
            .iter()
            .map(|&n| alloc_size_class(n))
            .collect();
        assert_eq!(
            classes,
            [0, 8, 8, 16, 16, 32, 128, 160, 160, 192, 256, 320, 8192, 10240]
        );
        for n in 1..100_000 {
            let c = alloc_size_class(n);
            assert!(c >= n && c <= n + n / 4 + 16, "class {c} for {n}");
        }
    }

    #[test]
    fn capacity_follows_size_classes() {
        let mut lp = Listpack::new();
        for i in 0..700 {
            lp.push_front(format!("element-{i}").as_bytes());
            assert!(lp.buf.capacity() <= alloc_size_class(lp.bytes_len()));
        }
        lp.remove_range(0, 650);
        let class = alloc_size_class(lp.bytes_len());
        assert!(lp.buf.capacity() <= class + class / 2);
    }

    #[test]
    fn append_retain_and_ranges() {
        let mut a = Listpack::new();
        let mut b = Listpack::new();
        for v in ["x", "1", "yy"] {
            a.push_back(v.as_bytes());
        }
        for v in ["-5", "zzz", &"w".repeat(100)] {
            b.push_back(v.as_bytes());
        }
        let mut both = a.clone();
        both.append(&b);
        let mut pushed = Listpack::new();
        for e in a.iter().chain(b.iter()) {
            pushed.push_back_entry(e);
        }
        assert_eq!(both, pushed);
        assert_eq!(
            Listpack::from_bytes(both.as_bytes().to_vec()).unwrap(),
            both
        );
        let mid: Vec<Vec<u8>> = both.iter_range(2, 3).map(|e| e.to_vec()).collect();
        assert_eq!(mid, [&b"yy"[..], b"-5", b"zzz"]);
        let back: Vec<Vec<u8>> = both.iter_range(4, 10).rev().map(|e| e.to_vec()).collect();
        assert_eq!(back, [vec![b'w'; 100], b"zzz".to_vec()]);
        assert_eq!(both.iter_range(6, 3).count(), 0);
        let mut kept = both.clone();
        assert_eq!(kept.retain(|i, e| i != 0 && !e.eq_bytes(b"-5")), 2);
        assert_eq!(
            strings(&kept),
            [
                b"1".to_vec(),
                b"yy".to_vec(),
                b"zzz".to_vec(),
                vec![b'w'; 100]
            ]
        );
        assert_eq!(
            Listpack::from_bytes(kept.as_bytes().to_vec()).unwrap(),
            kept
        );
        assert_eq!(kept.retain(|_, _| true), 0);
        assert_eq!(kept.retain(|_, _| false), 4);
        assert_eq!(kept, Listpack::new());
    }

    #[test]
    fn header_count_saturates() {
        let mut lp = Listpack::new();
        for i in 0..70_000 {
            lp.push_back_int(i);
        }
        assert_eq!(lp.len(), 70_000);
        assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
        assert_eq!(lp.get(69_999), Some(LpEntry::Int(69_999)));
        let parsed = Listpack::from_bytes(lp.as_bytes().to_vec()).unwrap();
        assert_eq!(parsed.len(), 70_000);
        lp.remove_range(0, 10_000);
        assert_eq!(
            u16::from_le_bytes([lp.as_bytes()[4], lp.as_bytes()[5]]),
            60_000
        );
    }

    #[test]
    fn corrupt_input_is_refused_with_offsets() {
        let mut lp = Listpack::new();
        lp.push_back(b"hello");
        let good = lp.as_bytes().to_vec();
        let mut bad = good.clone();
        bad[6] = 0x8A; // claims 10 bytes of string
        assert!(Listpack::from_bytes(bad).unwrap_err().contains("offset 6"));
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 2] = 9; // wrong backlen
        assert!(Listpack::from_bytes(bad)
            .unwrap_err()
            .contains("back length"));
        let mut bad = good.clone();
        bad[0] = 99;
        assert!(Listpack::from_bytes(bad).is_err());
        let mut bad = good;
        bad[4] = 2;
        assert!(Listpack::from_bytes(bad).unwrap_err().contains("counts 2"));
        assert!(Listpack::from_bytes(vec![1, 2]).is_err());
    }
}
