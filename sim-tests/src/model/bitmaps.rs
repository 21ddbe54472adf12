//! Bitmaps, as Redis 7.0's `bitops.c`: SETBIT, GETBIT, BITCOUNT and BITPOS (byte and
//! bit ranges) and BITOP (AND, OR, XOR, NOT). A bitmap is a string; bit 0 is the
//! most significant bit of the first byte. SETBIT grows the string with zero bytes
//! and leaves it `raw` (an `int` string is unshared as its decimal text first);
//! BITOP stores a `raw` string without a TTL, or deletes the destination when every
//! source is empty. BITPOS follows the C code's walk (first byte, middle, last
//! byte) so that its corner cases (a clear bit looked for past an explicit end) come
//! out as Redis's.
//!
//! BITFIELD and BITFIELD_RO follow `bitfieldGeneric`: every subcommand is parsed
//! (and its errors replied) before the key is looked up; a write subcommand makes
//! the key a zero-padded `raw` string up to the farthest bit written even when
//! every write fails under OVERFLOW FAIL, and only a change signals the key.

use super::{done, fail, int_arg, is, Entry, Eval, View};
use crate::model::value::{Str, Value};
use crate::resp;

pub(crate) const COMMANDS: &[&str] = &[
    "setbit",
    "getbit",
    "bitcount",
    "bitpos",
    "bitop",
    "bitfield",
    "bitfield_ro",
];

/// 512 MB of bits.
const BITS_MAX: i64 = 512 * 1024 * 1024 * 8;

fn offset_arg(raw: &[u8]) -> Result<usize, super::Stop> {
    match crate::numbers::parse_i64_strict(raw) {
        Some(n) if (0..BITS_MAX).contains(&n) => Ok(n as usize),
        _ => fail(resp::err("bit offset is not an integer or out of range")),
    }
}

fn bit_at(s: &[u8], offset: usize) -> u8 {
    s.get(offset >> 3)
        .map_or(0, |b| (b >> (7 - (offset & 7))) & 1)
}

/// redisBitpos: the first `bit` in `bytes`; not found: -1 for a set bit, the
/// length in bits for a clear one (the string is zero padded).
fn first_bit(bytes: &[u8], bit: u8) -> i64 {
    for (i, b) in bytes.iter().enumerate() {
        for j in 0..8 {
            if (b >> (7 - j)) & 1 == bit {
                return (i * 8 + j) as i64;
            }
        }
    }
    if bit == 1 {
        -1
    } else {
        bytes.len() as i64 * 8
    }
}

