//! The multi-part AOF manifest (Redis 7's `appendonly.aof.manifest`): which files
//! make up the AOF — one base, the history files a rewrite left behind, the incr
//! files — its text format, parsed with Redis's checks and errors, and the naming
//! rules for new base and incr files.
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```

use crate::resp::splitargs::split_args;

pub const BASE_FILE_SUFFIX: &str = ".base";
pub const INCR_FILE_SUFFIX: &str = ".incr";
pub const RDB_FORMAT_SUFFIX: &str = ".rdb";
pub const AOF_FORMAT_SUFFIX: &str = ".aof";
pub const MANIFEST_NAME_SUFFIX: &str = ".manifest";
pub const TEMP_FILE_NAME_PREFIX: &str = "temp-";

/// The longest manifest line Redis reads (MANIFEST_MAX_LINE).
const MANIFEST_MAX_LINE: usize = 1024;

/// What a file is to the AOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// The snapshot the incr files apply to (`b`).
    Base,
    /// Replaced by a rewrite, to be deleted (`h`).
    History,
    /// Commands since the base (`i`).
    Incr,
}

impl FileType {
    pub fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        }
    }
}

/// One line of the manifest (Redis's aofInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    pub kind: FileType,
}

/// The manifest (Redis's aofManifest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    /// Most recently retired first, as Redis keeps them.
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub curr_base_seq: i64,
    pub curr_incr_seq: i64,
    /// Changed since it was last persisted.
    pub dirty: bool,
}

/// Why a manifest was refused: Redis's message, and the offending line (1-based) if
/// the error is about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub message: &'static str,
    pub line: Option<(usize, String)>,
}

/// `<appendfilename>.manifest`.
pub fn manifest_name(aof_filename: &str) -> String {
    format!("{aof_filename}{MANIFEST_NAME_SUFFIX}")
}

/// `temp-<appendfilename>.manifest`, written then renamed over the manifest.
pub fn temp_manifest_name(aof_filename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{aof_filename}{MANIFEST_NAME_SUFFIX}")
}

/// `temp-<appendfilename>.incr`: the incr file a rewrite started before it is named.
pub fn temp_incr_name(aof_filename: &str) -> String {
    format!("{TEMP_FILE_NAME_PREFIX}{aof_filename}{INCR_FILE_SUFFIX}")
}

/// Does Redis quote this name in the manifest (sdsneedsrepr)?
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&c| {
        matches!(c, b'\\' | b'"' | b'\n' | b'\r' | b'\t' | 0x07 | 0x08)
            || !(0x20..0x7f).contains(&c)
            || c == b' '
    })
}

/// sdscatrepr: a double-quoted, C-escaped rendering.
fn repr(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(c as char);
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// C's atoll: optional spaces and sign, then digits, stopping at the first other byte.
fn atoll(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add((d - b'0') as i64);
        i += 1;
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

impl AofInfo {
    /// One manifest line, newline included (aofInfoFormat).
    pub fn format(&self) -> String {
        let name = if needs_repr(self.name.as_bytes()) {
            repr(self.name.as_bytes())
        } else {
            self.name.clone()
        };
        format!("file {name} seq {} type {}\n", self.seq, self.kind.letter())
    }
}

impl Manifest {
    pub fn new() -> Manifest {
        Manifest::default()
    }

    /// The manifest's text: base, then history, then incr files
    /// (getAofManifestAsString).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(b) = &self.base {
            out.push_str(&b.format());
        }
        for h in &self.history {
            out.push_str(&h.format());
        }
        for i in &self.incr {
            out.push_str(&i.format());
        }
        out
    }

    /// Parse a manifest as aofLoadManifestFromFile does, with its errors.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::new();
        let mut maxseq = 0i64;
        let mut linenum = 0usize;
        let mut rest = text;
        let fail = |message, line: Option<(usize, String)>| Err(ManifestError { message, line });
        loop {
            if rest.is_empty() {
                if linenum == 0 {
                    return fail("Found an empty AOF manifest", None);
                }
                break;
            }
            // fgets with a MANIFEST_MAX_LINE+1 buffer: at most 1024 bytes per read.
            let take = match rest.iter().position(|&c| c == b'\n') {
                Some(nl) if nl < MANIFEST_MAX_LINE => nl + 1,
                _ => rest.len().min(MANIFEST_MAX_LINE),
            };
            let buf = &rest[..take];
            rest = &rest[take..];
            linenum += 1;
            if buf.first() == Some(&b'#') {
                continue;
            }
            // fgets stops at a NUL as far as the C string goes.
            let cstr = match buf.iter().position(|&c| c == 0) {
                Some(nul) => &buf[..nul],
                None => buf,
            };
            if !cstr.contains(&b'\n') {
                return fail("The AOF manifest file contains too long line", None);
            }
            let trimmed = trim(cstr);
            let shown = String::from_utf8_lossy(trimmed).into_owned();
            let at = Some((linenum, shown));
            if trimmed.is_empty() {
                return fail("Invalid AOF manifest file format", at);
            }
            let argv = match split_args(trimmed) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return fail("Invalid AOF manifest file format", at),
            };
            let (mut name, mut seq, mut kind) = (None::<Vec<u8>>, 0i64, 0u8);
            for pair in argv.chunks(2) {
                let (k, v) = (&pair[0], &pair[1]);
                if k.eq_ignore_ascii_case(b"file") {
                    // An sds name ends at a NUL only when printed; Redis compares it
                    // with strchr, which also stops there.
                    let base_name = v.split(|&c| c == 0).next().unwrap_or(&[]);
                    if base_name.contains(&b'/') {
                        return fail("File can't be a path, just a filename", at);
                    }
                    name = Some(v.clone());
                } else if k.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    kind = v.first().copied().unwrap_or(0);
                }
            }
            let Some(name) = name.filter(|_| seq != 0 && kind != 0) else {
                return fail("Invalid AOF manifest file format", at);
            };
            let name = String::from_utf8_lossy(&name).into_owned();
            match kind {
                b'b' => {
                    if am.base.is_some() {
                        return fail("Found duplicate base file information", at);
                    }
                    am.curr_base_seq = seq;
                    am.base = Some(AofInfo {
                        name,
                        seq,
                        kind: FileType::Base,
                    });
                }
                b'h' => am.history.push(AofInfo {
                    name,
                    seq,
                    kind: FileType::History,
                }),
                b'i' => {
                    if seq <= maxseq {
                        return fail("Found a non-monotonic sequence number", at);
                    }
                    am.incr.push(AofInfo {
                        name,
                        seq,
                        kind: FileType::Incr,
                    });
                    am.curr_incr_seq = seq;
                    maxseq = seq;
                }
                _ => return fail("Unknown AOF file type", at),
            }
        }
        Ok(am)
    }

    /// A new base file's name (`<appendfilename>.<seq>.base.rdb|aof`); the previous
    /// base becomes history (getNewBaseFileNameAndMarkPreAsHistory).
    pub fn new_base(&mut self, aof_filename: &str, rdb_preamble: bool) -> String {
        if let Some(mut old) = self.base.take() {
            debug_assert_eq!(old.kind, FileType::Base);
            old.kind = FileType::History;
            self.history.insert(0, old);
        }
        self.curr_base_seq += 1;
        let format = if rdb_preamble {
            RDB_FORMAT_SUFFIX
        } else {
            AOF_FORMAT_SUFFIX
        };
        let name = format!(
            "{aof_filename}.{}{BASE_FILE_SUFFIX}{format}",
            self.curr_base_seq
        );
        self.base = Some(AofInfo {
            name: name.clone(),
            seq: self.curr_base_seq,
            kind: FileType::Base,
        });
        self.dirty = true;
        name
    }

    /// A new incr file's name (`<appendfilename>.<seq>.incr.aof`), appended to the
    /// incr list (getNewIncrAofName).
    pub fn new_incr(&mut self, aof_filename: &str) -> String {
        self.curr_incr_seq += 1;
        let name = format!(
            "{aof_filename}.{}{INCR_FILE_SUFFIX}{AOF_FORMAT_SUFFIX}",
            self.curr_incr_seq
        );
        self.incr.push(AofInfo {
            name: name.clone(),
            seq: self.curr_incr_seq,
            kind: FileType::Incr,
        });
        self.dirty = true;
        name
    }

    /// The incr file to append to, created if there is none (getLastIncrAofName).
    pub fn last_incr(&mut self, aof_filename: &str) -> String {
        match self.incr.last() {
            Some(i) => i.name.clone(),
            None => self.new_incr(aof_filename),
        }
    }

    /// After a successful rewrite every incr file becomes history, but the one being
    /// written when the AOF is open (markRewrittenIncrAofAsHistory).
    pub fn mark_rewritten_incr_as_history(&mut self, aof_open: bool) {
        if self.incr.is_empty() {
            return;
        }
        let keep = usize::from(aof_open);
        let retire = self.incr.len().saturating_sub(keep);
        // Redis walks from the tail, putting each at the head of the history list.
        let retired: Vec<AofInfo> = self.incr.drain(..retire).collect();
        for mut r in retired.into_iter().rev() {
            r.kind = FileType::History;
            self.history.insert(0, r);
        }
        self.dirty = true;
    }

    /// The base and incr files in load order.
    pub fn load_order(&self) -> impl Iterator<Item = &AofInfo> {
        self.base.iter().chain(self.incr.iter())
    }
}

/// sdstrim(" \t\r\n") on both ends.
fn trim(s: &[u8]) -> &[u8] {
    let is_trim = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|c| !is_trim(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !is_trim(c)).map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_redis_manifests() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.2.incr.aof seq 2 type i\n\
                    file appendonly.aof.3.incr.aof seq 3 type i\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.curr_base_seq, 2);
        assert_eq!(m.curr_incr_seq, 3);
        assert_eq!(m.history.len(), 1);
        assert_eq!(m.to_text(), text);
        let names: Vec<&str> = m.load_order().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "appendonly.aof.2.base.rdb",
                "appendonly.aof.2.incr.aof",
                "appendonly.aof.3.incr.aof"
            ]
        );
    }

    #[test]
    fn comments_extra_keys_and_quoted_names() {
        let text = "# a comment\nfile \"odd name.aof\" seq 1 type i size 7\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(m.incr[0].name, "odd name.aof");
        assert_eq!(m.to_text(), "file \"odd name.aof\" seq 1 type i\n");
    }

    #[test]
    fn refusals_match_redis() {
        let err = |t: &str| Manifest::parse(t.as_bytes()).unwrap_err().message;
        assert_eq!(err(""), "Found an empty AOF manifest");
        assert_eq!(err("\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(
            err("file a seq 1 type i"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(
            err("file a/b seq 1 type i\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(
            err("file a seq 0 type i\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            err("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            err("file a seq 2 type i\nfile b seq 2 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(err("file a seq 1 type x\n"), "Unknown AOF file type");
        let long = format!("file {} seq 1 type i\n", "a".repeat(1100));
        assert_eq!(err(&long), "The AOF manifest file contains too long line");
        let e = Manifest::parse(b"# c\nfile a seq 1 type z\n").unwrap_err();
        assert_eq!(e.line, Some((2, "file a seq 1 type z".to_string())));
    }

    #[test]
    fn naming_and_rewrite_bookkeeping() {
        let mut m = Manifest::new();
        assert_eq!(m.last_incr("appendonly.aof"), "appendonly.aof.1.incr.aof");
        assert_eq!(
            m.new_base("appendonly.aof", true),
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.1.base.rdb seq 1 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        // A rewrite: a new incr file takes the writes, then the new base replaces the
        // old and the incr files it covers become history.
        m.new_incr("appendonly.aof");
        assert_eq!(
            m.new_base("appendonly.aof", false),
            "appendonly.aof.2.base.aof"
        );
        m.mark_rewritten_incr_as_history(true);
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        // Several incr files (failed rewrites in between) retire in their order.
        let mut m = Manifest::parse(
            b"file x.1.incr.aof seq 1 type i\nfile x.2.incr.aof seq 2 type i\nfile x.3.incr.aof seq 3 type i\n",
        )
        .unwrap();
        m.mark_rewritten_incr_as_history(true);
        let seqs = |v: &[AofInfo]| v.iter().map(|i| i.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&m.history), [1, 2]);
        assert_eq!(seqs(&m.incr), [3]);
        m.mark_rewritten_incr_as_history(false);
        assert_eq!(seqs(&m.history), [3, 1, 2]);
        assert!(m.incr.is_empty());
        assert_eq!(
            temp_manifest_name("appendonly.aof"),
            "temp-appendonly.aof.manifest"
        );
        assert_eq!(temp_incr_name("appendonly.aof"), "temp-appendonly.aof.incr");
    }
}
