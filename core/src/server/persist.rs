//! RDB persistence on the disk contract: saving (SAVE, BGSAVE, save points, SHUTDOWN,
//! FLUSHALL, DEBUG RELOAD), loading at startup, and the state INFO persistence,
//! LASTSAVE and the MISCONF / LOADING refusals read.
//!
//! SAVE (and SHUTDOWN's and DEBUG RELOAD's saves) serialize the whole dataset when
//! they start, with the server blocked. BGSAVE, save points and FLUSHALL's save take
//! a fork-less snapshot (`server/snapshot.rs`, point in time by `db.rs`'s per-key
//! copy-on-write, started in O(databases)) and serialize it a few hundred keys per
//! turn of the event loop while clients are served, pausing while too much of it is
//! unwritten. Either way the chunks go to the disk as Redis's rdbSave writes a file
//! — open `temp-<pid>.rdb`, write, fsync, close, rename over `dbfilename`, fsync the
//! directory — on the `Rdb` queue. The rename is issued only once every earlier
//! step succeeded, so a failure or a crash at any point leaves the previous file or
//! the new one, never a torn one.
//!
//! Entry points for other producers of a full dataset (replication's full resync):
//! `start_save(SaveKind::Background)` starts a background save (Err while a save
//! runs); `save_finished` is where it ends, ok or not (`Persist::last_bgsave_ok`,
//! the log lines), once the file is durable under its name.
//!
//! The synchronous saves block the whole server as Redis's do: no client is served
//! until the save is durable.
//!
//! Loading reads `dir/dbfilename` in chunks on the `Rdb` queue while clients get
//! `-LOADING`, then hands the bytes to `rdb::Loader`. A missing file means an empty
//! dataset; a corrupt one is logged with its path, offset and reason and the process
//! exits with status 1.

use super::snapshot::{self, Serializer};
use super::Server;
use crate::buggify::Point;
use crate::io::{ConnId, FileId, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel};
use crate::io::{Effect, OpenMode};
use crate::rdb::{AuxFields, Item, LoadLimits, Next, StreamLoader, WriterOpts};
use std::collections::BTreeMap;

/// A background save stops producing while this much of it is not yet written.
const UNWRITTEN_MAX_BYTES: usize = 8 << 20;
/// Bytes per `Read` while loading.
const LOAD_CHUNK_BYTES: u64 = 4 << 20;
/// CONFIG_BGSAVE_RETRY_DELAY: seconds between save-point attempts after a failure.
const BGSAVE_RETRY_DELAY_SECS: i64 = 5;

/// Redis's shared.bgsaveerr.
pub const MISCONF_ERR: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// Redis's shared.loadingerr.
pub const LOADING_ERR: &str = "-LOADING Redis is loading the dataset in memory";

/// Who asked for a save, which decides what happens when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    /// SAVE from this client: the server is blocked until it ends.
    Save(ConnId),
    /// BGSAVE, a save point, FLUSHALL: in the background.
    Background,
    /// The final save of SHUTDOWN (with the client that asked, if any) or a signal.
    Shutdown {
        conn: Option<ConnId>,
        force: bool,
        signal: Option<&'static str>,
    },
    /// DEBUG RELOAD: save, then (emptying the dataset first unless NOFLUSH) load the
    /// file back, then reply.
    Reload(ConnId, ReloadOpts),
}

/// DEBUG RELOAD's options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadOpts {
    pub flush: bool,
    /// MERGE (RDBFLAGS_ALLOW_DUP): a key already there is replaced.
    pub merge: bool,
}

/// One operation of a save, named as Redis's rdbSave names its failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Open,
    Write(usize),
    Fsync,
    Close,
    Rename,
    FsyncDir,
}

impl Step {
    fn err_op(self) -> &'static str {
        match self {
            Step::Open => "open",
            Step::Write(_) => "rdbSaveRio",
            Step::Fsync => "fsync",
            Step::Close => "fclose",
            Step::Rename => "rename",
            Step::FsyncDir => "fsyncFileDir",
        }
    }
}

/// A background save producing its file between events (the fork-less BGSAVE).
#[derive(Debug)]
struct Producer {
    /// The temp file; None for a diskless sync, whose bytes go to the replicas'
    /// sockets (`server/replication.rs`).
    file: Option<FileId>,
    ser: Serializer,
    /// Bytes handed to `Write`s not yet completed: production pauses above
    /// `UNWRITTEN_MAX_BYTES`, so the save's memory stays bounded.
    unwritten: usize,
    /// Bytes written since the last fsync (`rdb-save-incremental-fsync`).
    since_sync: usize,
}

/// rio's REDIS_AUTOSYNC_BYTES: with the incremental fsync options a file being
/// written is fsynced each time this much more was written.
pub(crate) const AUTOSYNC_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Open, the writes, fsync and close are queued; `outstanding` of them remain.
    Writing,
    Renaming,
    SyncingDir,
}

