//! Criterion micro-benchmarks of the core's hot data structures (the request parser,
//! the hash table, the listpack, the skiplist); the benchmarks are in `benches/`, this
//! library holds only what they share.

/// `key:%012d`, redis-benchmark's key names under `-r`.
pub fn key(i: u64) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// A cheap, seeded sequence of pseudo-random numbers (SplitMix64) for inputs.
pub struct Sequence(pub u64);

impl Sequence {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
