//! The streaming request parser: RESP multibulk (`*N\r\n$len\r\n…`) and inline
//! requests, with Redis's limits and exact protocol errors.
//!
//! The parser never copies multibulk arguments: it records `(start, end)` spans into
//! the client's query buffer, and the caller consumes the request's bytes after
//! executing it. A declared length never causes an allocation: the buffer only grows
//! by what the peer actually sent.

use super::splitargs::split_args_into;
use crate::util::parse_i64;

/// Longest inline request, and longest `*count`/`$len` line (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_BYTES: usize = 64 * 1024;
/// Bulk and multibulk limits for clients that have not authenticated yet.
pub const UNAUTH_MULTIBULK_MAX: i64 = 10;
pub const UNAUTH_BULK_MAX_BYTES: i64 = 16384;
/// Spans preallocated for a multibulk request, whatever its declared count.
const SPANS_PREALLOC_MAX: usize = 1024;

/// The arguments of one complete request: spans into `data`.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    spans: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn new(data: &'a [u8], spans: &'a [(usize, usize)]) -> Args<'a> {
        Args { data, spans }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// The arguments after the first `n` (COMMAND GETKEYS looks at an embedded request).
    pub fn skip(&self, n: usize) -> Args<'a> {
        Args {
            data: self.data,
            spans: &self.spans[n.min(self.spans.len())..],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i` (0 is the command name). Panics when out of range: arity is checked
    /// before any handler runs, so an out-of-range index is a bug in the handler.
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.spans[i];
        &self.data[s..e]
    }

    pub fn try_get(&self, i: usize) -> Option<&'a [u8]> {
        self.spans.get(i).map(|&(s, e)| &self.data[s..e])
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let data = self.data;
        self.spans.iter().map(move |&(s, e)| &data[s..e])
    }

    /// Owned copies, for queuing (MULTI) or propagation.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|a| a.to_vec()).collect()
    }

    /// Total argument bytes (CLIENT LIST's argv-mem).
    pub fn byte_len(&self) -> usize {
        self.spans.iter().map(|(s, e)| e - s).sum()
    }
}

/// Why the parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    /// A complete request of `consumed` bytes is ready; its arguments are in the spans
    /// (and, for inline requests, in the parser's own scratch buffer).
    Ready { consumed: usize, inline: bool },
    /// A request with no arguments (`*0`, `*-1`, an empty inline line): skip it.
    Empty { consumed: usize },
    /// More bytes are needed.
    Incomplete,
    /// A protocol error: reply with this message (no `-ERR ` prefix) and close.
    Error(String),
}

/// Limits the parser enforces, read from the live config for every request.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    pub proto_max_bulk_len: i64,
    pub auth_required: bool,
}

#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments still to read in the current multibulk request (0: none started).
    multibulk_left: i64,
    /// Length of the bulk being read, once its `$len` line was seen.
    bulk_len: Option<usize>,
    /// Bytes of the buffer already parsed for the current request.
    pos: usize,
    spans: Vec<(usize, usize)>,
    inline_data: Vec<u8>,
}

impl RequestParser {
    pub fn new() -> RequestParser {
        RequestParser::default()
    }

    /// Spans of the last `Ready` request.
    pub fn spans(&self) -> &[(usize, usize)] {
        &self.spans
    }

    /// Arguments of the last `Ready` request, given the buffer it was parsed from.
    pub fn args<'a>(&'a self, buf: &'a [u8], inline: bool) -> Args<'a> {
        if inline {
            Args::new(&self.inline_data, &self.spans)
        } else {
            Args::new(buf, &self.spans)
        }
    }

    /// Heap bytes the parser holds (its span table and inline scratch): the fuzz
    /// checks bound it by the bytes received.
    pub fn heap_bytes(&self) -> usize {
        self.spans.capacity() * std::mem::size_of::<(usize, usize)>() + self.inline_data.capacity()
    }

    /// Is a request partially parsed (so the buffer's head is mid-request)?
    pub fn in_progress(&self) -> bool {
        self.multibulk_left > 0
    }

    /// Forget the current request; call after consuming a `Ready`/`Empty` request.
    pub fn reset(&mut self) {
        self.multibulk_left = 0;
        self.bulk_len = None;
        self.pos = 0;
        self.spans.clear();
        if self.inline_data.capacity() > INLINE_MAX_BYTES {
            self.inline_data = Vec::new();
        } else {
            self.inline_data.clear();
        }
    }

    /// Parse the request at the head of `buf`. Resumes where the previous call on the
    /// same (grown) buffer stopped.
    pub fn parse(&mut self, buf: &[u8], limits: ParseLimits) -> Parse {
        if buf.is_empty() {
            return Parse::Incomplete;
        }
        if self.multibulk_left == 0 && self.pos == 0 && buf[0] != b'*' {
            return self.parse_inline(buf);
        }
        self.parse_multibulk(buf, limits)
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Parse {
        let Some(newline) = memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX_BYTES {
                return Parse::Error("Protocol error: too big inline request".into());
            }
            return Parse::Incomplete;
        };
        let line_end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        self.spans.clear();
        self.inline_data.clear();
        if !split_args_into(&buf[..line_end], &mut self.inline_data, &mut self.spans) {
            self.spans.clear();
            return Parse::Error("Protocol error: unbalanced quotes in request".into());
        }
        let consumed = newline + 1;
        if self.spans.is_empty() {
            return Parse::Empty { consumed };
        }
        Parse::Ready {
            consumed,
            inline: true,
        }
    }

    fn parse_multibulk(&mut self, buf: &[u8], limits: ParseLimits) -> Parse {
        if self.multibulk_left == 0 {
            debug_assert_eq!(self.pos, 0);
            debug_assert_eq!(buf[0], b'*');
            let Some(cr) = memchr(b'\r', buf) else {
                if buf.len() > INLINE_MAX_BYTES {
                    return Parse::Error("Protocol error: too big mbulk count string".into());
                }
                return Parse::Incomplete;
            };
            // The '\n' must have arrived too (Redis skips it without looking at it).
            if cr + 2 > buf.len() {
                return Parse::Incomplete;
            }
            let count = match parse_i64(&buf[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Parse::Error("Protocol error: invalid multibulk length".into()),
            };
            if count > UNAUTH_MULTIBULK_MAX && limits.auth_required {
                return Parse::Error("Protocol error: unauthenticated multibulk length".into());
            }
            if count <= 0 {
                return Parse::Empty { consumed: cr + 2 };
            }
            self.pos = cr + 2;
            self.multibulk_left = count;
            self.spans.clear();
            self.spans.reserve((count as usize).min(SPANS_PREALLOC_MAX));
        }
        while self.multibulk_left > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let rest = &buf[self.pos..];
                    let Some(cr) = memchr(b'\r', rest) else {
                        if rest.len() > INLINE_MAX_BYTES {
                            return Parse::Error(
                                "Protocol error: too big bulk count string".into(),
                            );
                        }
                        return Parse::Incomplete;
                    };
                    if cr + 2 > rest.len() {
                        return Parse::Incomplete;
                    }
                    if rest[0] != b'$' {
                        return Parse::Error(format!(
                            "Protocol error: expected '$', got '{}'",
                            rest[0] as char
                        ));
                    }
                    let len = match parse_i64(&rest[1..cr]) {
                        Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n,
                        _ => return Parse::Error("Protocol error: invalid bulk length".into()),
                    };
                    if len > UNAUTH_BULK_MAX_BYTES && limits.auth_required {
                        return Parse::Error("Protocol error: unauthenticated bulk length".into());
                    }
                    self.pos += cr + 2;
                    let len = usize::try_from(len).expect("non-negative and bounded");
                    self.bulk_len = Some(len);
                    len
                }
            };
            // The payload and its trailing CRLF (which, like Redis, we skip unchecked).
            if buf.len() - self.pos < len + 2 {
                return Parse::Incomplete;
            }
            self.spans.push((self.pos, self.pos + len));
            self.pos += len + 2;
            self.bulk_len = None;
            self.multibulk_left -= 1;
        }
        Parse::Ready {
            consumed: self.pos,
            inline: false,
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&c| c == needle)
}

/// The second, third and fourth arguments (for most commands a key, then members,
/// fields, scores or values) of each complete multibulk request of at least two
/// arguments at the head of `buf`, at most `out.len()` of them (empty when absent); returns
/// how many were found. A look ahead only: it stops at the first request it cannot
/// read whole (inline, incomplete, malformed) and is never what decides what runs —
/// the caller warms caches with it before the real parser takes the requests one by
/// one.
pub fn peek_key_args<'a>(buf: &'a [u8], out: &mut [[&'a [u8]; 3]]) -> usize {
    /// Reads `<prefix><digits>\r\n` at `pos`: the number and the position after it.
    fn header(buf: &[u8], pos: usize, prefix: u8) -> Option<(usize, usize)> {
        if *buf.get(pos)? != prefix {
            return None;
        }
        let rest = buf.get(pos + 1..)?;
        let cr = memchr(b'\r', &rest[..rest.len().min(24)])?;
        let n = parse_i64(&rest[..cr]).filter(|&n| n >= 0)? as usize;
        let next = pos + 1 + cr + 2;
        (next <= buf.len()).then_some((n, next))
    }
    let mut found = 0;
    let mut pos = 0;
    while found < out.len() && pos < buf.len() {
        let Some((count, mut at)) = header(buf, pos, b'*') else {
            break;
        };
        let mut args: [&[u8]; 3] = [b"", b"", b""];
        for i in 0..count {
            let Some((len, start)) = header(buf, at, b'$') else {
                return found;
            };
            let end = start.saturating_add(len);
            if end.saturating_add(2) > buf.len() {
                return found;
            }
            if let Some(slot) = i.checked_sub(1).and_then(|j| args.get_mut(j)) {
                *slot = &buf[start..end];
            }
            at = end + 2;
        }
        if count >= 2 {
            out[found] = args;
            found += 1;
        }
        pos = at;
    }
    found
}

#[cfg(test)]
mod tests {

    #[test]
    fn peek_finds_each_whole_requests_key_arguments() {
        let buf = b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$5\r\nkey";
        let mut out = [[&b""[..]; 3]; 8];
        let n = peek_key_args(buf, &mut out);
        // PING has no second argument; the last request is incomplete.
        assert_eq!(
            &out[..n],
            &[
                [&b"key:1"[..], &b""[..], &b""[..]],
                [&b"k2"[..], &b"v"[..], &b""[..]]
            ]
        );
        let mut one = [[&b""[..]; 3]; 1];
        assert_eq!(peek_key_args(buf, &mut one), 1);
        assert_eq!(peek_key_args(b"GET inline\r\n", &mut out), 0);
        assert_eq!(peek_key_args(b"*2\r\n$-1\r\n", &mut out), 0);
        assert_eq!(peek_key_args(b"*9999999999999999999999\r\n", &mut out), 0);
        assert_eq!(
            peek_key_args(b"*2\r\n$3\r\nGET\r\n$99999999999\r\nx\r\n", &mut out),
            0
        );
    }

    use super::*;

    const LIMITS: ParseLimits = ParseLimits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        auth_required: false,
    };

    fn parse_all(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
        let mut p = RequestParser::new();
        let mut buf = input;
        let mut out = Vec::new();
        loop {
            match p.parse(buf, LIMITS) {
                Parse::Ready { consumed, inline } => {
                    out.push(p.args(buf, inline).to_vecs());
                    buf = &buf[consumed..];
                    p.reset();
                }
                Parse::Empty { consumed } => {
                    buf = &buf[consumed..];
                    p.reset();
                }
                Parse::Incomplete => return (out, None),
                Parse::Error(e) => return (out, Some(e)),
            }
        }
    }

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_inline() {
        let (cmds, err) =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\nset k \"v v\"\n*0\r\n\r\n");
        assert_eq!(err, None);
        assert_eq!(
            cmds,
            vec![v(&["GET", "a"]), v(&["PING"]), v(&["set", "k", "v v"])]
        );
    }

    #[test]
    fn resumes_across_arbitrary_splits() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\n";
        for split in 0..input.len() {
            let mut p = RequestParser::new();
            let mut buf = input[..split].to_vec();
            let mut got = Vec::new();
            let mut fed = split;
            loop {
                match p.parse(&buf, LIMITS) {
                    Parse::Ready { consumed, inline } => {
                        got.push(p.args(&buf, inline).to_vecs());
                        buf.drain(..consumed);
                        p.reset();
                    }
                    Parse::Empty { consumed } => {
                        buf.drain(..consumed);
                        p.reset();
                    }
                    Parse::Incomplete if fed < input.len() => {
                        buf.extend_from_slice(&input[fed..]);
                        fed = input.len();
                    }
                    Parse::Incomplete => break,
                    Parse::Error(e) => panic!("split {split}: {e}"),
                }
            }
            assert_eq!(
                got,
                vec![v(&["SET", "hello", "0123456789"]), v(&["PING"])],
                "split {split}"
            );
        }
    }

    #[test]
    fn protocol_errors_are_redis_strings() {
        let err = |input: &[u8]| parse_all(input).1.expect("an error");
        assert_eq!(err(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            err(b"*3000000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(err(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            err(b"*1\r\n$600000000\r\n"),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            err(b"*1\r\nx3\r\n"),
            "Protocol error: expected '$', got 'x'"
        );
        assert_eq!(
            err(b"set \"a\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(&vec![b'a'; INLINE_MAX_BYTES + 1]),
            "Protocol error: too big inline request"
        );
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; INLINE_MAX_BYTES + 1]);
        assert_eq!(err(&big), "Protocol error: too big mbulk count string");
        let mut big = b"*1\r\n$".to_vec();
        big.extend(vec![b'1'; INLINE_MAX_BYTES + 1]);
        assert_eq!(err(&big), "Protocol error: too big bulk count string");
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = ParseLimits {
            auth_required: true,
            ..LIMITS
        };
        let mut p = RequestParser::new();
        assert_eq!(
            p.parse(b"*11\r\n", limits),
            Parse::Error("Protocol error: unauthenticated multibulk length".into())
        );
        let mut p = RequestParser::new();
        assert_eq!(
            p.parse(b"*1\r\n$16385\r\n", limits),
            Parse::Error("Protocol error: unauthenticated bulk length".into())
        );
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate() {
        let mut p = RequestParser::new();
        assert_eq!(
            p.parse(b"*1000000\r\n$500000000\r\nab", LIMITS),
            Parse::Incomplete
        );
        assert!(p.spans.capacity() <= SPANS_PREALLOC_MAX);
    }
}
