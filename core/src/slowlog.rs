//! SLOWLOG: the most recent commands that took longer than `slowlog-log-slower-than`,
//! newest first, capped at `slowlog-max-len` — Redis's entry shape and truncations.

use std::collections::VecDeque;

/// Arguments kept per entry, and bytes kept per argument (SLOWLOG_ENTRY_MAX_*).
pub const ENTRY_MAX_ARGC: usize = 32;
pub const ENTRY_MAX_STRING_BYTES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowlogEntry {
    pub id: u64,
    pub unix_secs: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub client_name: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Slowlog {
    entries: VecDeque<SlowlogEntry>,
    next_id: u64,
}

impl Slowlog {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Record a command; arguments are truncated the way Redis does.
    pub fn push(
        &mut self,
        args: &[&[u8]],
        unix_secs: i64,
        duration_us: u64,
        peer: String,
        name: Vec<u8>,
        max_len: usize,
    ) {
        let mut kept: Vec<Vec<u8>> = Vec::new();
        let argc = args.len().min(ENTRY_MAX_ARGC);
        for (i, arg) in args.iter().take(argc).enumerate() {
            if argc != args.len() && i == argc - 1 {
                kept.push(format!("... ({} more arguments)", args.len() - argc + 1).into_bytes());
            } else if arg.len() > ENTRY_MAX_STRING_BYTES {
                let mut a = arg[..ENTRY_MAX_STRING_BYTES].to_vec();
                a.extend_from_slice(
                    format!("... ({} more bytes)", arg.len() - ENTRY_MAX_STRING_BYTES).as_bytes(),
                );
                kept.push(a);
            } else {
                kept.push(arg.to_vec());
            }
        }
        self.entries.push_front(SlowlogEntry {
            id: self.next_id,
            unix_secs,
            duration_us,
            args: kept,
            peer,
            client_name: name,
        });
        self.next_id += 1;
        self.trim(max_len);
    }

    pub fn trim(&mut self, max_len: usize) {
        while self.entries.len() > max_len {
            self.entries.pop_back();
        }
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> impl Iterator<Item = &SlowlogEntry> {
        self.entries.iter().take(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_redis() {
        let mut log = Slowlog::default();
        let long = vec![b'x'; 200];
        let many: Vec<&[u8]> = (0..40).map(|_| &b"a"[..]).collect();
        log.push(&[b"set", &long], 1, 5, "1.2.3.4:5".into(), vec![], 10);
        log.push(&many, 2, 6, String::new(), vec![], 10);
        let entries: Vec<_> = log.newest(10).collect();
        assert_eq!(entries[0].id, 1);
        assert_eq!(entries[0].args.len(), 32);
        assert_eq!(entries[0].args[31], b"... (9 more arguments)");
        assert!(entries[1].args[1].ends_with(b"... (72 more bytes)"));
        for i in 0..20 {
            log.push(&[b"ping"], i, 0, String::new(), vec![], 10);
        }
        assert_eq!(log.len(), 10);
    }
}
