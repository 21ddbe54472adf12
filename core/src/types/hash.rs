//! The hash value type (Redis's t_hash.c data side): a listpack of field, value,
//! field, value… while the hash is small, a hash table once it holds more than
//! `hash-max-listpack-entries` fields or any field or value longer than
//! `hash-max-listpack-value` bytes. The conversion only goes one way, as in Redis.

use crate::dict::{Dict, NewTable};
use crate::listpack::{Listpack, LpEntry};
use std::borrow::Cow;

#[derive(Debug, Clone)]
pub enum Hash {
    Listpack(Listpack),
    /// Boxed, as Redis's robj points at its dict: the table's header stays out of
    /// every small hash's (and every key's) inline size.
    Table(Box<Dict<Box<[u8]>>>),
}

/// The conversion thresholds, read from the config at the moment of each write.
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::Listpack(Listpack::new())
    }

    pub fn len(&self) -> usize {
        match self {
            Hash::Listpack(lp) => lp.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Listpack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<Vec<u8>> {
        match self {
            Hash::Listpack(lp) => lp
                .find(field, 0, 1)
                .map(|i| lp.get(i + 1).expect("fields have values").to_vec()),
            Hash::Table(d) => d.get(field).map(|v| v.to_vec()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => lp.find(field, 0, 1).is_some(),
            Hash::Table(d) => d.contains_key(field),
        }
    }

    /// hashTypeTryConversion: before a write of these fields and values, convert if
    /// any of them is too long for the listpack or the listpack would grow unsafely.
    pub fn prepare_for(&mut self, args: &[&[u8]], limits: HashLimits, table: &NewTable) {
        let Hash::Listpack(lp) = self else {
            return;
        };
        let mut sum = 0usize;
        for a in args {
            if a.len() > limits.max_listpack_value {
                self.convert_to_table(table);
                return;
            }
            sum += a.len();
        }
        if !lp.safe_to_add(sum) {
            self.convert_to_table(table);
        }
    }

    /// hashTypeSet: set `field` to `value`; true when the field already existed.
    pub fn set(
        &mut self,
        field: &[u8],
        value: &[u8],
        limits: HashLimits,
        table: &NewTable,
    ) -> bool {
        if let Hash::Listpack(_) = self {
            if field.len() > limits.max_listpack_value || value.len() > limits.max_listpack_value {
                self.convert_to_table(table);
            }
        }
        match self {
            Hash::Listpack(lp) => {
                let updated = match lp.find(field, 0, 1) {
                    Some(i) => {
                        lp.replace(i + 1, value);
                        true
                    }
                    None => {
                        lp.push_back(field);
                        lp.push_back(value);
                        false
                    }
                };
                if lp.len() / 2 > limits.max_listpack_entries {
                    self.convert_to_table(table);
                }
                updated
            }
            Hash::Table(d) => {
                if let Some(slot) = d.get_mut(field) {
                    *slot = value.into();
                    true
                } else {
                    d.insert_new(field, value.into());
                    false
                }
            }
        }
    }

    /// Remove `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Listpack(lp) => match lp.find(field, 0, 1) {
                Some(i) => {
                    lp.remove_range(i, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    pub fn convert_to_table(&mut self, table: &NewTable) {
        let Hash::Listpack(lp) = self else {
            return;
        };
        let mut d: Dict<Box<[u8]>> = table.build(lp.len() / 2);
        let mut it = lp.iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            d.insert_new(&*f.as_bytes(), v.to_vec().into_boxed_slice());
        }
        debug_assert_eq!(d.len(), lp.len() / 2, "listpack hash had a duplicate field");
        *self = Hash::Table(Box::new(d));
    }

    /// Every (field, value), in the encoding's order.
    pub fn iter(&self) -> HashIter<'_> {
        match self {
            Hash::Listpack(lp) => HashIter::Listpack(lp.iter()),
            Hash::Table(d) => HashIter::Table(d.iter()),
        }
    }

    /// The pair at position `i` of a listpack-encoded hash.
    fn listpack_pair(lp: &Listpack, i: usize) -> (LpEntry<'_>, LpEntry<'_>) {
        let mut it = lp.iter_from(2 * i);
        (
            it.next().expect("pair index in range"),
            it.next().expect("fields have values"),
        )
    }

    /// One (field, value) pair drawn uniformly: a random listpack index, or the
    /// table's fair random entry.
    pub fn random_pair(&self, rng: &mut crate::rng::CoreRng) -> Option<(Vec<u8>, Vec<u8>)> {
        if self.is_empty() {
            return None;
        }
        match self {
            Hash::Listpack(lp) => {
                let (f, v) = Self::listpack_pair(lp, rng.index(lp.len() / 2));
                Some((f.to_vec(), v.to_vec()))
            }
            Hash::Table(d) => d.random_entry(rng).map(|(k, v)| (k.to_vec(), v.to_vec())),
        }
    }
}

pub enum HashIter<'a> {
    Listpack(crate::listpack::Iter<'a>),
    Table(crate::dict::Iter<'a, Box<[u8]>>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (Cow<'a, [u8]>, Cow<'a, [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(it) => {
                let f = it.next()?;
                let v = it.next().expect("fields have values");
                Some((lp_cow(f), lp_cow(v)))
            }
            HashIter::Table(it) => it
                .next()
                .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(&v[..]))),
        }
    }
}

