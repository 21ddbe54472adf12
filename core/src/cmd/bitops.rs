//! Bitmap commands over string values (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT,
//! BITPOS, BITOP and BITFIELD / BITFIELD_RO. Bit 0 is the most significant bit of
//! the first byte; writes grow the string with zero bytes and leave it `raw`.

use super::{ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::object::{StrValue, Value, WRONGTYPE};
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_STRING};
use crate::server::Server;
use crate::util::parse_i64;
use std::borrow::Cow;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield),
    ("bitfield_ro", bitfield_ro),
];

const ERR_BIT_OFFSET: &str = "bit offset is not an integer or out of range";
const ERR_BIT_VALUE: &str = "bit is not an integer or out of range";
const ERR_BITFIELD_TYPE: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
/// Only reachable when proto-max-bulk-len is raised past what the host can hold;
/// Redis aborts on such an allocation, we refuse the command instead.
const ERR_NO_MEMORY: &str = "-OOM not enough memory to grow the string";

/// Redis's SDS_MAX_PREALLOC: growth beyond this size adds this much room at most.
const SDS_MAX_PREALLOC: usize = 1024 * 1024;

/// The bytes C's string functions see: everything before the first NUL. Redis
/// compares option names with strcasecmp and reads bitfield widths with strlen.
fn c_str(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(nul) => &s[..nul],
        None => s,
    }
}

/// Count the set bits, eight bytes at a time.
pub fn popcount(s: &[u8]) -> u64 {
    let mut words = s.chunks_exact(8);
    let mut bits: u64 = 0;
    for w in &mut words {
        bits += u64::from_ne_bytes(w.try_into().expect("chunks of 8")).count_ones() as u64;
    }
    bits + words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Redis's redisBitpos: the first bit equal to `bit` in `s`. The string is taken as
/// zero padded on the right, so a missing clear bit is found at `8 * len`; a missing
/// set bit gives -1.
fn first_bit(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut words = s.chunks_exact(8);
    let mut base = 0usize;
    for w in &mut words {
        if w.iter().all(|&b| b == skip) {
            base += 8;
        } else {
            break;
        }
    }
    for (i, &b) in s[base..].iter().enumerate() {
        if b != skip {
            let lead = if bit { b } else { !b }.leading_zeros() as i64;
            return ((base + i) * 8) as i64 + lead;
        }
    }
    if bit {
        -1
    } else {
        (s.len() * 8) as i64
    }
}

/// getBitOffsetFromArgument: a bit offset, optionally `#N` (N times the field width)
/// for BITFIELD; never negative and never addressing past proto-max-bulk-len bytes.
fn bit_offset(srv: &Server, ctx: &mut Ctx<'_>, i: usize, width: Option<u32>) -> Option<u64> {
    let arg = ctx.arg(i);
    let hash = width.filter(|&w| w > 0 && arg.first() == Some(&b'#'));
    let digits = if hash.is_some() { &arg[1..] } else { arg };
    let Some(mut offset) = parse_i64(digits) else {
        ctx.reply.error(ERR_BIT_OFFSET);
        return None;
    };
    if let Some(w) = hash {
        // C multiplies without an overflow check; a wrapped product is negative or
        // too large and refused below either way.
        offset = offset.wrapping_mul(w as i64);
    }
    if offset < 0 || (offset >> 3) >= srv.config.proto_max_bulk_len {
        ctx.reply.error(ERR_BIT_OFFSET);
        return None;
    }
    Some(offset as u64)
}

/// lookupStringForBitCommand: the string at `key` as a raw buffer long enough to
/// address bit `max_bit`, created or zero-padded as needed. The flag tells whether
/// the key was created or grew (Redis's `dirty`). Err after an error reply.
fn string_for_bits<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'s mut Vec<u8>, bool), ()> {
    let need = (max_bit >> 3) as usize + 1;
    let db = ctx.db;
    let exists = match srv
        .lookup_write(db, key)
        .map(|o| matches!(o.value, Value::Str(_)))
    {
        Some(false) => {
            ctx.reply.error(WRONGTYPE);
            return Err(());
        }
        Some(true) => true,
        None => false,
    };
    if !exists {
        let mut bytes = Vec::new();
        if bytes.try_reserve_exact(need).is_err() {
            ctx.reply.error(ERR_NO_MEMORY);
            return Err(());
        }
        bytes.resize(need, 0);
        srv.db_add(db, key, Value::Str(StrValue::raw(bytes)));
    }
    let Some(Value::Str(s)) = srv.dbs[db].peek_mut(key).map(|o| &mut o.value) else {
        unreachable!("the key was just checked or created as a string")
    };
    let raw = s.make_raw();
    let old_len = raw.len();
    if old_len < need {
        // sdsMakeRoomFor's greedy growth: double while small, then a megabyte at a
        // time, so a bitmap grown bit by bit is not copied on every SETBIT and a
        // large one does not reserve twice its size.
        if raw.capacity() < need {
            let target = if need < SDS_MAX_PREALLOC {
                need * 2
            } else {
                need.saturating_add(SDS_MAX_PREALLOC)
            };
            let reserved = raw.try_reserve_exact(target - old_len).is_ok()
                || raw.try_reserve_exact(need - old_len).is_ok();
            if !reserved {
                ctx.reply.error(ERR_NO_MEMORY);
                return Err(());
            }
        }
        raw.resize(need, 0);
    }
    let grew = old_len != raw.len();
    debug_assert!(raw.len() >= need);
    Ok((raw, !exists || grew))
}

fn setbit(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(offset) = bit_offset(srv, ctx, 2, None) else {
        return;
    };
    let on = match parse_i64(ctx.arg(3)) {
        Some(v) if v & !1 == 0 => v == 1,
        _ => {
            ctx.reply.error(ERR_BIT_VALUE);
            return;
        }
    };
    let key = ctx.arg(1);
    let Ok((raw, dirty)) = string_for_bits(srv, ctx, key, offset) else {
        return;
    };
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let was = raw[byte] & mask != 0;
    let changed = dirty || was != on;
    if changed {
        if on {
            raw[byte] |= mask;
        } else {
            raw[byte] &= !mask;
        }
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_STRING, "setbit", key, ctx.db);
        srv.mark_dirty(1);
    }
    ctx.reply.int(was as i64);
}

