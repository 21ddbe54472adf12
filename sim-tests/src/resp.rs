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

/// A decoded reply, RESP2 or RESP3.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// RESP2's null bulk string, `$-1`.
    Nil,
    Array(Vec<Reply>),
    /// RESP2's null array, `*-1`.
    NilArray,
    /// RESP3's null, `_`.
    Null,
    /// RESP3's double, as its text (`,1.5` is `1.5`).
    Double(Vec<u8>),
    Bool(bool),
    BigNumber(Vec<u8>),
    /// RESP3's verbatim string: the three-letter format and the text.
    Verbatim(Vec<u8>, Vec<u8>),
    BlobError(Vec<u8>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
}

/// Take one complete reply off the front of `buf`: its decoded form and length, or
/// `Ok(None)` if more bytes are needed.
pub fn take_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    take_reply_at(buf, 0, 0)
}

/// A length-prefixed payload (`$`, `=`, `!`) at `next`: the bytes and the position
/// after them, or `None` if more bytes are needed.
fn blob(buf: &[u8], next: usize, len: i64) -> Result<Option<(Vec<u8>, usize)>, String> {
    let len = usize::try_from(len).map_err(|_| format!("blob length {len}"))?;
    if buf.len() < next + len + 2 {
        return Ok(None);
    }
    if &buf[next + len..next + len + 2] != b"\r\n" {
        return Err("blob reply not followed by CRLF".into());
    }
    Ok(Some((buf[next..next + len].to_vec(), next + len + 2)))
}

