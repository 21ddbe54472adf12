//! HyperLogLog, as Redis 7.0's `hyperloglog.c`: PFADD, PFCOUNT, PFMERGE with exact
//! replies. The model computes Redis's registers itself (MurmurHash64A with Redis's
//! seed, 16384 registers, the run of zeros after the index bits) and its cardinality
//! estimator (Ertl's, `hllCount` with `hllTau` and `hllSigma`), so PFADD's 0/1 and
//! PFCOUNT's numbers are exact, not ranges.
//!
//! What the model does not compute is the string's bytes (the sparse and dense
//! encodings and the cached cardinality): it keeps the registers in a string of its
//! own (`HYLL` then one byte per register), and the workload keeps those values on
//! `hll:*` keys that only these commands and the keyspace-wide ones (which look at
//! names and types, never bytes) touch. A string that is not an HLL gets Redis's
//! "not a valid HyperLogLog" error; the workload's strings never start with `HYLL`.

use super::{done, fail, View};
use crate::model::value::{Str, Value};
use crate::resp;

pub(crate) const COMMANDS: &[&str] = &["pfadd", "pfcount", "pfmerge"];

const P: u32 = 14;
const REGISTERS: usize = 1 << P;
const Q: u32 = 64 - P;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const MAGIC: &[u8] = b"HYLL";

/// MurmurHash64A, as Redis carries it (little-endian reads).
pub(crate) fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate() {
            h ^= (*b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// hllPatLen: the register an element goes to and the count it offers.
pub(crate) fn pat_len(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z_prime == z {
            break;
        }
    }
    z / 3.0
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            break;
        }
    }
    z
}

/// hllCount: Ertl's estimator over the registers' histogram.
pub(crate) fn count(registers: &[u8]) -> i64 {
    let m = REGISTERS as f64;
    let mut histo = [0u32; 64];
    for r in registers {
        histo[*r as usize] += 1;
    }
    let q = Q as usize;
    let mut z = m * tau((m - histo[q + 1] as f64) / m);
    for j in (1..=q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as i64
}

/// The registers of the key: `Ok(None)` if absent, an error if not an HLL.
fn registers(v: &mut View, key: &[u8]) -> Result<Option<Vec<u8>>, super::Stop> {
    let Some(s) = v.get_str(key)? else {
        return Ok(None);
    };
    if s.len() == MAGIC.len() + REGISTERS && s.starts_with(MAGIC) {
        return Ok(Some(s[MAGIC.len()..].to_vec()));
    }
    if s.starts_with(MAGIC) {
        return Err(super::Stop::Limitation(
            "model limitation: a string that starts as an HLL".into(),
        ));
    }
    v.event("hll: a string that is not an HLL refused");
    fail(b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n".to_vec())
}

fn store(v: &mut View, key: &[u8], regs: Vec<u8>) {
    let mut bytes = MAGIC.to_vec();
    bytes.extend(regs);
    match v.lookup(key) {
        Some(super::Entry {
            value: Value::Str(x),
            ..
        }) => *x = Str::raw(bytes),
        _ => v.set_value(key, Value::Str(Str::raw(bytes))),
    }
}

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View) -> super::Eval {
    match name {
        "pfadd" => {
            let key = req[1].as_slice();
            let (mut regs, mut updated) = match registers(v, key)? {
                Some(r) => (r, false),
                None => (vec![0u8; REGISTERS], true),
            };
            for e in &req[2..] {
                let (i, c) = pat_len(e);
                if regs[i] < c {
                    regs[i] = c;
                    updated = true;
                }
            }
            if updated {
                store(v, key, regs);
            }
            done(resp::int(i64::from(updated)))
        }
        "pfcount" => {
            let mut union: Option<Vec<u8>> = None;
            for k in &req[1..] {
                if let Some(r) = registers(v, k)? {
                    union = Some(match union {
                        None => r,
                        Some(u) => u.iter().zip(&r).map(|(a, b)| *a.max(b)).collect(),
                    });
                }
            }
            let n = union.map_or(0, |u| count(&u));
            if n > 0 {
                v.event("hll: a cardinality estimated");
            }
            done(resp::int(n))
        }
        _ => {
            let mut union = vec![0u8; REGISTERS];
            for k in &req[1..] {
                if let Some(r) = registers(v, k)? {
                    for (a, b) in union.iter_mut().zip(&r) {
                        *a = (*a).max(*b);
                    }
                }
            }
            store(v, &req[1], union);
            v.event("hll: PFMERGE stored");
            done(resp::ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_exact_and_empty_is_zero() {
        assert_eq!(count(&vec![0u8; REGISTERS]), 0);
        let mut regs = vec![0u8; REGISTERS];
        for e in ["a", "b", "c", "hello", "1"] {
            let (i, c) = pat_len(e.as_bytes());
            regs[i] = regs[i].max(c);
        }
        assert_eq!(count(&regs), 5);
    }
}