#[derive(Debug)]
struct SaveJob {
    seq: u64,
    kind: SaveKind,
    temp: String,
    target: String,
    phase: Phase,
    /// Operations of the writing phase issued and not finished yet.
    outstanding: usize,
    /// The producer of a background save; None once everything is issued (and for
    /// a synchronous save, which issues everything at once).
    producer: Option<Producer>,
    /// The first failure: the step (Redis's err_op) and strerror's text.
    error: Option<(&'static str, IoError)>,
    /// `dirty` when the snapshot was taken.
    dirty_at_start: u64,
    started_secs: i64,
}

/// What a completion on the snapshot queues is for.
#[derive(Debug, Clone, Copy)]
enum Pending {
    Save(u64, Step),
    /// Removing a failed save's temp file: nothing waits for it.
    Cleanup,
    LoadStat,
    LoadRead,
}

#[derive(Debug)]
struct Loading {
    path: String,
    /// The file as far as it was read, parsed as it comes: it holds only the item
    /// a chunk cut in two.
    loader: StreamLoader,
    /// Bytes read so far (the next read's offset).
    read: u64,
    total: u64,
    /// Keys loaded and dropped as expired so far, and the lines to log at the end.
    loaded: u64,
    expired: u64,
    logs: Vec<String>,
    started_secs: i64,
    /// The host probe's duration clock at the start (reporting only: parsing
    /// happens within one input, which the injected clock does not see pass).
    started_probe_ns: u64,
    /// DEBUG RELOAD's client, replied once the load is done.
    reload: Option<(ConnId, ReloadOpts)>,
    /// Still asking whether the file exists: the server waits (a missing file is
    /// no loading at all, as Redis's failed fopen).
    stat_pending: bool,
    /// The payload a master sent (`server/replica.rs` is told how it went).
    for_replication: bool,
    /// The replication aux fields (repl-stream-db, repl-id, repl-offset).
    repl_stream_db: Option<i64>,
    repl_id: Option<String>,
    repl_offset: Option<i64>,
    /// The keys a master dropped as expired, for the DELs its restored history
    /// continues with (rdbLoad's RDBFLAGS_FEED_REPL).
    expired_keys: Vec<(usize, Vec<u8>)>,
}

/// Persistence state (Redis's lastsave, lastbgsave_status, rdb_* fields).
#[derive(Debug)]
pub struct Persist {
    pub lastsave: i64,
    pub last_bgsave_ok: bool,
    /// rdb_save_time_last: seconds the last background save took, -1 before one.
    pub last_save_time_sec: i64,
    pub saves: u64,
    pub lastbgsave_try: i64,
    pub bgsave_scheduled: bool,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// A SIGTERM/SIGINT that arrived during a synchronous save: Redis's handler only
    /// flags it and the shutdown runs once the save is over.
    deferred_signal: Option<&'static str>,
    job: Option<SaveJob>,
    next_seq: u64,
    pending: BTreeMap<IoId, Pending>,
    loading: Option<Loading>,
}

impl Persist {
    pub fn new(now_secs: i64) -> Persist {
        Persist {
            lastsave: now_secs,
            last_bgsave_ok: true,
            last_save_time_sec: -1,
            saves: 0,
            lastbgsave_try: 0,
            bgsave_scheduled: false,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            deferred_signal: None,
            job: None,
            next_seq: 0,
            pending: BTreeMap::new(),
            loading: None,
        }
    }

    /// A background save runs (rdb_bgsave_in_progress; Redis's child_type == RDB).
    pub fn bgsave_in_progress(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| j.kind == SaveKind::Background)
    }

    pub fn save_in_progress(&self) -> bool {
        self.job.is_some()
    }

    /// A synchronous save (the server is blocked on it) is running.
    pub fn blocking_save_in_progress(&self) -> bool {
        self.job
            .as_ref()
            .is_some_and(|j| j.kind != SaveKind::Background)
    }

    /// Remember a shutdown signal until the synchronous save is over.
    pub fn defer_signal(&mut self, name: &'static str) {
        self.deferred_signal = Some(name);
    }

    /// Commands are refused with -LOADING.
    pub fn is_loading(&self) -> bool {
        self.loading.as_ref().is_some_and(|l| !l.stat_pending)
    }
}

