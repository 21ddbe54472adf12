//! DEBUG DIGEST / DEBUG DIGEST-VALUE: a digest of the keyspace computed exactly as
//! Redis 7.0's computeDatasetDigest, so a cinnabar server and a redis-server holding
//! the same data give the same hex string. Tests use it to compare a master with its
//! replicas, and a server before and after a restart.
//!
//! Order matters inside one key (type, value, deadline) but not between keys: each
//! key's digest is XORed into the database's, so hash-table order cannot leak in.

use crate::db::Db;
use crate::object::{Object, Value};
use crate::util::fmt_g17;
use sha1::{Digest, Sha1};

pub type Digest20 = [u8; 20];

/// digest ^= SHA1(data)
fn xor_digest(digest: &mut Digest20, data: &[u8]) {
    let hash = Sha1::digest(data);
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// digest = SHA1(digest ^ SHA1(data)): order-sensitive mixing.
fn mix_digest(digest: &mut Digest20, data: &[u8]) {
    xor_digest(digest, data);
    let hash = Sha1::digest(&digest[..]);
    digest.copy_from_slice(&hash);
}

/// Redis's numeric type ids (OBJ_STRING = 0, …), as mixed into the digest.
fn type_id(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::Set(_) => 2,
        Value::List(_) => 1,
        Value::Hash(_) => 4,
        Value::Zset(_) => 3,
    }
}

/// Redis's xorObjectDigest: the value's type, contents and whether it expires.
pub fn object_digest(digest: &mut Digest20, obj: &Object, has_expire: bool) {
    mix_digest(digest, &type_id(&obj.value).to_be_bytes());
    match &obj.value {
        Value::Str(s) => mix_digest(digest, &s.as_bytes()),
        // Lists are ordered: every element mixed in turn, as its string form.
        Value::List(l) => l.walk(0, false, |e| {
            mix_digest(digest, &e.as_bytes());
            true
        }),
        // Unordered collections XOR one digest per element, so order cannot matter.
        Value::Hash(h) => {
            for (field, value) in h.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, &field);
                mix_digest(&mut element, &value);
                xor_digest(digest, &element);
            }
        }
        Value::Set(set) => {
            for member in set.iter() {
                xor_digest(digest, &member.as_bytes());
            }
        }
        // Each member with its score as `%.17g` (the listpack's stored text is read
        // back as a double first, as Redis does).
        Value::Zset(z) => {
            for (member, score) in z.iter(false) {
                let mut element = [0u8; 20];
                mix_digest(&mut element, &member.as_bytes());
                mix_digest(&mut element, fmt_g17(score).as_bytes());
                xor_digest(digest, &element);
            }
        }
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

/// The digest of every database; 20 zero bytes when all are empty.
pub fn dataset_digest(dbs: &[Db]) -> Digest20 {
    let mut total = [0u8; 20];
    for (id, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(id as u32).to_be_bytes());
        for (key, obj) in db.keys.iter() {
            let mut one = [0u8; 20];
            mix_digest(&mut one, key);
            object_digest(&mut one, obj, db.get_expire(key).is_some());
            xor_digest(&mut total, &one);
        }
    }
    total
}

/// DEBUG DIGEST-VALUE for one key (zeros when missing; expired keys still count, as
/// Redis reads the dict directly).
pub fn value_digest(db: &Db, key: &[u8]) -> Digest20 {
    let mut digest = [0u8; 20];
    if let Some(obj) = db.peek(key) {
        object_digest(&mut digest, obj, db.get_expire(key).is_some());
    }
    digest
}

pub fn hex(digest: &Digest20) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
