//! A dataset as AOF commands (Redis's rewriteAppendOnlyFileRio): the base file when
//! `aof-use-rdb-preamble` is off. Per database a SELECT, then per key the commands
//! that rebuild it — SET, RPUSH, SADD, ZADD, HMSET, at most 64 items each
//! (AOF_REWRITE_ITEMS_PER_CMD) — and PEXPIREAT for a key with a deadline.

use crate::db::Db;
use crate::listpack::LpEntry;
use crate::object::Value;
use crate::server::propagate::encode_argv;
use crate::util::fmt_g17;

/// Items per command, as Redis batches them.
pub const ITEMS_PER_CMD: usize = 64;

fn entry_bytes(e: LpEntry<'_>) -> Vec<u8> {
    e.to_vec()
}

/// Emit `name key` followed by `items` (each a group of arguments) in commands of at
/// most ITEMS_PER_CMD groups.
fn batched(out: &mut Vec<u8>, name: &[u8], key: &[u8], items: Vec<Vec<Vec<u8>>>) {
    for chunk in items.chunks(ITEMS_PER_CMD) {
        let mut argv = vec![name.to_vec(), key.to_vec()];
        for group in chunk {
            argv.extend(group.iter().cloned());
        }
        encode_argv(&argv, out);
    }
}

/// Every database's keys as commands (the base of a rewrite made in one step, at
/// startup; background rewrites go key by key through `server::snapshot`).
pub fn dataset_as_commands(dbs: &[Db]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        select(i as u64, &mut out);
        for (key, obj) in db.keys.iter() {
            key_as_commands(key, &obj.value, db.get_expire(key), &mut out);
        }
    }
    out
}

/// `SELECT db`, before a database's keys.
pub fn select(db: u64, out: &mut Vec<u8>) {
    encode_argv(&[b"SELECT".to_vec(), db.to_string().into_bytes()], out);
}

/// The commands that rebuild one key (rewriteAppendOnlyFileRio's body for a key).
pub fn key_as_commands(key: &[u8], value: &Value, expire: Option<i64>, out: &mut Vec<u8>) {
    match value {
        Value::Str(s) => encode_argv(
            &[b"SET".to_vec(), key.to_vec(), s.as_bytes().into_owned()],
            out,
        ),
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.len());
            l.walk(0, false, |e| {
                items.push(vec![entry_bytes(e)]);
                true
            });
            batched(out, b"RPUSH", key, items);
        }
        Value::Set(s) => {
            let items = s.iter().map(|m| vec![entry_bytes(m)]).collect();
            batched(out, b"SADD", key, items);
        }
        Value::Zset(z) => {
            let items = z
                .iter(false)
                .map(|(m, score)| vec![fmt_g17(score).into_bytes(), entry_bytes(m)])
                .collect();
            batched(out, b"ZADD", key, items);
        }
        Value::Hash(h) => {
            let items = h
                .iter()
                .map(|(f, v)| vec![f.into_owned(), v.into_owned()])
                .collect();
            batched(out, b"HMSET", key, items);
        }
    }
    if let Some(when) = expire {
        encode_argv(
            &[
                b"PEXPIREAT".to_vec(),
                key.to_vec(),
                when.to_string().into_bytes(),
            ],
            out,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::TestServer;

    #[test]
    fn rebuilds_every_type_in_batches() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "v"]);
        t.cmd(&["PEXPIREAT", "s", "4000000000000"]);
        let many: Vec<String> = (0..70).map(|i| i.to_string()).collect();
        let mut rpush = vec!["RPUSH", "l"];
        rpush.extend(many.iter().map(|s| s.as_str()));
        t.cmd(&rpush);
        t.cmd(&["SADD", "set", "a"]);
        t.cmd(&["ZADD", "z", "1.5", "m"]);
        t.cmd(&["HSET", "h", "f", "v"]);
        t.cmd(&["SELECT", "2"]);
        t.cmd(&["SET", "two", "2"]);
        let text = String::from_utf8(super::dataset_as_commands(&t.server.dbs)).unwrap();
        assert!(text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"));
        assert!(text.contains("*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n*3\r\n$9\r\nPEXPIREAT\r\n$1\r\ns\r\n$13\r\n4000000000000\r\n"));
        // 70 elements: 64 in the first RPUSH, 6 in the second.
        assert!(text.contains("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"));
        assert!(text.contains("*8\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$2\r\n64\r\n"));
        assert!(text.contains("*3\r\n$4\r\nSADD\r\n$3\r\nset\r\n$1\r\na\r\n"));
        assert!(text.contains("*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$1\r\nm\r\n"));
        assert!(text.contains("*4\r\n$5\r\nHMSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n"));
        assert!(text.ends_with(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$3\r\ntwo\r\n$1\r\n2\r\n"
        ));
    }
}
