//! LZF, the byte format of Marc Lehmann's liblzf that Redis uses for compressed
//! quicklist nodes and for compressed strings in RDB files. The compressor makes the
//! same choices as liblzf 3.6 built the way Redis builds it (`HLOG` 16, `VERY_FAST`),
//! so for the same input and output limit it emits the same bytes; the decompressor
//! accepts exactly the streams liblzf's `lzf_decompress` accepts.
//!
//! The format is a sequence of runs, each introduced by a control byte:
//!
//! * `000LLLLL` then `L+1` literal bytes (1..=32);
//! * `LLLooooo oooooooo`: copy `L+2` bytes (L = 1..=6) from `o+1` bytes back;
//! * `111ooooo LLLLLLLL oooooooo`: copy `L+9` bytes from `o+1` bytes back.
//!
//! Back references may overlap the bytes they produce (a run of one byte repeated).
//! Offsets reach at most 8 KiB back and a reference copies at most 264 bytes.
//!
//! One difference from Redis's build: liblzf there leaves its hash table
//! uninitialised (`INIT_HTAB 0`), so a stale stack slot could in principle point at a
//! match the table never recorded. Ours starts every call from an empty table, which
//! is liblzf's `INIT_HTAB 1` behaviour and makes the output a function of the input.
//!
//! Decompression never panics and never allocates more than the input could expand
//! to: a corrupt stream or a lying expected length is an `Err`.

use std::fmt;

/// Longest literal run one control byte announces.
const LITERAL_MAX: usize = 1 << 5;
/// Farthest back a reference reaches.
const OFFSET_MAX: usize = 1 << 13;
/// Longest match one reference copies.
const REFERENCE_MAX: usize = (1 << 8) + (1 << 3);
const HASH_LOG: u32 = 16;
const HASH_SIZE: usize = 1 << HASH_LOG;
/// The most output one input byte can produce: a 3-byte reference copies 264 bytes.
const EXPANSION_MAX: usize = REFERENCE_MAX.div_ceil(3);

const _: () = assert!(REFERENCE_MAX - 2 - 7 == u8::MAX as usize);
const _: () = assert!(OFFSET_MAX >> 8 == 32);

/// Why a stream did not decompress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// The output would be longer than allowed (liblzf's `E2BIG`).
    OutputTooLong { at_input: usize },
    /// A back reference points before the start of the output (`EINVAL`).
    BadReference { at_input: usize },
    /// A run announces more input bytes than remain (`EINVAL`).
    Truncated { at_input: usize },
    /// The stream decoded cleanly but to a different length than expected.
    LengthMismatch { expected: usize, got: usize },
    /// No stream of this many bytes can expand to the expected length.
    ImpossibleLength { expected: usize, input_len: usize },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LzfError::OutputTooLong { at_input } => {
                write!(
                    f,
                    "LZF output overflows its length at input offset {at_input}"
                )
            }
            LzfError::BadReference { at_input } => write!(
                f,
                "LZF back reference before the start of the output at input offset {at_input}"
            ),
            LzfError::Truncated { at_input } => {
                write!(f, "LZF stream truncated at input offset {at_input}")
            }
            LzfError::LengthMismatch { expected, got } => {
                write!(f, "LZF stream decodes to {got} bytes, {expected} expected")
            }
            LzfError::ImpossibleLength {
                expected,
                input_len,
            } => write!(
                f,
                "LZF stream of {input_len} bytes cannot expand to {expected} bytes"
            ),
        }
    }
}

/// The hash of the three bytes at `p`, rolled from the previous value as liblzf
/// does (the table index depends only on those three bytes).
fn first(input: &[u8], p: usize) -> u32 {
    ((input[p] as u32) << 8) | input[p + 1] as u32
}

fn next(h: u32, input: &[u8], p: usize) -> u32 {
    (h << 8) | input[p + 2] as u32
}

