//! Redis's HyperLogLog (hyperloglog.c) in its exact byte format, apart from the
//! commands: a HyperLogLog is a plain string value, so GET, DUMP and replication carry
//! these bytes and a cinnabar HLL must be byte-identical to redis-server's.
//!
//! Layout: a 16-byte header (`HYLL`, the encoding byte, three zero bytes, the cached
//! cardinality as a little-endian u64 whose top bit marks it stale), then either
//! 16384 dense 6-bit registers packed LSB first (12288 bytes), or the sparse
//! run-length opcodes ZERO `00xxxxxx`, XZERO `01xxxxxx yyyyyyyy` and VAL `1vvvvvxx`.
//! Elements are hashed with MurmurHash64A and Redis's seed; the cardinality comes
//! from Ertl's improved estimator (tau/sigma), as Redis 7.0 computes it.
//!
//! Every function here takes bytes that may come from a client (SET of a forged
//! header), so none may panic or allocate more than a dense HLL: corruption is
//! reported as [`Corrupt`] exactly where Redis reports `-INVALIDOBJ`.

use crate::rng::CoreRng;

pub const HDR_SIZE: usize = 16;
const P: u32 = 14;
/// Hash bits left after the register index, which give the run of zeros.
const Q: usize = 64 - P as usize;
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = SPARSE;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the estimator's constant for m → ∞.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// The seed Redis hashes elements with.
const HASH_SEED: u32 = 0xadc8_3b19;
/// Byte of the header holding the encoding, and of the cache's top byte.
const ENCODING_AT: usize = 4;
const CARD_AT: usize = 8;
const CACHE_STALE_AT: usize = 15;
const CACHE_STALE_BIT: u8 = 1 << 7;

pub const ERR_CORRUPT: &str = "-INVALIDOBJ Corrupted HLL object detected";
pub const ERR_NOT_HLL: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";

const _: () = assert!(DENSE_SIZE == 12304);
const _: () = assert!(REGISTERS == SPARSE_XZERO_MAX_LEN);
const _: () = assert!(Q + 1 < 64, "register values must fit the 64-slot histogram");

/// A sparse representation whose opcodes do not cover exactly 16384 registers, or
/// that ends inside an opcode: Redis's `-INVALIDOBJ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version, as Redis reads it on little-endian machines (the
/// words are always taken little endian, so the result is endian neutral).
pub fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = (seed as u64) ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes(w.try_into().expect("chunks of 8"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in and the length of its `000…1` pattern
/// (1..=Q+1), Redis's hllPatLen.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, HASH_SEED);
    let index = (hash & P_MASK) as usize;
    // The sentinel bit bounds the count at Q+1 so the scan always ends.
    let rest = (hash >> P) | (1u64 << Q);
    let count = rest.trailing_zeros() as u8 + 1;
    debug_assert!(count as usize <= Q + 1);
    (index, count)
}

/// The byte at `i`, or `tail` for the slot just past the end: an sds string always
/// has one there (its NUL terminator), and Redis's readers look one byte ahead.
fn byte_at(s: &[u8], i: usize, tail: u8) -> u8 {
    debug_assert!(i <= s.len());
    s.get(i).copied().unwrap_or(tail)
}

// ---- the header -------------------------------------------------------------------

/// Redis's isHLLObjectOrReply past the type check: magic, a known encoding, and the
/// exact length for dense.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE
        && &s[..4] == b"HYLL"
        && s[ENCODING_AT] <= MAX_ENCODING
        && !(s[ENCODING_AT] == DENSE && s.len() != DENSE_SIZE)
}

pub fn encoding(s: &[u8]) -> u8 {
    s[ENCODING_AT]
}

/// A new, empty HLL (createHLLObject): sparse, one XZERO covering every register,
/// cached cardinality 0 and valid.
pub fn new_sparse() -> Vec<u8> {
    let mut s = vec![0u8; HDR_SIZE];
    s[..4].copy_from_slice(b"HYLL");
    s[ENCODING_AT] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        s.extend_from_slice(&xzero_op(run));
        left -= run;
    }
    debug_assert_eq!(s.len(), HDR_SIZE + 2);
    s
}

/// The cached cardinality, unless the stale bit is set.
pub fn cached_card(s: &[u8]) -> Option<u64> {
    if s[CACHE_STALE_AT] & CACHE_STALE_BIT != 0 {
        return None;
    }
    Some(u64::from_le_bytes(
        s[CARD_AT..HDR_SIZE].try_into().expect("8 bytes"),
    ))
}

