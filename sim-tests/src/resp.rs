//! The RESP2 the simulation needs, written independently of the core's codec so that
//! a bug there cannot hide itself: encoding requests, splitting a byte stream into
//! whole requests (as the server parses them) or whole replies, and decoding a reply
//! into a [`Reply`] tree, plus the encoders the model builds its expected replies
//! with.

/// Arguments of one request.
pub type Request = Vec<Vec<u8>>;

/// Encode a request as a multibulk.
pub fn encode_request(args: &[Vec<u8>], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Position of the first CRLF at or after `from`.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn parse_int(raw: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(raw)))
}

/// Take one complete multibulk request off the front of `buf`: `Ok(None)` if more
/// bytes are needed. Only the well-formed requests our clients send are accepted.
pub fn take_request(buf: &[u8]) -> Result<Option<(Request, usize)>, String> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'*' {
        return Err(format!("request does not start with '*': {:?}", show(buf)));
    }
    let Some(end) = line_end(buf, 1) else {
        return Ok(None);
    };
    let argc = parse_int(&buf[1..end])?;
    if !(1..=1024).contains(&argc) {
        return Err(format!("unexpected argument count {argc}"));
    }
    let mut pos = end + 2;
    let mut args = Vec::with_capacity(argc as usize);
    for _ in 0..argc {
        if pos >= buf.len() {
            return Ok(None);
        }
        if buf[pos] != b'$' {
            return Err(format!("argument without '$': {:?}", show(&buf[pos..])));
        }
        let Some(end) = line_end(buf, pos + 1) else {
            return Ok(None);
        };
        let len = usize::try_from(parse_int(&buf[pos + 1..end])?).map_err(|e| e.to_string())?;
        let start = end + 2;
        if buf.len() < start + len + 2 {
            return Ok(None);
        }
        if &buf[start + len..start + len + 2] != b"\r\n" {
            return Err("bulk argument not followed by CRLF".into());
        }
        args.push(buf[start..start + len].to_vec());
        pos = start + len + 2;
    }
    Ok(Some((args, pos)))
}

/// A decoded RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
}

/// Take one complete reply off the front of `buf`: its decoded form and length, or
/// `Ok(None)` if more bytes are needed.
pub fn take_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    take_reply_at(buf, 0, 0)
}