fn lp_cow(e: LpEntry<'_>) -> Cow<'_, [u8]> {
    match e {
        LpEntry::Str(s) => Cow::Borrowed(s),
        LpEntry::Int(n) => Cow::Owned(n.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HashLimits = HashLimits {
        max_listpack_entries: 4,
        max_listpack_value: 8,
    };

    #[test]
    fn converts_on_entries_and_value_length() {
        let mut h = Hash::new();
        for i in 0..4 {
            assert!(!h.set(
                format!("f{i}").as_bytes(),
                b"v",
                LIMITS,
                &NewTable::sized(1)
            ));
        }
        assert_eq!(h.encoding_name(), "listpack");
        assert!(h.set(b"f0", b"12", LIMITS, &NewTable::sized(1)));
        assert_eq!(h.get(b"f0"), Some(b"12".to_vec()));
        h.set(b"f4", b"v", LIMITS, &NewTable::sized(1));
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0"), Some(b"12".to_vec()));

        let mut h = Hash::new();
        h.set(b"f", b"123456789", LIMITS, &NewTable::sized(1));
        assert_eq!(h.encoding_name(), "hashtable");
        let mut h = Hash::new();
        h.prepare_for(&[b"f", b"123456789"], LIMITS, &NewTable::sized(1));
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn a_conversion_sizes_its_table_unless_buggify_armed_the_slow_path() {
        let limits = HashLimits {
            max_listpack_entries: 65,
            max_listpack_value: 64,
        };
        let build = |table: NewTable| {
            let mut h = Hash::new();
            for i in 0..66 {
                h.set(format!("f{i}").as_bytes(), b"v", limits, &table);
            }
            let Hash::Table(d) = h else {
                panic!("66 fields are past the listpack limit");
            };
            assert_eq!(d.len(), 66);
            assert!((0..66).all(|i| d.contains_key(format!("f{i}").as_bytes())));
            d
        };
        // Redis's dictExpand: one table for all 66, no rehash left to do.
        let sized = build(NewTable::sized(3));
        assert!(!sized.is_rehashing());
        assert_eq!(sized.buckets(), 128);
        // Grown insert by insert: the 65th insert started a rehash out of 64 buckets
        // that one more insert cannot finish.
        let slow = build(NewTable {
            seed: 3,
            slow: Some(crate::buggify::armed_for_tests()),
        });
        assert!(slow.is_rehashing());
    }

    #[test]
    fn remove_and_iterate_both_encodings() {
        for n in [3usize, 10] {
            let mut h = Hash::new();
            for i in 0..n {
                h.set(
                    format!("f{i}").as_bytes(),
                    format!("{i}").as_bytes(),
                    LIMITS,
                    &NewTable::sized(7),
                );
            }
            assert!(h.remove(b"f1"));
            assert!(!h.remove(b"f1"));
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = h
                .iter()
                .map(|(f, v)| (f.into_owned(), v.into_owned()))
                .collect();
            pairs.sort();
            assert_eq!(pairs.len(), n - 1);
            assert_eq!(pairs[0], (b"f0".to_vec(), b"0".to_vec()));
            assert!(h.contains(b"f2"));
            assert!(!h.contains(b"f1"));
        }
    }
}
