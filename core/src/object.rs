//! Values stored in the keyspace, with Redis's encodings. A string is `int` (an i64
//! stored without its digits), `embstr` (short, at most 44 bytes, immutable in place)
//! or `raw` (growable); `OBJECT ENCODING` reports exactly these.

use crate::types::hash::Hash;
use crate::types::list::List;
use crate::types::set::Set;
use crate::types::zset::Zset;
use crate::util::{fmt_i64, parse_i64};
use std::borrow::Cow;

/// Strings up to this length are `embstr` (Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_MAX_BYTES: usize = 44;
/// Only strings this short are tried as integers (fits any i64's digits and sign).
pub const INT_ENCODING_MAX_BYTES: usize = 20;
/// Integers below this are shared objects in Redis (OBJ_SHARED_INTEGERS): their
/// refcount reads as INT_MAX.
pub const SHARED_INTEGERS: i64 = 10000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    Int(i64),
    Embstr(Box<[u8]>),
    Raw(Vec<u8>),
}

impl StrValue {
    /// The encoding Redis's `tryObjectEncoding` would choose for a value set from the
    /// network (SET, MSET, …).
    pub fn from_bytes(data: &[u8]) -> StrValue {
        if data.len() <= INT_ENCODING_MAX_BYTES {
            if let Some(n) = parse_i64(data) {
                return StrValue::Int(n);
            }
        }
        if data.len() <= EMBSTR_MAX_BYTES {
            StrValue::Embstr(data.into())
        } else {
            StrValue::Raw(data.to_vec())
        }
    }

    /// A value built by string-editing commands (APPEND, SETRANGE): always `raw`.
    pub fn raw(data: Vec<u8>) -> StrValue {
        StrValue::Raw(data)
    }

    /// A value built from a C string without trying the int encoding
    /// (`createStringObject`): embstr when short, raw otherwise.
    pub fn plain(data: &[u8]) -> StrValue {
        if data.len() <= EMBSTR_MAX_BYTES {
            StrValue::Embstr(data.into())
        } else {
            StrValue::Raw(data.to_vec())
        }
    }

    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            StrValue::Int(n) => {
                let mut v = Vec::with_capacity(20);
                fmt_i64(*n, &mut v);
                Cow::Owned(v)
            }
            StrValue::Embstr(b) => Cow::Borrowed(b),
            StrValue::Raw(v) => Cow::Borrowed(v),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => {
                let mut v = Vec::with_capacity(20);
                fmt_i64(*n, &mut v);
                v.len()
            }
            StrValue::Embstr(b) => b.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, as `getLongLongFromObject` reads it.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Embstr(b) => parse_i64(b),
            StrValue::Raw(v) => parse_i64(v),
        }
    }

    /// Turn into a growable `raw` buffer in place (Redis's dbUnshareStringValue).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            let bytes = self.as_bytes().into_owned();
            *self = StrValue::Raw(bytes);
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("converted to raw above"),
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Embstr(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }
}

/// Every value type a key can hold.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
    Hash(Hash),
    Set(Set),
    List(List),
    Zset(Zset),
}

impl Value {
    /// The TYPE command's name for this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::List(_) => "list",
            Value::Zset(_) => "zset",
        }
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::List(l) => l.encoding_name(),
            Value::Zset(z) => z.encoding_name(),
        }
    }

    /// The value's listpack, when it is listpack-encoded (DEBUG LISTPACK).
    pub fn as_listpack(&self) -> Option<&crate::listpack::Listpack> {
        match self {
            Value::Str(_) => None,
            Value::Hash(Hash::Listpack(lp)) => Some(lp),
            Value::Hash(Hash::Table(_)) => None,
            Value::List(l) => l.as_listpack(),
            Value::Set(Set::Listpack(lp)) => Some(lp),
            Value::Set(_) => None,
            Value::Zset(crate::types::zset::Zset::Listpack(lp)) => Some(lp),
            Value::Zset(_) => None,
        }
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// OBJECT REFCOUNT: shared small integers report INT_MAX as in Redis, every other
    /// value is referenced once.
    pub fn refcount(&self) -> i64 {
        match self {
            Value::Str(StrValue::Int(n)) if (0..SHARED_INTEGERS).contains(n) => i32::MAX as i64,
            _ => 1,
        }
    }
}

/// A value plus the per-key metadata Redis keeps in `robj`: the access clock used by
/// OBJECT IDLETIME (and later LRU/LFU eviction).
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    /// Seconds on the core's monotonic LRU clock when the key was last accessed.
    pub lru: u32,
}

impl Object {
    pub fn new(value: Value, lru: u32) -> Object {
        Object { value, lru }
    }
}

/// The reply Redis gives when a command meets a key of the wrong type.
pub const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_small_inline() {
        // Every key pays for the inline size of the largest variant: big encodings'
        // tables live behind a pointer so small values do not carry their headers.
        let (value, object) = (std::mem::size_of::<Value>(), std::mem::size_of::<Object>());
        assert!(value <= 40, "Value grew to {value} bytes");
        assert!(object <= 48, "Object grew to {object} bytes");
    }

    #[test]
    fn encodings_follow_redis_rules() {
        assert_eq!(StrValue::from_bytes(b"12345").encoding_name(), "int");
        assert_eq!(
            StrValue::from_bytes(b"-9223372036854775808").encoding_name(),
            "int"
        );
        assert_eq!(StrValue::from_bytes(b"012").encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(
            StrValue::from_bytes(b"99999999999999999999").encoding_name(),
            "embstr"
        );
        let mut v = StrValue::from_bytes(b"42");
        v.make_raw().extend_from_slice(b"x");
        assert_eq!(v, StrValue::Raw(b"42x".to_vec()));
        assert_eq!(Value::Str(StrValue::Int(5)).refcount(), i32::MAX as i64);
        assert_eq!(Value::Str(StrValue::Int(10000)).refcount(), 1);
    }
}
