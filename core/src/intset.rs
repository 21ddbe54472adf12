//! Intset: Redis's sorted array of distinct integers in one byte buffer (intset.c),
//! the compact encoding of sets whose members are all integers. The bytes are exactly
//! Redis's, so an RDB file can carry them as they are:
//!
//! `<encoding u32 LE> <length u32 LE> <value>*`, where the encoding is the width in
//! bytes of every value (2, 4 or 8), the values are little-endian, signed, strictly
//! ascending. Adding a value too wide for the current encoding upgrades every value
//! to the wider encoding; the encoding never narrows again (as in Redis).

use crate::rng::CoreRng;

const HEADER_SIZE: usize = 8;
const ENC_INT16: usize = 2;
const ENC_INT32: usize = 4;
const ENC_INT64: usize = 8;

/// The narrowest encoding that holds `v` (_intsetValueEncoding).
fn value_encoding(v: i64) -> usize {
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        ENC_INT64
    } else if v < i16::MIN as i64 || v > i16::MAX as i64 {
        ENC_INT32
    } else {
        ENC_INT16
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intset {
    buf: Vec<u8>,
}

impl Default for Intset {
    fn default() -> Self {
        Intset::new()
    }
}

impl Intset {
    pub fn new() -> Intset {
        let mut buf = Vec::with_capacity(HEADER_SIZE);
        buf.extend_from_slice(&(ENC_INT16 as u32).to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Intset { buf }
    }

    /// Adopt bytes from outside (an RDB file), checked as Redis's deep
    /// intsetValidateIntegrity does: a known encoding, a length matching the size,
    /// at least one value, and values strictly ascending.
    pub fn from_bytes(buf: Vec<u8>) -> Result<Intset, String> {
        if buf.len() < HEADER_SIZE {
            return Err(format!(
                "intset of {} bytes is shorter than its header",
                buf.len()
            ));
        }
        let enc = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
        if ![ENC_INT16, ENC_INT32, ENC_INT64].contains(&enc) {
            return Err(format!("intset has unknown encoding {enc}"));
        }
        let count = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes")) as usize;
        if HEADER_SIZE + count * enc != buf.len() {
            return Err(format!(
                "intset header says {count} values of {enc} bytes but {} bytes follow",
                buf.len() - HEADER_SIZE
            ));
        }
        if count == 0 {
            return Err("intset is empty".to_string());
        }
        let is = Intset { buf };
        for i in 1..count {
            if is.get(i) <= is.get(i - 1) {
                return Err(format!(
                    "intset value {i} at offset {} is not above the one before it",
                    HEADER_SIZE + i * enc
                ));
            }
        }
        Ok(is)
    }

    /// The exact bytes Redis keeps (and RDB stores).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// intsetBlobLen.
    pub fn blob_len(&self) -> usize {
        self.buf.len()
    }

    /// The width in bytes of every value: 2, 4 or 8.
    pub fn encoding(&self) -> usize {
        u32::from_le_bytes(self.buf[0..4].try_into().expect("4 bytes")) as usize
    }

    pub fn len(&self) -> usize {
        u32::from_le_bytes(self.buf[4..8].try_into().expect("4 bytes")) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_header(&mut self, enc: usize, len: usize) {
        let len = u32::try_from(len).expect("intsets hold at most 2^32-1 values");
        self.buf[0..4].copy_from_slice(&(enc as u32).to_le_bytes());
        self.buf[4..8].copy_from_slice(&len.to_le_bytes());
    }

    fn read_at(&self, pos: usize, enc: usize) -> i64 {
        let at = HEADER_SIZE + pos * enc;
        let b = &self.buf[at..at + enc];
        match enc {
            ENC_INT16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            ENC_INT32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes(b.try_into().expect("8 bytes")),
        }
    }

    fn write_at(&mut self, pos: usize, enc: usize, v: i64) {
        debug_assert!(value_encoding(v) <= enc, "{v} does not fit {enc} bytes");
        let at = HEADER_SIZE + pos * enc;
        match enc {
            ENC_INT16 => self.buf[at..at + 2].copy_from_slice(&(v as i16).to_le_bytes()),
            ENC_INT32 => self.buf[at..at + 4].copy_from_slice(&(v as i32).to_le_bytes()),
            _ => self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes()),
        }
    }

    /// The value at position `pos` (ascending order).
    pub fn get(&self, pos: usize) -> i64 {
        assert!(pos < self.len(), "intset index {pos} out of {}", self.len());
        self.read_at(pos, self.encoding())
    }

    pub fn min(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.get(0))
    }

    pub fn max(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.get(self.len() - 1))
    }

    /// Ok(position) of `v`, or Err(position where it would be inserted).
    fn search(&self, v: i64) -> Result<usize, usize> {
        let len = self.len();
        if len == 0 {
            return Err(0);
        }
        let enc = self.encoding();
        // Values outside the range have a known insert position without a search.
        if v > self.read_at(len - 1, enc) {
            return Err(len);
        }
        if v < self.read_at(0, enc) {
            return Err(0);
        }
        let (mut lo, mut hi) = (0usize, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let cur = self.read_at(mid, enc);
            match cur.cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        value_encoding(v) <= self.encoding() && self.search(v).is_ok()
    }

    /// Grow the buffer for one more value of `enc` bytes. Growth is by an eighth at
    /// a time rather than doubling, so the slack stays close to what Redis's exact
    /// zrealloc leaves in jemalloc's size classes.
    fn reserve_one(&mut self, enc: usize) {
        let needed = self.buf.len() + enc;
        if self.buf.capacity() < needed {
            let target = needed.max(self.buf.len() + self.buf.len() / 8);
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// Add `v`; false if it was already there.
    pub fn add(&mut self, v: i64) -> bool {
        let enc = self.encoding();
        let len = self.len();
        let venc = value_encoding(v);
        if venc > enc {
            self.upgrade_and_add(v, venc);
            return true;
        }
        let pos = match self.search(v) {
            Ok(_) => return false,
            Err(pos) => pos,
        };
        self.reserve_one(enc);
        let at = HEADER_SIZE + pos * enc;
        let zeros = [0u8; ENC_INT64];
        self.buf.splice(at..at, zeros[..enc].iter().copied());
        self.write_at(pos, enc, v);
        self.set_header(enc, len + 1);
        debug_assert!(pos == 0 || self.get(pos - 1) < v);
        debug_assert!(pos == len || self.get(pos + 1) > v);
        true
    }

    /// A value wider than the encoding lies outside every stored value's range, so
    /// it goes first (negative) or last (positive) after re-encoding everything.
    fn upgrade_and_add(&mut self, v: i64, new_enc: usize) {
        let old_enc = self.encoding();
        let len = self.len();
        debug_assert!(new_enc > old_enc);
        let old: Vec<i64> = (0..len).map(|i| self.read_at(i, old_enc)).collect();
        let mut buf = Vec::with_capacity(HEADER_SIZE + (len + 1) * new_enc);
        buf.extend_from_slice(&self.buf[..HEADER_SIZE]);
        buf.resize(HEADER_SIZE + (len + 1) * new_enc, 0);
        self.buf = buf;
        let prepend = usize::from(v < 0);
        for (i, x) in old.iter().enumerate() {
            self.write_at(i + prepend, new_enc, *x);
        }
        self.write_at(if prepend == 1 { 0 } else { len }, new_enc, v);
        self.set_header(new_enc, len + 1);
    }

    /// Remove `v`; false if it was not there.
    pub fn remove(&mut self, v: i64) -> bool {
        let enc = self.encoding();
        if value_encoding(v) > enc {
            return false;
        }
        let Ok(pos) = self.search(v) else {
            return false;
        };
        let len = self.len();
        let at = HEADER_SIZE + pos * enc;
        self.buf.drain(at..at + enc);
        self.set_header(enc, len - 1);
        // Give memory back as Redis's zrealloc to the smaller size does.
        if self.buf.capacity() - self.buf.len() > self.buf.len() / 4 + 64 {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 8);
        }
        true
    }

    /// A uniformly chosen value (intsetRandom); None when empty.
    pub fn random(&self, rng: &mut CoreRng) -> Option<i64> {
        (!self.is_empty()).then(|| self.get(rng.index(self.len())))
    }

    /// The values in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            is: self,
            enc: self.encoding(),
            front: 0,
            back: self.len(),
        }
    }
}

