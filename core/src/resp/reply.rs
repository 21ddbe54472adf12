//! The reply encoder: one `ReplyBuf` per client, written in RESP2 or RESP3 depending on
//! the protocol the client chose with HELLO. Shapes that differ between the two
//! (nulls, maps, sets, doubles, booleans, pushes, verbatim strings, big numbers) are
//! chosen here so command code never branches on the protocol.

use crate::util::{fmt_g17, fmt_i64};

#[derive(Debug, Default)]
pub struct ReplyBuf {
    buf: Vec<u8>,
    resp3: bool,
    /// Error prefixes (`ERR`, `WRONGTYPE`, …) written since the last `take_errors`, for
    /// INFO errorstats and commandstats' failed_calls.
    errors: Vec<String>,
}

impl ReplyBuf {
    pub fn new(resp3: bool) -> ReplyBuf {
        ReplyBuf {
            buf: Vec::new(),
            resp3,
            errors: Vec::new(),
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Drop everything written after `len` (CLIENT REPLY OFF/SKIP).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Insert protocol bytes at offset `at` (pushes delivered while a command ran go
    /// before that command's reply).
    pub fn insert_raw(&mut self, at: usize, bytes: &[u8]) {
        assert!(at <= self.buf.len(), "insertion point past the end");
        self.buf.splice(at..at, bytes.iter().copied());
    }

    /// Hand the pending bytes to the backend, leaving the buffer empty.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Raw protocol bytes, for replies built elsewhere.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        fmt_i64(n, &mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        // A status line cannot carry CR or LF.
        self.buf.extend(
            s.bytes()
                .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. A message starting with `-` carries its own code
    /// (`-WRONGTYPE …`); any other gets `-ERR ` in front, as Redis's addReplyError.
    pub fn error(&mut self, msg: &str) {
        let bytes = msg.as_bytes();
        let prefix = if bytes.first() == Some(&b'-') {
            let head = &bytes[..bytes.len().min(32)];
            match head.iter().position(|&c| c == b' ') {
                Some(space) => String::from_utf8_lossy(&bytes[1..space]).into_owned(),
                None => "ERR".to_string(),
            }
        } else {
            self.buf.extend_from_slice(b"-ERR ");
            "ERR".to_string()
        };
        self.errors.push(prefix);
        self.buf.extend(
            bytes
                .iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, v: i64) {
        self.header(b':', v);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        // Header, data and CRLF in one allocation: left to grow on its own, an
        // empty buffer took three for a 100-byte GET reply (8, 106, 212 bytes).
        self.buf.reserve(data.len() + 24);
        self.header(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }

    pub fn bulk_i64(&mut self, v: i64) {
        let mut tmp = Vec::with_capacity(20);
        fmt_i64(v, &mut tmp);
        self.bulk(&tmp);
    }

    /// The null bulk string (`$-1` / `_`).
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` / `_`).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs; in RESP2 a flat array of 2n elements.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// A RESP3 attribute map of `n` pairs (callers only emit it to RESP3 clients).
    pub fn attribute(&mut self, n: usize) {
        debug_assert!(self.resp3);
        self.header(b'|', n as i64);
    }

    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    pub fn double(&mut self, d: f64) {
        if d.is_infinite() {
            let s = if d > 0.0 { "inf" } else { "-inf" };
            if self.resp3 {
                self.buf.push(b',');
                self.buf.extend_from_slice(s.as_bytes());
                self.buf.extend_from_slice(b"\r\n");
            } else {
                self.bulk_str(s);
            }
            return;
        }
        let text = fmt_g17(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    pub fn big_number(&mut self, digits: &str) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk_str(digits);
        }
    }

    /// A verbatim string with a three-letter format (`txt`, `mkd`); bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8], format: &str) {
        if self.resp3 {
            debug_assert_eq!(format.len(), 3);
            self.header(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Lines of help text as a status-string array, Redis's addReplyHelp layout.
    pub fn help(&mut self, command: &str, lines: &[&str]) {
        self.array(lines.len() + 3);
        self.simple(&format!(
            "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        ));
        for line in lines {
            self.simple(line);
        }
        self.simple("HELP");
        self.simple("    Prints this help.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(f: impl Fn(&mut ReplyBuf)) -> (String, String) {
        let mut r2 = ReplyBuf::new(false);
        let mut r3 = ReplyBuf::new(true);
        f(&mut r2);
        f(&mut r3);
        (
            String::from_utf8(r2.take_bytes()).unwrap(),
            String::from_utf8(r3.take_bytes()).unwrap(),
        )
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        assert_eq!(both(|r| r.null()), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.null_array()), ("*-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(|r| r.map(2)), ("*4\r\n".into(), "%2\r\n".into()));
        assert_eq!(both(|r| r.set(3)), ("*3\r\n".into(), "~3\r\n".into()));
        assert_eq!(
            both(|r| r.double(1.5)),
            ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into())
        );
        assert_eq!(
            both(|r| r.double(f64::INFINITY)),
            ("$3\r\ninf\r\n".into(), ",inf\r\n".into())
        );
        assert_eq!(
            both(|r| r.boolean(true)),
            (":1\r\n".into(), "#t\r\n".into())
        );
        assert_eq!(
            both(|r| r.big_number("123")),
            ("$3\r\n123\r\n".into(), "(123\r\n".into())
        );
        assert_eq!(
            both(|r| r.verbatim(b"hi", "txt")),
            ("$2\r\nhi\r\n".into(), "=6\r\ntxt:hi\r\n".into())
        );
        assert_eq!(both(|r| r.push(2)), ("*2\r\n".into(), ">2\r\n".into()));
    }

    #[test]
    fn errors_get_prefix_and_are_counted() {
        let mut r = ReplyBuf::new(false);
        r.error("syntax error");
        r.error("-WRONGTYPE Operation against a key holding the wrong kind of value");
        r.error("bad\r\nline");
        assert_eq!(
            String::from_utf8(r.as_bytes().to_vec()).unwrap(),
            "-ERR syntax error\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n-ERR bad  line\r\n"
        );
        assert_eq!(r.take_errors(), vec!["ERR", "WRONGTYPE", "ERR"]);
    }
}
