//! The encodings older Redis versions wrote into RDB files and Redis 7 still reads:
//! ziplists (lists, hashes and sorted sets before 7.0, quicklist nodes before 7.0)
//! and zipmaps (hashes before 2.6). Only read, always fully validated (Redis's deep
//! ziplistValidateIntegrity / zipmapValidateIntegrity), then converted by the loader
//! into our encodings. Nothing here trusts a length without checking it against
//! the buffer.

use crate::listpack::LpEntry;

const ZIPLIST_HEADER: usize = 10;
const ZIP_END: u8 = 0xff;
const ZIP_BIG_PREVLEN: u8 = 0xfe;

/// The entries of a ziplist, in order; `Err` names the offset and what is wrong.
pub fn ziplist_entries(zl: &[u8]) -> Result<Vec<LpEntry<'_>>, String> {
    let size = zl.len();
    if size < ZIPLIST_HEADER + 1 {
        return Err(format!(
            "ziplist of {size} bytes is shorter than its header"
        ));
    }
    let word = |at: usize| u32::from_le_bytes(zl[at..at + 4].try_into().expect("4 bytes")) as usize;
    let bytes = word(0);
    if bytes != size {
        return Err(format!(
            "ziplist header says {bytes} bytes but {size} were given"
        ));
    }
    if zl[size - 1] != ZIP_END {
        return Err("ziplist does not end with 0xFF".into());
    }
    let tail = word(4);
    if tail > size - 1 {
        return Err(format!("ziplist tail offset {tail} is outside it"));
    }
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    let end = size - 1;
    let mut p = ZIPLIST_HEADER;
    let mut prev_len = 0usize;
    let mut last = None;
    // Each entry takes at least two bytes: never reserve beyond that.
    let mut out = Vec::with_capacity((end - p) / 2);
    while p < end {
        let bad = |what: &str| format!("ziplist entry at offset {p}: {what}");
        let (prevlen, plen) = if zl[p] < ZIP_BIG_PREVLEN {
            (zl[p] as usize, 1)
        } else if zl[p] == ZIP_BIG_PREVLEN {
            if p + 5 > end {
                return Err(bad("prevlen overruns"));
            }
            (word(p + 1), 5)
        } else {
            return Err(bad("bad prevlen byte"));
        };
        if prevlen != prev_len {
            return Err(bad("prevlen does not match the entry before"));
        }
        let q = p + plen;
        if q >= end {
            return Err(bad("encoding overruns"));
        }
        let enc = zl[q];
        let take = |hdr: usize, len: usize| -> Result<&[u8], String> {
            let start = q + hdr;
            if start > end || len > end - start {
                return Err(bad("entry overruns"));
            }
            Ok(&zl[start..start + len])
        };
        let (entry, hdr, len) = match enc >> 6 {
            0 => {
                let len = (enc & 0x3f) as usize;
                (LpEntry::Str(take(1, len)?), 1, len)
            }
            1 => {
                if q + 2 > end {
                    return Err(bad("encoding overruns"));
                }
                let len = (((enc & 0x3f) as usize) << 8) | zl[q + 1] as usize;
                (LpEntry::Str(take(2, len)?), 2, len)
            }
            2 => {
                if q + 5 > end {
                    return Err(bad("encoding overruns"));
                }
                let len =
                    u32::from_be_bytes(zl[q + 1..q + 5].try_into().expect("4 bytes")) as usize;
                (LpEntry::Str(take(5, len)?), 5, len)
            }
            _ => {
                let (len, v) = match enc {
                    0xc0 => {
                        let b = take(1, 2)?;
                        (2, i16::from_le_bytes([b[0], b[1]]) as i64)
                    }
                    0xd0 => {
                        let b = take(1, 4)?;
                        (4, i32::from_le_bytes(b.try_into().expect("4")) as i64)
                    }
                    0xe0 => {
                        let b = take(1, 8)?;
                        (8, i64::from_le_bytes(b.try_into().expect("8")))
                    }
                    0xf0 => {
                        let b = take(1, 3)?;
                        (3, (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64)
                    }
                    0xfe => {
                        let b = take(1, 1)?;
                        (1, b[0] as i8 as i64)
                    }
                    0xf1..=0xfd => (0, (enc & 0x0f) as i64 - 1),
                    _ => return Err(bad("unknown encoding")),
                };
                (LpEntry::Int(v), 1, len)
            }
        };
        out.push(entry);
        prev_len = plen + hdr + len;
        last = Some(p);
        p += prev_len;
    }
    if p != end {
        return Err("ziplist entries overrun its end".into());
    }
    if let Some(l) = last {
        if l != tail {
            return Err(format!(
                "ziplist tail offset {tail} is not its last entry at {l}"
            ));
        }
    }
    if header_count != u16::MAX && header_count as usize != out.len() {
        return Err(format!(
            "ziplist header counts {header_count} entries but holds {}",
            out.len()
        ));
    }
    Ok(out)
}

const ZIPMAP_BIGLEN: u8 = 254;
const ZIPMAP_END: u8 = 255;