/// The byte range and edge masks of BITCOUNT/BITPOS after Redis's conversions.
struct Range {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn range(len: usize, mut start: i64, mut end: i64, isbit: bool) -> Range {
    let mut totlen = len as i64;
    if isbit {
        totlen <<= 3;
    }
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if isbit && start <= end {
        first_mask = (!((1u32 << (8 - (start & 7))) - 1) & 0xff) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range {
        start,
        end,
        first_mask,
        last_mask,
    }
}

fn unit(arg: &[u8]) -> Result<bool, super::Stop> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        fail(super::err_syntax())
    }
}

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    match name {
        "setbit" => {
            let offset = offset_arg(&req[2])?;
            let on = match req[3].as_slice() {
                b"0" => false,
                b"1" => true,
                _ => return fail(resp::err("bit is not an integer or out of range")),
            };
            let mut s = v.get_str(key)?.unwrap_or_default();
            let byte = offset >> 3;
            if s.len() < byte + 1 {
                s.resize(byte + 1, 0);
            }
            let old = bit_at(&s, offset);
            let mask = 1u8 << (7 - (offset & 7));
            if on {
                s[byte] |= mask;
            } else {
                s[byte] &= !mask;
            }
            match v.lookup(key) {
                Some(Entry {
                    value: Value::Str(x),
                    ..
                }) => *x = Str::raw(s),
                _ => v.set_value(key, Value::Str(Str::raw(s))),
            }
            done(resp::int(old as i64))
        }
        "getbit" => {
            let offset = offset_arg(&req[2])?;
            let s = v.get_str(key)?.unwrap_or_default();
            done(resp::int(bit_at(&s, offset) as i64))
        }
        "bitcount" => {
            let Some(s) = v.get_str(key)? else {
                return done(resp::int(0));
            };
            let r = match req.len() {
                4 | 5 => {
                    let start = int_arg(&req[2])?;
                    let end = int_arg(&req[3])?;
                    if start < 0 && end < 0 && start > end {
                        return done(resp::int(0));
                    }
                    let isbit = if req.len() == 5 {
                        unit(&req[4])?
                    } else {
                        false
                    };
                    range(s.len(), start, end, isbit)
                }
                2 => range(s.len(), 0, -1, false),
                _ => return fail(super::err_syntax()),
            };
            if r.start > r.end {
                return done(resp::int(0));
            }
            let bytes = &s[r.start as usize..=r.end as usize];
            let mut count: i64 = bytes.iter().map(|b| b.count_ones() as i64).sum();
            if r.first_mask != 0 {
                count -= (s[r.start as usize] & r.first_mask).count_ones() as i64;
            }
            if r.last_mask != 0 {
                count -= (s[r.end as usize] & r.last_mask).count_ones() as i64;
            }
            v.event("bitmaps: a bit range counted");
            done(resp::int(count))
        }
        "bitpos" => bitpos(req, v),
        "bitop" => bitop(req, v),
        "bitfield" | "bitfield_ro" => bitfield(req, v, name == "bitfield_ro"),
        _ => unreachable!("{name} is not in COMMANDS"),
    }
}