fn getbit(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(offset) = bit_offset(srv, ctx, 2, None) else {
        return;
    };
    let bit = match srv.lookup_read(ctx.db, ctx.arg(1)).map(|o| &o.value) {
        None => false,
        Some(Value::Str(s)) => {
            let bytes = s.as_bytes();
            let byte = (offset >> 3) as usize;
            byte < bytes.len() && bytes[byte] & (1 << (7 - (offset & 7))) != 0
        }
        Some(_) => {
            ctx.reply.error(WRONGTYPE);
            return;
        }
    };
    ctx.reply.int(bit as i64);
}

/// The string at `key` for reading: Ok(None) when missing, Err after WRONGTYPE.
fn read_bytes<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<Cow<'s, [u8]>>, ()> {
    match srv.lookup_read(ctx.db, key).map(|o| &o.value) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.as_bytes())),
        Some(_) => {
            ctx.reply.error(WRONGTYPE);
            Err(())
        }
    }
}

/// BIT|BYTE, matched as Redis's strcasecmp does.
fn parse_unit(ctx: &mut Ctx<'_>, i: usize) -> Option<bool> {
    let unit = c_str(ctx.arg(i));
    if unit.eq_ignore_ascii_case(b"bit") {
        Some(true)
    } else if unit.eq_ignore_ascii_case(b"byte") {
        Some(false)
    } else {
        ctx.reply.error(ERR_SYNTAX);
        None
    }
}

/// Edge masks for a bit range: the bits of the first and last byte that fall
/// outside `[start, end]` (in bits), Redis's first/last_byte_neg_mask.
fn edge_masks(start: i64, end: i64) -> (u8, u8) {
    let first = !((1u32 << (8 - (start & 7))) - 1) as u8;
    let last = ((1u32 << (7 - (end & 7))) - 1) as u8;
    (first, last)
}