pub fn set_cached_card(s: &mut [u8], card: u64) {
    s[CARD_AT..HDR_SIZE].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[CACHE_STALE_AT] |= CACHE_STALE_BIT;
}

// ---- dense registers --------------------------------------------------------------

/// Register `i` of a dense register array (HLL_DENSE_GET_REGISTER).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs[byte] as u32;
    let b1 = byte_at(regs, byte + 1, 0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

/// Set register `i` of a dense register array to `val` (HLL_DENSE_SET_REGISTER).
pub fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    debug_assert!(val <= REGISTER_MAX);
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let v = val as u32;
    let max = REGISTER_MAX as u32;
    regs[byte] &= !(max << fb) as u8;
    regs[byte] |= (v << fb) as u8;
    // Only the last register reaches past the array, and what it would write there
    // (v >> 6) is zero, so skipping the sds terminator loses nothing.
    if byte + 1 < regs.len() {
        regs[byte + 1] &= !(max >> fb8) as u8;
        regs[byte + 1] |= (v >> fb8) as u8;
    } else {
        debug_assert_eq!(v >> fb8, 0);
    }
}

/// Raise register `index` to `count` if it is lower (hllDenseSet); true if raised.
fn dense_raise(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_set(regs, index, count);
        true
    } else {
        false
    }
}

/// Histogram of the dense registers, four registers per three bytes.
fn dense_histogram(regs: &[u8], histo: &mut [u32; 64]) {
    debug_assert_eq!(regs.len(), DENSE_SIZE - HDR_SIZE);
    for c in regs.chunks_exact(3) {
        let (b0, b1, b2) = (c[0], c[1], c[2]);
        histo[(b0 & 63) as usize] += 1;
        histo[((b0 >> 6 | b1 << 2) & 63) as usize] += 1;
        histo[((b1 >> 4 | b2 << 4) & 63) as usize] += 1;
        histo[(b2 >> 2) as usize] += 1;
    }
}

// ---- sparse opcodes ---------------------------------------------------------------

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}

fn xzero_len(b: u8, next: u8) -> usize {
    ((((b & 0x3f) as usize) << 8) | next as usize) + 1
}

fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}

fn val_op(value: u8, len: usize) -> u8 {
    debug_assert!((1..=SPARSE_VAL_MAX_VALUE).contains(&value));
    debug_assert!((1..=SPARSE_VAL_MAX_LEN).contains(&len));
    ((value - 1) << 2 | (len as u8 - 1)) | 0x80
}

fn zero_op(len: usize) -> u8 {
    debug_assert!((1..=SPARSE_ZERO_MAX_LEN).contains(&len));
    (len - 1) as u8
}

fn xzero_op(len: usize) -> [u8; 2] {
    debug_assert!((1..=SPARSE_XZERO_MAX_LEN).contains(&len));
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, (l & 0xff) as u8]
}

/// One decoded sparse opcode: its registers' value (0 for ZERO/XZERO), how many
/// registers it covers, and how many bytes it takes. `tail` is the byte past the end
/// (see [`Writer`]).
fn opcode(s: &[u8], p: usize, tail: u8) -> (u8, usize, usize) {
    let b = s[p];
    if is_zero(b) {
        (0, zero_len(b), 1)
    } else if is_xzero(b) {
        (0, xzero_len(b, byte_at(s, p + 1, tail)), 2)
    } else {
        (val_value(b), val_len(b), 1)
    }
}

/// Walk the sparse opcodes calling `f(first_register, value, run)` for each VAL run;
/// Err unless the runs cover exactly 16384 registers (the checks of hllSparseToDense
/// and hllMerge). A VAL run past the last register is an error even when the runs
/// before it end exactly there: Debian's 7.0.15 carries the CVE-2025-32023 fix,
/// which refuses it where the original code stopped silently.
fn walk_sparse(s: &[u8], tail: u8, mut f: impl FnMut(usize, u8, usize)) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    let mut p = HDR_SIZE;
    while p < s.len() {
        let (value, run, len) = opcode(s, p, tail);
        if value != 0 {
            if run + idx > REGISTERS {
                return Err(Corrupt);
            }
            f(idx, value, run);
        }
        idx += run;
        p += len;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Convert a sparse HLL to dense in place (hllSparseToDense). The header, cached
/// cardinality included, is kept. Dense input is left alone; on corruption the
/// value is untouched.
pub fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    to_dense(s, 0)
}