fn bitpos(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let bit = int_arg(&req[2])?;
    if bit != 0 && bit != 1 {
        return fail(resp::err("The bit argument must be 1 or 0."));
    }
    let bit = bit as u8;
    let Some(s) = v.get_str(key)? else {
        return done(resp::int(if bit == 1 { -1 } else { 0 }));
    };
    let mut end_given = false;
    let r = match req.len() {
        4..=6 => {
            let start = int_arg(&req[3])?;
            let isbit = if req.len() == 6 {
                unit(&req[5])?
            } else {
                false
            };
            let end = if req.len() >= 5 {
                end_given = true;
                int_arg(&req[4])?
            } else if isbit {
                ((s.len() as i64) << 3) + 7
            } else {
                s.len() as i64 - 1
            };
            range(s.len(), start, end, isbit)
        }
        3 => range(s.len(), 0, -1, false),
        _ => return fail(super::err_syntax()),
    };
    if r.start > r.end {
        return done(resp::int(-1));
    }
    let (mut start, end) = (r.start as usize, r.end as usize);
    let mut bytes = end - start + 1;
    let pick = |c: u8, mask: u8| if bit == 1 { c & !mask } else { c | mask };
    let mut pos;
    'result: {
        if r.first_mask != 0 {
            let mut t = pick(s[start], r.first_mask);
            if r.last_mask != 0 && bytes == 1 {
                t = pick(t, r.last_mask);
            }
            pos = first_bit(&[t], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'result;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - usize::from(r.last_mask != 0);
        if cur > 0 {
            pos = first_bit(&s[start..start + cur], bit);
            if bytes == cur || (pos != -1 && pos != (cur as i64) << 3) {
                break 'result;
            }
            start += cur;
            bytes -= cur;
        }
        pos = first_bit(&[pick(s[end], r.last_mask)], bit);
    }
    if end_given && bit == 0 && pos == (bytes as i64) << 3 {
        return done(resp::int(-1));
    }
    if pos != -1 {
        pos += (start as i64) << 3;
    }
    v.event("bitmaps: a bit position found");
    done(resp::int(pos))
}

fn bitop(req: &[Vec<u8>], v: &mut View) -> Eval {
    let op = req[1].to_ascii_lowercase();
    let op = match op.as_slice() {
        b"and" | b"or" | b"xor" | b"not" => op,
        _ => return fail(super::err_syntax()),
    };
    let sources = &req[3..];
    if op == b"not" && sources.len() != 1 {
        return fail(resp::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let mut values = Vec::with_capacity(sources.len());
    for k in sources {
        values.push(v.get_str(k)?.unwrap_or_default());
    }
    let len = values.iter().map(|x| x.len()).max().unwrap_or(0);
    let dest = req[2].as_slice();
    if len == 0 {
        v.delete(dest);
        return done(resp::int(0));
    }
    let byte = |x: &Vec<u8>, i: usize| x.get(i).copied().unwrap_or(0);
    let out: Vec<u8> = (0..len)
        .map(|i| {
            let mut it = values.iter();
            let first = byte(it.next().expect("a source"), i);
            match op.as_slice() {
                b"not" => !first,
                b"and" => it.fold(first, |a, x| a & byte(x, i)),
                b"or" => it.fold(first, |a, x| a | byte(x, i)),
                _ => it.fold(first, |a, x| a ^ byte(x, i)),
            }
        })
        .collect();
    v.event("bitmaps: BITOP stored");
    v.replaced(dest);
    v.set_value(dest, Value::Str(Str::raw(out)));
    done(resp::int(len as i64))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

struct Field {
    op: FieldOp,
    offset: u64,
    value: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`.
fn field_type(raw: &[u8]) -> Result<(bool, u32), super::Stop> {
    let msg = "Invalid bitfield type. Use something like i16 u8. \
               Note that u64 is not supported but i64 is.";
    let signed = match raw.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return fail(resp::err(msg)),
    };
    match crate::numbers::parse_i64_strict(&raw[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => fail(resp::err(msg)),
    }
}

/// getBitOffsetFromArgument with `#`: `#n` is the n-th field of this width.
fn field_offset(raw: &[u8], bits: u32) -> Result<u64, super::Stop> {
    let hash = raw.first() == Some(&b'#');
    let err = || resp::err("bit offset is not an integer or out of range");
    let Some(mut n) = crate::numbers::parse_i64_strict(&raw[usize::from(hash)..]) else {
        return fail(err());
    };
    if hash {
        n = n.wrapping_mul(bits as i64);
    }
    if n < 0 || (n >> 3) >= BITS_MAX >> 3 {
        return fail(err());
    }
    Ok(n as u64)
}

fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0u64, |v, j| {
        (v << 1) | bit_at(s, (offset + j) as usize) as u64
    })
}

fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let mut v = get_unsigned(s, offset, bits) as i64;
    if bits < 64 && v & (1i64 << (bits - 1)) != 0 {
        v |= -1i64 << bits;
    }
    v
}

fn set_field(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let bit = (value >> (bits as u64 - 1 - j)) & 1;
        let at = (offset + j) as usize;
        let mask = 1u8 << (7 - (at & 7));
        if bit == 1 {
            s[at >> 3] |= mask;
        } else {
            s[at >> 3] &= !mask;
        }
    }
}

/// checkUnsignedBitfieldOverflow: `Some(result)` when `value + incr` does not fit
/// (the wrapped or saturated value, whatever the FAIL caller does with it).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if incr < 0 && incr < minincr {
        Some(if ow == Overflow::Sat { 0 } else { wrap() })
    } else {
        None
    }
}

/// checkSignedBitfieldOverflow, with its 64-bit arithmetic wrapping as the C's
/// does (so `SET i8 0 -9223372036854775808` saturates upwards, as in Redis).
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(if ow == Overflow::Sat { min } else { wrap() })
    } else {
        None
    }
}

