//! The fork-less snapshot that every background producer shares (BGSAVE, save
//! points, FLUSHALL's save, AOF rewrites; later full resyncs): starting a
//! point-in-time view of every database (O(databases): `Db::begin_snapshot`), and
//! serializing it a bounded number of keys per turn of the event loop, in either of
//! the two formats a snapshot is written in — an RDB file (a dump, or an AOF base
//! with the RDB preamble) or AOF commands (a base without the preamble).
//!
//! Only one snapshot exists at a time (Redis allows one child): the databases hold
//! its state (`Db::snapshot`), the producer holds a [`Serializer`].

use crate::aof::rewrite;
use crate::db::Db;
use crate::object::Value;
use crate::rdb::{AuxFields, Evict, RdbWriter, WriterOpts};
use bytes::Bytes;

/// Bytes per `Write` a snapshot hands to the disk.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Keys a background snapshot serializes per turn of the event loop.
pub const KEYS_PER_STEP: usize = 256;

/// What a snapshot is written as.
#[derive(Debug)]
enum Format {
    /// An RDB file; the writer lives until the trailer is written.
    Rdb(Option<RdbWriter>),
    /// AOF commands (SELECT, SET, RPUSH, ..., PEXPIREAT).
    Commands,
}

/// A snapshot being serialized: the format's state, the bytes not yet handed out
/// (less than a chunk between steps), progress counters.
#[derive(Debug)]
pub struct Serializer {
    format: Format,
    /// Reused for every chunk: chunks are exact-size copies, so the memory
    /// accounted for each write is its length, and this buffer stays one chunk
    /// (plus one value) big.
    buf: Vec<u8>,
    /// The database number the last SELECT(DB) named.
    selected: Option<u64>,
    pub keys_total: u64,
    pub keys_done: u64,
    finished: bool,
}

impl Serializer {
    /// An RDB file: the header and AUX fields go first.
    pub fn rdb(opts: WriterOpts, aux: &AuxFields<'_>) -> Serializer {
        let mut buf = Vec::with_capacity(CHUNK_BYTES);
        let w = RdbWriter::new(opts, aux, &mut buf);
        Serializer::with(Format::Rdb(Some(w)), buf)
    }

    /// AOF commands.
    pub fn commands() -> Serializer {
        Serializer::with(Format::Commands, Vec::with_capacity(CHUNK_BYTES))
    }

    fn with(format: Format, buf: Vec<u8>) -> Serializer {
        Serializer {
            format,
            buf,
            selected: None,
            keys_total: 0,
            keys_done: 0,
            finished: false,
        }
    }

    /// The trailer has been produced: nothing more will come.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Give up (the save failed or was killed): nothing more is produced.
    pub fn stop(&mut self) {
        self.finished = true;
        self.buf = Vec::new();
    }

    fn select(&mut self, db: u64, keys: u64, expires: u64) {
        match &mut self.format {
            Format::Rdb(w) => w
                .as_mut()
                .expect("the writer lives until the end")
                .select_db(db, keys, expires, &mut self.buf),
            Format::Commands => rewrite::select(db, &mut self.buf),
        }
        self.selected = Some(db);
    }

    fn finish(&mut self) {
        if let Format::Rdb(w) = &mut self.format {
            w.take()
                .expect("the writer lives until the end")
                .finish(&mut self.buf);
        }
        self.finished = true;
    }

    /// Cut what is buffered into a chunk (exact size; the buffer is kept).
    fn cut(buf: &mut Vec<u8>, chunks: &mut Vec<Bytes>) {
        if !buf.is_empty() {
            chunks.push(Bytes::copy_from_slice(buf));
            buf.clear();
        }
    }
}

/// Start a snapshot of every database (each keeps its own view; empty ones are
/// skipped, as Redis's file skips them). Returns the number of keys in it. O(number
/// of databases): no key is visited.
pub fn begin(dbs: &mut [Db]) -> u64 {
    let mut total = 0;
    for (i, db) in dbs.iter_mut().enumerate() {
        debug_assert!(db.snapshot.is_none(), "one snapshot at a time");
        if !db.is_empty() {
            total += db.len() as u64;
            db.begin_snapshot(i as u64);
        }
    }
    total
}

/// Drop the snapshot (the producer stopped): the databases keep nothing more.
pub fn abandon(dbs: &mut [Db]) {
    for db in dbs {
        db.snapshot = None;
    }
}

/// One turn: serialize about `KEYS_PER_STEP` keys (the old versions kept for keys
/// changed meanwhile first), and once every database is through, the trailer.
/// Returns the full chunks produced (and the last, partial one at the end).
pub fn step(dbs: &mut [Db], ser: &mut Serializer) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    if ser.finished {
        return chunks;
    }
    let mut done = 0;
    while done < KEYS_PER_STEP {
        let Some(pos) = dbs.iter().position(|d| d.snapshot.is_some()) else {
            ser.finish();
            break;
        };
        let db = &mut dbs[pos];
        let snap = db.snapshot.as_ref().expect("found");
        if snap.is_done() {
            db.snapshot = None;
            continue;
        }
        if ser.selected != Some(snap.index) {
            let (index, keys, expires) = (snap.index, snap.keys_at_start, snap.expires_at_start);
            ser.select(index, keys, expires);
        }
        let Serializer { format, buf, .. } = ser;
        let mut emit = |key: &[u8], value: &Value, expire: Option<i64>| {
            match format {
                Format::Rdb(w) => w.as_mut().expect("the writer lives until the end").key(
                    key,
                    value,
                    expire,
                    Evict::None,
                    buf,
                ),
                Format::Commands => rewrite::key_as_commands(key, value, expire, buf),
            }
            if buf.len() >= CHUNK_BYTES {
                Serializer::cut(buf, &mut chunks);
            }
        };
        done += db.snapshot_step(KEYS_PER_STEP - done, &mut emit);
    }
    ser.keys_done += done as u64;
    if ser.finished {
        Serializer::cut(&mut ser.buf, &mut chunks);
        ser.buf = Vec::new();
    }
    chunks
}

/// The whole dataset at once, straight from the dicts (a synchronous SAVE, which
/// blocks the server meanwhile, or a base made at startup): no snapshot state, so
/// it may run while a background snapshot does.
pub fn whole(dbs: &[Db], mut ser: Serializer) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    for (i, db) in dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        ser.select(i as u64, db.len() as u64, db.expires_len() as u64);
        for (key, obj) in db.keys.iter() {
            let expire = db.get_expire(key);
            match &mut ser.format {
                Format::Rdb(w) => w.as_mut().expect("the writer lives until the end").key(
                    key,
                    &obj.value,
                    expire,
                    Evict::None,
                    &mut ser.buf,
                ),
                Format::Commands => rewrite::key_as_commands(key, &obj.value, expire, &mut ser.buf),
            }
            if ser.buf.len() >= CHUNK_BYTES {
                Serializer::cut(&mut ser.buf, &mut chunks);
            }
        }
    }
    ser.finish();
    Serializer::cut(&mut ser.buf, &mut chunks);
    chunks
}