fn to_dense(s: &mut Vec<u8>, tail: u8) -> Result<(), Corrupt> {
    if s[ENCODING_AT] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    dense[ENCODING_AT] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    walk_sparse(s, tail, |first, value, run| {
        for i in first..first + run {
            dense_set(regs, i, value);
        }
    })?;
    *s = dense;
    Ok(())
}

/// An HLL string being changed by one command (PFADD's elements, PFMERGE's
/// registers, PFSELFTEST's adds).
///
/// `tail` is the byte just past the string, which Redis reads when the last opcode
/// is an XZERO cut short (a forged value). It is normally the NUL terminator, but
/// splitting such an opcode moves the length first and copies the new sequence
/// after, so the sequence's last byte lands in that slot and later edits read it
/// back. The writer carries it from edit to edit; a new command starts from the
/// terminator (Redis keeps the stale byte in the allocation across commands).
#[derive(Debug)]
pub struct Writer<'a> {
    s: &'a mut Vec<u8>,
    tail: u8,
    max_bytes: u64,
}

impl<'a> Writer<'a> {
    /// `s` must satisfy [`is_valid`]; `max_bytes` is hll-sparse-max-bytes.
    pub fn new(s: &'a mut Vec<u8>, max_bytes: u64) -> Writer<'a> {
        debug_assert!(is_valid(s));
        Writer {
            s,
            tail: 0,
            max_bytes,
        }
    }

    pub fn bytes(&mut self) -> &mut Vec<u8> {
        self.s
    }

    /// Add one element (hllAdd): Ok(true) if a register changed.
    pub fn add(&mut self, element: &[u8]) -> Result<bool, Corrupt> {
        let (index, count) = pattern(element);
        self.raise(index, count)
    }

    /// Raise register `index` to `count` if it is lower, in either encoding.
    pub fn raise(&mut self, index: usize, count: u8) -> Result<bool, Corrupt> {
        match self.s[ENCODING_AT] {
            DENSE => Ok(dense_raise(&mut self.s[HDR_SIZE..], index, count)),
            SPARSE => self.sparse_set(index, count),
            _ => Err(Corrupt),
        }
    }

    /// Convert to dense (no-op when dense already).
    pub fn to_dense(&mut self) -> Result<(), Corrupt> {
        to_dense(self.s, self.tail)
    }

    /// hllSparseSet: edit the opcodes in place; promote to dense when `count` is too
    /// big for a VAL opcode or the string would outgrow `max_bytes`.
    fn sparse_set(&mut self, index: usize, count: u8) -> Result<bool, Corrupt> {
        debug_assert!(index < REGISTERS);
        if count > SPARSE_VAL_MAX_VALUE {
            return self.promote(index, count);
        }
        let s = &mut *self.s;
        // Step 1: find the opcode covering `index`.
        let end = s.len();
        let mut p = HDR_SIZE;
        let mut first = 0usize;
        let mut prev: Option<usize> = None;
        let mut span = 0usize;
        while p < end {
            let (_, run, len) = opcode(s, p, self.tail);
            span = run;
            if index < first + span {
                break;
            }
            prev = Some(p);
            p += len;
            first += span;
        }
        if span == 0 || p >= end {
            return Err(Corrupt);
        }
        let op = s[p];
        let oplen = if is_xzero(op) { 2 } else { 1 };
        let next = (p + oplen < end).then_some(p + oplen);

        let in_place = if is_val(op) {
            if val_value(op) >= count {
                return Ok(false);
            }
            span == 1
        } else {
            is_zero(op) && span == 1
        };
        if in_place {
            s[p] = val_op(count, 1);
        } else {
            // Step 2: split the opcode into at most three: before, ours, after.
            let mut seq = [0u8; 5];
            let mut n = 0usize;
            let last = first + span - 1;
            let push_zeros = |seq: &mut [u8; 5], n: &mut usize, len: usize| {
                if len > SPARSE_ZERO_MAX_LEN {
                    seq[*n..*n + 2].copy_from_slice(&xzero_op(len));
                    *n += 2;
                } else {
                    seq[*n] = zero_op(len);
                    *n += 1;
                }
            };
            if is_val(op) {
                let current = val_value(op);
                if index != first {
                    seq[n] = val_op(current, index - first);
                    n += 1;
                }
                seq[n] = val_op(count, 1);
                n += 1;
                if index != last {
                    seq[n] = val_op(current, last - index);
                    n += 1;
                }
            } else {
                if index != first {
                    push_zeros(&mut seq, &mut n, index - first);
                }
                seq[n] = val_op(count, 1);
                n += 1;
                if index != last {
                    push_zeros(&mut seq, &mut n, last - index);
                }
            }
            // Step 3: put the new sequence in place of the old opcode.
            let delta = n as isize - oplen as isize;
            if delta > 0 && (end as u64).saturating_add(delta as u64) > self.max_bytes {
                return self.promote(index, count);
            }
            let new_len = (end as isize + delta) as usize;
            match next {
                Some(after) => {
                    s.splice(p..after, seq[..n].iter().copied());
                    self.tail = 0;
                }
                None => {
                    s.truncate(p);
                    s.extend_from_slice(&seq[..n]);
                    // An XZERO cut short by the end: one byte less than written
                    // belongs to the string, the last one lands past it.
                    self.tail = if s.len() > new_len { seq[n - 1] } else { 0 };
                    s.truncate(new_len);
                }
            }
            debug_assert_eq!(s.len(), new_len);
        }
        // Step 4: merge adjacent VAL opcodes of equal value, scanning at most five
        // opcodes from the one before ours.
        let mut p = prev.unwrap_or(HDR_SIZE);
        let mut scan = 5;
        while p < s.len() && scan > 0 {
            scan -= 1;
            let b = s[p];
            if is_xzero(b) {
                p += 2;
                continue;
            }
            if is_zero(b) {
                p += 1;
                continue;
            }
            if p + 1 < s.len() && is_val(s[p + 1]) {
                let (v1, v2) = (val_value(b), val_value(s[p + 1]));
                let len = val_len(b) + val_len(s[p + 1]);
                if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, len);
                    s.remove(p);
                    // Shrinking rewrites the terminator.
                    self.tail = 0;
                    // Stay on the merged opcode: it may merge with the next one too.
                    continue;
                }
            }
            p += 1;
        }
        invalidate_cache(s);
        Ok(true)
    }

    /// The promotion path of hllSparseSet: convert, then set the register densely.
    fn promote(&mut self, index: usize, count: u8) -> Result<bool, Corrupt> {
        self.to_dense()?;
        Ok(dense_raise(&mut self.s[HDR_SIZE..], index, count))
    }
}