pub struct Iter<'a> {
    is: &'a Intset,
    enc: usize,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        let v = self.is.read_at(self.front, self.enc);
        self.front += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.is.read_at(self.back, self.enc))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(is: &Intset) -> Vec<i64> {
        is.iter().collect()
    }

    #[test]
    fn bytes_match_redis() {
        let mut is = Intset::new();
        assert_eq!(is.as_bytes(), &[2, 0, 0, 0, 0, 0, 0, 0]);
        for v in [3, 1, 2] {
            assert!(is.add(v));
        }
        assert!(!is.add(2));
        // What redis-server 7.0 DUMPs for `SADD s 3 1 2` (intset payload).
        assert_eq!(is.as_bytes(), &[2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        // -1 and 65535 need 4 bytes: every value is re-encoded.
        assert!(is.add(65535));
        assert_eq!(is.encoding(), 4);
        assert_eq!(
            is.as_bytes(),
            &[4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xFF, 0xFF, 0, 0]
        );
        assert!(is.add(-5_000_000_000));
        assert_eq!(is.encoding(), 8);
        assert_eq!(values(&is), vec![-5_000_000_000, 1, 2, 3, 65535]);
        assert_eq!(is.blob_len(), 8 + 5 * 8);
        assert_eq!(&is.as_bytes()[8..16], &(-5_000_000_000i64).to_le_bytes());
        // Removing the wide values never narrows the encoding.
        assert!(is.remove(-5_000_000_000));
        assert!(is.remove(65535));
        assert_eq!(is.encoding(), 8);
        assert_eq!(values(&is), vec![1, 2, 3]);
        assert_eq!(Intset::from_bytes(is.as_bytes().to_vec()).unwrap(), is);
    }

    #[test]
    fn upgrade_prepends_negatives_and_appends_positives() {
        for (wide, first) in [
            (i64::MIN, true),
            (i64::MAX, false),
            (-40_000, true),
            (40_000, false),
        ] {
            let mut is = Intset::new();
            for v in [-3, 0, 7] {
                is.add(v);
            }
            assert!(is.add(wide));
            let got = values(&is);
            assert_eq!(got.len(), 4);
            if first {
                assert_eq!(got[0], wide);
            } else {
                assert_eq!(got[3], wide);
            }
            assert!(got.windows(2).all(|w| w[0] < w[1]));
            assert!(is.contains(wide));
            assert!(is.contains(-3));
        }
    }

    #[test]
    fn search_insert_remove_contains() {
        let mut is = Intset::new();
        assert!(!is.contains(0));
        assert!(!is.remove(0));
        assert_eq!(is.min(), None);
        for v in (0..200).rev().map(|i| i * 3) {
            assert!(is.add(v));
        }
        assert_eq!(is.len(), 200);
        assert_eq!(is.min(), Some(0));
        assert_eq!(is.max(), Some(597));
        for v in 0..600 {
            assert_eq!(is.contains(v), v % 3 == 0, "{v}");
        }
        assert!(!is.contains(1 << 40), "wider than the encoding");
        assert!(!is.remove(1 << 40));
        assert!(is.remove(300));
        assert!(!is.remove(300));
        assert!(is.add(301));
        let got = values(&is);
        assert!(got.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(is.iter().next_back(), Some(597));
    }

    #[test]
    fn random_reaches_every_value() {
        let mut rng = CoreRng::from_seed(11);
        let mut is = Intset::new();
        for v in 0..16 {
            is.add(v * 1000);
        }
        let mut seen = [false; 16];
        for _ in 0..1000 {
            seen[(is.random(&mut rng).unwrap() / 1000) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(Intset::new().random(&mut rng), None);
    }

    #[test]
    fn corrupt_input_is_refused() {
        let mut is = Intset::new();
        is.add(1);
        is.add(2);
        let good = is.as_bytes().to_vec();
        assert!(Intset::from_bytes(good.clone()).is_ok());
        assert!(Intset::from_bytes(vec![2, 0, 0]).is_err());
        let mut bad = good.clone();
        bad[0] = 3;
        assert!(Intset::from_bytes(bad).unwrap_err().contains("encoding"));
        let mut bad = good.clone();
        bad[4] = 3;
        assert!(Intset::from_bytes(bad).is_err());
        let mut bad = good.clone();
        bad[10] = 1; // second value equals the first
        assert!(Intset::from_bytes(bad).unwrap_err().contains("offset 10"));
        assert!(Intset::from_bytes(Intset::new().as_bytes().to_vec())
            .unwrap_err()
            .contains("empty"));
    }

    #[test]
    fn a_million_values() {
        let mut is = Intset::new();
        for v in 0..1_000_000i64 {
            assert!(is.add(v * 2));
        }
        assert_eq!(is.len(), 1_000_000);
        assert_eq!(is.encoding(), 4);
        assert!(is.contains(0) && is.contains(1_999_998));
        assert!(!is.contains(1_999_997));
        assert!(is.add(-1));
        assert!(is.add(1_999_999));
        assert_eq!(is.min(), Some(-1));
        assert_eq!(is.max(), Some(1_999_999));
        assert!(is.remove(0) && is.remove(1_999_999));
        assert_eq!(is.len(), 1_000_000);
        assert_eq!(is.blob_len(), 8 + 4 * 1_000_000);
    }
}