fn bitcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let argc = ctx.argc();
    let key = ctx.arg(1);
    // A missing key counts zero before any argument is looked at.
    let bytes = match read_bytes(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.int(0);
            return;
        }
        Ok(Some(b)) => b,
    };
    let len = bytes.len() as i64;
    let (mut start, mut end);
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if argc == 4 || argc == 5 {
        let (Some(s), Some(e)) = (parse_i64(ctx.arg(2)), parse_i64(ctx.arg(3))) else {
            ctx.reply.error(ERR_NOT_INTEGER);
            return;
        };
        (start, end) = (s, e);
        if start < 0 && end < 0 && start > end {
            ctx.reply.int(0);
            return;
        }
        let is_bit = if argc == 5 {
            let Some(b) = parse_unit(ctx, 4) else { return };
            b
        } else {
            false
        };
        let total = if is_bit { len << 3 } else { len };
        if start < 0 {
            start += total;
        }
        if end < 0 {
            end += total;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= total {
            end = total - 1;
        }
        if is_bit && start <= end {
            (first_mask, last_mask) = edge_masks(start, end);
            start >>= 3;
            end >>= 3;
        }
    } else if argc == 2 {
        start = 0;
        end = len - 1;
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    if start > end {
        ctx.reply.int(0);
        return;
    }
    let (s, e) = (start as usize, end as usize);
    let mut count = popcount(&bytes[s..=e]);
    // Bits of the edge bytes outside the range were counted: take them back.
    count -= (bytes[s] & first_mask).count_ones() as u64;
    count -= (bytes[e] & last_mask).count_ones() as u64;
    ctx.reply.int(count as i64);
}

fn bitpos(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let argc = ctx.argc();
    let bit = match parse_i64(ctx.arg(2)) {
        None => {
            ctx.reply.error(ERR_NOT_INTEGER);
            return;
        }
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => {
            ctx.reply.error("The bit argument must be 1 or 0.");
            return;
        }
    };
    let key = ctx.arg(1);
    // A missing key is an endless run of clear bits.
    let bytes = match read_bytes(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.int(if bit { -1 } else { 0 });
            return;
        }
        Ok(Some(b)) => b,
    };
    let len = bytes.len() as i64;
    let (mut start, mut end);
    let mut end_given = false;
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if (4..=6).contains(&argc) {
        let Some(s) = parse_i64(ctx.arg(3)) else {
            ctx.reply.error(ERR_NOT_INTEGER);
            return;
        };
        start = s;
        let is_bit = if argc == 6 {
            let Some(b) = parse_unit(ctx, 5) else { return };
            b
        } else {
            false
        };
        if argc >= 5 {
            let Some(e) = parse_i64(ctx.arg(4)) else {
                ctx.reply.error(ERR_NOT_INTEGER);
                return;
            };
            end = e;
            end_given = true;
        } else {
            end = len - 1;
        }
        let total = if is_bit { len << 3 } else { len };
        if start < 0 {
            start += total;
        }
        if end < 0 {
            end += total;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= total {
            end = total - 1;
        }
        if is_bit && start <= end {
            (first_mask, last_mask) = edge_masks(start, end);
            start >>= 3;
            end >>= 3;
        }
    } else if argc == 3 {
        start = 0;
        end = len - 1;
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    // An empty range holds neither a 0 nor a 1.
    if start > end {
        ctx.reply.int(-1);
        return;
    }
    let mut start = start as usize;
    let end = end as usize;
    let mut nbytes = end - start + 1;
    // The edge bytes are searched on copies with their out-of-range bits forced to
    // the value not sought, in three steps as Redis does (first byte, middle, last
    // byte); each step may settle the answer.
    let edge = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let pos = 'search: {
        if first_mask != 0 {
            let mut tmp = edge(bytes[start], first_mask);
            if last_mask != 0 && nbytes == 1 {
                tmp = edge(tmp, last_mask);
            }
            let pos = first_bit(&[tmp], bit);
            if nbytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            nbytes -= 1;
        }
        let middle = nbytes - (last_mask != 0) as usize;
        if middle > 0 {
            let pos = first_bit(&bytes[start..start + middle], bit);
            if nbytes == middle || (pos != -1 && pos != (middle as i64) << 3) {
                break 'search pos;
            }
            start += middle;
            nbytes -= middle;
        }
        first_bit(&[edge(bytes[end], last_mask)], bit)
    };
    // With an explicit end the right of the range is not zero padding: a clear
    // bit found just past it does not count.
    if end_given && !bit && pos == (nbytes as i64) << 3 {
        ctx.reply.int(-1);
        return;
    }
    ctx.reply.int(if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let name = c_str(ctx.arg(1));
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return;
    };
    if op == BitOp::Not && ctx.argc() != 4 {
        ctx.reply
            .error("BITOP NOT must be called with a single source key.");
        return;
    }
    let db = ctx.db;
    // First pass: lookups in order (expiry, keyspace stats, type errors).
    let mut present = Vec::with_capacity(ctx.argc() - 3);
    for j in 3..ctx.argc() {
        match srv.lookup_read(db, ctx.arg(j)).map(|o| &o.value) {
            None => present.push(false),
            Some(Value::Str(_)) => present.push(true),
            Some(_) => {
                ctx.reply.error(WRONGTYPE);
                return;
            }
        }
    }
    // Second pass: borrow every source at once and compute.
    let result = {
        let d = &srv.dbs[db];
        let sources: Vec<Cow<'_, [u8]>> = (3..ctx.argc())
            .zip(&present)
            .map(|(j, &here)| match d.peek(ctx.arg(j)).map(|o| &o.value) {
                Some(Value::Str(s)) if here => s.as_bytes(),
                _ => Cow::Borrowed(&[][..]),
            })
            .collect();
        combine(op, &sources)
    };
    let dest = ctx.arg(2);
    let len = result.len();
    if len > 0 {
        // set_key signals the watchers; the event is the command's.
        srv.set_key(db, dest, Value::Str(StrValue::raw(result)), false);
        srv.notify_keyspace_event(NOTIFY_STRING, "set", dest, db);
        srv.mark_dirty(1);
    } else if srv.delete_key(db, dest) {
        srv.signal_modified_key(db, dest);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", dest, db);
        srv.mark_dirty(1);
    }
    ctx.reply.int(len as i64);
}

/// The bytes of a BITOP over `sources` (shorter ones zero padded), as long as the
/// longest; empty when every source is.
fn combine(op: BitOp, sources: &[Cow<'_, [u8]>]) -> Vec<u8> {
    let max_len = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    if max_len == 0 {
        return Vec::new();
    }
    let mut out = vec![0u8; max_len];
    out[..sources[0].len()].copy_from_slice(&sources[0]);
    match op {
        BitOp::Not => {
            debug_assert_eq!(sources.len(), 1);
            out.iter_mut().for_each(|b| *b = !*b);
        }
        BitOp::And => {
            for src in &sources[1..] {
                out.iter_mut().zip(src.iter()).for_each(|(o, s)| *o &= s);
                out[src.len()..].fill(0);
            }
        }
        BitOp::Or => {
            for src in &sources[1..] {
                out.iter_mut().zip(src.iter()).for_each(|(o, s)| *o |= s);
            }
        }
        BitOp::Xor => {
            for src in &sources[1..] {
                out.iter_mut().zip(src.iter()).for_each(|(o, s)| *o ^= s);
            }
        }
    }
    out
}

// ---- BITFIELD ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    /// The SET value or the INCRBY increment.
    value: i64,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`.
fn field_type(ctx: &mut Ctx<'_>, i: usize) -> Option<(bool, u32)> {
    let arg = ctx.arg(i);
    let signed = match arg.first() {
        Some(b'i') => Some(true),
        Some(b'u') => Some(false),
        _ => None,
    };
    let width = signed.and_then(|s| {
        let n = parse_i64(c_str(&arg[1..]))?;
        let max = if s { 64 } else { 63 };
        (1..=max).contains(&n).then_some(n as u32)
    });
    match (signed, width) {
        (Some(s), Some(w)) => Some((s, w)),
        _ => {
            ctx.reply.error(ERR_BITFIELD_TYPE);
            None
        }
    }
}

/// Read `bits` bits at bit `offset`, most significant first.
fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for j in 0..bits as u64 {
        let at = offset + j;
        let bit = (p[(at >> 3) as usize] >> (7 - (at & 7))) & 1;
        value = (value << 1) | bit as u64;
    }
    value
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(p, offset, bits) as i64;
    // Propagate the sign bit through the unused high bits.
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let on = value & (1u64 << (bits as u64 - 1 - j)) != 0;
        let at = offset + j;
        let byte = (at >> 3) as usize;
        let mask = 1u8 << (7 - (at & 7));
        if on {
            p[byte] |= mask;
        } else {
            p[byte] &= !mask;
        }
    }
}

/// checkUnsignedBitfieldOverflow: 0, or ±1 with the value to store under WRAP or
/// SAT (`None` under FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, Option<u64>) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrap = || {
        let mask = if bits == 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > max_incr) {
        match ow {
            Overflow::Wrap => (1, Some(wrap())),
            Overflow::Sat => (1, Some(max)),
            Overflow::Fail => (1, None),
        }
    } else if incr < 0 && incr < min_incr {
        match ow {
            Overflow::Wrap => (-1, Some(wrap())),
            Overflow::Sat => (-1, Some(0)),
            Overflow::Fail => (-1, None),
        }
    } else {
        (0, None)
    }
}

/// checkSignedBitfieldOverflow, with its wrapping intermediate arithmetic.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, Option<i64>) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        match ow {
            Overflow::Wrap => (1, Some(wrap())),
            Overflow::Sat => (1, Some(max)),
            Overflow::Fail => (1, None),
        }
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        match ow {
            Overflow::Wrap => (-1, Some(wrap())),
            Overflow::Sat => (-1, Some(min)),
            Overflow::Fail => (-1, None),
        }
    } else {
        (0, None)
    }
}

/// A GET on a string that may be shorter than the field: the field is read from a
/// zero-padded copy of the nine bytes it can touch.
fn field_get(src: &[u8], f: &Field) -> i64 {
    let byte = (f.offset >> 3) as usize;
    let mut buf = [0u8; 9];
    if byte < src.len() {
        let n = (src.len() - byte).min(9);
        buf[..n].copy_from_slice(&src[byte..byte + n]);
    }
    let offset = f.offset & 7;
    if f.signed {
        get_signed(&buf, offset, f.bits)
    } else {
        get_unsigned(&buf, offset, f.bits) as i64
    }
}

/// A SET or INCRBY on a buffer long enough for it: the reply value (None for a
/// FAIL overflow, which writes nothing) and whether the bits changed.
fn field_write(p: &mut [u8], f: &Field) -> (Option<i64>, bool) {
    if f.signed {
        let old = get_signed(p, f.offset, f.bits);
        let (new, reply, overflow) = if f.op == FieldOp::Incrby {
            let (ov, wrapped) = signed_overflow(old, f.value, f.bits, f.overflow);
            let new = if ov != 0 {
                wrapped
            } else {
                Some(old.wrapping_add(f.value))
            };
            (new, new, ov)
        } else {
            let (ov, wrapped) = signed_overflow(f.value, 0, f.bits, f.overflow);
            let new = if ov != 0 { wrapped } else { Some(f.value) };
            (new, Some(old), ov)
        };
        match new {
            Some(new) if !(overflow != 0 && f.overflow == Overflow::Fail) => {
                set_unsigned(p, f.offset, f.bits, new as u64);
                (reply, old != new)
            }
            _ => (None, false),
        }
    } else {
        let old = get_unsigned(p, f.offset, f.bits);
        let (new, reply, overflow) = if f.op == FieldOp::Incrby {
            let (ov, wrapped) = unsigned_overflow(old, f.value, f.bits, f.overflow);
            let new = if ov != 0 {
                wrapped
            } else {
                Some(old.wrapping_add(f.value as u64))
            };
            (new, new, ov)
        } else {
            let (ov, wrapped) = unsigned_overflow(f.value as u64, 0, f.bits, f.overflow);
            let new = if ov != 0 {
                wrapped
            } else {
                Some(f.value as u64)
            };
            (new, Some(old), ov)
        };
        match new {
            Some(new) if !(overflow != 0 && f.overflow == Overflow::Fail) => {
                set_unsigned(p, f.offset, f.bits, new);
                (reply.map(|v| v as i64), old != new)
            }
            _ => (None, false),
        }
    }
}

/// Redis's bitfieldGeneric: parse every operation first (any error aborts the whole
/// command), then run them in order against one lookup of the key.
fn bitfield_generic(srv: &mut Server, ctx: &mut Ctx<'_>, read_only_command: bool) {
    let argc = ctx.argc();
    let mut fields: Vec<Field> = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut read_only = true;
    let mut highest_write: u64 = 0;
    let mut j = 2;
    while j < argc {
        let remaining = argc - j - 1;
        let sub = c_str(ctx.arg(j));
        let op = if sub.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            FieldOp::Get
        } else if sub.eq_ignore_ascii_case(b"set") && remaining >= 3 {
            FieldOp::Set
        } else if sub.eq_ignore_ascii_case(b"incrby") && remaining >= 3 {
            FieldOp::Incrby
        } else if sub.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            let name = c_str(ctx.arg(j + 1));
            overflow = if name.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if name.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if name.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                ctx.reply.error("Invalid OVERFLOW type specified");
                return;
            };
            j += 2;
            continue;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        };
        let Some((signed, bits)) = field_type(ctx, j + 1) else {
            return;
        };
        let Some(offset) = bit_offset(srv, ctx, j + 2, Some(bits)) else {
            return;
        };
        let mut value = 0;
        if op != FieldOp::Get {
            read_only = false;
            highest_write = highest_write.max(offset + bits as u64 - 1);
            let Some(v) = parse_i64(ctx.arg(j + 3)) else {
                ctx.reply.error(ERR_NOT_INTEGER);
                return;
            };
            value = v;
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

    let key = ctx.arg(1);
    if read_only {
        let Ok(bytes) = read_bytes(srv, ctx, key) else {
            return;
        };
        let src: &[u8] = bytes.as_deref().unwrap_or(&[]);
        ctx.reply.array(fields.len());
        for f in &fields {
            ctx.reply.int(field_get(src, f));
        }
        return;
    }
    if read_only_command {
        ctx.reply
            .error("BITFIELD_RO only supports the GET subcommand");
        return;
    }
    let Ok((raw, dirty)) = string_for_bits(srv, ctx, key, highest_write) else {
        return;
    };
    ctx.reply.array(fields.len());
    let mut changes = 0u64;
    for f in &fields {
        if f.op == FieldOp::Get {
            ctx.reply.int(field_get(raw, f));
            continue;
        }
        match field_write(raw, f) {
            (Some(reply), changed) => {
                ctx.reply.int(reply);
                if dirty || changed {
                    changes += 1;
                }
            }
            (None, _) => ctx.reply.null(),
        }
    }
    if changes > 0 {
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_STRING, "setbit", key, ctx.db);
        srv.mark_dirty(changes);
    }
}

fn bitfield(srv: &mut Server, ctx: &mut Ctx<'_>) {
    bitfield_generic(srv, ctx, false);
}

fn bitfield_ro(srv: &mut Server, ctx: &mut Ctx<'_>) {
    bitfield_generic(srv, ctx, true);
}

#[cfg(test)]
mod tests {
    use super::{first_bit, popcount};
    use crate::testing::{Frame, TestServer};

    fn b(t: &mut TestServer, args: &[&[u8]]) -> Frame {
        let conn = t.default_conn();
        t.cmd_bytes_on(conn, args)
    }

    fn get(t: &mut TestServer, key: &str) -> Vec<u8> {
        match t.cmd(&["GET", key]) {
            Frame::Bulk(v) => v,
            other => panic!("GET {key}: {other:?}"),
        }
    }

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    /// A deterministic byte stream for comparing the fast paths with plain loops.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Long runs of 0x00 and 0xff exercise the word skipping.
                match x % 5 {
                    0 => 0,
                    1 => 0xff,
                    _ => (x >> 24) as u8,
                }
            })
            .collect()
    }

    /// Key events ("event key") a subscriber to every keyevent channel received
    /// while `writes` ran, with every notification class on.
    fn events_of(writes: &[&[&str]]) -> Vec<String> {
        let mut t = TestServer::new();
        let (writer, sub) = (t.connect(), t.connect());
        t.cmd_on(
            writer,
            &["CONFIG", "SET", "notify-keyspace-events", "KEAnm"],
        );
        t.cmd_on(sub, &["PSUBSCRIBE", "__keyevent@*__:*"]);
        for w in writes {
            t.cmd_on(writer, w);
        }
        let out = t.take_output(sub);
        let mut pos = 0;
        let mut got = Vec::new();
        while let Some((frame, used)) = crate::testing::decode(&out[pos..]) {
            pos += used;
            let Frame::Array(items) = frame else {
                panic!("not a message: {frame:?}")
            };
            let channel = items[2].as_str();
            let event = channel
                .split_once("__:")
                .expect("keyevent channel")
                .1
                .to_string();
            got.push(format!("{event} {}", items[3].as_str()));
        }
        got
    }

    #[test]
    fn popcount_and_first_bit_match_plain_loops() {
        for seed in 1..40u64 {
            for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200] {
                let s = noise(seed * 31 + len as u64, len);
                let naive: u64 = s.iter().map(|b| b.count_ones() as u64).sum();
                assert_eq!(popcount(&s), naive);
                for bit in [false, true] {
                    let found =
                        (0..s.len() * 8).find(|&i| ((s[i / 8] >> (7 - i % 8)) & 1 == 1) == bit);
                    let want = match found {
                        Some(i) => i as i64,
                        None if bit => -1,
                        None => (s.len() * 8) as i64,
                    };
                    assert_eq!(first_bit(&s, bit), want, "{s:?} {bit}");
                }
            }
        }
        assert_eq!(first_bit(&[0u8; 32], false), 0);
        assert_eq!(first_bit(&[0xffu8; 32], false), 256);
        assert_eq!(first_bit(&[0u8; 32], true), -1);
    }

    #[test]
    fn setbit_grows_with_zeros_and_returns_the_old_bit() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "1"]), int(0));
        assert_eq!(get(&mut t, "k"), b"\x01");
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "1"]), int(1));
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "0"]), int(1));
        assert_eq!(t.cmd(&["SETBIT", "k", "100", "1"]), int(0));
        assert_eq!(
            get(&mut t, "k"),
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08"
        );
        assert_eq!(enc(&mut t, "k"), "raw");
        assert_eq!(t.cmd(&["GETBIT", "k", "100"]), int(1));
        assert_eq!(t.cmd(&["GETBIT", "k", "99"]), int(0));
        assert_eq!(t.cmd(&["GETBIT", "k", "1000000"]), int(0));
        assert_eq!(t.cmd(&["GETBIT", "nokey", "3"]), int(0));
        // A bit past the end set to 0 still grows the string and counts as a write.
        let dirty = t.server.dirty;
        assert_eq!(t.cmd(&["SETBIT", "k", "200", "0"]), int(0));
        assert_eq!(get(&mut t, "k").len(), 26);
        assert_eq!(t.server.dirty, dirty + 1);
        // Setting a bit to its current value is no write.
        assert_eq!(t.cmd(&["SETBIT", "k", "200", "0"]), int(0));
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["SETBIT", "fresh", "0", "0"]), int(0));
        assert_eq!(get(&mut t, "fresh"), b"\x00");
    }

    #[test]
    fn bit_commands_read_integers_as_digits_and_leave_raw_strings() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "n", "12345"]);
        assert_eq!(enc(&mut t, "n"), "int");
        // '1' is 0x31 = 00110001.
        assert_eq!(t.cmd(&["GETBIT", "n", "2"]), int(1));
        assert_eq!(t.cmd(&["GETBIT", "n", "1"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "n"]), int(17));
        assert_eq!(t.cmd(&["BITPOS", "n", "1"]), int(2));
        assert_eq!(enc(&mut t, "n"), "int");
        assert_eq!(t.cmd(&["SETBIT", "n", "0", "0"]), int(0));
        assert_eq!(enc(&mut t, "n"), "raw");
        assert_eq!(get(&mut t, "n"), b"12345");
        t.cmd(&["SET", "e", "hello"]);
        assert_eq!(enc(&mut t, "e"), "embstr");
        assert_eq!(
            t.cmd(&["BITFIELD", "e", "GET", "u8", "0"]),
            Frame::Array(vec![int(104)])
        );
        assert_eq!(enc(&mut t, "e"), "embstr");
        assert_eq!(
            t.cmd(&["BITFIELD", "e", "SET", "u8", "0", "104"]),
            Frame::Array(vec![int(104)])
        );
        assert_eq!(enc(&mut t, "e"), "raw");
    }

    #[test]
    fn offsets_and_bit_values_are_checked() {
        let mut t = TestServer::new();
        for bad in ["-1", "abc", "", "4294967296", "#1", "1.5", " 1"] {
            assert_eq!(
                t.cmd(&["SETBIT", "k", bad, "1"]),
                Frame::err(OFFSET_ERR),
                "{bad}"
            );
            assert_eq!(
                t.cmd(&["GETBIT", "k", bad]),
                Frame::err(OFFSET_ERR),
                "{bad}"
            );
        }
        for bad in ["2", "-1", "x", "", "01"] {
            assert_eq!(
                t.cmd(&["SETBIT", "k", "1", bad]),
                Frame::err("ERR bit is not an integer or out of range"),
                "{bad}"
            );
        }
        assert_eq!(t.cmd(&["EXISTS", "k"]), int(0));
        // The limit is proto-max-bulk-len bytes' worth of bits.
        t.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]);
        assert_eq!(
            t.cmd(&["SETBIT", "k", "8388608", "1"]),
            Frame::err(OFFSET_ERR)
        );
        assert_eq!(t.cmd(&["SETBIT", "k", "8388607", "1"]), int(0));
        assert_eq!(t.cmd(&["STRLEN", "k"]), int(1 << 20));
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "u8", "8388608"]),
            Frame::err(OFFSET_ERR)
        );
        // `#N` is N times the width; a wrapped product is refused.
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "u8", "#1048576"]),
            Frame::err(OFFSET_ERR)
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "i8", "#1152921504606846976"]),
            Frame::err(OFFSET_ERR)
        );
        // 2^60 fields of 64 bits wrap around to offset 0, as in C.
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "i64", "#1152921504606846976"]),
            Frame::Array(vec![int(0)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "u8", "#-1"]),
            Frame::err(OFFSET_ERR)
        );
        t.cmd(&["RPUSH", "l", "x"]);
        assert_eq!(t.cmd(&["SETBIT", "l", "1", "1"]), Frame::err(WRONGTYPE));
        assert_eq!(t.cmd(&["GETBIT", "l", "1"]), Frame::err(WRONGTYPE));
        assert_eq!(t.cmd(&["GETBIT", "l", "x"]), Frame::err(OFFSET_ERR));
    }

    #[test]
    fn bitcount_ranges_in_bytes_and_bits() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "foobar"]);
        assert_eq!(t.cmd(&["BITCOUNT", "s"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "0"]), int(4));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "1", "1"]), int(6));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "1", "1", "byte"]), int(6));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "5", "30", "BIT"]), int(17));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-2", "-1"]), int(7));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-1", "-2"]), int(0));
        // An inverted negative range answers before the unit is even read.
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-1", "-2", "nonsense"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "-1", "BIT"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-100", "100", "BIT"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "47", "47", "BIT"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "46", "46", "BIT"]), int(1));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "3", "1"]), int(0));
        assert_eq!(
            t.cmd(&["BITCOUNT", "s", "0", "1", "x"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["BITCOUNT", "s", "0"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["BITCOUNT", "s", "0", "1", "BIT", "x"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["BITCOUNT", "s", "a", "1"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        // A missing key is zero whatever follows.
        assert_eq!(t.cmd(&["BITCOUNT", "nokey", "a"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "nokey", "0", "1", "BIT", "x"]), int(0));
        t.cmd(&["SET", "empty", ""]);
        assert_eq!(t.cmd(&["BITCOUNT", "empty"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "empty", "0", "-1", "BIT"]), int(0));
        t.cmd(&["HSET", "h", "f", "v"]);
        assert_eq!(t.cmd(&["BITCOUNT", "h"]), Frame::err(WRONGTYPE));
    }

    #[test]
    fn bitpos_rules_for_clear_bits_past_the_end() {
        let mut t = TestServer::new();
        b(&mut t, &[b"SET", b"ff", b"\xff\xff\xff"]);
        // Without an end the string is zero padded: the first clear bit is past it.
        assert_eq!(t.cmd(&["BITPOS", "ff", "0"]), int(24));
        assert_eq!(t.cmd(&["BITPOS", "ff", "0", "1"]), int(24));
        // With an explicit end there is no clear bit in the range.
        assert_eq!(t.cmd(&["BITPOS", "ff", "0", "0", "-1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "ff", "0", "0", "-1", "BIT"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "ff", "1"]), int(0));
        assert_eq!(
            t.cmd(&["BITPOS", "ff", "1", "3", "BIT"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.cmd(&["BITPOS", "ff", "1", "3", "20", "BIT"]), int(3));
        b(&mut t, &[b"SET", b"m", b"\x00\xff\xf0"]);
        assert_eq!(t.cmd(&["BITPOS", "m", "1"]), int(8));
        assert_eq!(t.cmd(&["BITPOS", "m", "1", "2"]), int(16));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "1"]), int(20));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "1", "1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "8", "19", "BIT"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "8", "20", "BIT"]), int(20));
        assert_eq!(t.cmd(&["BITPOS", "m", "1", "3", "10", "bit"]), int(8));
        assert_eq!(t.cmd(&["BITPOS", "m", "1", "17", "19", "bit"]), int(17));
        assert_eq!(t.cmd(&["BITPOS", "m", "1", "20", "23", "bit"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "5", "2"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "m", "0", "-100", "-50"]), int(0));
        // A missing key is all clear bits.
        assert_eq!(t.cmd(&["BITPOS", "nokey", "0"]), int(0));
        assert_eq!(t.cmd(&["BITPOS", "nokey", "1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "nokey", "1", "x"]), int(-1));
        t.cmd(&["SET", "empty", ""]);
        assert_eq!(t.cmd(&["BITPOS", "empty", "0"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "empty", "1"]), int(-1));
        assert_eq!(
            t.cmd(&["BITPOS", "m", "2"]),
            Frame::err("ERR The bit argument must be 1 or 0.")
        );
        assert_eq!(
            t.cmd(&["BITPOS", "nokey", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["BITPOS", "m", "1", "0", "a"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["BITPOS", "m", "1", "0", "1", "x"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["BITPOS", "m", "1", "0", "1", "BIT", "x"]),
            Frame::err("ERR syntax error")
        );
        t.cmd(&["SADD", "set", "x"]);
        assert_eq!(t.cmd(&["BITPOS", "set", "1"]), Frame::err(WRONGTYPE));
    }

    #[test]
    fn bitop_pads_deletes_and_overwrites() {
        let mut t = TestServer::new();
        b(&mut t, &[b"SET", b"a", b"\x0f\xf0\xaa\x55"]);
        b(&mut t, &[b"SET", b"b", b"\xff\x00"]);
        assert_eq!(t.cmd(&["BITOP", "AND", "d", "a", "b"]), int(4));
        assert_eq!(get(&mut t, "d"), b"\x0f\x00\x00\x00");
        assert_eq!(enc(&mut t, "d"), "raw");
        assert_eq!(t.cmd(&["BITOP", "or", "d", "a", "b"]), int(4));
        assert_eq!(get(&mut t, "d"), b"\xff\xf0\xaa\x55");
        assert_eq!(t.cmd(&["BITOP", "Xor", "d", "a", "b", "nokey"]), int(4));
        assert_eq!(get(&mut t, "d"), b"\xf0\xf0\xaa\x55");
        assert_eq!(t.cmd(&["BITOP", "NOT", "d", "b"]), int(2));
        assert_eq!(get(&mut t, "d"), b"\x00\xff");
        // An AND with a missing key is all zeros, as long as the longest input.
        assert_eq!(t.cmd(&["BITOP", "AND", "d", "a", "nokey"]), int(4));
        assert_eq!(get(&mut t, "d"), b"\x00\x00\x00\x00");
        // Integers take part as their digits.
        t.cmd(&["SET", "n", "12"]);
        assert_eq!(t.cmd(&["BITOP", "OR", "d", "n"]), int(2));
        assert_eq!(get(&mut t, "d"), b"12");
        assert_eq!(enc(&mut t, "d"), "raw");
        // The destination loses its TTL and may have held any type.
        t.cmd(&["EXPIRE", "d", "100"]);
        assert_eq!(t.cmd(&["BITOP", "OR", "d", "a"]), int(4));
        assert_eq!(t.cmd(&["TTL", "d"]), int(-1));
        t.cmd(&["RPUSH", "l", "x"]);
        assert_eq!(t.cmd(&["BITOP", "OR", "l", "a"]), int(4));
        assert_eq!(t.cmd(&["TYPE", "l"]), Frame::Simple("string".into()));
        // An empty result deletes the destination.
        let dirty = t.server.dirty;
        assert_eq!(t.cmd(&["BITOP", "OR", "d", "nokey", "nokey2"]), int(0));
        assert_eq!(t.cmd(&["EXISTS", "d"]), int(0));
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["BITOP", "OR", "d", "nokey"]), int(0));
        assert_eq!(t.server.dirty, dirty + 1);
        t.cmd(&["SET", "empty", ""]);
        assert_eq!(t.cmd(&["BITOP", "NOT", "d", "empty"]), int(0));
        assert_eq!(
            t.cmd(&["BITOP", "NOT", "d", "a", "b"]),
            Frame::err("ERR BITOP NOT must be called with a single source key.")
        );
        assert_eq!(
            t.cmd(&["BITOP", "NAND", "d", "a"]),
            Frame::err("ERR syntax error")
        );
        b(&mut t, &[b"BITOP", b"and\x00junk", b"d", b"a"]);
        assert_eq!(get(&mut t, "d"), b"\x0f\xf0\xaa\x55");
        t.cmd(&["RPUSH", "l2", "x"]);
        assert_eq!(
            t.cmd(&["BITOP", "OR", "d", "a", "l2"]),
            Frame::err(WRONGTYPE)
        );
        assert_eq!(
            t.cmd(&["BITOP", "OR", "d"]),
            Frame::err("ERR wrong number of arguments for 'bitop' command")
        );
    }

    #[test]
    fn bitfield_get_set_incrby_with_overflow_modes() {
        let mut t = TestServer::new();
        let arr = |v: Vec<Frame>| Frame::Array(v);
        assert_eq!(
            t.cmd(&["BITFIELD", "bf", "SET", "i8", "0", "100", "GET", "i8", "0"]),
            arr(vec![int(0), int(100)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "bf", "INCRBY", "i8", "0", "100"]),
            arr(vec![int(-56)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "-100"]),
            arr(vec![int(-128)])
        );
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "-1", "GET", "i8", "0"
            ]),
            arr(vec![Frame::Null, int(-128)])
        );
        // The mode holds for the operations after it, in order.
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "bf", "INCRBY", "u4", "8", "20", "OVERFLOW", "sat", "INCRBY", "u4",
                "8", "20", "OVERFLOW", "wrap", "INCRBY", "u4", "8", "1"
            ]),
            arr(vec![int(4), int(15), int(0)])
        );
        // `#N` addresses the N-th field of that width.
        assert_eq!(
            t.cmd(&["BITFIELD", "x", "SET", "u8", "#1", "200", "SET", "u8", "#0", "1"]),
            arr(vec![int(0), int(0)])
        );
        assert_eq!(get(&mut t, "x"), b"\x01\xc8");
        // Signed and unsigned limits, including Redis's i64 and u63 edges.
        assert_eq!(
            t.cmd(&[
                "BITFIELD",
                "y",
                "SET",
                "i64",
                "0",
                "-9223372036854775808",
                "INCRBY",
                "i64",
                "0",
                "-1",
                "OVERFLOW",
                "SAT",
                "INCRBY",
                "i64",
                "0",
                "-1",
                "INCRBY",
                "i64",
                "0",
                "9223372036854775807"
            ]),
            arr(vec![
                int(0),
                int(i64::MAX),
                int(i64::MAX - 1),
                int(i64::MAX)
            ])
        );
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "z", "SET", "u63", "1", "-1", "GET", "u63", "1", "OVERFLOW", "SAT",
                "SET", "u63", "1", "-1", "GET", "u63", "1"
            ]),
            arr(vec![int(0), int(i64::MAX), int(i64::MAX), int(i64::MAX)])
        );
        // Redis's check misreads a huge negative SET value as an overflow upwards.
        assert_eq!(
            t.cmd(&[
                "BITFIELD",
                "w",
                "OVERFLOW",
                "SAT",
                "SET",
                "i8",
                "0",
                "-9223372036854775808",
                "GET",
                "i8",
                "0"
            ]),
            arr(vec![int(0), int(127)])
        );
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "w", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "OVERFLOW", "WRAP",
                "SET", "u8", "0", "-2", "GET", "u8", "0"
            ]),
            arr(vec![int(127), int(255), int(254)])
        );
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "-1000", "OVERFLOW",
                "WRAP", "INCRBY", "u8", "0", "-1"
            ]),
            arr(vec![int(0), int(255)])
        );
        assert_eq!(
            t.cmd(&[
                "BITFIELD", "w", "INCRBY", "i5", "3", "-100", "OVERFLOW", "SAT", "INCRBY", "i5",
                "3", "-100", "INCRBY", "i5", "3", "100"
            ]),
            arr(vec![int(-5), int(-16), int(15)])
        );
        assert_eq!(t.cmd(&["BITFIELD", "bf"]), arr(vec![]));
        assert_eq!(t.cmd(&["BITFIELD", "bf", "OVERFLOW", "SAT"]), arr(vec![]));
        assert_eq!(
            t.cmd(&["BITFIELD", "nokey", "GET", "u4", "100"]),
            arr(vec![int(0)])
        );
        assert_eq!(t.cmd(&["EXISTS", "nokey"]), int(0));
        // A write that fails still creates the key, zero filled, without counting
        // as a change.
        let dirty = t.server.dirty;
        assert_eq!(
            t.cmd(&["BITFIELD", "nokey", "OVERFLOW", "FAIL", "INCRBY", "i8", "16", "200"]),
            arr(vec![Frame::Null])
        );
        assert_eq!(get(&mut t, "nokey"), b"\x00\x00\x00");
        assert_eq!(t.server.dirty, dirty);
        assert_eq!(
            t.cmd(&["BITFIELD", "fresh", "SET", "u8", "0", "0", "SET", "u8", "0", "0"]),
            arr(vec![int(0), int(0)])
        );
        assert_eq!(t.server.dirty, dirty + 2);
    }

    #[test]
    fn bitfield_errors_and_the_read_only_variant() {
        let mut t = TestServer::new();
        let type_err = Frame::err(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        );
        for bad in ["u64", "i65", "i0", "u0", "x8", "I8", "", "i", "i-1", "i08"] {
            assert_eq!(
                t.cmd(&["BITFIELD", "k", "GET", bad, "0"]),
                type_err,
                "{bad}"
            );
        }
        // Widths are read as C strings.
        assert_eq!(
            b(&mut t, &[b"BITFIELD", b"k", b"GET", b"i8\x00junk", b"0"]),
            Frame::Array(vec![int(0)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "i8", "x"]),
            Frame::err(OFFSET_ERR)
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "SET", "i8", "0", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        for args in [
            vec!["BITFIELD", "k", "SET", "i8", "0"],
            vec!["BITFIELD", "k", "GET", "i8"],
            vec!["BITFIELD", "k", "FOO"],
            vec!["BITFIELD", "k", "OVERFLOW"],
            vec!["BITFIELD", "k", "GET", "i8", "0", "BAR"],
        ] {
            assert_eq!(t.cmd(&args), Frame::err("ERR syntax error"), "{args:?}");
        }
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "BAR", "GET", "i8", "0"]),
            Frame::err("ERR Invalid OVERFLOW type specified")
        );
        // Parsing ends before any lookup: nothing was created.
        assert_eq!(t.cmd(&["EXISTS", "k"]), int(0));
        t.cmd(&["SET", "k", "\x7f"]);
        assert_eq!(
            t.cmd(&["BITFIELD_RO", "k", "GET", "i8", "0", "GET", "u4", "4"]),
            Frame::Array(vec![int(127), int(15)])
        );
        for op in ["SET", "INCRBY"] {
            assert_eq!(
                t.cmd(&["BITFIELD_RO", "k", op, "i8", "0", "1"]),
                Frame::err("ERR BITFIELD_RO only supports the GET subcommand")
            );
        }
        // Argument errors come before the read-only refusal.
        assert_eq!(
            t.cmd(&["BITFIELD_RO", "k", "SET", "i99", "0", "1"]),
            type_err
        );
        assert_eq!(t.cmd(&["BITFIELD_RO", "k"]), Frame::Array(vec![]));
        t.cmd(&["ZADD", "z", "1", "a"]);
        assert_eq!(
            t.cmd(&["BITFIELD", "z", "GET", "i8", "0"]),
            Frame::err(WRONGTYPE)
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "z", "SET", "i8", "0", "1"]),
            Frame::err(WRONGTYPE)
        );
        assert_eq!(
            t.cmd(&["BITFIELD_RO", "z", "GET", "i8", "0"]),
            Frame::err(WRONGTYPE)
        );
    }

    #[test]
    fn bitfield_fail_is_a_null_in_both_protocols() {
        let mut t = TestServer::new();
        let conn = t.default_conn();
        t.cmd(&["HELLO", "3"]);
        t.send_raw(
            conn,
            &crate::testing::encode_command(&[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"FAIL",
                b"INCRBY",
                b"u2",
                b"0",
                b"9",
            ]),
        );
        assert_eq!(t.take_output(conn), b"*1\r\n_\r\n");
        t.cmd(&["HELLO", "2"]);
        t.send_raw(
            conn,
            &crate::testing::encode_command(&[
                b"BITFIELD",
                b"k",
                b"OVERFLOW",
                b"FAIL",
                b"INCRBY",
                b"u2",
                b"0",
                b"9",
            ]),
        );
        assert_eq!(t.take_output(conn), b"*1\r\n$-1\r\n");
    }

    #[test]
    fn a_million_bits_near_both_ends() {
        let mut t = TestServer::new();
        let last = 1_000_000 * 8 - 1;
        assert_eq!(t.cmd(&["SETBIT", "big", &last.to_string(), "1"]), int(0));
        assert_eq!(t.cmd(&["SETBIT", "big", "0", "1"]), int(0));
        assert_eq!(t.cmd(&["STRLEN", "big"]), int(1_000_000));
        assert_eq!(t.cmd(&["BITCOUNT", "big"]), int(2));
        assert_eq!(t.cmd(&["BITCOUNT", "big", "1", "-2"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "big", "-1", "-1"]), int(1));
        assert_eq!(
            t.cmd(&["BITCOUNT", "big", "1", &last.to_string(), "BIT"]),
            int(1)
        );
        assert_eq!(t.cmd(&["BITPOS", "big", "1", "1"]), int(last));
        assert_eq!(t.cmd(&["BITPOS", "big", "1", "-1"]), int(last));
        assert_eq!(t.cmd(&["BITPOS", "big", "0"]), int(1));
        assert_eq!(t.cmd(&["BITOP", "NOT", "inv", "big"]), int(1_000_000));
        assert_eq!(t.cmd(&["BITCOUNT", "inv"]), int(8_000_000 - 2));
        assert_eq!(t.cmd(&["BITPOS", "inv", "0", "1"]), int(last));
        assert_eq!(t.cmd(&["BITPOS", "inv", "1"]), int(1));
        assert_eq!(
            t.cmd(&["BITOP", "AND", "both", "big", "inv"]),
            int(1_000_000)
        );
        assert_eq!(t.cmd(&["BITPOS", "both", "1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "both", "0", "0", "-1"]), int(0));
        assert_eq!(
            t.cmd(&["BITOP", "XOR", "all", "big", "inv"]),
            int(1_000_000)
        );
        assert_eq!(t.cmd(&["BITPOS", "all", "0"]), int(8_000_000));
        assert_eq!(t.cmd(&["BITPOS", "all", "0", "0", "-1"]), int(-1));
        assert_eq!(
            t.cmd(&[
                "BITFIELD",
                "big",
                "GET",
                "u63",
                &(last - 62).to_string(),
                "INCRBY",
                "u2",
                &(last - 1).to_string(),
                "1"
            ]),
            Frame::Array(vec![int(1), int(2)])
        );
    }

    #[test]
    fn writes_publish_redis_events() {
        assert_eq!(
            events_of(&[
                &["SETBIT", "b", "7", "1"],
                &["SETBIT", "b", "7", "1"],
                &["SETBIT", "b", "100", "0"],
                &["GETBIT", "miss", "1"],
                &["BITOP", "OR", "d", "b"],
                &["BITOP", "OR", "d", "miss"],
                &["BITOP", "OR", "d", "miss"],
                &["BITFIELD", "b", "SET", "u8", "0", "2"],
                &["BITFIELD", "b", "SET", "u8", "0", "2"],
                &["BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"],
            ]),
            [
                "new b",
                "setbit b",
                "setbit b",
                "keymiss miss",
                "new d",
                "set d",
                "keymiss miss",
                "del d",
                "keymiss miss",
                "setbit b",
                "new f",
            ]
        );
    }

    #[test]
    fn writes_invalidate_watchers() {
        let mut t = TestServer::new();
        let (watcher, writer) = (t.connect(), t.connect());
        t.cmd_on(writer, &["SET", "k", "x"]);
        for (write, invalidates) in [
            (vec!["SETBIT", "k", "0", "0"], false),
            (vec!["SETBIT", "k", "0", "1"], true),
            (vec!["BITFIELD", "k", "GET", "u8", "0"], false),
            (vec!["BITFIELD", "k", "SET", "u8", "0", "0"], true),
            (vec!["BITOP", "NOT", "k", "k"], true),
            (vec!["BITOP", "OR", "k", "nokey"], true),
            (vec!["BITOP", "OR", "k", "nokey"], false),
        ] {
            t.cmd_on(watcher, &["WATCH", "k"]);
            t.cmd_on(writer, &write);
            t.cmd_on(watcher, &["MULTI"]);
            t.cmd_on(watcher, &["PING"]);
            let exec = t.cmd_on(watcher, &["EXEC"]);
            assert_eq!(exec == Frame::Null, invalidates, "{write:?}: {exec:?}");
        }
    }
}