fn slot(h: u32) -> usize {
    ((h >> (3 * 8 - HASH_LOG)).wrapping_sub(h.wrapping_mul(5)) & (HASH_SIZE as u32 - 1)) as usize
}

/// A compressor whose 256 KiB hash table is kept between calls, for callers that
/// compress many buffers (RDB strings). Each call sees an empty table: entries carry
/// a stamp, and only entries stamped by the current call count.
pub struct Compressor {
    table: Vec<u32>,
    /// Entries `<= base` belong to earlier calls; this call stores `base + pos + 1`.
    base: u32,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor")
            .field("base", &self.base)
            .finish()
    }
}

impl Default for Compressor {
    fn default() -> Self {
        Compressor::new()
    }
}

impl Compressor {
    pub fn new() -> Compressor {
        Compressor {
            table: Vec::new(),
            base: 0,
        }
    }

    /// Compress `input` into at most `out_len` bytes, as `lzf_compress(input, len,
    /// out, out_len)`: `None` where liblzf returns 0 (empty input or output, or the
    /// output would not fit; liblzf's fit tests are slightly conservative and so are
    /// ours, identically). Inputs of 4 GiB or more are declined (`None`).
    pub fn compress(&mut self, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
        let in_len = input.len();
        if in_len == 0 || out_len == 0 || in_len >= (u32::MAX / 2) as usize {
            return None;
        }
        if self.table.is_empty() {
            self.table = vec![0u32; HASH_SIZE];
        }
        if (u32::MAX - self.base) as usize <= in_len + 1 {
            self.table.fill(0);
            self.base = 0;
        }
        let base = self.base;
        self.base += in_len as u32 + 1;
        let out = compress_with(&mut self.table, base, input, out_len);
        debug_assert!(out.as_ref().is_none_or(|o| o.len() <= out_len));
        out
    }
}

/// One-shot compression with a fresh table; see [`Compressor::compress`].
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    Compressor::new().compress(input, out_len)
}