/// Fold an HLL into `max` (one byte per register) by taking maxima (hllMerge).
pub fn merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if s[ENCODING_AT] == DENSE {
        let regs = &s[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    walk_sparse(s, 0, |first, value, run| {
        for m in &mut max[first..first + run] {
            if value > *m {
                *m = value;
            }
        }
    })
}

// ---- cardinality ------------------------------------------------------------------

/// Ertl's sigma (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if before == z {
            return z;
        }
    }
}

/// Ertl's tau (arXiv:1702.01284).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        let d = 1.0 - x;
        // C's pow(d, 2) is correctly rounded, so it equals the rounded product.
        z -= d * d * y;
        if before == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram (the tail of hllCount).
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    // llroundl: half away from zero, as f64::round.
    (ALPHA_INF * m * m / z).round() as u64
}

/// The cardinality of a valid HLL string (hllCount). The flag is true when a sparse
/// representation does not cover exactly 16384 registers.
pub fn count(s: &[u8]) -> (u64, bool) {
    let mut histo = [0u32; 64];
    let mut invalid = false;
    if s[ENCODING_AT] == DENSE {
        dense_histogram(&s[HDR_SIZE..], &mut histo);
    } else {
        let mut idx = 0usize;
        let mut p = HDR_SIZE;
        while p < s.len() {
            let (value, run, len) = opcode(s, p, 0);
            idx += run;
            // Runs of a corrupt string can add up past u32; it is reported anyway.
            histo[value as usize] = histo[value as usize].wrapping_add(run as u32);
            p += len;
        }
        invalid = idx != REGISTERS;
    }
    (estimate(&histo), invalid)
}