/// `dir` joined to a file name (Redis chdirs into `dir` instead).
pub fn in_dir(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

impl Server {
    fn rdb_path(&self) -> String {
        in_dir(&self.config.dir, &self.config.dbfilename)
    }

    /// The directory Redis names in its save errors ("in server root dir ...").
    fn root_dir(&self) -> String {
        if self.config.dir.is_empty() {
            ".".into()
        } else {
            self.config.dir.clone()
        }
    }

    /// writeCommandsDeniedByDiskError, RDB half: writes are refused with MISCONF.
    pub fn rdb_denies_writes(&self) -> bool {
        self.config.stop_writes_on_bgsave_error
            && !self.config.save.is_empty()
            && !self.persist.last_bgsave_ok
    }

    /// Serialize every database as an RDB file, in chunks ready to write.
    fn writer_opts(&self) -> WriterOpts {
        WriterOpts {
            encode: crate::rdb::EncodeOpts {
                compress: self.config.rdbcompression,
            },
            checksum: self.config.rdbchecksum,
        }
    }

    fn aux_fields(&self) -> AuxFields<'_> {
        AuxFields {
            redis_ver: crate::REDIS_VERSION,
            redis_bits: 64,
            ctime: self.now.wall.secs(),
            used_mem: self.probe.used_memory() as i64,
            // rdbPopulateSaveInfo: a master with a backlog names its stream.
            repl: self
                .rdb_repl_info()
                .map(|(stream_db, offset)| crate::rdb::ReplAux {
                    stream_db,
                    repl_id: &self.replid,
                    offset,
                }),
            aof_base: false,
        }
    }

    /// Start a save of the current dataset. Err if one already runs (Redis's
    /// "Background save already in progress").
    pub(crate) fn start_save(&mut self, kind: SaveKind) -> Result<(), ()> {
        if self.persist.job.is_some() {
            return Err(());
        }
        self.persist.saves += 1;
        if kind == SaveKind::Background {
            self.persist.lastbgsave_try = self.now.wall.secs();
        }
        self.persist.next_seq += 1;
        let seq = self.persist.next_seq;
        let file = self.new_file_id();
        let temp = in_dir(
            &self.config.dir,
            &format!("temp-{}.rdb", self.host.process_id),
        );
        let target = self.rdb_path();
        self.persist.job = Some(SaveJob {
            seq,
            kind,
            temp: temp.clone(),
            target,
            phase: Phase::Writing,
            outstanding: 0,
            producer: None,
            error: None,
            dirty_at_start: self.dirty,
            started_secs: self.now.wall.secs(),
        });
        self.save_io(
            IoOp::Open {
                file,
                path: temp,
                mode: OpenMode::Truncate,
            },
            Step::Open,
        );
        // An AOF rewrite holding the one snapshot leaves only FLUSHALL's save here
        // (every other caller waits for it to end): Redis saves synchronously there,
        // and the dataset it saves is empty, so it is serialized whole at once.
        let snapshot_held = self.dbs.iter().any(|d| d.snapshot.is_some());
        if kind == SaveKind::Background {
            let pid = self.host.process_id;
            self.log(
                LogLevel::Notice,
                format!("Background saving started by pid {pid}"),
            );
        }
        if kind == SaveKind::Background && !snapshot_held {
            // Point in time: every database remembers how far the file got and
            // keeps old versions of what changes before it gets there (db.rs).
            let mut ser = Serializer::rdb(self.writer_opts(), &self.aux_fields());
            ser.keys_total = snapshot::begin(&mut self.dbs);
            self.persist.job.as_mut().expect("just set").producer = Some(Producer {
                file: Some(file),
                ser,
                unwritten: 0,
                since_sync: 0,
            });
            self.snapshot_produce();
        } else {
            // The server is blocked: the whole file is serialized now.
            let ser = Serializer::rdb(self.writer_opts(), &self.aux_fields());
            let mut since_sync = 0;
            for data in snapshot::whole(&self.dbs, ser) {
                let len = data.len();
                self.save_io(IoOp::Write { file, data }, Step::Write(len));
                since_sync += len;
                if since_sync >= AUTOSYNC_BYTES && self.config.rdb_save_incremental_fsync {
                    since_sync = 0;
                    self.save_io(IoOp::Fsync { file }, Step::Fsync);
                }
            }
            self.finish_save_file(file);
            if kind != SaveKind::Background {
                self.suspend_for_disk();
            }
        }
        Ok(())
    }

    /// rdbSaveToSlavesSockets: a background snapshot whose bytes go to the replicas
    /// waiting for it (the caller tells them `+FULLRESYNC` and the `$EOF:` line
    /// first), no file at all. Err if a save already runs.
    pub(crate) fn start_socket_save(&mut self) -> Result<(), ()> {
        if self.persist.job.is_some() {
            return Err(());
        }
        self.persist.next_seq += 1;
        let seq = self.persist.next_seq;
        self.persist.job = Some(SaveJob {
            seq,
            kind: SaveKind::Background,
            temp: String::new(),
            target: String::new(),
            phase: Phase::Writing,
            outstanding: 0,
            producer: None,
            error: None,
            dirty_at_start: self.dirty,
            started_secs: self.now.wall.secs(),
        });
        let pid = self.host.process_id;
        self.log(
            LogLevel::Notice,
            format!("Background RDB transfer started by pid {pid}"),
        );
        let mut ser = Serializer::rdb(self.writer_opts(), &self.aux_fields());
        ser.keys_total = snapshot::begin(&mut self.dbs);
        self.persist.job.as_mut().expect("just set").producer = Some(Producer {
            file: None,
            ser,
            unwritten: 0,
            since_sync: 0,
        });
        Ok(())
    }

    /// The diskless snapshot is all out (backgroundSaveDoneHandlerSocket): no file,
    /// so no lastsave and no dirty reset; the replicas go on from here.
    fn socket_save_done(&mut self, ok: bool) {
        let job = self.persist.job.take().expect("a transfer was running");
        self.persist.last_save_time_sec = self.now.wall.secs() - job.started_secs;
        if ok {
            self.log(
                LogLevel::Notice,
                "Background RDB transfer terminated with success",
            );
        } else {
            self.log(LogLevel::Warning, "Background transfer error");
        }
        self.repl_socket_save_done(ok);
    }

    /// Is the running save a diskless transfer?
    pub(crate) fn socket_save_in_progress(&self) -> bool {
        self.persist
            .job
            .as_ref()
            .is_some_and(|j| j.kind == SaveKind::Background && j.target.is_empty())
    }

    /// Issue one operation of the running save.
    fn save_io(&mut self, op: IoOp, step: Step) {
        let id = self.issue_io(IoQueue::Rdb, op);
        let job = self.persist.job.as_mut().expect("a save runs");
        if matches!(
            step,
            Step::Open | Step::Write(_) | Step::Fsync | Step::Close
        ) {
            job.outstanding += 1;
        }
        let seq = job.seq;
        self.persist.pending.insert(id, Pending::Save(seq, step));
    }

    /// A background save has more to produce and room to put it.
    pub(crate) fn snapshot_wants_to_run(&self) -> bool {
        self.persist
            .job
            .as_ref()
            .and_then(|j| j.producer.as_ref())
            .is_some_and(|p| match p.file {
                Some(_) => p.unwritten < UNWRITTEN_MAX_BYTES,
                None => self.repl_socket_room(),
            })
            || self.aof_rewrite_wants_to_run()
    }

    /// One turn of the background snapshot, whichever producer owns it.
    pub(crate) fn snapshot_produce(&mut self) {
        self.bgsave_produce();
        self.aof_rewrite_produce();
    }

    /// One turn of a background save: serialize up to `KEYS_PER_STEP` keys, write
    /// full chunks, and once every database is done, the trailer, fsync and close.
    fn bgsave_produce(&mut self) {
        let socket_room = self.repl_socket_room();
        let Some(p) = self.persist.job.as_mut().and_then(|j| j.producer.as_mut()) else {
            return;
        };
        let Some(file) = p.file else {
            // A diskless sync: the replicas' sockets take what the step produces.
            if !socket_room {
                return;
            }
            let chunks = snapshot::step(&mut self.dbs, &mut p.ser);
            let finished = p.ser.is_finished();
            for data in chunks {
                self.repl_socket_send(data);
            }
            if finished {
                self.socket_save_done(true);
            }
            return;
        };
        if p.unwritten >= UNWRITTEN_MAX_BYTES {
            return;
        }
        let chunks = snapshot::step(&mut self.dbs, &mut p.ser);
        let finished = p.ser.is_finished();
        let incremental = self.config.rdb_save_incremental_fsync;
        for data in chunks {
            let len = data.len();
            let job = self.persist.job.as_mut().expect("running");
            let p = job.producer.as_mut().expect("producing");
            p.unwritten += len;
            p.since_sync += len;
            let sync = incremental && p.since_sync >= AUTOSYNC_BYTES;
            if sync {
                p.since_sync = 0;
            }
            self.save_io(IoOp::Write { file, data }, Step::Write(len));
            if sync {
                self.save_io(IoOp::Fsync { file }, Step::Fsync);
            }
        }
        if finished {
            self.persist.job.as_mut().expect("running").producer = None;
            self.finish_save_file(file);
        }
    }

    /// The end of a save's writes: the fsync that makes the file durable before it
    /// is renamed into place, then the close.
    fn finish_save_file(&mut self, file: FileId) {
        #[cfg(feature = "injected-bugs")]
        if self.bug(crate::injected::Bug::RdbRenameBeforeFsync) {
            self.save_io(IoOp::Close { file }, Step::Close);
            return;
        }
        self.save_io(IoOp::Fsync { file }, Step::Fsync);
        self.save_io(IoOp::Close { file }, Step::Close);
    }

    /// Stop a background save's production: the databases forget the snapshot.
    fn stop_producing(&mut self) {
        let Some(p) = self.persist.job.as_mut().and_then(|j| j.producer.take()) else {
            return;
        };
        snapshot::abandon(&mut self.dbs);
        // The file stays open otherwise.
        if let Some(file) = p.file {
            let id = self.issue_io(IoQueue::Rdb, IoOp::Close { file });
            self.persist.pending.insert(id, Pending::Cleanup);
        }
    }

    /// Forget a background save without letting it rename its file (FLUSHALL kills
    /// Redis's saving child): what it queued still runs but changes nothing that
    /// matters, and its temp file is removed after it.
    fn abandon_background_save(&mut self) {
        self.stop_producing();
        if let Some(job) = self.persist.job.take() {
            debug_assert_eq!(job.kind, SaveKind::Background);
            if job.phase == Phase::Writing && !job.temp.is_empty() {
                let id = self.issue_io(IoQueue::Rdb, IoOp::Remove { path: job.temp });
                self.persist.pending.insert(id, Pending::Cleanup);
            }
            // Replicas waiting for this snapshot will not get it (a killed child).
            self.repl_bgsave_abandoned();
        }
    }

    /// A completion on the `Rdb` or `Misc` queue.
    pub(super) fn snapshot_io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        let Some(pending) = self.persist.pending.remove(&id) else {
            if self.aof_owns_io(id) {
                // A background AOF rewrite writes its base on the `Misc` queue.
                return self.aof_on_io_done(id, result);
            }
            debug_assert!(false, "unowned snapshot operation {id:?}");
            return;
        };
        match pending {
            Pending::Save(seq, step) => self.save_step(seq, step, result),
            Pending::Cleanup => {}
            Pending::LoadStat => self.load_stat_done(result),
            Pending::LoadRead => self.load_read_done(result),
        }
    }

    fn save_step(&mut self, seq: u64, step: Step, result: Result<IoOutput, IoError>) {
        let Some(job) = self.persist.job.as_mut().filter(|j| j.seq == seq) else {
            // An abandoned save's operation.
            return;
        };
        match job.phase {
            Phase::Writing => {
                job.outstanding -= 1;
                if let (Step::Write(len), Some(p)) = (step, job.producer.as_mut()) {
                    p.unwritten -= len;
                }
                let failed = result.is_err();
                if let Err(e) = result {
                    if job.error.is_none() {
                        job.error = Some((step.err_op(), e));
                    }
                }
                if failed {
                    self.stop_producing();
                }
                let job = self.persist.job.as_mut().expect("running");
                if job.outstanding > 0 || job.producer.is_some() {
                    return;
                }
                if let Some((step, e)) = job.error.take() {
                    let temp = job.temp.clone();
                    if step == "open" {
                        let root = self.root_dir();
                        self.log(
                            LogLevel::Warning,
                            format!(
                                "Failed opening the temp RDB file {} (in server root dir {root}) for saving: {}",
                                base_name(&temp),
                                e.message
                            ),
                        );
                        self.save_finished(false);
                    } else {
                        self.save_failed_write(step, &e, temp);
                    }
                    return;
                }
                job.phase = Phase::Renaming;
                let (from, to) = (job.temp.clone(), job.target.clone());
                self.save_io(IoOp::Rename { from, to }, Step::Rename);
            }
            Phase::Renaming => match result {
                Ok(_) => {
                    job.phase = Phase::SyncingDir;
                    let path = self.root_dir();
                    self.save_io(IoOp::FsyncDir { path }, Step::FsyncDir);
                }
                Err(e) => {
                    let (temp, target) = (job.temp.clone(), job.target.clone());
                    let root = self.root_dir();
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Error moving temp DB file {} on the final destination {} (in server root dir {root}): {}",
                            base_name(&temp),
                            base_name(&target),
                            e.message
                        ),
                    );
                    self.remove_temp(temp);
                    self.save_finished(false);
                }
            },
            Phase::SyncingDir => match result {
                Ok(_) => {
                    self.log(LogLevel::Notice, "DB saved on disk");
                    self.save_finished(true);
                }
                Err(e) => {
                    let temp = job.temp.clone();
                    self.save_failed_write("fsyncFileDir", &e, temp);
                }
            },
        }
    }

    fn save_failed_write(&mut self, step: &'static str, e: &IoError, temp: String) {
        self.log(
            LogLevel::Warning,
            format!("Write error saving DB on disk({step}): {}", e.message),
        );
        self.remove_temp(temp);
        self.save_finished(false);
    }

    fn remove_temp(&mut self, path: String) {
        let id = self.issue_io(IoQueue::Rdb, IoOp::Remove { path });
        self.persist.pending.insert(id, Pending::Cleanup);
    }

    /// The save is over: bookkeeping as rdbSave / backgroundSaveDoneHandler, then
    /// whatever its kind asks for.
    fn save_finished(&mut self, ok: bool) {
        let job = self.persist.job.take().expect("a save was running");
        let now = self.now.wall.secs();
        if ok {
            self.dirty = self.dirty.saturating_sub(job.dirty_at_start);
            self.persist.lastsave = now;
            self.persist.last_bgsave_ok = true;
        } else if job.kind == SaveKind::Background {
            // A failed synchronous rdbSave leaves lastbgsave_status alone: only a
            // background save's failure turns on MISCONF.
            self.persist.last_bgsave_ok = false;
        }
        match job.kind {
            SaveKind::Background => {
                self.persist.last_save_time_sec = now - job.started_secs;
                if ok {
                    self.log(
                        LogLevel::Notice,
                        "Background saving terminated with success",
                    );
                } else {
                    self.log(LogLevel::Warning, "Background saving error");
                }
                // Replicas waiting for this snapshot get it now.
                self.repl_bgsave_done(ok);
            }
            SaveKind::Save(conn) => {
                self.reply_to(conn, if ok { "+OK" } else { "-ERR" });
                self.resume_from_disk();
                if let Some(name) = self.persist.deferred_signal.take() {
                    self.prepare_shutdown(false, false, false, None, Some(name));
                }
            }
            SaveKind::Shutdown {
                conn,
                force,
                signal,
            } => {
                if ok || force {
                    if !ok {
                        self.log(
                            LogLevel::Warning,
                            "Error trying to save the DB. Exit anyway.",
                        );
                    }
                    self.resume_from_disk();
                    self.finish_shutdown();
                } else {
                    self.log(
                        LogLevel::Warning,
                        "Error trying to save the DB, can't exit.",
                    );
                    self.log(
                        LogLevel::Warning,
                        "Errors trying to shut down the server. Check the logs for more information.",
                    );
                    if let Some(conn) = conn {
                        self.reply_to(conn, "-ERR Errors trying to SHUTDOWN. Check logs.");
                    }
                    if let Some(name) = signal {
                        self.log(
                            LogLevel::Warning,
                            format!("{name} received but errors trying to shut down the server, check the logs for more information"),
                        );
                    }
                    self.cancel_shutdown();
                    self.resume_from_disk();
                }
            }
            SaveKind::Reload(conn, opts) => {
                if ok {
                    let path = job.target;
                    self.reload_from(path, conn, opts);
                } else {
                    self.reply_to(conn, "-ERR");
                    self.resume_from_disk();
                }
            }
        }
    }

    /// A reply produced outside the client's command (the end of a blocking save).
    fn reply_to(&mut self, conn: ConnId, line: &str) {
        let Some(c) = self.clients.get_mut(&conn) else {
            return;
        };
        if line.starts_with('-') {
            c.reply.error(line);
            for e in c.reply.take_errors() {
                self.stats.count_error(e);
            }
        } else {
            c.reply.simple(line.strip_prefix('+').unwrap_or(line));
        }
        self.mark_pending_write(conn);
    }

    /// serverCron's save points and scheduled BGSAVE.
    pub(super) fn persistence_cron(&mut self) {
        // One snapshot at a time: a running AOF rewrite holds it (Redis's
        // hasActiveChildProcess).
        if self.persist.job.is_some()
            || self.persist.loading.is_some()
            || self.aof.rewrite_in_progress()
        {
            return;
        }
        let now = self.now.wall.secs();
        let retry_ok = now - self.persist.lastbgsave_try > BGSAVE_RETRY_DELAY_SECS
            || self.persist.last_bgsave_ok;
        if self.persist.bgsave_scheduled && retry_ok {
            self.persist.bgsave_scheduled = false;
            let _ = self.start_save(SaveKind::Background);
            return;
        }
        let due = self.config.save.iter().copied().find(|&(secs, changes)| {
            self.dirty >= changes as u64 && now - self.persist.lastsave > secs && retry_ok
        });
        if let Some((secs, changes)) = due {
            self.log(
                LogLevel::Notice,
                format!("{changes} changes in {secs} seconds. Saving..."),
            );
            let _ = self.start_save(SaveKind::Background);
        }
    }

    /// FLUSHALL's tail (flushAllDataAndResetRDB): a running background save is
    /// abandoned and, with save points, the now empty dataset is saved.
    pub(crate) fn after_flushall(&mut self) {
        if self.persist.bgsave_in_progress() {
            self.abandon_background_save();
        }
        if !self.config.save.is_empty() && self.persist.job.is_none() {
            // Redis saves synchronously here, keeping `dirty` so the FLUSHALL still
            // counts as a change; the snapshot is taken now either way.
            let dirty = self.dirty;
            let _ = self.start_save(SaveKind::Background);
            if let Some(job) = self.persist.job.as_mut() {
                job.dirty_at_start = 0;
            }
            self.dirty = dirty;
        }
    }

    /// SHUTDOWN / a signal: save first when asked or when save points exist.
    /// Returns false when the shutdown cannot even start (a save of its own runs).
    pub(crate) fn prepare_shutdown(
        &mut self,
        save: bool,
        nosave: bool,
        force: bool,
        conn: Option<ConnId>,
        signal: Option<&'static str>,
    ) {
        let loading = self.persist.loading.is_some();
        self.log(LogLevel::Warning, "User requested shutdown...");
        if self.persist.bgsave_in_progress() {
            self.log(
                LogLevel::Warning,
                "There is a child saving an .rdb. Killing it!",
            );
            self.abandon_background_save();
        }
        if self.aof.rewrite_in_progress() {
            // The AOF was turned on and its first base is not written yet
            // (AOF_WAIT_REWRITE): exiting would lose the dataset.
            if self.aof_writing_initial() {
                if force {
                    self.log(LogLevel::Warning, "Writing initial AOF. Exit anyway.");
                } else {
                    self.log(LogLevel::Warning, "Writing initial AOF, can't exit.");
                    self.log(
                        LogLevel::Warning,
                        "Errors trying to shut down the server. Check the logs for more information.",
                    );
                    // A signal's shutdown logs nothing more (7.0's serverCron); the
                    // server carries on with the rewrite.
                    if let Some(conn) = conn {
                        self.reply_to(conn, "-ERR Errors trying to SHUTDOWN. Check logs.");
                    }
                    return;
                }
            }
            self.log(
                LogLevel::Warning,
                "There is a child rewriting the AOF. Killing it!",
            );
            self.aof_rewrite_abandon();
        }
        let wants_save = !loading && ((!self.config.save.is_empty() && !nosave) || save);
        if wants_save && self.persist.job.is_none() {
            self.log(
                LogLevel::Notice,
                "Saving the final RDB snapshot before exiting.",
            );
            self.begin_shutdown();
            let kind = SaveKind::Shutdown {
                conn,
                force,
                signal,
            };
            self.start_save(kind).expect("no save runs");
            return;
        }
        self.begin_shutdown();
        self.finish_shutdown();
    }

    /// DEBUG RELOAD: save first unless NOSAVE, then load the file back.
    pub(crate) fn debug_reload(
        &mut self,
        conn: ConnId,
        save: bool,
        opts: ReloadOpts,
    ) -> Result<(), ()> {
        if save {
            return self.start_save(SaveKind::Reload(conn, opts));
        }
        if self.persist.job.is_some() {
            return Err(());
        }
        self.suspend_for_disk();
        let path = self.rdb_path();
        self.reload_from(path, conn, opts);
        Ok(())
    }

    fn reload_from(&mut self, path: String, conn: ConnId, opts: ReloadOpts) {
        if opts.flush {
            for db in &mut self.dbs {
                db.clear();
            }
        }
        self.start_loading(path, Some((conn, opts)));
    }

    /// Start loading the RDB file at `path` (startup, DEBUG RELOAD).
    fn start_loading(&mut self, path: String, reload: Option<(ConnId, ReloadOpts)>) {
        let limits = LoadLimits::from_config(&self.config, self.list_packed_threshold);
        self.persist.loading = Some(Loading {
            path: path.clone(),
            loader: StreamLoader::new(limits, self.config.rdbchecksum),
            read: 0,
            total: 0,
            loaded: 0,
            expired: 0,
            logs: Vec::new(),
            started_secs: self.now.wall.secs(),
            started_probe_ns: self.probe.elapsed_ns(),
            reload,
            stat_pending: true,
            for_replication: false,
            repl_stream_db: None,
            repl_id: None,
            repl_offset: None,
            expired_keys: Vec::new(),
        });
        self.persist.last_load_keys_loaded = 0;
        self.persist.last_load_keys_expired = 0;
        let id = self.issue_io(IoQueue::Rdb, IoOp::Stat { path });
        self.persist.pending.insert(id, Pending::LoadStat);
    }

    /// A replica loads the RDB its master sent (rdbLoad with RDBFLAGS_REPLICATION):
    /// clients get -LOADING meanwhile, and a failure is the sync's, not fatal.
    pub(crate) fn start_replication_load(&mut self, path: String) {
        self.start_loading(path, None);
        if let Some(l) = self.persist.loading.as_mut() {
            l.for_replication = true;
        }
    }

    /// loadDataFromDisk at startup.
    pub(crate) fn load_at_startup(&mut self) {
        let path = self.rdb_path();
        self.suspend_for_disk();
        self.start_loading(path, None);
    }

    fn load_stat_done(&mut self, result: Result<IoOutput, IoError>) {
        let l = self.persist.loading.as_mut().expect("loading");
        l.stat_pending = false;
        let startup = l.reload.is_none();
        match result {
            Ok(IoOutput::Size(Some(size))) => {
                l.total = size;
                self.issue_next_read();
            }
            Ok(IoOutput::Size(None)) => {
                // No file: an empty dataset at startup (RDB_NOT_EXIST); DEBUG RELOAD
                // reports the failed load.
                let l = self.persist.loading.take().expect("loading");
                if l.for_replication {
                    self.replica_load_done(Err("No such file or directory".into()));
                    return;
                }
                if let Some((conn, _)) = l.reload {
                    self.reply_to(conn, "-ERR Error trying to load the RDB dump");
                    self.resume_from_disk();
                }
            }
            Ok(other) => self.fatal_load_error(&format!(
                "Fatal error loading the DB: the disk answered a size query with {other:?}. Exiting."
            )),
            Err(e) => self.fatal_load_error(&format!(
                "Fatal error loading the DB: {}. Exiting.",
                e.message
            )),
        }
        if startup {
            // From here clients are answered: -LOADING while the file is read.
            self.resume_from_disk();
        }
    }

    fn issue_next_read(&mut self) {
        // A chunk, or more when an item larger than what is held waits for bytes.
        let mut chunk = LOAD_CHUNK_BYTES;
        if self.buggify.fire(Point::OddChunk) {
            chunk = 1 + self.buggify.below(LOAD_CHUNK_BYTES);
        }
        let l = self.persist.loading.as_ref().expect("loading");
        let len = chunk.max(l.loader.wanted() as u64);
        let op = IoOp::Read {
            path: l.path.clone(),
            offset: l.read,
            len,
        };
        let id = self.issue_io(IoQueue::Rdb, op);
        self.persist.pending.insert(id, Pending::LoadRead);
    }

    fn load_read_done(&mut self, result: Result<IoOutput, IoError>) {
        let data = match result {
            Ok(IoOutput::Data(d)) => d,
            Ok(other) => {
                return self.fatal_load_error(&format!(
                    "Fatal error loading the DB: the disk answered a read with {other:?}. Exiting."
                ))
            }
            Err(e) => {
                return self.fatal_load_error(&format!(
                    "Fatal error loading the DB: {}. Exiting.",
                    e.message
                ))
            }
        };
        let l = self.persist.loading.as_mut().expect("loading");
        l.read += data.len() as u64;
        l.loader.feed(&data);
        // A file that grows while read is read as far as it went when first seen.
        let eof = data.is_empty() || l.read >= l.total;
        match self.load_items(eof) {
            Ok(true) => self.load_finished(Ok(())),
            Ok(false) if eof => unreachable!("at EOF the loader ends or fails"),
            Ok(false) => self.issue_next_read(),
            Err(e) => self.load_finished(Err(e)),
        }
    }

    fn fatal_load_error(&mut self, message: &str) {
        if self
            .persist
            .loading
            .as_ref()
            .is_some_and(|l| l.for_replication)
        {
            self.persist.loading = None;
            self.replica_load_done(Err(message.to_string()));
            return;
        }
        self.log(LogLevel::Warning, message.to_string());
        self.persist.loading = None;
        self.begin_shutdown();
        self.effects.push_back(Effect::Exit { code: 1 });
    }

    /// Turn the items the bytes read so far complete into the dataset. Ok(true)
    /// once the file is loaded, Ok(false) when more bytes are needed.
    fn load_items(&mut self, eof: bool) -> Result<bool, (usize, String)> {
        let now_ms = self.now.wall.ms();
        let lru = self.lru_clock();
        let replica = self.config.replicaof.is_some();
        let l = self.persist.loading.as_mut().expect("loading");
        let merge = l.reload.is_some_and(|(_, o)| o.merge);
        loop {
            let offset = l.loader.offset();
            let item = match l
                .loader
                .next_item(&mut self.rng, eof)
                .map_err(|e| (e.offset, e.reason))?
            {
                Next::Done => return Ok(true),
                Next::NeedMore => return Ok(false),
                Next::Item(item) => item,
            };
            match item {
                Item::Aux { key, value } => match key.as_slice() {
                    b"redis-ver" => l.logs.push(format!(
                        "Loading RDB produced by version {}",
                        String::from_utf8_lossy(&value)
                    )),
                    b"ctime" => {
                        if let Some(t) = crate::util::parse_i64(&value) {
                            let age = (now_ms / 1000 - t).max(0);
                            l.logs.push(format!("RDB age {age} seconds"));
                        }
                    }
                    b"repl-stream-db" => l.repl_stream_db = crate::util::parse_i64(&value),
                    b"repl-id" => l.repl_id = Some(String::from_utf8_lossy(&value).into_owned()),
                    b"repl-offset" => l.repl_offset = crate::util::parse_i64(&value),
                    b"used-mem" => {
                        if let Some(m) = crate::util::parse_i64(&value) {
                            l.logs.push(format!(
                                "RDB memory usage when created {:.2} Mb",
                                m as f64 / (1024.0 * 1024.0)
                            ));
                        }
                    }
                    _ => {}
                },
                Item::SelectDb(db) => {
                    if db >= self.dbs.len() as u64 {
                        return Err((
                            offset,
                            format!(
                                "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                                self.dbs.len()
                            ),
                        ));
                    }
                }
                Item::ResizeDb { .. } => {}
                // Functions (and Lua, their engine) are not in cinnabar yet: keeping
                // the keys and dropping the library would break its callers.
                Item::Function { .. } => {
                    return Err((
                        offset,
                        "the file holds a function library (FUNCTION2 opcode), and this server has no function engine yet".into(),
                    ));
                }
                Item::EmptyKey { key, .. } => l.logs.push(format!(
                    "rdbLoadObject skipping empty key: {}",
                    String::from_utf8_lossy(&key)
                )),
                Item::Key(k) => {
                    let Ok(db) = usize::try_from(k.db) else {
                        return Err((offset, "bad database".into()));
                    };
                    if db >= self.dbs.len() {
                        return Err((offset, "bad database".into()));
                    }
                    // Only a master drops what expired: a replica keeps it for its
                    // master's DEL (rdbLoad's iAmMaster check).
                    if k.expire_ms.is_some_and(|t| t < now_ms) && !replica {
                        l.expired += 1;
                        l.expired_keys.push((db, k.key));
                        continue;
                    }
                    if self.dbs[db].contains(&k.key) && merge {
                        self.dbs[db].delete(&k.key);
                    }
                    add_loaded_key(&mut self.dbs, db, k, lru).map_err(|why| (offset, why))?;
                    l.loaded += 1;
                }
            }
        }
    }

    /// The load is over, done or failed.
    fn load_finished(&mut self, outcome: Result<(), (usize, String)>) {
        let mut l = self.persist.loading.take().expect("loading");
        for line in l.logs {
            self.log(LogLevel::Notice, line);
        }
        let (loaded, expired) = (l.loaded, l.expired);
        if l.for_replication {
            if outcome.is_ok() {
                self.persist.last_load_keys_loaded = loaded;
                self.persist.last_load_keys_expired = expired;
                self.log(
                    LogLevel::Notice,
                    format!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}."),
                );
            }
            let db = l.repl_stream_db.and_then(|d| usize::try_from(d).ok());
            self.replica.loaded_stream_db = db.filter(|&d| d < self.dbs.len());
            self.replica_load_done(
                outcome
                    .map_err(|(offset, reason)| format!("offset {offset} of {}: {reason}", l.path)),
            );
            return;
        }
        if l.reload.is_none() && outcome.is_ok() {
            // A replica restarted from its own RDB may continue its old stream.
            if let (Some(id), Some(off)) = (l.repl_id.clone(), l.repl_offset) {
                let db = l
                    .repl_stream_db
                    .and_then(|d| usize::try_from(d).ok())
                    .filter(|&d| d < self.dbs.len())
                    .unwrap_or(0);
                self.replica_restore_from_rdb(id, off, db);
            }
            if !self.is_replica() {
                self.repl_restore_history_from_rdb(
                    l.repl_id.clone(),
                    l.repl_offset,
                    l.repl_stream_db,
                    std::mem::take(&mut l.expired_keys),
                );
            }
        }
        match outcome {
            Ok(()) => {
                self.persist.last_load_keys_loaded = loaded;
                self.persist.last_load_keys_expired = expired;
                self.log(
                    LogLevel::Notice,
                    format!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}."),
                );
                let secs = self.probe.elapsed_ns().saturating_sub(l.started_probe_ns) as f64 / 1e9;
                if l.reload.is_none() {
                    self.log(
                        LogLevel::Notice,
                        format!("DB loaded from disk: {secs:.3} seconds"),
                    );
                }
                if let Some((conn, _)) = l.reload {
                    self.log(LogLevel::Warning, "DB reloaded by DEBUG RELOAD");
                    self.reply_to(conn, "+OK");
                    self.resume_from_disk();
                }
            }
            Err((offset, reason)) => {
                self.log(
                    LogLevel::Warning,
                    format!(
                        "Internal error in RDB reading offset {offset} of {} -> {reason}",
                        l.path
                    ),
                );
                self.log(
                    LogLevel::Warning,
                    "Terminating server after rdb file reading failure.",
                );
                self.begin_shutdown();
                self.effects.push_back(Effect::Exit { code: 1 });
            }
        }
    }

    /// INFO's persistence section (RDB fields, the AOF's from `server/aof.rs`).
    pub(crate) fn info_persistence(&self, out: &mut String) {
        use std::fmt::Write;
        let p = &self.persist;
        let now = self.now.wall.secs();
        let current = match &p.job {
            Some(j) if j.kind == SaveKind::Background => now - j.started_secs,
            _ => -1,
        };
        let loading = p.loading.is_some() as u8;
        let aof = self.aof_info();
        let (keys_done, keys_total, perc) = match p.job.as_ref().and_then(|j| j.producer.as_ref()) {
            Some(pr) if pr.ser.keys_total > 0 => (
                pr.ser.keys_done,
                pr.ser.keys_total,
                pr.ser.keys_done as f64 / pr.ser.keys_total as f64 * 100.0,
            ),
            _ => (0, 0, 0.0),
        };
        let _ = write!(
            out,
            "loading:{loading}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:{keys_done}\r\ncurrent_save_keys_total:{keys_total}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{current}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n{aof}",
            self.dirty,
            p.bgsave_in_progress() as u8,
            p.lastsave,
            if p.last_bgsave_ok { "ok" } else { "err" },
            p.last_save_time_sec,
            p.saves,
            p.last_load_keys_expired,
            p.last_load_keys_loaded,
        );
        if let Some(l) = &p.loading {
            let loaded = l.read;
            let perc = if l.total > 0 {
                loaded as f64 / l.total as f64 * 100.0
            } else {
                0.0
            };
            let remaining = if l.total > 0 {
                l.total - loaded.min(l.total)
            } else {
                1
            };
            let elapsed = now - l.started_secs;
            let eta = if elapsed == 0 {
                1
            } else {
                elapsed * remaining as i64 / (loaded as i64 + 1)
            };
            let _ = write!(
                out,
                "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
                l.started_secs, l.total
            );
        }
    }
}

/// The last component of a path, as Redis names its files in log lines (it works
/// inside `dir`).
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A key read from an RDB file (or an AOF's RDB preamble) into database `db`,
/// refused as Redis refuses a key the file already gave.
pub(crate) fn add_loaded_key(
    dbs: &mut [crate::db::Db],
    db: usize,
    k: crate::rdb::load::LoadedKey,
    lru: u32,
) -> Result<(), String> {
    if dbs[db].contains(&k.key) {
        return Err(format!(
            "RDB has duplicated key '{}' in DB {db}",
            String::from_utf8_lossy(&k.key)
        ));
    }
    dbs[db].add(&k.key, k.value, lru);
    if let Some(t) = k.expire_ms {
        dbs[db].set_expire(&k.key, t);
    }
    Ok(())
}
