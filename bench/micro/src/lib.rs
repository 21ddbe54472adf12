//! Criterion micro-benchmarks of the core's hot data structures (the request parser,
//! the hash table, the listpack, the skiplist); the benchmarks are in `benches/`, this
//! library holds only what they share.

/// `key:%012d`, redis-benchmark's key names under `-r`.
pub fn key(i: u64) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// A name of the form `<prefix><i as 12 digits>` (`key:%012d`, `element:%012d`),
/// rewritten in place: timed loops make names with neither an allocation and
/// `format!` (~40% of a 100k-key remove-and-reinsert) nor a read from a table of
/// prebuilt names (a cache miss of its own at 100k names).
pub struct Name<const N: usize>([u8; N]);

impl<const N: usize> Name<N> {
    /// `N` must be `prefix.len() + 12`.
    pub fn new(prefix: &[u8]) -> Name<N> {
        assert_eq!(prefix.len() + 12, N, "a name is its prefix and 12 digits");
        let mut buf = [b'0'; N];
        buf[..prefix.len()].copy_from_slice(prefix);
        Name(buf)
    }

    pub fn of(&mut self, mut i: u64) -> &[u8] {
        for d in self.0[N - 12..].iter_mut().rev() {
            *d = b'0' + (i % 10) as u8;
            i /= 10;
        }
        &self.0
    }
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