/// `n` replies starting at `at`: the items and the position after them.
fn items_at(
    buf: &[u8],
    mut at: usize,
    n: usize,
    depth: usize,
) -> Result<Option<(Vec<Reply>, usize)>, String> {
    let mut items = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        match take_reply_at(buf, at, depth + 1)? {
            Some((item, len)) => {
                items.push(item);
                at += len;
            }
            None => return Ok(None),
        }
    }
    Ok(Some((items, at)))
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
    macro_rules! need {
        ($e:expr) => {
            match $e? {
                Some(x) => x,
                None => return Ok(None),
            }
        };
    }
    let reply = match kind {
        b'+' => (Reply::Simple(line.to_vec()), next),
        b'-' => (Reply::Error(line.to_vec()), next),
        b':' => (Reply::Int(parse_int(line)?), next),
        b',' => (Reply::Double(line.to_vec()), next),
        b'(' => (Reply::BigNumber(line.to_vec()), next),
        b'_' if line.is_empty() => (Reply::Null, next),
        b'#' => match line {
            b"t" => (Reply::Bool(true), next),
            b"f" => (Reply::Bool(false), next),
            _ => return Err(format!("bad boolean {:?}", show(line))),
        },
        b'$' => {
            let len = parse_int(line)?;
            if len == -1 {
                (Reply::Nil, next)
            } else {
                let (data, after) = need!(blob(buf, next, len));
                (Reply::Bulk(data), after)
            }
        }
        b'!' => {
            let (data, after) = need!(blob(buf, next, parse_int(line)?));
            (Reply::BlobError(data), after)
        }
        b'=' => {
            let (data, after) = need!(blob(buf, next, parse_int(line)?));
            if data.len() < 4 || data[3] != b':' {
                return Err(format!("bad verbatim string {:?}", show(&data)));
            }
            (
                Reply::Verbatim(data[..3].to_vec(), data[4..].to_vec()),
                after,
            )
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = parse_int(line)?;
            if n == -1 && kind == b'*' {
                (Reply::NilArray, next)
            } else {
                let n = usize::try_from(n).map_err(|_| format!("aggregate length {n}"))?;
                let count = if kind == b'%' { 2 * n } else { n };
                let (items, after) = need!(items_at(buf, next, count, depth));
                let reply = match kind {
                    b'*' => Reply::Array(items),
                    b'~' => Reply::Set(items),
                    b'>' => Reply::Push(items),
                    _ => {
                        let mut pairs = Vec::with_capacity(n);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        Reply::Map(pairs)
                    }
                };
                (reply, after)
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

/// The protocol a connection speaks: RESP2 until it says `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

impl Proto {
    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    pub fn nil(self) -> Vec<u8> {
        match self {
            Proto::Resp2 => b"$-1\r\n".to_vec(),
            Proto::Resp3 => b"_\r\n".to_vec(),
        }
    }

    /// A missing aggregate: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(self) -> Vec<u8> {
        match self {
            Proto::Resp2 => b"*-1\r\n".to_vec(),
            Proto::Resp3 => b"_\r\n".to_vec(),
        }
    }

    /// A map of `n` pairs: a flat array of `2n` in RESP2.
    pub fn map_header(self, n: usize) -> Vec<u8> {
        match self {
            Proto::Resp2 => array_header(2 * n),
            Proto::Resp3 => format!("%{n}\r\n").into_bytes(),
        }
    }

    /// A set of `n` members: an array in RESP2.
    pub fn set_header(self, n: usize) -> Vec<u8> {
        match self {
            Proto::Resp2 => array_header(n),
            Proto::Resp3 => format!("~{n}\r\n").into_bytes(),
        }
    }

    /// Redis's addReplyDouble: `%.17g` (and `inf`/`-inf`), a bulk string in RESP2,
    /// a double in RESP3.
    pub fn double(self, d: f64) -> Vec<u8> {
        let text = crate::numbers::format_g17(d);
        match self {
            Proto::Resp2 => bulk(text.as_bytes()),
            Proto::Resp3 => format!(",{text}\r\n").into_bytes(),
        }
    }
}

pub fn ok() -> Vec<u8> {
    b"+OK\r\n".to_vec()
}

pub fn simple(s: &str) -> Vec<u8> {
    format!("+{s}\r\n").into_bytes()
}

pub fn err(msg: &str) -> Vec<u8> {
    format!("-ERR {msg}\r\n").into_bytes()
}

pub fn wrongtype() -> Vec<u8> {
    b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n".to_vec()
}

pub fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
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

/// An array of bulk strings.
pub fn bulk_array<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let mut out = array_header(items.len());
    for i in items {
        out.extend(bulk(i.as_ref()));
    }
    out
}

/// Encode a decoded reply back into bytes (RESP3 types as RESP3).
pub fn encode(r: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(r, &mut out);
    out
}

fn encode_into(r: &Reply, out: &mut Vec<u8>) {
    let items = |tag: char, items: &[Reply], out: &mut Vec<u8>| {
        out.extend(format!("{tag}{}\r\n", items.len()).into_bytes());
        for i in items {
            encode_into(i, out);
        }
    };
    match r {
        Reply::Simple(s) => out.extend([b"+", s.as_slice(), b"\r\n"].concat()),
        Reply::Error(s) => out.extend([b"-", s.as_slice(), b"\r\n"].concat()),
        Reply::Int(n) => out.extend(int(*n)),
        Reply::Bulk(b) => out.extend(bulk(b)),
        Reply::Nil => out.extend(b"$-1\r\n"),
        Reply::NilArray => out.extend(b"*-1\r\n"),
        Reply::Null => out.extend(b"_\r\n"),
        Reply::Double(d) => out.extend([b",", d.as_slice(), b"\r\n"].concat()),
        Reply::Bool(b) => out.extend(if *b { b"#t\r\n" } else { b"#f\r\n" }),
        Reply::BigNumber(n) => out.extend([b"(", n.as_slice(), b"\r\n"].concat()),
        Reply::Verbatim(f, t) => {
            out.extend(format!("={}\r\n", t.len() + 4).into_bytes());
            out.extend([f.as_slice(), b":", t.as_slice(), b"\r\n"].concat());
        }
        Reply::BlobError(e) => {
            out.extend(format!("!{}\r\n", e.len()).into_bytes());
            out.extend([e.as_slice(), b"\r\n"].concat());
        }
        Reply::Array(v) => items('*', v, out),
        Reply::Set(v) => items('~', v, out),
        Reply::Push(v) => items('>', v, out),
        Reply::Map(pairs) => {
            out.extend(format!("%{}\r\n", pairs.len()).into_bytes());
            for (k, v) in pairs {
                encode_into(k, out);
                encode_into(v, out);
            }
        }
    }
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
    fn resp3_replies_decode_and_reencode() {
        let stream: &[u8] = b"_\r\n,1.5\r\n#t\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n~2\r\n:1\r\n:2\r\n=7\r\ntxt:abc\r\n!3\r\nERR\r\n(12\r\n>1\r\n+x\r\n";
        let parts = split_replies(stream).unwrap();
        assert_eq!(parts.len(), 9);
        let decoded: Vec<Reply> = parts
            .iter()
            .map(|p| take_reply(p).unwrap().unwrap().0)
            .collect();
        assert_eq!(decoded[0], Reply::Null);
        assert_eq!(decoded[1], Reply::Double(b"1.5".to_vec()));
        assert_eq!(
            decoded[3],
            Reply::Map(vec![(
                Reply::Bulk(b"f".to_vec()),
                Reply::Bulk(b"v".to_vec())
            )])
        );
        assert_eq!(decoded[4], Reply::Set(vec![Reply::Int(1), Reply::Int(2)]));
        assert_eq!(
            decoded[5],
            Reply::Verbatim(b"txt".to_vec(), b"abc".to_vec())
        );
        for (p, d) in parts.iter().zip(&decoded) {
            assert_eq!(&encode(d), p);
        }
        assert_eq!(take_reply(b"%1\r\n$1\r\nf\r\n").unwrap(), None);
    }

    #[test]
    fn encoders_match_resp2() {
        assert_eq!(err("syntax error"), b"-ERR syntax error\r\n");
        assert_eq!(Proto::Resp2.nil(), b"$-1\r\n");
        assert_eq!(Proto::Resp3.null_array(), b"_\r\n");
        assert_eq!(Proto::Resp2.map_header(2), b"*4\r\n");
        assert_eq!(Proto::Resp3.double(1.5), b",1.5\r\n");
        assert_eq!(Proto::Resp2.double(f64::NEG_INFINITY), b"$4\r\n-inf\r\n");
        assert_eq!(bulk(b""), b"$0\r\n\r\n");
        assert_eq!(int(-2), b":-2\r\n");
        assert_eq!(show(b"a\r\n"), "a\\r\\n");
    }
}