/// A (field, value) pair borrowed from a zipmap.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (field, value) pairs of a zipmap, in order.
pub fn zipmap_pairs(zm: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    if zm.len() < 2 {
        return Err("zipmap shorter than two bytes".into());
    }
    let end = zm.len() - 1;
    if zm[end] != ZIPMAP_END {
        return Err("zipmap does not end with 0xFF".into());
    }
    let mut p = 1;
    let mut out = Vec::new();
    let len_at = |p: usize| -> Result<(usize, usize), String> {
        match zm.get(p) {
            Some(&b) if b < ZIPMAP_BIGLEN => Ok((b as usize, 1)),
            Some(&ZIPMAP_BIGLEN) if p + 5 <= end => Ok((
                u32::from_le_bytes(zm[p + 1..p + 5].try_into().expect("4 bytes")) as usize,
                5,
            )),
            _ => Err(format!("zipmap length at offset {p} is bad or overruns")),
        }
    };
    while p < end {
        let (flen, s) = len_at(p)?;
        let fstart = p + s;
        if fstart > end || flen > end - fstart {
            return Err(format!("zipmap field at offset {p} overruns"));
        }
        let field = &zm[fstart..fstart + flen];
        let q = fstart + flen;
        let (vlen, s) = len_at(q)?;
        let free_at = q + s;
        if free_at >= end {
            return Err(format!("zipmap value at offset {q} overruns"));
        }
        let free = zm[free_at] as usize;
        let vstart = free_at + 1;
        if vlen > end - vstart || free > end - vstart - vlen {
            return Err(format!("zipmap value at offset {q} overruns"));
        }
        out.push((field, &zm[vstart..vstart + vlen]));
        p = vstart + vlen + free;
    }
    if out.is_empty() {
        return Err("zipmap is empty".into());
    }
    if zm[0] != ZIPMAP_BIGLEN && zm[0] as usize != out.len() {
        return Err(format!(
            "zipmap header counts {} entries but holds {}",
            zm[0],
            out.len()
        ));
    }
    Ok(out)
}

/// Encoders for the legacy formats, for tests only (nothing in the server writes
/// them): written from the format description, independently of the readers above,
/// to build fixtures Redis 7 can no longer write.
pub mod build {
    /// A ziplist of the given entries (`Ok` = integer, `Err` = string), with each
    /// integer in the smallest encoding and strings in the smallest length form.
    pub fn ziplist(entries: &[Result<i64, &[u8]>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10usize;
        for e in entries {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match e {
                Ok(v) => {
                    let v = *v;
                    if (0..=12).contains(&v) {
                        body.push(0xf1 + v as u8);
                    } else if let Ok(b) = i8::try_from(v) {
                        body.push(0xfe);
                        body.push(b as u8);
                    } else if let Ok(w) = i16::try_from(v) {
                        body.push(0xc0);
                        body.extend_from_slice(&w.to_le_bytes());
                    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                        body.push(0xf0);
                        body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                    } else if let Ok(d) = i32::try_from(v) {
                        body.push(0xd0);
                        body.extend_from_slice(&d.to_le_bytes());
                    } else {
                        body.push(0xe0);
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                }
                Err(s) => {
                    let n = s.len();
                    if n < 64 {
                        body.push(n as u8);
                    } else if n < 16384 {
                        body.push(0x40 | (n >> 8) as u8);
                        body.push(n as u8);
                    } else {
                        body.push(0x80);
                        body.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                    body.extend_from_slice(s);
                }
            }
            prev = body.len() - start;
        }
        let total = 10 + body.len() + 1;
        let mut zl = Vec::with_capacity(total);
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len().min(65535) as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xff);
        zl
    }

    /// A zipmap of (field, value) pairs, with `free` spare bytes after each value.
    pub fn zipmap(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
        let mut zm = vec![pairs.len().min(254) as u8];
        let len = |zm: &mut Vec<u8>, n: usize| {
            if n < 254 {
                zm.push(n as u8);
            } else {
                zm.push(254);
                zm.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        for (f, v) in pairs {
            len(&mut zm, f.len());
            zm.extend_from_slice(f);
            len(&mut zm, v.len());
            zm.push(free);
            zm.extend_from_slice(v);
            zm.extend(std::iter::repeat_n(0u8, free as usize));
        }
        zm.push(0xff);
        zm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ziplist_round_trip_every_encoding() {
        let big = vec![b'x'; 300];
        let huge = vec![b'y'; 20000];
        let entries: Vec<Result<i64, &[u8]>> = vec![
            Ok(0),
            Ok(12),
            Ok(13),
            Ok(-100),
            Ok(30000),
            Ok(-8_000_000),
            Ok(2_000_000_000),
            Ok(i64::MIN),
            Err(b"hello"),
            Err(&big),
            Err(&huge),
            Err(b""),
        ];
        let zl = build::ziplist(&entries);
        let got = ziplist_entries(&zl).unwrap();
        let want: Vec<LpEntry<'_>> = entries
            .iter()
            .map(|e| match e {
                Ok(v) => LpEntry::Int(*v),
                Err(s) => LpEntry::Str(s),
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(ziplist_entries(&build::ziplist(&[])).unwrap(), vec![]);
    }

    #[test]
    fn ziplist_corruption_is_refused() {
        let zl = build::ziplist(&[Err(b"abc"), Ok(5)]);
        for cut in 0..zl.len() {
            assert!(ziplist_entries(&zl[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = zl.clone();
        bad[10 + 5] = 9; // prevlen of the second entry
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = zl.clone();
        bad[8] = 3; // count
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = zl.clone();
        bad[4] = 10; // tail
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = zl.clone();
        bad[11] = 0x3f; // string length beyond the end
        assert!(ziplist_entries(&bad).is_err());
        let mut bad = zl;
        bad[16] = 0xc5; // unknown integer encoding
        assert!(ziplist_entries(&bad).is_err());
    }

    #[test]
    fn zipmap_round_trip_and_corruption() {
        let long = vec![b'v'; 400];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"field", &long), (b"", b"")];
        let zm = build::zipmap(&pairs, 2);
        assert_eq!(zipmap_pairs(&zm).unwrap(), pairs);
        for cut in 0..zm.len() {
            assert!(zipmap_pairs(&zm[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = zm.clone();
        bad[0] = 7;
        assert!(zipmap_pairs(&bad).is_err());
        assert!(zipmap_pairs(&[0, 0xff]).is_err());
    }
}