/// liblzf's lzf_compress over an index-based output buffer. `op` may transiently
/// point one past `out_len` exactly where liblzf's pointer does; nothing is written
/// there, because every write is preceded by liblzf's own bound test.
fn compress_with(table: &mut [u32], base: u32, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    let mut out = vec![0u8; out_len];
    let mut lit = 0usize;
    // The control byte of the first literal run sits at 0.
    let mut op = 1usize;
    let mut ip = 0usize;
    let mut h = if in_len >= 2 { first(input, 0) } else { 0 };
    while ip + 2 < in_len {
        h = next(h, input, ip);
        let s = slot(h);
        let stored = table[s];
        table[s] = base + ip as u32 + 1;
        // liblzf accepts a candidate strictly after the first input byte, strictly
        // before `ip`, within the offset range, whose first three bytes agree.
        let candidate = (stored > base).then(|| (stored - base - 1) as usize);
        let reference = candidate.filter(|&r| {
            r > 0
                && r < ip
                && ip - r - 1 < OFFSET_MAX
                && input[r + 2] == input[ip + 2]
                && input[r] == input[ip]
                && input[r + 1] == input[ip + 1]
        });
        if let Some(r) = reference {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_len - ip - len).min(REFERENCE_MAX);
            // The conservative test first, then the exact one.
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            // Close the literal run, or take back its unused control byte.
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            // liblzf compares 16 bytes unrolled before the bounded loop; the unrolled
            // part may run two bytes past `maxlen`, which changes the match length.
            'extend: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            break 'extend;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            debug_assert!(ip + len <= in_len && len <= REFERENCE_MAX);
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = (off >> 8) as u8 + ((len as u8) << 5);
                op += 1;
            } else {
                out[op] = (off >> 8) as u8 + (7 << 5);
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            // Start the next literal run.
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip + 2 >= in_len {
                break;
            }
            // VERY_FAST: hash the last two positions of the match.
            ip -= 2;
            h = first(input, ip);
            h = next(h, input, ip);
            table[slot(h)] = base + ip as u32 + 1;
            ip += 1;
            h = next(h, input, ip);
            table[slot(h)] = base + ip as u32 + 1;
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            out[op] = input[ip];
            op += 1;
            ip += 1;
            lit += 1;
            if lit == LITERAL_MAX {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    // At most three bytes are still to come: two literals and a control byte.
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        out[op] = input[ip];
        op += 1;
        ip += 1;
        lit += 1;
        if lit == LITERAL_MAX {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// The longest output `input_len` compressed bytes can describe.
pub fn max_decompressed_len(input_len: usize) -> usize {
    input_len.saturating_mul(EXPANSION_MAX)
}

/// Decompress a stream that must produce exactly `expected_len` bytes (how Redis
/// reads quicklist nodes and RDB strings, whose raw length is stored beside them).
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    if expected_len > max_decompressed_len(input.len()) {
        // No stream this short expands that far: refuse before allocating.
        return Err(LzfError::ImpossibleLength {
            expected: expected_len,
            input_len: input.len(),
        });
    }
    let mut out = Vec::with_capacity(expected_len);
    decompress_into(input, &mut out, expected_len)?;
    if out.len() != expected_len {
        return Err(LzfError::LengthMismatch {
            expected: expected_len,
            got: out.len(),
        });
    }
    Ok(out)
}

/// liblzf's lzf_decompress: append the decoded bytes to `out`, producing at most
/// `out_len` of them. `out` grows only with bytes actually decoded.
pub fn decompress_into(input: &[u8], out: &mut Vec<u8>, out_len: usize) -> Result<(), LzfError> {
    let start = out.len();
    let mut ip = 0usize;
    while ip < input.len() {
        let at_input = ip;
        let ctrl = input[ip] as usize;
        ip += 1;
        let produced = out.len() - start;
        if ctrl < LITERAL_MAX {
            let n = ctrl + 1;
            if produced + n > out_len {
                return Err(LzfError::OutputTooLong { at_input });
            }
            let Some(bytes) = input.get(ip..ip + n) else {
                return Err(LzfError::Truncated { at_input });
            };
            out.extend_from_slice(bytes);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            let mut back = (ctrl & 0x1f) << 8;
            if ip >= input.len() {
                return Err(LzfError::Truncated { at_input });
            }
            if len == 7 {
                len += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return Err(LzfError::Truncated { at_input });
                }
            }
            back += input[ip] as usize + 1;
            ip += 1;
            let n = len + 2;
            if produced + n > out_len {
                return Err(LzfError::OutputTooLong { at_input });
            }
            if back > produced {
                return Err(LzfError::BadReference { at_input });
            }
            let from = out.len() - back;
            if back >= n {
                out.extend_from_within(from..from + n);
            } else {
                // The copy overlaps what it writes: byte by byte, as liblzf does.
                for i in 0..n {
                    let b = out[from + i];
                    out.push(b);
                }
            }
        }
    }
    debug_assert!(out.len() - start <= out_len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder written straight from the format description, independent of the
    /// one above: every stream the compressor emits must decode under these rules.
    fn reference_decode(input: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            i += 1;
            if c >> 5 == 0 {
                let n = c as usize + 1;
                out.extend_from_slice(input.get(i..i + n)?);
                i += n;
                continue;
            }
            let mut n = (c >> 5) as usize;
            if n == 7 {
                n += *input.get(i)? as usize;
                i += 1;
            }
            let off = (((c & 31) as usize) << 8 | *input.get(i)? as usize) + 1;
            i += 1;
            let from = out.len().checked_sub(off)?;
            for k in 0..n + 2 {
                out.push(out[from + k]);
            }
        }
        Some(out)
    }

    /// Checks the stream's structure: literal runs never exceed 32, references
    /// never reach before the output, and the encoding is the canonical one (short
    /// form for lengths 3..=8).
    fn assert_well_formed(stream: &[u8]) {
        let mut i = 0;
        let mut produced = 0usize;
        while i < stream.len() {
            let c = stream[i];
            if c >> 5 == 0 {
                produced += c as usize + 1;
                i += 1 + c as usize + 1;
            } else {
                let long = c >> 5 == 7;
                let n = if long {
                    7 + stream[i + 1] as usize
                } else {
                    (c >> 5) as usize
                };
                let off = (((c & 31) as usize) << 8) | stream[i + 1 + long as usize] as usize;
                assert!(off < produced, "reference before the start at {i}");
                produced += n + 2;
                i += 2 + long as usize;
            }
        }
        assert_eq!(i, stream.len());
    }

    fn round_trip(data: &[u8]) {
        let out_len = data.len() + data.len() / 16 + 64;
        let Some(c) = compress(data, out_len) else {
            assert!(data.is_empty());
            return;
        };
        assert_well_formed(&c);
        assert_eq!(reference_decode(&c).as_deref(), Some(data));
        assert_eq!(decompress(&c, data.len()).as_deref(), Ok(data));
    }

    /// A small deterministic generator for test data (xorshift).
    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn same_bytes_as_redis() {
        // Streams redis-server 7.0.15 wrote for `SET k <value>` then `DUMP k`
        // (rdbSaveLzfStringObject: output limit len - 4).
        let hello = b"hello world, hello world, hello world! ".repeat(3);
        let mut bytes: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
        bytes.extend_from_slice(b"abcabcabcabcabcabcabcabcabc");
        let mut digits = b"0123456789".repeat(30);
        digits.extend_from_slice(&[b'x'; 300]);
        let cases: [(&[u8], &str); 4] = [
            (&[b'a'; 100], "016161e05700016161"),
            (
                &hello,
                "0d68656c6c6f20776f726c642c2068e00e0c0021e01019e00433e01e26012120",
            ),
            (
                &bytes,
                concat!(
                    "1f000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f1f2021",
                    "22232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f1f4041424344",
                    "45464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f1f6061626364656667",
                    "68696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f1f808182838485868788898a",
                    "8b8c8d8e8f909192939495969798999a9b9c9d9e9f1fa0a1a2a3a4a5a6a7a8a9aaabacad",
                    "aeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf1fc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0",
                    "d1d2d3d4d5d6d7d8d9dadbdcdddedf1fe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3",
                    "f4f5f6f7f8f9fafbfcfdfeff0000e0f6ff219ee00d02016263"
                ),
            ),
            (
                &digits,
                "0a3031323334353637383930e0ff09e1100d0078e0ff00e01800017878",
            ),
        ];
        let mut reused = Compressor::new();
        for (input, want) in cases {
            let want = unhex(want);
            assert_eq!(compress(input, input.len() - 4), Some(want.clone()));
            assert_eq!(reused.compress(input, input.len() - 4), Some(want.clone()));
            assert_eq!(decompress(&want, input.len()).as_deref(), Ok(input));
        }
    }

    #[test]
    fn round_trips() {
        round_trip(b"");
        for n in 1..80 {
            round_trip(&vec![b'z'; n]);
            round_trip(&noise(n as u64, n));
            round_trip(&b"ab".repeat(n));
        }
        // Literal runs around 32, references around 8 and 264, offsets near 8 KiB.
        for n in [
            31, 32, 33, 64, 65, 263, 264, 265, 266, 1000, 8191, 8192, 8193, 20_000,
        ] {
            round_trip(&noise(7, n));
            round_trip(&vec![0u8; n]);
            let mut v = noise(9, n);
            v.extend_from_within(..);
            round_trip(&v);
        }
        let mut far = noise(3, 8190);
        far.extend_from_within(..300);
        round_trip(&far);
        let text: Vec<u8> = (0..5000)
            .flat_map(|i| format!("element:{i} ").into_bytes())
            .collect();
        round_trip(&text);
        let c = compress(&text, text.len()).unwrap();
        assert!(c.len() < text.len() / 2, "text compresses well");
    }

    #[test]
    fn declines_when_output_does_not_fit() {
        let random = noise(42, 4096);
        assert_eq!(compress(&random, random.len()), None);
        assert_eq!(compress(b"abc", 0), None);
        assert_eq!(compress(b"", 10), None);
        // A one-byte input needs a control byte, and liblzf asks for three spare.
        assert_eq!(compress(b"x", 3), None);
        assert_eq!(compress(b"x", 4), Some(vec![0, b'x']));
        let zeros = vec![0u8; 1000];
        let full = compress(&zeros, 1000).unwrap();
        for limit in 0..full.len() {
            if let Some(c) = compress(&zeros, limit) {
                assert!(c.len() <= limit);
                assert_eq!(c, full, "a limit never changes the stream, only refuses it");
            }
        }
    }

    #[test]
    fn reused_compressor_matches_fresh_one() {
        let mut c = Compressor::new();
        for seed in 0..50u64 {
            let mut data = noise(seed, 100 + seed as usize * 37);
            data.extend_from_within(..50);
            assert_eq!(
                c.compress(&data, data.len() * 2),
                compress(&data, data.len() * 2)
            );
        }
        // Force the stamp to wrap: the table is cleared and results stay the same.
        c.base = u32::MAX - 10;
        let data = b"wrap around wrap around wrap around".to_vec();
        assert_eq!(c.compress(&data, 100), compress(&data, 100));
        assert_eq!(c.compress(&data, 100), compress(&data, 100));
    }

    #[test]
    fn corrupt_streams_are_refused_without_panics() {
        assert_eq!(
            decompress(&[0x05, b'a'], 6),
            Err(LzfError::Truncated { at_input: 0 })
        );
        assert_eq!(
            decompress(&[0x00, b'a', 0x20, 0x05], 4),
            Err(LzfError::BadReference { at_input: 2 })
        );
        assert_eq!(
            decompress(&[0x00, b'a', 0x20], 4),
            Err(LzfError::Truncated { at_input: 2 })
        );
        assert_eq!(
            decompress(&[0x00, b'a', 0xE0, 0x01], 40),
            Err(LzfError::Truncated { at_input: 2 })
        );
        assert_eq!(
            decompress(&[0x01, b'a', b'b'], 1),
            Err(LzfError::OutputTooLong { at_input: 0 })
        );
        assert_eq!(
            decompress(&[0x00, b'a', 0x20, 0x00], 2),
            Err(LzfError::OutputTooLong { at_input: 2 })
        );
        assert_eq!(
            decompress(&[0x00, b'a'], 2),
            Err(LzfError::LengthMismatch {
                expected: 2,
                got: 1
            })
        );
        // A huge claimed length for a tiny stream is refused before allocating.
        assert!(matches!(
            decompress(&[0x00, b'a'], 1 << 40),
            Err(LzfError::ImpossibleLength { .. })
        ));
        assert_eq!(decompress(&[], 0), Ok(vec![]));
        // Overlapping copies: "a" then 9 more from one back.
        assert_eq!(
            decompress(&[0x00, b'a', 0xE0, 0x00, 0x00], 10),
            Ok(vec![b'a'; 10])
        );
        // Every truncation and bit flip of real streams: an answer or an error.
        let data: Vec<u8> = (0..3000)
            .flat_map(|i| format!("{} ", i % 97).into_bytes())
            .collect();
        let good = compress(&data, data.len()).unwrap();
        for cut in 0..good.len() {
            let _ = decompress(&good[..cut], data.len());
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                let got = decompress(&bad, data.len());
                if let Ok(v) = got {
                    assert_eq!(v.len(), data.len());
                }
            }
        }
        for seed in 0..200 {
            let junk = noise(seed, 1 + seed as usize);
            let mut out = Vec::new();
            let _ = decompress_into(&junk, &mut out, 5000);
            assert!(out.len() <= 5000);
        }
    }
}