/// The cardinality of a register array of one byte per register (the HLL_RAW path
/// of PFCOUNT over several keys).
pub fn count_registers(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        debug_assert!(r <= REGISTER_MAX);
        histo[(r & REGISTER_MAX) as usize] += 1;
    }
    estimate(&histo)
}

/// PFDEBUG DECODE: the sparse opcodes as `z:N`, `Z:N` and `v:VALUE,N`.
pub fn decode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR_SIZE;
    while p < s.len() {
        let b = s[p];
        let (value, run, len) = opcode(s, p, 0);
        if is_zero(b) {
            out.push_str(&format!("z:{run} "));
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{run} "));
        } else {
            out.push_str(&format!("v:{value},{run} "));
        }
        p += len;
    }
    out.trim_matches(' ').to_string()
}

/// PFSELFTEST: register access on a dense array, then dense and sparse HLLs fed the
/// same ten million elements, checked against each other and against the expected
/// error at every power of ten. Err carries the failure text.
pub fn selftest(rng: &mut CoreRng, max_bytes: u64) -> Result<(), String> {
    const CYCLES: usize = 1000;
    let mut dense = vec![0u8; DENSE_SIZE];
    let mut expected = [0u8; REGISTERS];
    for _ in 0..CYCLES {
        let mut bits = 0u64;
        for (i, e) in expected.iter_mut().enumerate() {
            // Ten 6-bit values per draw.
            if i % 10 == 0 {
                bits = rng.next_u64();
            }
            let r = (bits & REGISTER_MAX as u64) as u8;
            bits >>= BITS;
            *e = r;
            dense_set(&mut dense[HDR_SIZE..], i, r);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = dense_get(&dense[HDR_SIZE..], i);
            if got != e {
                return Err(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                ));
            }
        }
    }

    dense[HDR_SIZE..].fill(0);
    dense[ENCODING_AT] = DENSE;
    let mut sparse_bytes = new_sparse();
    let mut sparse = Writer::new(&mut sparse_bytes, max_bytes);
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rng.next_u64();
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_le_bytes();
        let (index, run) = pattern(&element);
        dense_raise(&mut dense[HDR_SIZE..], index, run);
        if sparse.add(&element).is_err() {
            return Err("TESTFAILED sparse HLL reported corrupt".into());
        }
        if j != checkpoint {
            continue;
        }
        if j < max_bytes / 2 && sparse.bytes()[ENCODING_AT] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let (card, _) = count(&dense);
        if card != count(sparse.bytes()).0 {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        // Collisions make a larger error at ten elements statistically likely.
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_land_where_redis_puts_them() {
        // Register and run length of single elements, read from redis-server 7.0.15
        // with PFADD then PFDEBUG DECODE (`Z:index v:count,1 ...`). They pin
        // MurmurHash64A, its seed and the tail handling for several lengths.
        for (element, index, count) in [
            (&b""[..], 5938, 2),
            (b"a", 12711, 2),
            (b"hello", 9216, 1),
            (b"12345678", 10579, 3),
            (b"123456789", 9293, 2),
            (b"\x00\xff", 3937, 1),
        ] {
            assert_eq!(pattern(element), (index, count), "{element:?}");
        }
        assert_eq!(murmur64a(b"", 0), 0);
    }

    #[test]
    fn new_hll_is_one_xzero() {
        let s = new_sparse();
        assert_eq!(
            s,
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff".to_vec()
        );
        assert!(is_valid(&s));
        assert_eq!(decode(&s), "Z:16384");
        assert_eq!(count(&s), (0, false));
        assert_eq!(cached_card(&s), Some(0));
    }

    #[test]
    fn dense_registers_are_independent() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8, "register {i}");
        }
        dense_set(&mut regs, REGISTERS - 1, 0);
        assert_eq!(
            dense_get(&regs, REGISTERS - 2),
            ((REGISTERS - 2) % 64) as u8
        );
        assert_eq!(dense_get(&regs, REGISTERS - 1), 0);
    }

    #[test]
    fn sparse_splits_and_merges_opcodes() {
        let mut s = new_sparse();
        assert_eq!(Writer::new(&mut s, 3000).raise(1000, 2), Ok(true));
        assert_eq!(decode(&s), "Z:1000 v:2,1 Z:15383");
        assert_eq!(cached_card(&s), None);
        assert_eq!(Writer::new(&mut s, 3000).raise(1000, 1), Ok(false));
        assert_eq!(Writer::new(&mut s, 3000).raise(1020, 3), Ok(true));
        assert_eq!(decode(&s), "Z:1000 v:2,1 z:19 v:3,1 Z:15363");
        assert_eq!(Writer::new(&mut s, 3000).raise(1021, 3), Ok(true));
        assert_eq!(decode(&s), "Z:1000 v:2,1 z:19 v:3,2 Z:15362");
        assert_eq!(Writer::new(&mut s, 3000).raise(1001, 2), Ok(true));
        assert_eq!(decode(&s), "Z:1000 v:2,2 z:18 v:3,2 Z:15362");
        assert_eq!(Writer::new(&mut s, 3000).raise(0, 5), Ok(true));
        assert_eq!(Writer::new(&mut s, 3000).raise(16383, 5), Ok(true));
        assert_eq!(decode(&s), "v:5,1 Z:999 v:2,2 z:18 v:3,2 Z:15361 v:5,1");
        // Splitting a VAL run keeps its value on both sides.
        assert_eq!(Writer::new(&mut s, 3000).raise(1022, 3), Ok(true));
        assert_eq!(Writer::new(&mut s, 3000).raise(1021, 9), Ok(true));
        assert_eq!(
            decode(&s),
            "v:5,1 Z:999 v:2,2 z:18 v:3,1 v:9,1 v:3,1 Z:15360 v:5,1"
        );
        let (card, invalid) = count(&s);
        assert!(!invalid);
        let mut dense = s.clone();
        sparse_to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        assert_eq!(count(&dense), (card, false));
        for (i, v) in [
            (0, 5),
            (1000, 2),
            (1001, 2),
            (1020, 3),
            (1021, 9),
            (1022, 3),
            (16383, 5),
        ] {
            assert_eq!(dense_get(&dense[HDR_SIZE..], i), v);
        }
    }

    #[test]
    fn big_values_and_size_limit_promote() {
        let mut s = new_sparse();
        assert_eq!(Writer::new(&mut s, 3000).raise(7, 33), Ok(true));
        assert_eq!(encoding(&s), DENSE);
        assert_eq!(dense_get(&s[HDR_SIZE..], 7), 33);
        let mut s = new_sparse();
        // 18 bytes plus a split of XZERO into XZERO VAL XZERO (+3) exceeds 20.
        assert_eq!(Writer::new(&mut s, 20).raise(100, 1), Ok(true));
        assert_eq!(encoding(&s), DENSE);
        let mut s = new_sparse();
        assert_eq!(Writer::new(&mut s, 21).raise(100, 1), Ok(true));
        assert_eq!(encoding(&s), SPARSE);
        assert_eq!(s.len(), 21);
    }

    #[test]
    fn corrupt_sparse_is_reported_not_panicked() {
        let header = &new_sparse()[..HDR_SIZE];
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x7f],
            vec![0x7f, 0xfe],
            vec![0x7f, 0xff, 0x00],
            vec![0xff; 40],
            vec![0x40],
            vec![0x00; 300],
        ];
        for tail in cases {
            let mut s = header.to_vec();
            s.extend_from_slice(&tail);
            assert!(is_valid(&s));
            let (_, invalid) = count(&s);
            let covered = walk_sparse(&s, 0, |_, _, _| {}).is_ok();
            assert_eq!(invalid, !covered, "{tail:?}");
            let mut max = [0u8; REGISTERS];
            assert_eq!(merge(&mut max, &s).is_ok(), covered);
            let mut t = s.clone();
            assert_eq!(sparse_to_dense(&mut t).is_ok(), covered);
            for i in [0, 5000, 16383] {
                let mut t = s.clone();
                let _ = Writer::new(&mut t, 3000).raise(i, 3);
                let _ = Writer::new(&mut t, 3000).raise(i, 40);
                assert!(t.len() <= DENSE_SIZE);
            }
            let _ = decode(&s);
        }
    }

    #[test]
    fn estimator_edges() {
        let mut histo = [0u32; 64];
        histo[0] = REGISTERS as u32;
        assert_eq!(estimate(&histo), 0);
        histo[0] = 0;
        histo[Q + 1] = REGISTERS as u32;
        // Every register saturated: tau(0) = 0 and sigma(0) = 0 leave only the sum.
        assert!(estimate(&histo) > 0);
        assert_eq!(count_registers(&[0u8; REGISTERS]), 0);
    }
}
