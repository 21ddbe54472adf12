//! CRC-64/REDIS (Jones polynomial, reflected, init 0, no final xor): the checksum at
//! the end of RDB files and DUMP payloads. The `crc` crate's table implementation;
//! `Crc64` carries the running value across chunks so a file written in pieces gets
//! the checksum of the whole.

use crc::{Crc, CRC_64_REDIS};

static REDIS: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// The checksum of one buffer (Redis's `crc64(0, p, len)`).
pub fn checksum(data: &[u8]) -> u64 {
    REDIS.checksum(data)
}

/// A running checksum over bytes fed in any number of pieces.
#[derive(Clone)]
pub struct Crc64 {
    digest: crc::Digest<'static, u64>,
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crc64")
            .field("value", &self.value())
            .finish()
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

impl Crc64 {
    pub fn new() -> Crc64 {
        Crc64 {
            digest: REDIS.digest(),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The checksum of everything fed so far (the digest keeps running).
    pub fn value(&self) -> u64 {
        self.digest.clone().finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_check_value() {
        // crc64.c's self-test: crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca.
        assert_eq!(checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(checksum(b""), 0);
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut c = Crc64::new();
        for chunk in data.chunks(777) {
            c.update(chunk);
        }
        assert_eq!(c.value(), checksum(&data));
        c.update(b"x");
        let mut whole = data.clone();
        whole.push(b'x');
        assert_eq!(c.value(), checksum(&whole));
    }
}