fn bitfield(req: &[Vec<u8>], v: &mut View, read_only: bool) -> Eval {
    let key = req[1].as_slice();
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut writes = false;
    let mut highest = 0u64;
    let mut j = 2;
    while j < req.len() {
        let rest = req.len() - j - 1;
        let sub = req[j].as_slice();
        let op = if is(sub, "get") && rest >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && rest >= 3 {
            FieldOp::Set
        } else if is(sub, "incrby") && rest >= 3 {
            FieldOp::Incrby
        } else if is(sub, "overflow") && rest >= 1 {
            let t = req[j + 1].as_slice();
            overflow = if is(t, "wrap") {
                Overflow::Wrap
            } else if is(t, "sat") {
                Overflow::Sat
            } else if is(t, "fail") {
                Overflow::Fail
            } else {
                return fail(resp::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return fail(super::err_syntax());
        };
        let (signed, bits) = field_type(&req[j + 1])?;
        let offset = field_offset(&req[j + 2], bits)?;
        let mut value = 0;
        if op != FieldOp::Get {
            writes = true;
            highest = highest.max(offset + bits as u64 - 1);
            value = int_arg(&req[j + 3])?;
        }
        fields.push(Field {
            op,
            offset,
            value,
            overflow,
            bits,
            signed,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    let mut s = if writes {
        if read_only {
            return fail(resp::err("BITFIELD_RO only supports the GET subcommand"));
        }
        // lookupStringForBitCommand: unshared as raw, grown with zero bytes.
        let mut s = v.get_str(key)?.unwrap_or_default();
        let len = (highest >> 3) as usize + 1;
        if s.len() < len {
            s.resize(len, 0);
        }
        s
    } else {
        v.get_str(key)?.unwrap_or_default()
    };
    let mut out = resp::array_header(fields.len());
    let mut changes = false;
    let mut succeeded = false;
    for f in &fields {
        if f.op == FieldOp::Get {
            // Reads past the end see zero bits.
            let end = ((f.offset + f.bits as u64 + 7) >> 3) as usize;
            let mut padded = s.clone();
            if padded.len() < end {
                padded.resize(end, 0);
            }
            let n = if f.signed {
                get_signed(&padded, f.offset, f.bits)
            } else {
                get_unsigned(&padded, f.offset, f.bits) as i64
            };
            out.extend(resp::int(n));
            continue;
        }
        // (stored bits, reply) unless the write fails.
        let result: Option<(u64, i64)> = if f.signed {
            let old = get_signed(&s, f.offset, f.bits);
            let (target, incr) = match f.op {
                FieldOp::Incrby => (old, f.value),
                _ => (f.value, 0),
            };
            match signed_overflow(target, incr, f.bits, f.overflow) {
                Some(_) if f.overflow == Overflow::Fail => None,
                over => {
                    let new = over.unwrap_or_else(|| target.wrapping_add(incr));
                    let reply = if f.op == FieldOp::Incrby { new } else { old };
                    Some((new as u64, reply))
                }
            }
        } else {
            let old = get_unsigned(&s, f.offset, f.bits);
            let (target, incr) = match f.op {
                FieldOp::Incrby => (old, f.value),
                _ => (f.value as u64, 0),
            };
            match unsigned_overflow(target, incr, f.bits, f.overflow) {
                Some(_) if f.overflow == Overflow::Fail => None,
                over => {
                    let new = over.unwrap_or_else(|| target.wrapping_add(incr as u64));
                    let reply = if f.op == FieldOp::Incrby { new } else { old };
                    Some((new, reply as i64))
                }
            }
        };
        match result {
            Some((bits_value, reply)) => {
                let before = s.clone();
                set_field(&mut s, f.offset, f.bits, bits_value);
                changes |= before != s;
                succeeded = true;
                out.extend(resp::int(reply));
            }
            None => {
                v.event("bitmaps: BITFIELD overflow failed");
                out.extend(v.p.nil());
            }
        }
    }
    if writes {
        let grew = v.get_str(key)?.is_none_or(|old| old.len() != s.len());
        if !(succeeded && (changes || grew)) {
            // No change counted (every write failed, or rewrote the same bits of a
            // string that did not grow): signalModifiedKey is not called.
            v.unsignalled(key);
        }
        v.event("bitmaps: BITFIELD wrote");
        match v.lookup(key) {
            Some(Entry {
                value: Value::Str(x),
                ..
            }) => *x = Str::raw(s),
            _ => v.set_value(key, Value::Str(Str::raw(s))),
        }
    }
    done(out)
}