fn take_reply_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, String> {
    if depth > 8 {
        return Err("replies nested deeper than the workload's".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(end) = line_end(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..end];
    let next = end + 2;
    let reply = match kind {
        b'+' => (Reply::Simple(line.to_vec()), next),
        b'-' => (Reply::Error(line.to_vec()), next),
        b':' => (Reply::Int(parse_int(line)?), next),
        b'$' => {
            let len = parse_int(line)?;
            if len == -1 {
                (Reply::Nil, next)
            } else {
                let len = usize::try_from(len).map_err(|_| format!("bulk length {len}"))?;
                if buf.len() < next + len + 2 {
                    return Ok(None);
                }
                if &buf[next + len..next + len + 2] != b"\r\n" {
                    return Err("bulk reply not followed by CRLF".into());
                }
                (Reply::Bulk(buf[next..next + len].to_vec()), next + len + 2)
            }
        }
        b'*' => {
            let n = parse_int(line)?;
            if n == -1 {
                (Reply::NilArray, next)
            } else {
                let n = usize::try_from(n).map_err(|_| format!("array length {n}"))?;
                let mut items = Vec::with_capacity(n.min(1024));
                let mut at = next;
                for _ in 0..n {
                    match take_reply_at(buf, at, depth + 1)? {
                        Some((item, len)) => {
                            items.push(item);
                            at += len;
                        }
                        None => return Ok(None),
                    }
                }
                (Reply::Array(items), at)
            }
        }
        other => return Err(format!("unknown reply type byte {other:#x}")),
    };
    Ok(Some((reply.0, reply.1 - pos)))
}

/// Split a whole reply stream into the raw bytes of each reply. Trailing bytes that
/// do not form a whole reply are an error: a server never sends half a reply last.
pub fn split_replies(mut buf: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        match take_reply(buf)? {
            Some((_, len)) => {
                out.push(buf[..len].to_vec());
                buf = &buf[len..];
            }
            None => return Err(format!("incomplete reply at the end: {:?}", show(buf))),
        }
    }
    Ok(out)
}

/// Bytes as a readable, escaped string (for failure messages).
pub fn show(bytes: &[u8]) -> String {
    const MAX: usize = 300;
    let mut s: String = bytes
        .iter()
        .take(MAX)
        .flat_map(|&b| std::ascii::escape_default(b))
        .map(char::from)
        .collect();
    if bytes.len() > MAX {
        s.push_str(&format!("...({} bytes)", bytes.len()));
    }
    s
}

/// A request as `SET k v` for failure messages.
pub fn show_request(args: &[Vec<u8>]) -> String {
    args.iter().map(|a| show(a)).collect::<Vec<_>>().join(" ")
}

// Reply encoders for the model.

pub fn ok() -> Vec<u8> {
    b"+OK\r\n".to_vec()
}

pub fn simple(s: &str) -> Vec<u8> {
    format!("+{s}\r\n").into_bytes()
}

pub fn err(msg: &str) -> Vec<u8> {
    format!("-ERR {msg}\r\n").into_bytes()
}

pub fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

pub fn nil() -> Vec<u8> {
    b"$-1\r\n".to_vec()
}

pub fn bulk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

pub fn array_header(n: usize) -> Vec<u8> {
    format!("*{n}\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parts: &[&str]) -> Request {
        parts.iter().map(|p| p.as_bytes().to_vec()).collect()
    }

    #[test]
    fn requests_round_trip_and_wait_for_more() {
        let mut buf = Vec::new();
        encode_request(&req(&["SET", "k", ""]), &mut buf);
        encode_request(&req(&["GET", "k"]), &mut buf);
        let (first, used) = take_request(&buf).unwrap().unwrap();
        assert_eq!(first, req(&["SET", "k", ""]));
        let (second, used2) = take_request(&buf[used..]).unwrap().unwrap();
        assert_eq!(second, req(&["GET", "k"]));
        assert_eq!(used + used2, buf.len());
        for cut in 0..used {
            assert_eq!(take_request(&buf[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(take_request(b"GET k\r\n").is_err());
    }

    #[test]
    fn replies_decode_and_split() {
        let stream = b"+OK\r\n-ERR x y\r\n:-5\r\n$-1\r\n$3\r\na\r\n\r\n*2\r\n$1\r\n0\r\n*1\r\n$2\r\nk1\r\n*-1\r\n";
        let parts = split_replies(stream).unwrap();
        assert_eq!(parts.len(), 7);
        assert_eq!(
            take_reply(&parts[4]).unwrap().unwrap().0,
            Reply::Bulk(b"a\r\n".to_vec())
        );
        assert_eq!(
            take_reply(&parts[5]).unwrap().unwrap().0,
            Reply::Array(vec![
                Reply::Bulk(b"0".to_vec()),
                Reply::Array(vec![Reply::Bulk(b"k1".to_vec())])
            ])
        );
        assert_eq!(take_reply(&parts[6]).unwrap().unwrap().0, Reply::NilArray);
        assert_eq!(take_reply(b"*2\r\n:1\r\n").unwrap(), None);
        assert!(split_replies(b"+OK\r\n$5\r\nab").is_err());
        assert_eq!(parts.concat(), stream.to_vec());
    }

    #[test]
    fn encoders_match_resp2() {
        assert_eq!(err("syntax error"), b"-ERR syntax error\r\n");
        assert_eq!(bulk(b""), b"$0\r\n\r\n");
        assert_eq!(int(-2), b":-2\r\n");
        assert_eq!(show(b"a\r\n"), "a\\r\\n");
    }
}
