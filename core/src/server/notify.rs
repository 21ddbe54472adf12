//! Keyspace notifications (Redis's notify.c): the `notify-keyspace-events` classes,
//! their parsing and canonical spelling, and `Server::notify_keyspace_event`, which
//! publishes `__keyspace@<db>__:<key>` → event and `__keyevent@<db>__:<event>` → key
//! through the ordinary Pub/Sub path.
//!
//! Command code calls it exactly where Redis calls notifyKeyspaceEvent, with the same
//! class and event name, and only when the key really changed.

use super::Server;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, …).
pub const NOTIFY_GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const NOTIFY_STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const NOTIFY_LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const NOTIFY_SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const NOTIFY_HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const NOTIFY_ZSET: u32 = 1 << 7;
/// `x`: a key expired (lazily or by the active cycle).
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted by maxmemory.
pub const NOTIFY_EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const NOTIFY_STREAM: u32 = 1 << 10;
/// `m`: a read found no key. Not part of `A`.
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
/// Modules only: a key loaded from an RDB file. No letter.
pub const NOTIFY_LOADED: u32 = 1 << 12;
/// `d`: module key types.
pub const NOTIFY_MODULE: u32 = 1 << 13;
/// `n`: a key was created. Not part of `A`.
pub const NOTIFY_NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n` (and the letterless `loaded`).
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// The error of CONFIG SET / the config file for an unknown class letter.
pub const ERR_INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parse a class string (keyspaceEventsStringToFlags); `None` if any character is
/// not a class letter.
pub fn parse_classes(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in classes {
        flags |= match c {
            b'A' => NOTIFY_ALL,
            b'g' => NOTIFY_GENERIC,
            b'$' => NOTIFY_STRING,
            b'l' => NOTIFY_LIST,
            b's' => NOTIFY_SET,
            b'h' => NOTIFY_HASH,
            b'z' => NOTIFY_ZSET,
            b'x' => NOTIFY_EXPIRED,
            b'e' => NOTIFY_EVICTED,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b't' => NOTIFY_STREAM,
            b'm' => NOTIFY_KEY_MISS,
            b'd' => NOTIFY_MODULE,
            b'n' => NOTIFY_NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical spelling CONFIG GET shows (keyspaceEventsFlagsToString): `A` when
/// every class of `A` is on, else the class letters in a fixed order; then `K`, `E`,
/// `m`. As in Redis 7.0, `n` is only spelled out when `A` is not, so `An` reads `A`.
pub fn format_classes(flags: u32) -> String {
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        for (bit, letter) in [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(letter);
            }
        }
    }
    for (bit, letter) in [
        (NOTIFY_KEYSPACE, 'K'),
        (NOTIFY_KEYEVENT, 'E'),
        (NOTIFY_KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            s.push(letter);
        }
    }
    s
}

impl Server {
    /// Publish a keyspace event of `class` (notifyKeyspaceEvent) if that class is
    /// enabled: `event` on the key's keyspace channel, the key on the event's keyevent
    /// channel, as `K` and `E` ask.
    pub fn notify_keyspace_event(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        debug_assert!(class.count_ones() == 1, "one class per event");
        debug_assert!(!event.is_empty());
        let enabled = self.config.notify_keyspace_events;
        if enabled & class == 0 {
            return;
        }
        let db_digits = db.to_string();
        if enabled & NOTIFY_KEYSPACE != 0 {
            let mut channel = Vec::with_capacity(16 + db_digits.len() + key.len());
            channel.extend_from_slice(b"__keyspace@");
            channel.extend_from_slice(db_digits.as_bytes());
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(key);
            self.publish(&channel, event.as_bytes());
        }
        if enabled & NOTIFY_KEYEVENT != 0 {
            let mut channel = Vec::with_capacity(16 + db_digits.len() + event.len());
            channel.extend_from_slice(b"__keyevent@");
            channel.extend_from_slice(db_digits.as_bytes());
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(event.as_bytes());
            self.publish(&channel, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip_like_redis() {
        assert_eq!(parse_classes(b""), Some(0));
        assert_eq!(format_classes(0), "");
        assert_eq!(
            parse_classes(b"KEA"),
            Some(NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL)
        );
        assert_eq!(format_classes(parse_classes(b"AKE").unwrap()), "AKE");
        assert_eq!(format_classes(parse_classes(b"EKA").unwrap()), "AKE");
        // Every letter of A spelled out collapses to A.
        assert_eq!(format_classes(parse_classes(b"g$lshzxetd").unwrap()), "A");
        assert_eq!(format_classes(parse_classes(b"Elg").unwrap()), "glE");
        assert_eq!(format_classes(parse_classes(b"nmxK").unwrap()), "xnKm");
        // Redis 7.0 drops n once A is on.
        assert_eq!(format_classes(parse_classes(b"AnK").unwrap()), "AK");
        assert_eq!(format_classes(parse_classes(b"ggg").unwrap()), "g");
        assert_eq!(parse_classes(b"Kw"), None);
        assert_eq!(parse_classes(b"a"), None);
        assert_eq!(parse_classes(b" "), None);
    }
}
