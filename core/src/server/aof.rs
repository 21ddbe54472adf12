//! The append-only file on the server side: turning it on (a base snapshot, a new
//! incr file and the manifest, written in crash-safe order), feeding it the
//! propagated command stream (SELECT and `#TS:` annotations included), flushing it
//! through the disk contract under each `appendfsync` policy, write and fsync errors
//! (MISCONF refusals until a write succeeds again), and the group commit that holds
//! replies under `appendfsync always` until the fsync covering them completes.
//! Under `everysec` and `no` a reply waits only until the write carrying what it
//! reveals completed: Redis hands its buffer to write(2) in beforeSleep, before it
//! sends replies, except while everysec postpones the write behind a running fsync
//! or after a failed write — then its replies go anyway, and so do ours.
//!
//! Every AOF operation runs on the `Aof` queue, so the disk sees them in issue order:
//! the base is written and fsynced before the manifest naming it is renamed into
//! place, and the incr file's writes follow its creation. At most one write and one
//! fsync are in flight; commands that arrive meanwhile wait in `buf` and go out as
//! one write (group commit).
//!
//! Offsets are counted over the life of the process (`fed`, `written`, `durable`), so
//! a reply's tag survives a switch to a new incr file.
//!
//! The files a rewrite (or the AOF's creation) puts in place go through a chain of
//! setup steps with barriers (`Step`): a rename that makes a manifest current waits
//! until every file it names and the manifest itself were written and fsynced
//! without error. A failed step drops the rest of its chain, so a torn base or
//! manifest is never named and the previous files stay the AOF (`OnFail` says how
//! the server recovers). While a chain runs, command bytes wait in `buf`: nothing is
//! written to an incr file before a durable manifest names it.
//!
//! A background rewrite's snapshot holds every byte fed before it (`snapshot_fed`);
//! those go to the old incr file, what follows to the new one. The writes move over
//! (`Switch`) only once the manifest naming the new incr file is durable and every
//! earlier byte was written to the old file (or the new base is installed, when
//! they are in it and are not written again), with no write or fsync in flight.

use super::persist::AUTOSYNC_BYTES;
use super::propagate::{FeedEncoder, TARGET_AOF};
use super::snapshot::{self, Serializer};
use super::Server;
use crate::aof::manifest::{self, Manifest};
use crate::config::AppendFsync;
use crate::io::{ConnId, Effect, IoError, IoErrorKind, IoId, IoOp, IoOutput, IoQueue, LogLevel};
use crate::io::{FileId, OpenMode};
use crate::rdb::writer::{AuxFields, WriterOpts};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where the AOF stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AofState {
    #[default]
    Off,
    /// Asked for at startup: looking for an existing manifest first.
    Probing,
    /// Reading the files the manifest names, to replay them.
    Loading,
    On,
}

/// What an AOF operation in flight was for.
#[derive(Debug, Clone)]
enum Pending {
    /// The startup look for an existing manifest.
    Probe,
    /// DEBUG LOADAOF's read of the manifest.
    ReloadManifest,
    /// The look for an old single-file AOF in `dir` (`appendfilename`), with the
    /// manifest found (one naming only that file as its base) if any; then, with
    /// `true`, for the same name inside the AOF directory.
    UpgradeStat(Option<Box<Manifest>>, bool),
    /// A chunk of the file being loaded.
    LoadRead,
    /// A write of command bytes: how many, and the bytes (put back on failure).
    Write(Bytes),
    /// An fsync making everything written before it durable, up to this offset.
    Fsync(u64),
    /// Cutting a short write back off the file.
    Truncate,
    /// Removing a history file after a new manifest retired it.
    Cleanup,
    /// A step of a background rewrite's base file (on the `Misc` queue).
    Rewrite(u64, RewriteStep),
    /// An operation of the setup chain (see the module comment), with a write's
    /// length.
    Chain(&'static str, Option<usize>),
}

/// A setup step waiting for the ones before it (see the module comment).
#[derive(Debug)]
enum Step {
    Io(IoOp, &'static str),
    /// A removal or close whose failure matters to no one.
    Cleanup(IoOp),
    /// Wait until every chain operation issued before has completed; if one failed,
    /// drop the rest of the chain and recover as this says.
    Barrier(OnFail),
    /// Wait until every byte fed before the rewrite's snapshot was written to the
    /// old incr file (its fsync follows): the old file must be whole and durable
    /// before a manifest names a file after it, or a crash would leave it torn
    /// while not last, which the load refuses.
    WaitOldWritten,
    /// The old incr file's fsync succeeded.
    OldDurable {
        snapshot_fed: u64,
    },
    /// The manifest naming the rewrite's new incr file is durable: writes may move
    /// to it.
    IncrNamed,
    /// An old single-file AOF moved into the AOF directory under a manifest: load
    /// it.
    Upgraded,
    /// The manifest naming the rewrite's new base is durable, and with it every byte
    /// fed before its snapshot.
    BaseInstalled {
        base_bytes: u64,
        snapshot_fed: u64,
    },
}

/// How the server recovers from a failed chain.
#[derive(Debug)]
enum OnFail {
    /// At startup Redis exits when it cannot create its AOF files; past a manifest
    /// rename the disk's state is no longer known.
    Fatal,
    /// A rewrite could not name its new incr file: the old files stay the AOF and
    /// take the writes; the new incr file goes.
    AbortBegin {
        manifest: Box<Manifest>,
        incr: FileId,
        path: String,
    },
    /// CONFIG SET appendonly yes could not open its incr file: the AOF waits for
    /// another rewrite, as Redis reschedules it.
    AbortStart,
    /// The new base could not be put in place: the manifest on disk (the old base,
    /// the incr files) stays, and the temp base goes.
    AbortInstall { manifest: Box<Manifest> },
    /// Only a tidy-up failed: the manifest in place is valid.
    Nothing,
}

/// The writes' move to a rewrite's new incr file, waiting (see the module comment).
#[derive(Debug)]
struct Switch {
    file: FileId,
    snapshot_fed: u64,
    /// The manifest naming `file` is durable.
    named: bool,
    /// The new base is installed: bytes fed before `snapshot_fed` are in it.
    installed: bool,
}

/// An operation on a background rewrite's temp base file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RewriteStep {
    Mkdir,
    Open,
    Write(usize),
    Fsync,
    Close,
    /// Removing the temp file of a failed or abandoned rewrite.
    Remove,
}

/// A background rewrite (BGREWRITEAOF, an automatic one, CONFIG SET appendonly
/// yes): the fork-less snapshot (`server/snapshot.rs`) serialized into a temp base
/// file on the `Misc` queue a few hundred keys per turn, while the commands of the
/// meantime go to the incr file opened when it started. Once the base is written,
/// fsynced and closed, it is renamed to its name and the manifest swapped in.
#[derive(Debug)]
struct Rewrite {
    seq: u64,
    ser: Serializer,
    file: FileId,
    temp: String,
    preamble: bool,
    /// Base bytes handed to writes not yet completed: production pauses above
    /// `REWRITE_UNWRITTEN_MAX`.
    unwritten: usize,
    base_bytes: u64,
    /// Base bytes written since its last fsync (`aof-rewrite-incremental-fsync`).
    since_sync: usize,
    /// Operations of the base issued and not completed.
    outstanding: usize,
    /// The first failure: the step and strerror's text.
    error: Option<String>,
    /// The incr file was opened when it started (the AOF is on).
    open_incr: bool,
    /// Bytes fed before its snapshot.
    snapshot_fed: u64,
    started_secs: i64,
}

/// The AOF's state (Redis's server.aof_* fields).
#[derive(Debug, Default)]
pub struct Aof {
    pub state: AofState,
    /// DEBUG LOADAOF waiting (clients held off) for a rewrite to finish and every
    /// byte fed to reach a file the manifest on disk names.
    reload_waiting: Option<ConnId>,
    pub manifest: Manifest,
    /// The incr file open for appending.
    file: Option<FileId>,
    /// Fed and not yet handed to a write (server.aof_buf).
    buf: Vec<u8>,
    encoder: FeedEncoder,
    /// The second of the last `#TS:` annotation (server.aof_cur_timestamp).
    cur_timestamp: i64,
    /// Bytes fed, handed to completed writes, and covered by completed fsyncs.
    fed: u64,
    /// Handed to writes completed or in flight.
    issued: u64,
    written: u64,
    durable: u64,
    write_in_flight: bool,
    fsync_in_flight: bool,
    /// Under everysec and no: replies revealing bytes fed up to here may leave
    /// before those bytes were written (a write postponed behind an fsync, or one
    /// that failed: Redis sends their replies anyway).
    reply_ok: u64,
    ops: BTreeMap<IoId, Pending>,
    /// The incr file's size as written (server.aof_last_incr_size): where a short
    /// write is cut back to.
    incr_size: u64,
    /// The base file's size (INFO aof_base_size).
    pub base_size: u64,
    /// When everysec last fsynced, in wall seconds (server.aof_last_fsync).
    last_fsync_secs: i64,
    /// When a write was first postponed behind a running fsync (0: none).
    flush_postponed_start: i64,
    /// Rewrites (INFO aof_rewrites): BGREWRITEAOF, automatic ones, turning the AOF
    /// on at runtime; the base made at startup is not counted.
    pub rewrites: u64,
    /// A BGREWRITEAOF waits for a background save or the end of EXEC.
    pub rewrite_scheduled: bool,
    /// Writes done without waiting for a slow fsync (INFO aof_delayed_fsync).
    pub delayed_fsync: u64,
    /// The last write failed: its strerror (server.aof_last_write_status/errno).
    pub write_error: Option<String>,
    /// The last background fsync failed (server.aof_bio_fsync_status).
    pub fsync_error: Option<String>,
    /// A write failed: the next try waits for serverCron, as Redis's retries come
    /// from its event loop's ticks rather than at once.
    retry_wait: bool,
    /// Clients whose replies wait for an fsync (`appendfsync always`).
    held_clients: BTreeSet<ConnId>,
    /// SHUTDOWN waits for the final fsync: the exit code.
    exit_after_sync: Option<i32>,
    /// Startup loading in progress.
    load: Option<LoadState>,
    /// Bytes of the AOF before the current incr file (INFO aof_current_size).
    size_before_incr: u64,
    /// The background rewrite in progress.
    rewrite: Option<Rewrite>,
    next_rewrite_seq: u64,
    /// CONFIG SET appendonly yes waits for its first rewrite (AOF_WAIT_REWRITE):
    /// nothing is fed until it starts, the snapshot holds all of it.
    wait_rewrite: bool,
    /// The last rewrite's outcome and duration (INFO aof_last_bgrewrite_status,
    /// aof_last_rewrite_time_sec), and failures in a row.
    last_rewrite_failed: bool,
    last_rewrite_secs: Option<i64>,
    pub rewrite_failures: u64,
    /// aofRewriteLimited's backoff after repeated failures: the current delay in
    /// minutes and the wall second the next automatic or scheduled rewrite may run.
    limit_delay_minutes: i64,
    limit_next_secs: i64,
    /// The setup chain: steps not yet issued, in order.
    chain: VecDeque<Step>,
    /// Chain operations issued and not completed.
    chain_inflight: usize,
    /// The first chain failure since the last barrier.
    chain_failed: Option<String>,
    /// The running rewrite's new incr file, not yet taking the writes.
    switch: Option<Switch>,
    /// CONFIG SET appendonly yes: the path of the incr file taking the writes that
    /// no manifest names until its rewrite is installed.
    starting_incr: Option<String>,
}

/// The startup replay of an existing AOF.
#[derive(Debug)]
struct LoadState {
    /// Base and incr files, in load order; `at` is the one being read.
    files: Vec<String>,
    at: usize,
    data: Vec<u8>,
    /// Bytes of the files already replayed.
    total: u64,
    /// The last file's length once a torn tail is cut off.
    truncate_to: Option<u64>,
    /// The length of the file replayed last (after any cut).
    last_len: u64,
    started: crate::io::MonoNs,
    /// DEBUG LOADAOF: the client to answer and the state to return to.
    reload: Option<(ConnId, AofState)>,
}

/// Bytes per read while loading.
const LOAD_CHUNK: u64 = 1 << 20;
/// Failed rewrites in a row before automatic and scheduled ones back off
/// (AOF_REWRITE_LIMITE_THRESHOLD), and the longest backoff in minutes.
const REWRITE_LIMIT_THRESHOLD: u64 = 3;
const REWRITE_LIMIT_MAX_MINUTES: i64 = 60;
/// A background rewrite stops producing while this much of its base is unwritten.
const REWRITE_UNWRITTEN_MAX: usize = 8 << 20;

/// The connection id the fake AOF client's commands run under (no client has it:
/// backends number connections from 1).
const AOF_CLIENT: ConnId = ConnId(u64::MAX);

impl Aof {
    pub fn is_on(&self) -> bool {
        self.state != AofState::Off
    }

    /// Bytes fed that no fsync has covered yet.
    pub fn not_durable(&self) -> u64 {
        self.fed - self.durable
    }

    /// INFO aof_current_size: what was loaded or rewritten, and the incr file's
    /// writes since.
    pub fn current_size(&self) -> u64 {
        self.size_before_incr + self.incr_size
    }

    /// INFO aof_buffer_length.
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    /// Clients noted as holding output for an fsync that the server no longer has,
    /// into `orphans` (`Server::footprint`).
    pub(crate) fn check_held(&self, known: &dyn Fn(ConnId) -> bool, orphans: &mut Vec<String>) {
        for conn in &self.held_clients {
            if !known(*conn) {
                orphans.push(format!(
                    "the AOF keeps {conn:?} as holding output, which is gone"
                ));
            }
        }
    }

    /// `conn` has output waiting for an fsync.
    pub(crate) fn note_held(&mut self, conn: ConnId) {
        self.held_clients.insert(conn);
    }

    /// INFO aof_pending_bio_fsync.
    pub fn fsync_pending(&self) -> bool {
        self.fsync_in_flight
    }

    /// A background rewrite runs (Redis's child_type == CHILD_TYPE_AOF), or the
    /// files of one (or of the AOF's creation) are not yet in place.
    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite.is_some() || self.chain_busy() || self.switch.is_some()
    }

    fn chain_busy(&self) -> bool {
        !self.chain.is_empty() || self.chain_inflight > 0
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() || dir == "." {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

impl Server {
    /// The AOF directory, under `dir`.
    fn aof_dir(&self) -> String {
        join(&self.config.dir, &self.config.appenddirname)
    }

    fn aof_io(&mut self, op: IoOp, why: Pending) -> IoId {
        let id = self.issue_io(IoQueue::Aof, op);
        self.aof.ops.insert(id, why);
        id
    }

    /// A chain operation: issued now unless the chain holds steps before it.
    fn aof_setup(&mut self, op: IoOp, step: &'static str) {
        self.aof_step(Step::Io(op, step));
    }

    fn aof_step(&mut self, step: Step) {
        self.aof.chain.push_back(step);
        self.aof_run_chain();
    }

    /// Issue the chain's steps up to the first barrier that must still wait.
    fn aof_run_chain(&mut self) {
        while let Some(front) = self.aof.chain.front() {
            if matches!(front, Step::Barrier(_)) && self.aof.chain_inflight > 0 {
                return;
            }
            if matches!(front, Step::WaitOldWritten)
                && self.aof.state == AofState::On
                && self
                    .aof
                    .switch
                    .as_ref()
                    .is_some_and(|sw| self.aof.issued < sw.snapshot_fed || self.aof.write_in_flight)
            {
                return;
            }
            match self.aof.chain.pop_front().expect("checked") {
                Step::Io(op, step) => {
                    self.aof.chain_inflight += 1;
                    let len = match &op {
                        IoOp::Write { data, .. } => Some(data.len()),
                        _ => None,
                    };
                    self.aof_io(op, Pending::Chain(step, len));
                }
                Step::Cleanup(op) => {
                    self.aof_io(op, Pending::Cleanup);
                }
                Step::Barrier(on_fail) => {
                    if let Some(e) = self.aof.chain_failed.take() {
                        self.aof.chain.clear();
                        self.aof_chain_failed(on_fail, e);
                    }
                }
                Step::WaitOldWritten => {}
                Step::OldDurable { snapshot_fed } => {
                    self.aof.durable = self.aof.durable.max(snapshot_fed.min(self.aof.written));
                }
                Step::IncrNamed => {
                    if let Some(sw) = self.aof.switch.as_mut() {
                        sw.named = true;
                    }
                }
                Step::BaseInstalled {
                    base_bytes,
                    snapshot_fed,
                } => self.aof_base_installed(base_bytes, snapshot_fed),
                Step::Upgraded => {
                    let (name, dir) = (
                        self.config.appendfilename.clone(),
                        self.config.appenddirname.clone(),
                    );
                    self.log(
                        LogLevel::Notice,
                        format!("Successfully migrated an old-style AOF file ({name}) into the AOF directory ({dir})."),
                    );
                    let m = self.aof.manifest.clone();
                    self.aof_load_start(m);
                }
            }
        }
        // The chain is done: what waited behind it can go.
        if !self.aof.chain_busy() && self.aof.state == AofState::On {
            self.aof_try_switch();
            self.aof_release_held();
            self.aof_flush(false);
        }
    }

    fn aof_chain_failed(&mut self, on_fail: OnFail, error: String) {
        match on_fail {
            OnFail::Fatal => {
                self.log(
                    LogLevel::Warning,
                    format!("Can't create the append only file: {error}. Exiting."),
                );
                self.aof_fatal();
            }
            OnFail::AbortBegin {
                manifest,
                incr,
                path,
            } => {
                self.log(
                    LogLevel::Warning,
                    format!("Can't open new incr AOF for append: {error}"),
                );
                self.aof.manifest = *manifest;
                // The writes stay on the old incr file.
                if self.aof.switch.as_ref().is_some_and(|sw| sw.file == incr) {
                    self.aof.switch = None;
                }
                self.aof_rewrite_failed();
                self.aof_remove_stray(incr, path);
            }
            OnFail::AbortStart => {
                self.log(
                    LogLevel::Warning,
                    format!("Can't open the append-only file: {error}"),
                );
                self.aof_rewrite_failed();
            }
            OnFail::AbortInstall { manifest } => {
                self.log(
                    LogLevel::Warning,
                    format!("Error persisting the AOF manifest of the rewrite: {error}"),
                );
                self.aof.manifest = *manifest;
                self.aof_rewrite_failed();
            }
            OnFail::Nothing => {
                self.log(
                    LogLevel::Warning,
                    format!("Error tidying up the AOF files: {error}"),
                );
            }
        }
    }

    /// A file a failed chain created and no manifest names: closed and removed, the
    /// removal made durable before anything else goes (a later rewrite reuses the
    /// name, as the manifest's sequence did not move).
    fn aof_remove_stray(&mut self, file: FileId, path: String) {
        let dir = self.aof_dir();
        self.aof_step(Step::Cleanup(IoOp::Close { file }));
        self.aof_step(Step::Cleanup(IoOp::Remove { path }));
        self.aof_setup(IoOp::FsyncDir { path: dir }, "fsync dir");
        self.aof_step(Step::Barrier(OnFail::Nothing));
    }

    /// A rewrite failed (backgroundRewriteDoneHandler's error paths): the snapshot or
    /// the temp base is dropped; under CONFIG SET appendonly yes the AOF waits for
    /// another rewrite, as Redis reschedules it.
    fn aof_rewrite_failed(&mut self) {
        self.log(
            LogLevel::Warning,
            "Background AOF rewrite terminated with error",
        );
        self.aof.last_rewrite_failed = true;
        self.aof.rewrite_failures += 1;
        if self.aof.rewrite.is_some() {
            self.aof_rewrite_abandon();
        } else {
            // Its base was complete: on the queue it was written on, so a later
            // rewrite's temp file is created after this removal.
            let path = self.aof_temp_base();
            let id = self.issue_io(IoQueue::Misc, IoOp::Remove { path });
            self.aof.ops.insert(id, Pending::Cleanup);
        }
        if let Some(path) = self.aof.starting_incr.take() {
            // AOF_WAIT_REWRITE again: the incr file no manifest names goes, and with it
            // what was fed (the next rewrite's snapshot holds it).
            if let Some(file) = self.aof.file.take() {
                self.aof_remove_stray(file, path);
            }
            self.aof_drop_unwritten();
            self.propagation.active &= !TARGET_AOF;
            if self.aof.state == AofState::On {
                self.aof.wait_rewrite = true;
                self.aof.rewrite_scheduled = true;
            }
        }
    }

    /// What waits in the buffer will never be written: no reply waits for it.
    fn aof_drop_unwritten(&mut self) {
        self.aof.buf.clear();
        let fed = self.aof.fed;
        self.aof.issued = self.aof.issued.max(fed);
        self.aof.written = self.aof.written.max(fed);
        self.aof.durable = self.aof.durable.max(fed);
    }

    /// The writes stay on the old incr file; the new one is closed.
    fn aof_drop_switch(&mut self) {
        if let Some(sw) = self.aof.switch.take() {
            // Behind the chain: it may not be open yet.
            self.aof_step(Step::Cleanup(IoOp::Close { file: sw.file }));
        }
    }

    fn aof_temp_base(&self) -> String {
        let pid = self.host.process_id;
        join(&self.aof_dir(), &format!("temp-rewriteaof-bg-{pid}.aof"))
    }

    /// At startup with `appendonly yes`: look for an existing AOF before creating one.
    pub(crate) fn aof_boot(&mut self) {
        debug_assert_eq!(self.aof.state, AofState::Off);
        self.aof.state = AofState::Probing;
        // Clients wait until the AOF is loaded or created (loadDataFromDisk runs
        // before Redis accepts them).
        self.suspend_for_disk();
        // Feeding starts now; what arrives before the files exist waits in the buffer.
        self.propagation.active |= TARGET_AOF;
        let path = join(
            &self.aof_dir(),
            &manifest::manifest_name(&self.config.appendfilename),
        );
        self.aof_io(
            IoOp::Read {
                path,
                offset: 0,
                len: 64 * 1024,
            },
            Pending::Probe,
        );
    }

    /// CONFIG SET appendonly yes (startAppendOnly): a base snapshot of the dataset as
    /// it is now, a fresh incr file for what follows, and the manifest naming both.
    pub(crate) fn aof_start(&mut self) {
        debug_assert!(!self.aof.is_on() || self.aof.state == AofState::Probing);
        let on_boot = self.aof.state == AofState::Probing;
        self.aof.state = AofState::On;
        self.aof.write_error = None;
        self.aof.fsync_error = None;
        if on_boot {
            self.aof_create_on_boot();
            return;
        }
        // AOF_WAIT_REWRITE: nothing is fed until the base's snapshot starts (it
        // holds everything before), so nothing is written twice.
        self.aof.wait_rewrite = true;
        if self.persist.bgsave_in_progress() || self.aof.rewrite_in_progress() {
            // Behind a background save, or the files of a rewrite killed by
            // CONFIG SET appendonly no still going in place.
            self.log(
                LogLevel::Notice,
                "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.",
            );
            self.aof.rewrite_scheduled = true;
            return;
        }
        self.aof_rewrite_begin();
    }

    /// BGREWRITEAOF, an automatic rewrite, a scheduled one
    /// (rewriteAppendOnlyFileBackground): what was fed goes to the old incr file, a
    /// new incr file takes what follows, and the base is produced in the background
    /// (`aof_rewrite_produce`). Callers check that no other snapshot runs.
    pub(crate) fn aof_rewrite(&mut self) {
        debug_assert!(!self.persist.bgsave_in_progress() && !self.aof.rewrite_in_progress());
        if self.aof.state == AofState::On && !self.aof.wait_rewrite {
            // What was fed goes to the old incr file first (flushAppendOnlyFile(1)).
            self.aof_feed();
            self.aof_flush(true);
        }
        self.aof_rewrite_begin();
    }

    /// Start a background rewrite: the snapshot (O(databases)), the temp base file,
    /// and with the AOF on, the new incr file — named in the manifest at once when
    /// the AOF was already on (openNewIncrAofForAppend), so a crash meanwhile loses
    /// nothing written to it. The writes move to it once that manifest is durable
    /// (`Switch`).
    fn aof_rewrite_begin(&mut self) {
        debug_assert!(!self.aof.chain_busy() && self.aof.switch.is_none());
        let dir = self.aof_dir();
        let filename = self.config.appendfilename.clone();
        let starting = std::mem::take(&mut self.aof.wait_rewrite);
        let open_incr = self.aof.state == AofState::On;
        self.aof.rewrite_scheduled = false;
        self.aof.rewrites += 1;
        self.aof.next_rewrite_seq += 1;
        let seq = self.aof.next_rewrite_seq;
        self.aof.chain_failed = None;
        let snapshot_fed = self.aof.fed;
        if open_incr {
            let saved = self.aof.manifest.clone();
            self.aof_setup(IoOp::CreateDir { path: dir.clone() }, "mkdir");
            let incr_name = self.aof.manifest.new_incr(&filename);
            let incr_path = join(&dir, &incr_name);
            let incr = self.new_file_id();
            self.aof_setup(
                IoOp::Open {
                    file: incr,
                    path: incr_path.clone(),
                    mode: OpenMode::Truncate,
                },
                "open incr",
            );
            // A new file starts without a selected database or a timestamp.
            self.aof.encoder = FeedEncoder::new();
            self.aof.cur_timestamp = 0;
            if starting {
                // From here the stream is the AOF's (the snapshot has what came
                // before); no manifest names this file before the rewrite ends.
                self.aof_step(Step::Barrier(OnFail::AbortStart));
                self.propagation.active |= TARGET_AOF;
                self.aof.file = Some(incr);
                self.aof.starting_incr = Some(incr_path);
                self.aof.size_before_incr = 0;
                self.aof.incr_size = 0;
            } else {
                self.aof.switch = Some(Switch {
                    file: incr,
                    snapshot_fed,
                    named: false,
                    installed: false,
                });
                let mut before_rename = vec![Step::WaitOldWritten];
                if let Some(old) = self.aof.file {
                    before_rename.push(Step::Io(IoOp::Fsync { file: old }, "fsync incr"));
                    before_rename.push(Step::Barrier(OnFail::AbortBegin {
                        manifest: Box::new(saved.clone()),
                        incr,
                        path: incr_path.clone(),
                    }));
                    before_rename.push(Step::OldDurable { snapshot_fed });
                }
                self.aof_persist_manifest_then(
                    &dir,
                    &filename,
                    OnFail::AbortBegin {
                        manifest: Box::new(saved),
                        incr,
                        path: incr_path,
                    },
                    before_rename,
                );
                self.aof_step(Step::IncrNamed);
            }
        }
        let preamble = self.config.aof_use_rdb_preamble;
        let mut ser = if preamble {
            Serializer::rdb(self.aof_writer_opts(), &self.aof_base_aux())
        } else {
            Serializer::commands()
        };
        ser.keys_total = snapshot::begin(&mut self.dbs);
        let pid = self.host.process_id;
        let temp = self.aof_temp_base();
        let file = self.new_file_id();
        self.aof.rewrite = Some(Rewrite {
            seq,
            ser,
            file,
            temp: temp.clone(),
            preamble,
            unwritten: 0,
            base_bytes: 0,
            since_sync: 0,
            outstanding: 0,
            error: None,
            open_incr,
            snapshot_fed,
            started_secs: self.now.wall.secs(),
        });
        self.rewrite_io(IoOp::CreateDir { path: dir }, RewriteStep::Mkdir);
        self.rewrite_io(
            IoOp::Open {
                file,
                path: temp,
                mode: OpenMode::Truncate,
            },
            RewriteStep::Open,
        );
        self.log(
            LogLevel::Notice,
            format!("Background append only file rewriting started by pid {pid}"),
        );
        self.aof_rewrite_produce();
    }

    /// Move the writes to the rewrite's new incr file once it may take them (see the
    /// module comment).
    fn aof_try_switch(&mut self) {
        let Some(sw) = self.aof.switch.as_ref() else {
            return;
        };
        if !sw.named
            || self.aof.write_in_flight
            || self.aof.fsync_in_flight
            || (self.aof.issued < sw.snapshot_fed && !sw.installed)
        {
            return;
        }
        let sw = self.aof.switch.take().expect("checked");
        debug_assert_eq!(self.aof.state, AofState::On);
        // The bytes fed before the snapshot that never reached the old file are in
        // the installed base: they count as written, and are not written again.
        let skip =
            (sw.snapshot_fed.saturating_sub(self.aof.issued) as usize).min(self.aof.buf.len());
        if skip > 0 {
            self.aof.buf.drain(..skip);
            self.aof.issued += skip as u64;
            self.aof.written += skip as u64;
            // The failed write was of those bytes.
            self.aof.retry_wait = false;
            self.aof.write_error = None;
        }
        if let Some(old) = self.aof.file.take() {
            // Whole and fsynced before the manifest named the new file (the chain's
            // `WaitOldWritten`), or history once the base is installed.
            self.aof_io(IoOp::Close { file: old }, Pending::Cleanup);
        }
        if sw.installed {
            self.aof.durable = self.aof.durable.max(sw.snapshot_fed.min(self.aof.written));
        }
        self.aof.file = Some(sw.file);
        // Only now: a write to the old file may have been in flight before.
        self.aof.size_before_incr = if sw.installed {
            self.aof.base_size
        } else {
            self.aof.current_size()
        };
        self.aof.incr_size = 0;
    }

    /// The manifest naming the new base is durable (the chain's `BaseInstalled`).
    fn aof_base_installed(&mut self, base_bytes: u64, snapshot_fed: u64) {
        self.aof.base_size = base_bytes;
        self.aof.starting_incr = None;
        if let Some(sw) = self.aof.switch.as_mut() {
            sw.installed = true;
        } else {
            self.aof.size_before_incr = base_bytes;
        }
        if self.aof.state == AofState::On {
            self.aof.durable = self.aof.durable.max(snapshot_fed.min(self.aof.written));
        }
    }

    /// Issue an operation of the running rewrite's base on the `Misc` queue.
    fn rewrite_io(&mut self, op: IoOp, step: RewriteStep) {
        let id = self.issue_io(IoQueue::Misc, op);
        let rw = self.aof.rewrite.as_mut().expect("a rewrite runs");
        if step != RewriteStep::Remove {
            rw.outstanding += 1;
        }
        let seq = rw.seq;
        self.aof.ops.insert(id, Pending::Rewrite(seq, step));
    }

    /// Does the running rewrite have more to produce and room for it?
    pub(crate) fn aof_rewrite_wants_to_run(&self) -> bool {
        self.aof.rewrite.as_ref().is_some_and(|r| {
            !r.ser.is_finished() && r.error.is_none() && r.unwritten < REWRITE_UNWRITTEN_MAX
        })
    }

    /// One turn of the background rewrite: serialize a few hundred keys into the
    /// temp base; at the end, its fsync and close.
    pub(crate) fn aof_rewrite_produce(&mut self) {
        if !self.aof_rewrite_wants_to_run() {
            return;
        }
        let rw = self.aof.rewrite.as_mut().expect("checked");
        let chunks = snapshot::step(&mut self.dbs, &mut rw.ser);
        let finished = rw.ser.is_finished();
        let file = rw.file;
        let incremental = self.config.aof_rewrite_incremental_fsync;
        for data in chunks {
            let len = data.len();
            let rw = self.aof.rewrite.as_mut().expect("running");
            rw.unwritten += len;
            rw.base_bytes += len as u64;
            rw.since_sync += len;
            let sync = incremental && rw.since_sync >= AUTOSYNC_BYTES;
            if sync {
                rw.since_sync = 0;
            }
            self.rewrite_io(IoOp::Write { file, data }, RewriteStep::Write(len));
            if sync {
                // rio's autosync in the rewriting child.
                self.rewrite_io(IoOp::Fsync { file }, RewriteStep::Fsync);
            }
        }
        if finished {
            self.rewrite_io(IoOp::Fsync { file }, RewriteStep::Fsync);
            self.rewrite_io(IoOp::Close { file }, RewriteStep::Close);
        }
    }

    /// Does this `Misc` queue completion belong to a rewrite?
    pub(crate) fn aof_owns_io(&self, id: IoId) -> bool {
        self.aof.ops.contains_key(&id)
    }

    /// A rewrite's base operation finished (backgroundRewriteDoneHandler once
    /// every one of them has).
    fn aof_rewrite_step_done(
        &mut self,
        seq: u64,
        step: RewriteStep,
        result: Result<IoOutput, IoError>,
    ) {
        let Some(rw) = self.aof.rewrite.as_mut().filter(|r| r.seq == seq) else {
            // An abandoned rewrite's operation.
            return;
        };
        if step == RewriteStep::Remove {
            return;
        }
        rw.outstanding -= 1;
        if let RewriteStep::Write(len) = step {
            rw.unwritten -= len;
        }
        match result {
            Err(e) if rw.error.is_none() => rw.error = Some(e.message),
            Ok(IoOutput::Written(n)) if matches!(step, RewriteStep::Write(len) if len != n) => {
                rw.error
                    .get_or_insert_with(|| "No space left on device".into());
            }
            _ => {}
        }
        if rw.error.is_some() && !rw.ser.is_finished() {
            // Stop producing: the snapshot is dropped, the file closed.
            snapshot::abandon(&mut self.dbs);
            let file = rw.file;
            rw.ser.stop();
            self.rewrite_io(IoOp::Close { file }, RewriteStep::Close);
            return;
        }
        let rw = self.aof.rewrite.as_ref().expect("running");
        if rw.outstanding > 0 || !rw.ser.is_finished() {
            return;
        }
        let rw = self.aof.rewrite.take().expect("running");
        let now = self.now.wall.secs();
        self.aof.last_rewrite_secs = Some(now - rw.started_secs);
        if let Some(message) = rw.error {
            self.log(
                LogLevel::Warning,
                format!("Background AOF rewrite failed: {message}"),
            );
            // The temp base goes (on the `Misc` queue); the old files stay the AOF.
            self.aof_rewrite_failed();
            return;
        }
        self.log(
            LogLevel::Notice,
            "Background AOF rewrite terminated with success",
        );
        self.aof_rewrite_install(rw);
    }

    /// The base is durable under its temp name: once the manifest naming it is
    /// written and fsynced aside, rename it and the manifest into place (older files
    /// retired as history), then remove the history. Chained behind the rewrite's
    /// start, so the new incr file is named first.
    fn aof_rewrite_install(&mut self, rw: Rewrite) {
        let dir = self.aof_dir();
        let filename = self.config.appendfilename.clone();
        let saved = Box::new(self.aof.manifest.clone());
        let base_name = self.aof.manifest.new_base(&filename, rw.preamble);
        let temp_base = rw.temp.rsplit('/').next().unwrap_or(&rw.temp).to_string();
        self.aof
            .manifest
            .mark_rewritten_incr_as_history(rw.open_incr);
        let rename_base = vec![
            Step::Io(
                IoOp::Rename {
                    from: rw.temp,
                    to: join(&dir, &base_name),
                },
                "rename base",
            ),
            Step::Barrier(OnFail::AbortInstall {
                manifest: saved.clone(),
            }),
        ];
        self.aof_persist_manifest_then(
            &dir,
            &filename,
            OnFail::AbortInstall { manifest: saved },
            rename_base,
        );
        self.aof_step(Step::BaseInstalled {
            base_bytes: rw.base_bytes,
            snapshot_fed: rw.snapshot_fed,
        });
        self.aof_remove_history(&dir, &filename);
        self.aof.manifest.dirty = false;
        self.aof.last_rewrite_failed = false;
        self.aof.rewrite_failures = 0;
        self.log(
            LogLevel::Notice,
            format!(
                "Successfully renamed the temporary AOF base file {temp_base} into {base_name}"
            ),
        );
        self.log(
            LogLevel::Notice,
            "Background AOF rewrite finished successfully",
        );
    }

    /// The rewrite running is the first one of an AOF turned on at runtime
    /// (AOF_WAIT_REWRITE with its child running): no base holds the dataset yet.
    pub(crate) fn aof_writing_initial(&self) -> bool {
        self.aof.state == AofState::On
            && self.aof.starting_incr.is_some()
            && self.aof.rewrite_in_progress()
    }

    /// Kill the rewrite (killAppendOnlyChild: CONFIG SET appendonly no, SHUTDOWN):
    /// the snapshot is dropped, the temp base closed and removed; the incr file it
    /// opened stays named (the manifest's base still applies to it) and the writes
    /// still move to it. A rewrite whose base is complete is not stopped: its files
    /// go in place.
    pub(crate) fn aof_rewrite_abandon(&mut self) {
        let Some(rw) = self.aof.rewrite.take() else {
            return;
        };
        snapshot::abandon(&mut self.dbs);
        let close = self.issue_io(IoQueue::Misc, IoOp::Close { file: rw.file });
        self.aof.ops.insert(close, Pending::Cleanup);
        let id = self.issue_io(IoQueue::Misc, IoOp::Remove { path: rw.temp });
        self.aof.ops.insert(id, Pending::Cleanup);
    }

    fn aof_writer_opts(&self) -> WriterOpts {
        WriterOpts {
            encode: crate::rdb::encode::EncodeOpts {
                compress: self.config.rdbcompression,
            },
            checksum: self.config.rdbchecksum,
        }
    }

    fn aof_base_aux(&self) -> AuxFields<'static> {
        AuxFields {
            redis_ver: crate::REDIS_VERSION,
            redis_bits: 64,
            ctime: self.now.wall.secs(),
            used_mem: self.probe.used_memory() as i64,
            repl: None,
            aof_base: true,
        }
    }

    /// `appendonly yes` at startup with no AOF yet: the base of the dataset just
    /// loaded, serialized at once (Redis too writes it synchronously before it
    /// serves clients), a new incr file and the manifest, in crash-safe order on the
    /// `Aof` queue; any failure is fatal, as in Redis.
    fn aof_create_on_boot(&mut self) {
        self.propagation.active |= TARGET_AOF;
        let dir = self.aof_dir();
        let filename = self.config.appendfilename.clone();
        self.aof.chain_failed = None;
        self.aof_setup(IoOp::CreateDir { path: dir.clone() }, "mkdir");
        let preamble = self.config.aof_use_rdb_preamble;
        let base_name = self.aof.manifest.new_base(&filename, preamble);
        let ser = if preamble {
            Serializer::rdb(self.aof_writer_opts(), &self.aof_base_aux())
        } else {
            Serializer::commands()
        };
        let base = snapshot::whole(&self.dbs, ser);
        // Redis sizes the AOF by what it loaded at startup: nothing, when it creates
        // the base there.
        self.aof.base_size = 0;
        self.aof.rewrite_scheduled = false;
        self.aof.size_before_incr = 0;
        let base_file = self.new_file_id();
        self.aof_setup(
            IoOp::Open {
                file: base_file,
                path: join(&dir, &base_name),
                mode: OpenMode::Truncate,
            },
            "open base",
        );
        let mut since_sync = 0;
        for data in base {
            since_sync += data.len();
            self.aof_setup(
                IoOp::Write {
                    file: base_file,
                    data,
                },
                "write base",
            );
            if since_sync >= AUTOSYNC_BYTES && self.config.aof_rewrite_incremental_fsync {
                since_sync = 0;
                self.aof_setup(IoOp::Fsync { file: base_file }, "fsync base");
            }
        }
        self.aof_setup(IoOp::Fsync { file: base_file }, "fsync base");
        self.aof_setup(IoOp::Close { file: base_file }, "close base");
        self.aof.manifest.mark_rewritten_incr_as_history(false);
        let incr_name = self.aof.manifest.new_incr(&filename);
        let incr = self.new_file_id();
        self.aof_setup(
            IoOp::Open {
                file: incr,
                path: join(&dir, &incr_name),
                mode: OpenMode::Truncate,
            },
            "open incr",
        );
        // Writes wait behind the chain: none before the manifest is durable.
        self.aof.file = Some(incr);
        self.aof.incr_size = 0;
        self.aof.encoder = FeedEncoder::new();
        self.aof.cur_timestamp = 0;
        // The manifest last: written aside, made durable, renamed into place.
        self.aof_persist_manifest(&dir, &filename, OnFail::Fatal);
        self.aof_remove_history(&dir, &filename);
        self.aof.manifest.dirty = false;
        self.resume_from_disk();
        self.log(
            LogLevel::Notice,
            format!("Creating AOF base file {base_name} on server start"),
        );
        self.log(
            LogLevel::Notice,
            format!("Creating AOF incr file {incr_name} on server start"),
        );
    }

    /// After a manifest that retired them: remove the history files, then persist
    /// the manifest without their entries (a failure of either matters to no one).
    fn aof_remove_history(&mut self, dir: &str, filename: &str) {
        let history = std::mem::take(&mut self.aof.manifest.history);
        if history.is_empty() {
            return;
        }
        for h in history {
            self.aof_step(Step::Cleanup(IoOp::Remove {
                path: join(dir, &h.name),
            }));
        }
        self.aof_persist_manifest(dir, filename, OnFail::Nothing);
    }

    /// persistAofManifest: temp file, fsync, rename over the manifest, fsync the dir,
    /// as chain steps. The rename waits for every earlier chain step to succeed
    /// (`on_fail` if one did not); past it a failure is fatal (the disk may hold
    /// either manifest) unless the manifest only drops history entries.
    fn aof_persist_manifest(&mut self, dir: &str, filename: &str, on_fail: OnFail) {
        self.aof_persist_manifest_then(dir, filename, on_fail, Vec::new());
    }

    /// [`Self::aof_persist_manifest`] with `before_rename` run just before the
    /// manifest's rename.
    fn aof_persist_manifest_then(
        &mut self,
        dir: &str,
        filename: &str,
        on_fail: OnFail,
        before_rename: Vec<Step>,
    ) {
        // Only a tidy-up's manifest (without the history) may fail once renamed: the
        // one in place before it is valid too.
        let after = if matches!(on_fail, OnFail::Nothing) {
            OnFail::Nothing
        } else {
            OnFail::Fatal
        };
        let text = self.aof.manifest.to_text();
        let temp = join(dir, &manifest::temp_manifest_name(filename));
        let target = join(dir, &manifest::manifest_name(filename));
        let f = self.new_file_id();
        self.aof_setup(
            IoOp::Open {
                file: f,
                path: temp.clone(),
                mode: OpenMode::Truncate,
            },
            "open manifest",
        );
        self.aof_setup(
            IoOp::Write {
                file: f,
                data: Bytes::from(text.into_bytes()),
            },
            "write manifest",
        );
        self.aof_setup(IoOp::Fsync { file: f }, "fsync manifest");
        self.aof_setup(IoOp::Close { file: f }, "close manifest");
        self.aof_step(Step::Barrier(on_fail));
        for step in before_rename {
            self.aof_step(step);
        }
        self.aof_setup(
            IoOp::Rename {
                from: temp,
                to: target,
            },
            "rename manifest",
        );
        self.aof_setup(
            IoOp::FsyncDir {
                path: dir.to_string(),
            },
            "fsync dir",
        );
        self.aof_step(Step::Barrier(after));
    }

    /// CONFIG SET appendonly no (stopAppendOnly): flush and fsync what was fed, close.
    pub(crate) fn aof_stop(&mut self) {
        if !self.aof.is_on() {
            return;
        }
        if self.aof.rewrite_in_progress() {
            self.log(LogLevel::Notice, "Killing running AOF rewrite child: 0");
            self.aof_rewrite_abandon();
        }
        // Turned off: whatever the rewrite still installs, no write follows it.
        self.aof_drop_switch();
        self.aof.wait_rewrite = false;
        // No rewrite installs it any more: the incr file of an AOF being turned on
        // is just closed.
        self.aof.starting_incr = None;
        self.aof_flush(true);
        if let Some(f) = self.aof.file.take() {
            if self.aof.issued > self.aof.durable && !self.aof.fsync_in_flight {
                let upto = self.aof.issued;
                self.aof.fsync_in_flight = true;
                self.aof_io(IoOp::Fsync { file: f }, Pending::Fsync(upto));
            }
            // Behind the chain when one runs (the file may not be open yet).
            self.aof_step(Step::Cleanup(IoOp::Close { file: f }));
        }
        self.aof.state = AofState::Off;
        self.propagation.active &= !TARGET_AOF;
        self.aof.write_error = None;
        self.aof.fsync_error = None;
        self.aof_release_held();
    }

    /// Append the propagated stream to the buffer (feedAppendOnlyFile).
    fn aof_feed(&mut self) {
        if !self.aof.is_on() {
            // Not ours to take: whoever listens to propagation reads the stream.
            return;
        }
        let ops = self.propagation.take_stream();
        let now_secs = self.now.wall.secs();
        let ts = self.config.aof_timestamp_enabled;
        let aof = &mut self.aof;
        let before = aof.buf.len();
        for op in ops.iter().filter(|op| op.target & TARGET_AOF != 0) {
            if ts && aof.cur_timestamp < now_secs {
                aof.buf
                    .extend_from_slice(format!("#TS:{now_secs}\r\n").as_bytes());
                aof.cur_timestamp = now_secs;
            }
            aof.encoder.feed(op, &mut aof.buf);
        }
        aof.fed += (aof.buf.len() - before) as u64;
    }

    /// The before-sleep step (flushAppendOnlyFile): feed, then write and fsync as the
    /// policy says. Runs before replies are flushed, so their tags include this batch.
    pub(crate) fn aof_before_sleep(&mut self) {
        self.aof_feed();
        if self.aof.state == AofState::On {
            self.aof_flush(false);
        }
    }

    /// Write the buffer and fsync according to `appendfsync`; `force` writes even
    /// behind a running everysec fsync.
    fn aof_flush(&mut self, force: bool) {
        self.aof_try_switch();
        let Some(file) = self.aof.file else {
            return;
        };
        let policy = self.config.appendfsync;
        let now_secs = self.now.wall.secs();
        // Behind a setup chain, writes wait until the manifest naming their file is
        // durable; while a rewrite's new incr file waits, only the bytes fed before
        // its snapshot go (to the old file).
        let limit = match &self.aof.switch {
            Some(sw) => sw.snapshot_fed.saturating_sub(self.aof.issued) as usize,
            None => usize::MAX,
        };
        if !self.aof.buf.is_empty() && self.aof.retry_wait {
            // After a failed write Redis tries again at every beforeSleep and sends
            // the replies whatever the outcome; ours retries from the cron.
            self.aof_replies_without_write();
        }
        if !self.aof.buf.is_empty()
            && !self.aof.write_in_flight
            && !self.aof.retry_wait
            && (!self.aof.chain_busy() || self.aof.switch.is_some())
            && limit > 0
        {
            let mut go = true;
            if policy == AppendFsync::Everysec && !force && self.aof.fsync_in_flight {
                // Redis postpones the write behind a running fsync for up to two
                // seconds, then writes anyway and counts it.
                if self.aof.flush_postponed_start == 0 {
                    self.aof.flush_postponed_start = now_secs;
                    go = false;
                } else if now_secs - self.aof.flush_postponed_start < 2 {
                    go = false;
                } else {
                    self.aof.delayed_fsync += 1;
                    self.log(
                        LogLevel::Notice,
                        "Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.",
                    );
                }
            }
            if !go {
                // Redis returned from flushAppendOnlyFile without writing: the
                // replies of this round leave all the same.
                self.aof_replies_without_write();
            }
            if policy == AppendFsync::Always && self.aof.fsync_in_flight {
                // Group commit: the next write waits for the fsync in flight, and
                // takes everything fed meanwhile with it.
                go = false;
            }
            if go {
                self.aof.flush_postponed_start = 0;
                let data = if limit < self.aof.buf.len() {
                    let rest = self.aof.buf.split_off(limit);
                    Bytes::from(std::mem::replace(&mut self.aof.buf, rest))
                } else {
                    Bytes::from(std::mem::take(&mut self.aof.buf))
                };
                self.aof.write_in_flight = true;
                self.aof.issued += data.len() as u64;
                self.aof_io(
                    IoOp::Write {
                        file,
                        data: data.clone(),
                    },
                    Pending::Write(data),
                );
            }
        }
        self.aof_maybe_fsync(now_secs);
    }

    /// Under everysec and no, the replies of what was fed so far may leave without
    /// waiting for its write (see the module comment).
    fn aof_replies_without_write(&mut self) {
        if self.config.appendfsync != AppendFsync::Always {
            self.aof.reply_ok = self.aof.fed;
            self.aof_release_held();
        }
    }

    /// aofRewriteLimited: after three failed rewrites in a row, automatic and
    /// scheduled ones wait 1, 2, 4, ... up to 60 minutes between tries.
    fn aof_rewrite_limited(&mut self) -> bool {
        let now = self.now.wall.secs();
        let a = &mut self.aof;
        if a.rewrite_failures < REWRITE_LIMIT_THRESHOLD {
            a.limit_delay_minutes = 0;
            a.limit_next_secs = 0;
            return false;
        }
        if a.limit_next_secs != 0 {
            if now < a.limit_next_secs {
                return true;
            }
            a.limit_next_secs = 0;
            return false;
        }
        a.limit_delay_minutes = if a.limit_delay_minutes == 0 {
            1
        } else {
            (a.limit_delay_minutes * 2).min(REWRITE_LIMIT_MAX_MINUTES)
        };
        a.limit_next_secs = now + a.limit_delay_minutes * 60;
        let minutes = a.limit_delay_minutes;
        self.log(
            LogLevel::Warning,
            format!("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {minutes} minutes"),
        );
        true
    }

    /// Issue an fsync when the policy wants one and none is running.
    fn aof_maybe_fsync(&mut self, now_secs: i64) {
        let Some(file) = self.aof.file else {
            return;
        };
        if self.aof.fsync_in_flight {
            return;
        }
        // What the fsync will cover: every write issued so far (the queue runs the
        // fsync after them).
        let issued = self.aof.issued;
        if issued <= self.aof.durable {
            return;
        }
        if self.aof_fsync_paused() {
            return;
        }
        let due = match self.config.appendfsync {
            AppendFsync::Always => true,
            AppendFsync::Everysec => now_secs > self.aof.last_fsync_secs,
            AppendFsync::No => false,
        };
        if !due {
            return;
        }
        self.aof.fsync_in_flight = true;
        self.aof.last_fsync_secs = now_secs;
        self.aof_io(IoOp::Fsync { file }, Pending::Fsync(issued));
    }

    /// Once a second from serverCron: an everysec fsync of what was written even if
    /// no new command arrived, and a retry of a failed write.
    pub(crate) fn aof_cron(&mut self) {
        // A scheduled BGREWRITEAOF starts once no background save runs.
        if self.aof.rewrite_scheduled
            && !self.persist.bgsave_in_progress()
            && !self.aof.rewrite_in_progress()
            && matches!(self.aof.state, AofState::On | AofState::Off)
            && !self.aof_rewrite_limited()
        {
            self.aof_rewrite();
        }
        if self.aof.state != AofState::On {
            return;
        }
        // auto-aof-rewrite-percentage / -min-size: rewrite once the AOF grew that
        // much over its size after the last rewrite or load.
        let perc = self.config.auto_aof_rewrite_percentage;
        let current = self.aof.current_size();
        if perc > 0
            && !self.persist.bgsave_in_progress()
            && !self.aof.rewrite_in_progress()
            && !self.aof.rewrite_scheduled
            && current as i64 > self.config.auto_aof_rewrite_min_size
        {
            let base = self.aof.base_size.max(1);
            let growth = (current * 100 / base) as i64 - 100;
            if growth >= perc && !self.aof_rewrite_limited() {
                self.log(
                    LogLevel::Notice,
                    format!("Starting automatic rewriting of AOF on {growth}% growth"),
                );
                self.aof_rewrite();
            }
        }
        let now_secs = self.now.wall.secs();
        self.aof.retry_wait = false;
        if !self.aof.buf.is_empty() {
            self.aof_flush(false);
        } else {
            self.aof_maybe_fsync(now_secs);
        }
    }

    /// An `Aof` queue operation finished.
    pub(crate) fn aof_on_io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        let Some(why) = self.aof.ops.remove(&id) else {
            debug_assert!(false, "completion of an AOF operation never issued");
            return;
        };
        let rewriting = self.aof.rewrite_in_progress();
        match why {
            Pending::Probe => self.aof_probed(result),
            Pending::ReloadManifest => self.aof_reload_manifest(result),
            Pending::UpgradeStat(m, in_dir) => self.aof_upgrade_stat(m, in_dir, result),
            Pending::LoadRead => self.aof_load_read(result),
            Pending::Chain(step, len) => {
                self.aof.chain_inflight -= 1;
                if let Err(e) = result {
                    self.log(
                        LogLevel::Warning,
                        format!("Error setting up the AOF files ({step}): {e}"),
                    );
                    self.aof.chain_failed.get_or_insert(e.message);
                } else if let (Ok(IoOutput::Written(n)), Some(len)) = (&result, len) {
                    if *n != len {
                        self.log(
                            LogLevel::Warning,
                            format!("Short write setting up the AOF files ({step}): (nwritten={n}, expected={len})"),
                        );
                        self.aof
                            .chain_failed
                            .get_or_insert_with(|| "No space left on device".into());
                    }
                }
                self.aof_run_chain();
            }
            Pending::Cleanup => {
                if let Err(e) = result {
                    if e.kind != IoErrorKind::NotFound {
                        self.log(
                            LogLevel::Warning,
                            format!("Can't remove an AOF history file: {e}"),
                        );
                    }
                }
            }
            Pending::Write(data) => {
                self.aof_written(data, result);
                // A rewrite's chain may wait for the old file's last bytes.
                self.aof_run_chain();
            }
            Pending::Rewrite(seq, step) => self.aof_rewrite_step_done(seq, step, result),
            Pending::Fsync(upto) => self.aof_fsynced(upto, result),
            Pending::Truncate => {
                if let Err(e) = result {
                    self.log(
                        LogLevel::Warning,
                        format!("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {e}"),
                    );
                }
            }
        }
        self.aof_try_switch();
        self.aof_release_held();
        self.aof_maybe_exit();
        // A completion may free the way for what waited (group commit); a failed
        // write is retried by the next round or cron, not at once.
        if self.aof.state == AofState::On
            && self.aof.write_error.is_none()
            && (!self.aof.buf.is_empty() || self.aof.not_durable() > 0)
        {
            self.aof_flush(self.aof.exit_after_sync.is_some());
        }
        if rewriting && !self.aof.rewrite_in_progress() {
            // checkChildrenDone: the snapshot is free for replicas waiting for one.
            self.repl_start_pending_fork();
        }
        self.aof_debug_load_when_written();
    }

    fn aof_probed(&mut self, result: Result<IoOutput, IoError>) {
        match result {
            Err(e) if e.kind == IoErrorKind::NotFound => self.aof_upgrade_probe(None),
            Ok(IoOutput::Data(d)) if d.is_empty() => self.aof_upgrade_probe(None),
            Ok(IoOutput::Data(d)) => match Manifest::parse(&d) {
                // Maybe a migration that stopped between the manifest and the move.
                Ok(m)
                    if m.incr.is_empty()
                        && m.base
                            .as_ref()
                            .is_some_and(|b| b.name == self.config.appendfilename) =>
                {
                    self.aof_upgrade_probe(Some(Box::new(m)))
                }
                Ok(m) => self.aof_load_start(m),
                Err(e) => {
                    self.log(
                        LogLevel::Warning,
                        "\n*** FATAL AOF MANIFEST FILE ERROR ***\n",
                    );
                    if let Some((n, line)) = &e.line {
                        self.log(
                            LogLevel::Warning,
                            format!("Reading the manifest file, at line {n}\n"),
                        );
                        self.log(LogLevel::Warning, format!(">>> '{line}'\n"));
                    }
                    self.log(LogLevel::Warning, format!("{}\n", e.message));
                    self.aof_fatal();
                }
            },
            Ok(other) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: the disk answered a manifest read with {other:?}"),
                );
                self.aof_fatal();
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: can't open the AOF manifest for reading: {e}"),
                );
                self.effects.push_back(Effect::Exit { code: 1 });
            }
        }
    }

    /// loadAppendOnlyFiles' upgrade check: an `appendfilename` file in `dir` is an
    /// AOF from before Redis 7 when there is no manifest, or one naming only that
    /// file as its base while the AOF directory does not have it.
    fn aof_upgrade_probe(&mut self, m: Option<Box<Manifest>>) {
        let path = join(&self.config.dir, &self.config.appendfilename);
        self.aof_io(IoOp::Stat { path }, Pending::UpgradeStat(m, false));
    }

    fn aof_upgrade_stat(
        &mut self,
        m: Option<Box<Manifest>>,
        in_dir: bool,
        result: Result<IoOutput, IoError>,
    ) {
        let exists = match result {
            Ok(IoOutput::Size(size)) => size.is_some(),
            Ok(other) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: the disk answered a stat with {other:?}"),
                );
                return self.aof_fatal();
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: can't stat the append only file: {e}"),
                );
                return self.aof_fatal();
            }
        };
        match (m, in_dir, exists) {
            // Nothing old to migrate.
            (None, false, false) => self.aof_start(),
            (Some(m), false, false) => self.aof_load_start(*m),
            (Some(m), false, true) => {
                let path = join(&self.aof_dir(), &self.config.appendfilename);
                self.aof_io(IoOp::Stat { path }, Pending::UpgradeStat(Some(m), true));
            }
            // The manifest's base is in place: nothing to migrate.
            (Some(m), true, true) => self.aof_load_start(*m),
            (None, _, true) | (Some(_), true, false) => self.aof_upgrade(),
            (None, true, false) => self.aof_start(),
        }
    }

    /// aofUpgradePrepare: the AOF directory, a manifest naming the old file as its
    /// base (seq 1), the file moved in, each step durable before the next; then the
    /// load, which adds an incr file as for any manifest without one.
    fn aof_upgrade(&mut self) {
        let dir = self.aof_dir();
        let filename = self.config.appendfilename.clone();
        self.aof.chain_failed = None;
        self.aof_setup(IoOp::CreateDir { path: dir.clone() }, "mkdir");
        self.aof.manifest = Manifest::new();
        self.aof.manifest.base = Some(manifest::AofInfo {
            name: filename.clone(),
            seq: 1,
            kind: manifest::FileType::Base,
        });
        self.aof.manifest.curr_base_seq = 1;
        self.aof.manifest.dirty = true;
        self.aof_persist_manifest(&dir, &filename, OnFail::Fatal);
        self.aof_setup(
            IoOp::Rename {
                from: join(&self.config.dir, &filename),
                to: join(&dir, &filename),
            },
            "move the old AOF file",
        );
        let root = if self.config.dir.is_empty() {
            ".".to_string()
        } else {
            self.config.dir.clone()
        };
        self.aof_setup(IoOp::FsyncDir { path: root }, "fsync dir");
        self.aof_setup(IoOp::FsyncDir { path: dir }, "fsync dir");
        self.aof_step(Step::Barrier(OnFail::Fatal));
        self.aof.manifest.dirty = false;
        self.aof_step(Step::Upgraded);
    }

    fn aof_written(&mut self, data: Bytes, result: Result<IoOutput, IoError>) {
        self.aof.write_in_flight = false;
        match result {
            Ok(IoOutput::Written(n)) if n == data.len() => {
                self.aof.written += n as u64;
                self.aof.incr_size += n as u64;
                if self.aof.write_error.take().is_some() {
                    self.log(
                        LogLevel::Warning,
                        "AOF write error looks solved, Redis can write again.",
                    );
                }
            }
            other => {
                let (written, message) = match other {
                    Ok(IoOutput::Written(n)) => (n, "No space left on device".to_string()),
                    Ok(_) => (0, "unexpected write result".to_string()),
                    Err(e) => (e.written, e.message),
                };
                if written > 0 {
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Short write while writing to the AOF file: (nwritten={written}, expected={})",
                            data.len()
                        ),
                    );
                    // Cut the partial command back off, so the file ends whole.
                    if let Some(file) = self.aof.file {
                        let len = self.aof.incr_size;
                        self.aof_io(IoOp::Truncate { file, len }, Pending::Truncate);
                    }
                } else {
                    self.log(
                        LogLevel::Warning,
                        format!("Error writing to the AOF file: {message}"),
                    );
                }
                // Redis's replies to those commands leave after the failed write.
                self.aof.reply_ok = self.aof.reply_ok.max(self.aof.issued);
                self.aof.issued -= data.len() as u64;
                if self.config.appendfsync == AppendFsync::Always {
                    self.log(
                        LogLevel::Warning,
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
                    );
                    self.aof_fatal();
                    return;
                }
                // The bytes go back in front of the buffer for the next try; writes
                // are refused until one succeeds.
                let mut buf = data.to_vec();
                buf.extend_from_slice(&self.aof.buf);
                self.aof.buf = buf;
                self.aof.retry_wait = true;
                self.aof.write_error = Some(if written > 0 {
                    "No space left on device".to_string()
                } else {
                    message
                });
            }
        }
    }

    fn aof_fsynced(&mut self, upto: u64, result: Result<IoOutput, IoError>) {
        self.aof.fsync_in_flight = false;
        match result {
            Ok(_) => {
                self.aof.durable = self.aof.durable.max(upto.min(self.aof.written));
                self.aof.fsync_error = None;
            }
            Err(e) => {
                if self.config.appendfsync == AppendFsync::Always {
                    self.log(
                        LogLevel::Warning,
                        format!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting..."),
                    );
                    self.aof_fatal();
                    return;
                }
                self.log(
                    LogLevel::Warning,
                    format!("Error trying to fsync the AOF file: {e}"),
                );
                self.aof.fsync_error = Some(e.message);
            }
        }
    }

    /// INFO persistence's AOF fields, in Redis 7.0's order.
    pub(crate) fn aof_info(&self) -> String {
        let a = &self.aof;
        let last_rewrite = a.last_rewrite_secs.unwrap_or(-1);
        let current = a
            .rewrite
            .as_ref()
            .map_or(-1, |r| self.now.wall.secs() - r.started_secs);
        let ok = a.write_error.is_none() && a.fsync_error.is_none();
        let mut out = format!(
            "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{last_rewrite}\r\naof_current_rewrite_time_sec:{current}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            a.is_on() as u8,
            a.rewrite_in_progress() as u8,
            a.rewrite_scheduled as u8,
            if a.last_rewrite_failed { "err" } else { "ok" },
            a.rewrites,
            a.rewrite_failures,
            if ok { "ok" } else { "err" },
        );
        if self.config.appendonly {
            out.push_str(&format!(
                "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
                a.current_size(),
                a.base_size,
                a.rewrite_scheduled as u8,
                a.buffer_len(),
                a.fsync_pending() as u8,
                a.delayed_fsync,
            ));
        }
        out
    }

    /// Redis exits here: nothing more is written, held replies never leave.
    fn aof_fatal(&mut self) {
        self.aof.file = None;
        self.aof.load = None;
        self.begin_shutdown();
        self.effects.push_back(Effect::Exit { code: 1 });
    }

    /// loadAppendOnlyFiles: replay the base and incr files the manifest names, with
    /// clients held off until it is done.
    fn aof_load_start(&mut self, m: Manifest) {
        let dir = self.aof_dir();
        let files: Vec<String> = m.load_order().map(|i| join(&dir, &i.name)).collect();
        self.aof.manifest = m;
        self.aof.state = AofState::Loading;
        // Replayed commands are not fed back (shouldPropagate is off while loading).
        self.propagation.active &= !TARGET_AOF;
        self.aof.load = Some(LoadState {
            files,
            at: 0,
            data: Vec::new(),
            total: 0,
            truncate_to: None,
            last_len: 0,
            started: self.now.mono,
            reload: None,
        });
        self.aof_load_next_read();
    }

    fn aof_load_next_read(&mut self) {
        let l = self.aof.load.as_ref().expect("loading");
        let Some(path) = l.files.get(l.at).cloned() else {
            return self.aof_load_done();
        };
        let offset = l.data.len() as u64;
        self.aof_io(
            IoOp::Read {
                path,
                offset,
                len: LOAD_CHUNK,
            },
            Pending::LoadRead,
        );
    }

    fn aof_load_read(&mut self, result: Result<IoOutput, IoError>) {
        let Some(l) = self.aof.load.as_mut() else {
            return;
        };
        let path = l.files[l.at].clone();
        match result {
            Ok(IoOutput::Data(d)) => {
                let more = d.len() as u64 == LOAD_CHUNK;
                l.data.extend_from_slice(&d);
                if more {
                    return self.aof_load_next_read();
                }
            }
            Err(e) if e.kind == IoErrorKind::NotFound => {
                self.log(
                    LogLevel::Warning,
                    format!("The append log file {path} doesn't exist: {e}"),
                );
                return self.aof_fatal();
            }
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: can't open the append log file {path} for reading: {e}"),
                );
                return self.aof_fatal();
            }
            Ok(other) => {
                self.log(
                    LogLevel::Warning,
                    format!("Fatal error: the disk answered a read of {path} with {other:?}"),
                );
                return self.aof_fatal();
            }
        }
        let data = std::mem::take(&mut l.data);
        let last = l.at + 1 == l.files.len();
        let kind = if l.at == 0 && self.aof.manifest.base.is_some() {
            "base"
        } else {
            "incr"
        };
        if self.aof_replay_file(&path, &data, last) {
            // loadAppendOnlyFiles: the file's name, as the manifest has it.
            let name = path.rsplit('/').next().unwrap_or(&path);
            self.log(
                LogLevel::Notice,
                format!("DB loaded from {kind} file {name}: 0.000 seconds"),
            );
            let l = self.aof.load.as_mut().expect("loading");
            l.last_len = l.truncate_to.unwrap_or(data.len() as u64);
            l.total += l.last_len;
            l.at += 1;
            self.aof_load_next_read();
        }
    }

    /// loadSingleAppendOnlyFile: an RDB preamble if the file starts with one, then
    /// commands, run as Redis's fake AOF client. False after a fatal refusal.
    fn aof_replay_file(&mut self, path: &str, data: &[u8], last: bool) -> bool {
        let mut at = 0usize;
        if data.starts_with(b"REDIS") {
            self.log(LogLevel::Notice, "Reading RDB base file on AOF loading...");
            match self.aof_load_rdb(data) {
                Ok(end) => at = end,
                Err((offset, reason)) => {
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Internal error in RDB reading offset {offset} of {path} -> {reason}"
                        ),
                    );
                    self.log(
                        LogLevel::Warning,
                        format!("Error reading the RDB base file {path}, AOF loading aborted"),
                    );
                    self.aof_fatal();
                    return false;
                }
            }
        }
        let parsed = crate::aof::load::parse(&data[at..], at);
        // Keys are never expired while loading (keyIsExpired during loading): the
        // commands replay against a clock before every deadline, as Redis's do.
        let saved_now = self.now;
        self.now.wall = crate::io::UnixUs(0);
        let ran = self.aof_run_commands(path, parsed.commands);
        self.now = saved_now;
        if !ran {
            return false;
        }
        match parsed.end.expect("parse always ends") {
            crate::aof::load::End::Whole => true,
            crate::aof::load::End::BadFormat { .. } => {
                self.log(
                    LogLevel::Warning,
                    format!("Bad file format reading the append only file {path}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"),
                );
                self.aof_fatal();
                false
            }
            crate::aof::load::End::Torn {
                valid_up_to,
                in_multi,
            } => {
                if in_multi {
                    self.log(
                        LogLevel::Warning,
                        format!("Revert incomplete MULTI/EXEC transaction in AOF file {path}"),
                    );
                }
                if !self.config.aof_load_truncated {
                    self.log(
                        LogLevel::Warning,
                        format!("Unexpected end of file reading the append only file {path}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."),
                    );
                    self.aof_fatal();
                    return false;
                }
                self.log(
                    LogLevel::Warning,
                    format!("!!! Warning: short read while loading the AOF file {path}!!!"),
                );
                self.log(
                    LogLevel::Warning,
                    format!("!!! Truncating the AOF {path} at offset {valid_up_to} !!!"),
                );
                if !last {
                    self.log(
                        LogLevel::Warning,
                        "Fatal error: the truncated file is not the last file",
                    );
                    self.aof_fatal();
                    return false;
                }
                self.log(
                    LogLevel::Warning,
                    format!("AOF {path} loaded anyway because aof-load-truncated is enabled"),
                );
                if let Some(l) = self.aof.load.as_mut() {
                    l.truncate_to = Some(valid_up_to as u64);
                }
                true
            }
        }
    }

    /// An RDB preamble into the dataset (expired keys kept, as for AOF preambles).
    /// Returns where the RDB ends.
    fn aof_load_rdb(&mut self, data: &[u8]) -> Result<usize, (usize, String)> {
        use crate::rdb::load::{Item, LoadLimits, Loader};
        let limits = LoadLimits::from_config(&self.config, self.list_packed_threshold);
        let lru = self.lru_clock();
        let mut loader =
            Loader::new(data, limits, self.config.rdbchecksum).map_err(|e| (e.offset, e.reason))?;
        loop {
            let offset = loader.offset();
            let item = loader
                .next_item(&mut self.rng)
                .map_err(|e| (e.offset, e.reason))?;
            let Some(item) = item else {
                return Ok(loader.offset());
            };
            if let Item::Key(k) = item {
                let db = usize::try_from(k.db)
                    .ok()
                    .filter(|d| *d < self.dbs.len())
                    .ok_or((offset, "bad database".to_string()))?;
                super::persist::add_loaded_key(&mut self.dbs, db, k, lru)
                    .map_err(|why| (offset, why))?;
            } else if let Item::SelectDb(db) = item {
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
        }
    }

    /// Run replayed commands as the fake AOF client: each handler directly (no
    /// stats, no propagation), a MULTI/EXEC block's commands in order.
    fn aof_run_commands(&mut self, path: &str, commands: Vec<Vec<Vec<u8>>>) -> bool {
        use crate::command::{Ctx, Lookup};
        use crate::resp::{Args, ReplyBuf};
        let mut db = 0usize;
        for argv in commands {
            let entry = match self
                .commands
                .lookup(&argv[0], argv.get(1).map(|a| a.as_slice()))
            {
                Lookup::Found(e) => e,
                _ => {
                    self.log(
                        LogLevel::Warning,
                        format!(
                            "Unknown command '{}' reading the append only file {path}",
                            String::from_utf8_lossy(&argv[0])
                        ),
                    );
                    self.aof_fatal();
                    return false;
                }
            };
            if matches!(entry.spec.fullname, "multi" | "exec") {
                continue;
            }
            // Only what can change the dataset runs: a read changes nothing while
            // keys cannot expire, and skipping it keeps commands that inspect their
            // client (CLIENT INFO) away from the fake one.
            let changes = entry.spec.has(crate::command::spec::CMD_WRITE)
                || entry.spec.has(crate::command::spec::CMD_MAY_REPLICATE)
                || entry.spec.fullname == "select";
            if !changes {
                continue;
            }
            let Some(handler) = entry.handler else {
                continue;
            };
            if !entry.spec.arity_ok(argv.len()) {
                self.log(
                    LogLevel::Warning,
                    format!("Bad file format reading the append only file {path}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"),
                );
                self.aof_fatal();
                return false;
            }
            let mut data = Vec::new();
            let mut spans = Vec::with_capacity(argv.len());
            for a in &argv {
                spans.push((data.len(), data.len() + a.len()));
                data.extend_from_slice(a);
            }
            let mut reply = ReplyBuf::new(false);
            let mut ctx = Ctx {
                conn: AOF_CLIENT,
                args: Args::new(&data, &spans),
                reply: &mut reply,
                db,
                spec: entry.spec,
                deny_blocking: true,
                propagating: false,
                prop: Default::default(),
            };
            handler(self, &mut ctx);
            db = ctx.db;
            // Anything a replayed command produced for propagation is dropped.
            debug_assert!(!self.propagation.has_pending() || self.propagation.active == 0);
        }
        true
    }

    /// DEBUG LOADAOF: what was fed is written out first (the manifest and files are
    /// read behind it on the `Aof` queue), the dataset emptied, then the files the
    /// manifest on disk names replayed with clients held off; +OK once done. As in
    /// Redis, failing to load (no AOF at all included) exits with status 1.
    ///
    /// Redis's rewrite child writes a base the load never reads, and its incr files
    /// are named by a manifest already on disk; ours shares the event loop, so the
    /// load waits until the rewrite has put its files in place and the buffer is
    /// written (or its write failed, when Redis too loads what the disk has).
    pub(crate) fn aof_debug_load(&mut self, conn: ConnId) {
        debug_assert!(self.aof.reload_waiting.is_none());
        self.suspend_for_disk();
        self.aof.reload_waiting = Some(conn);
        self.aof_debug_load_when_written();
    }

    fn aof_debug_load_when_written(&mut self) {
        let Some(conn) = self.aof.reload_waiting else {
            return;
        };
        if self.aof.state == AofState::On {
            self.aof_feed();
            self.aof_flush(true);
            let failed = self.aof.retry_wait || self.aof.write_error.is_some();
            let written = self.aof.buf.is_empty() && !self.aof.write_in_flight;
            if !failed && (!written || self.aof.rewrite_in_progress()) {
                return;
            }
        }
        self.aof.reload_waiting = None;
        let back = self.aof.state;
        for db in &mut self.dbs {
            db.clear();
        }
        self.aof.state = AofState::Loading;
        self.propagation.active &= !TARGET_AOF;
        self.aof.load = Some(LoadState {
            files: Vec::new(),
            at: 0,
            data: Vec::new(),
            total: 0,
            truncate_to: None,
            last_len: 0,
            started: self.now.mono,
            reload: Some((conn, back)),
        });
        let path = join(
            &self.aof_dir(),
            &manifest::manifest_name(&self.config.appendfilename),
        );
        self.aof_io(
            IoOp::Read {
                path,
                offset: 0,
                len: 64 * 1024,
            },
            Pending::ReloadManifest,
        );
    }

    fn aof_reload_manifest(&mut self, result: Result<IoOutput, IoError>) {
        let parsed = match result {
            Ok(IoOutput::Data(d)) if !d.is_empty() => Manifest::parse(&d).ok(),
            _ => None,
        };
        let Some(m) = parsed.filter(|m| m.load_order().next().is_some()) else {
            // loadAppendOnlyFiles: AOF_NOT_EXIST (or a manifest it refuses).
            return self.aof_fatal();
        };
        let dir = self.aof_dir();
        let files: Vec<String> = m.load_order().map(|i| join(&dir, &i.name)).collect();
        self.aof.manifest = m;
        if let Some(l) = self.aof.load.as_mut() {
            l.files = files;
        }
        self.aof_load_next_read();
    }

    /// All files replayed: append to the last incr file from where it ends (cut
    /// back if torn), and serve clients.
    fn aof_load_done(&mut self) {
        let l = self.aof.load.take().expect("loading");
        let secs = self.now.mono.0.saturating_sub(l.started.0) as f64 / 1e9;
        if let Some((conn, back)) = l.reload {
            // The files stay as they were: the AOF goes on appending where it was.
            self.aof.state = back;
            if back == AofState::On {
                self.propagation.active |= TARGET_AOF;
            }
            self.dirty = 0;
            self.log(
                LogLevel::Warning,
                "Append Only File loaded by DEBUG LOADAOF",
            );
            if let Some(c) = self.clients.get_mut(&conn) {
                c.reply.ok();
                self.mark_pending_write(conn);
            }
            self.resume_from_disk();
            return;
        }
        self.log(
            LogLevel::Notice,
            format!("DB loaded from append only file: {secs:.3} seconds"),
        );
        let dir = self.aof_dir();
        let filename = self.config.appendfilename.clone();
        let file = self.new_file_id();
        self.aof.chain_failed = None;
        // Writes wait behind the chain: the incr file is open (and named in a
        // durable manifest when it is new) before any goes to it.
        if self.aof.manifest.incr.is_empty() {
            let name = self.aof.manifest.new_incr(&filename);
            self.aof_setup(
                IoOp::Open {
                    file,
                    path: join(&dir, &name),
                    mode: OpenMode::Truncate,
                },
                "open incr",
            );
            self.aof_persist_manifest(&dir, &filename, OnFail::Fatal);
            self.aof.incr_size = 0;
            self.aof.size_before_incr = l.total;
        } else {
            let last = self.aof.manifest.incr.last().expect("checked").name.clone();
            self.aof_setup(
                IoOp::Open {
                    file,
                    path: join(&dir, &last),
                    mode: OpenMode::Append,
                },
                "open incr",
            );
            self.aof_step(Step::Barrier(OnFail::Fatal));
            if let Some(len) = l.truncate_to {
                self.aof_io(IoOp::Truncate { file, len }, Pending::Truncate);
            }
            // Short writes are cut back to the end of what the load read.
            self.aof.incr_size = l.last_len;
            self.aof.size_before_incr = l.total - l.last_len;
        }
        self.aof.base_size = l.total;
        self.aof.file = Some(file);
        self.aof.state = AofState::On;
        self.aof.encoder = FeedEncoder::new();
        self.propagation.active |= TARGET_AOF;
        self.resume_from_disk();
    }

    /// writeCommandsDeniedByDiskError for the AOF: the MISCONF error while the last
    /// write or background fsync failed.
    pub(crate) fn aof_denies_writes(&self) -> Option<String> {
        if !self.aof.is_on() {
            return None;
        }
        let e = self
            .aof
            .write_error
            .as_ref()
            .or(self.aof.fsync_error.as_ref())?;
        Some(format!("-MISCONF Errors writing to the AOF file: {e}"))
    }

    /// Must output produced now wait: under `always` for the fsync covering what
    /// was fed (group commit), under everysec and no for its write?
    pub(crate) fn aof_must_hold(&self) -> bool {
        self.aof.state != AofState::Off && self.aof_release_offset() < self.aof.fed
    }

    /// Held output tagged up to here may leave.
    fn aof_release_offset(&self) -> u64 {
        match self.config.appendfsync {
            // With the fsync skipped, Redis replies once the write is done.
            AppendFsync::Always if !self.aof_fsync_paused() => self.aof.durable,
            _ => self.aof.written.max(self.aof.reply_ok),
        }
    }

    /// `no-appendfsync-on-rewrite`: no AOF fsync while a background save or rewrite
    /// runs (hasActiveChildProcess), whatever the policy.
    fn aof_fsync_paused(&self) -> bool {
        self.config.no_appendfsync_on_rewrite
            && (self.persist.bgsave_in_progress() || self.aof.rewrite_in_progress())
    }

    /// Tag for output produced now: released once this much is durable.
    pub(crate) fn aof_hold_tag(&self) -> u64 {
        self.aof.fed
    }

    /// Send the held output the durable offset now covers, in order per client.
    fn aof_release_held(&mut self) {
        if self.aof.held_clients.is_empty() {
            return;
        }
        // Held output never waits for a policy that no longer holds.
        let durable = if self.aof_must_hold() {
            self.aof_release_offset()
        } else {
            u64::MAX
        };
        let conns: Vec<ConnId> = self.aof.held_clients.iter().copied().collect();
        for conn in conns {
            let Some(c) = self.clients.get_mut(&conn) else {
                self.aof.held_clients.remove(&conn);
                continue;
            };
            let mut out = Vec::new();
            while c.held.front().is_some_and(|(tag, _)| *tag <= durable) {
                let (_, data) = c.held.pop_front().expect("checked");
                out.extend_from_slice(&data);
            }
            let empty = c.held.is_empty();
            if !out.is_empty() {
                c.unsent_bytes += out.len();
                self.stats.total_net_output_bytes += out.len() as u64;
                self.stats.io_writes_processed += 1;
                self.effects.push_back(Effect::Send {
                    conn,
                    data: Bytes::from(out),
                });
            }
            if empty {
                self.aof.held_clients.remove(&conn);
                let close = self.clients.get(&conn).is_some_and(|c| c.close_after_reply);
                if close {
                    // Its close waited for the output in front of it.
                    self.mark_pending_write(conn);
                }
            }
        }
    }

    /// SHUTDOWN with the AOF on: exit once what was fed is durable.
    pub(crate) fn aof_shutdown(&mut self, code: i32) -> bool {
        if self.aof.state != AofState::On || self.aof.file.is_none() {
            return false;
        }
        self.aof_feed();
        self.aof_flush(true);
        if let Some(file) = self.aof.file {
            if !self.aof.fsync_in_flight && self.aof.issued > self.aof.durable {
                let upto = self.aof.issued;
                self.aof.fsync_in_flight = true;
                self.aof_io(IoOp::Fsync { file }, Pending::Fsync(upto));
            }
        }
        self.aof.exit_after_sync = Some(code);
        self.aof_maybe_exit();
        true
    }

    fn aof_maybe_exit(&mut self) {
        let Some(code) = self.aof.exit_after_sync else {
            return;
        };
        let settled = self.aof.buf.is_empty() && self.aof.durable >= self.aof.fed;
        let failed = self.aof.write_error.is_some() || self.aof.fsync_error.is_some();
        if settled || failed {
            self.aof.exit_after_sync = None;
            self.aof_release_held();
            self.effects.push_back(Effect::Exit { code });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::AppendFsync;
    use crate::io::{IoErrorKind, IoOp};
    use crate::testing::{encode_command, Frame, MemDisk, TestServer};
    use crate::Config;

    const DIR: &str = "appendonlydir";
    const MANIFEST: &str = "appendonlydir/appendonly.aof.manifest";
    const BASE: &str = "appendonlydir/appendonly.aof.1.base.rdb";
    const INCR: &str = "appendonlydir/appendonly.aof.1.incr.aof";

    fn aof_server(fsync: AppendFsync) -> TestServer {
        let config = Config {
            appendonly: true,
            appendfsync: fsync,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        t.drain();
        t
    }

    fn file(t: &TestServer, path: &str) -> String {
        String::from_utf8_lossy(t.disk.files.get(path).map_or(&[][..], |v| v)).into_owned()
    }

    #[test]
    fn boot_creates_base_incr_and_manifest_then_appends() {
        let mut t = aof_server(AppendFsync::Everysec);
        assert!(t.disk.dirs.contains(DIR));
        assert_eq!(
            file(&t, MANIFEST),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert!(file(&t, BASE).starts_with("REDIS0010"));
        assert_eq!(file(&t, INCR), "");
        // The manifest is renamed into place after the base is durable.
        let order: Vec<String> = t
            .disk
            .log
            .iter()
            .filter_map(|op| match op {
                IoOp::Fsync { .. } => Some("fsync".to_string()),
                IoOp::Rename { to, .. } => Some(format!("rename {to}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            order,
            ["fsync", "fsync", format!("rename {MANIFEST}").as_str()]
        );
        t.cmd(&["SET", "k", "v", "EX", "100"]);
        t.cmd(&["SELECT", "1"]);
        t.cmd(&["INCR", "n"]);
        let pxat = t.now.wall.0 / 1000 + 100_000;
        assert_eq!(
            file(&t, INCR),
            format!(
                "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n{pxat}\r\n\
                 *2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
            )
        );
    }

    #[test]
    fn a_manifest_naming_missing_files_is_refused_not_overwritten() {
        let mut disk = MemDisk::default();
        disk.files.insert(
            MANIFEST.into(),
            b"file x.1.incr.aof seq 1 type i\n".to_vec(),
        );
        let config = Config {
            appendonly: true,
            ..Default::default()
        };
        let t = TestServer::with_disk(config, disk, false);
        assert_eq!(t.exited, Some(1));
        assert_eq!(file(&t, MANIFEST), "file x.1.incr.aof seq 1 type i\n");
    }

    #[test]
    fn always_holds_replies_until_the_fsync_covering_them() {
        let mut t = aof_server(AppendFsync::Always);
        let writer = t.connect();
        let reader = t.connect();
        t.cmd_on(reader, &["GET", "k"]);
        t.hold_io = true;
        t.send_raw(writer, &encode_command(&[b"SET", b"k", b"v"]));
        assert!(
            t.take_output(writer).is_empty(),
            "no reply before the fsync"
        );
        // A read that may see the write waits too.
        t.send_raw(reader, &encode_command(&[b"GET", b"k"]));
        assert!(t.take_output(reader).is_empty());
        // More writes meanwhile: they wait for the fsync in flight, then go together.
        t.send_raw(writer, &encode_command(&[b"INCR", b"a"]));
        t.send_raw(writer, &encode_command(&[b"INCR", b"b"]));
        assert_eq!(t.run_io(1), 1); // the write
        assert!(t.take_output(writer).is_empty(), "written is not durable");
        assert_eq!(t.run_io(1), 1); // its fsync
        assert_eq!(t.take_output(writer), b"+OK\r\n");
        assert_eq!(t.take_output(reader), b"$1\r\nv\r\n");
        // The two INCRs went out as one write and one fsync.
        assert_eq!(t.io_queue.len(), 2);
        t.run_io(2);
        assert_eq!(t.take_output(writer), b":1\r\n:1\r\n");
        // Nothing pending: a read replies at once.
        t.send_raw(reader, &encode_command(&[b"GET", b"k"]));
        assert_eq!(t.take_output(reader), b"$1\r\nv\r\n");
        assert!(t.io_queue.is_empty());
        assert!(file(&t, INCR).ends_with("*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n"));
    }

    /// Under everysec and no a reply (and a read that may reveal the write) leaves
    /// once the write carrying its command completed, without waiting for an fsync;
    /// after a failed write the replies go, as Redis's do.
    #[test]
    fn everysec_and_no_hold_replies_until_the_write_not_the_fsync() {
        for policy in [AppendFsync::Everysec, AppendFsync::No] {
            let mut t = aof_server(policy);
            t.advance_ms(1100);
            let writer = t.connect();
            let reader = t.connect();
            t.hold_io = true;
            t.send_raw(writer, &encode_command(&[b"SET", b"k", b"v"]));
            assert!(
                t.take_output(writer).is_empty(),
                "{policy:?}: before its write"
            );
            t.send_raw(reader, &encode_command(&[b"GET", b"k"]));
            assert!(t.take_output(reader).is_empty(), "{policy:?}");
            assert!(matches!(
                t.io_queue.front(),
                Some((_, _, IoOp::Write { .. }))
            ));
            t.run_io(1);
            assert_eq!(t.take_output(writer), b"+OK\r\n", "{policy:?}");
            assert_eq!(t.take_output(reader), b"$1\r\nv\r\n", "{policy:?}");
            // Under everysec the fsync follows in the background: nothing waits for it.
            let fsyncs = t
                .io_queue
                .iter()
                .filter(|(_, _, op)| matches!(op, IoOp::Fsync { .. }))
                .count();
            assert_eq!(fsyncs, (policy == AppendFsync::Everysec) as usize);
            t.send_raw(reader, &encode_command(&[b"GET", b"k"]));
            assert_eq!(t.take_output(reader), b"$1\r\nv\r\n", "nothing unwritten");
            t.hold_io = false;
            t.drain();

            // A write that fails: its reply goes all the same, later writes are refused.
            t.disk.fail = Some((
                |op| matches!(op, IoOp::Write { .. }),
                MemDisk::error(IoErrorKind::NoSpace, "No space left on device"),
            ));
            t.hold_io = true;
            t.send_raw(writer, &encode_command(&[b"SET", b"k", b"w"]));
            assert!(t.take_output(writer).is_empty());
            t.run_io(1);
            assert_eq!(t.take_output(writer), b"+OK\r\n", "{policy:?}");
            assert_eq!(
                t.cmd_on(writer, &["SET", "k", "x"]),
                Frame::err("MISCONF Errors writing to the AOF file: No space left on device")
            );
            t.disk.fail = None;
            t.hold_io = false;
            t.advance_ms(1100);
            assert_eq!(t.cmd_on(writer, &["SET", "k", "y"]), Frame::ok());
        }
    }

    /// no-appendfsync-on-rewrite: while a background save runs, `always` writes
    /// without fsyncing and replies once written; the fsync comes back after it.
    #[test]
    fn no_appendfsync_on_rewrite_skips_fsyncs_while_a_snapshot_runs() {
        let mut t = aof_server(AppendFsync::Always);
        t.cmd(&["CONFIG", "SET", "no-appendfsync-on-rewrite", "yes"]);
        for i in 0..2000 {
            t.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        t.hold_io = true;
        let c = t.default_conn();
        t.send_raw(c, &encode_command(&[b"BGSAVE"]));
        assert!(t.server.persist.bgsave_in_progress());
        // The AOF's operations only: the save's are on the Rdb queue.
        let aof_ops = |t: &TestServer| -> Vec<&'static str> {
            t.io_queue
                .iter()
                .filter(|(_, q, _)| *q == crate::io::IoQueue::Aof)
                .map(|(_, _, op)| match op {
                    IoOp::Write { .. } => "write",
                    IoOp::Fsync { .. } => "fsync",
                    _ => "other",
                })
                .collect()
        };
        t.send_raw(c, &encode_command(&[b"SET", b"a", b"1"]));
        assert_eq!(aof_ops(&t), ["write"], "no fsync while the save runs");
        let pos = t
            .io_queue
            .iter()
            .position(|(_, q, _)| *q == crate::io::IoQueue::Aof)
            .unwrap();
        let (id, _, op) = t.io_queue.remove(pos).unwrap();
        let result = t.disk.run(op);
        t.server
            .handle(t.now, crate::io::Event::IoDone { id, result });
        t.drain();
        let out = t.take_output(c);
        assert!(out.ends_with(b"+OK\r\n"), "replied once written: {out:?}");
        assert!(aof_ops(&t).is_empty());
        t.hold_io = false;
        t.drain();
        t.fire_timers();
        assert!(!t.server.persist.bgsave_in_progress());
        // Once the save is over, `always` fsyncs again before replying.
        t.hold_io = true;
        t.send_raw(c, &encode_command(&[b"SET", b"b", b"1"]));
        t.run_io(1);
        assert!(t.take_output(c).is_empty(), "waits for the fsync");
        assert_eq!(aof_ops(&t), ["fsync"]);
        t.run_io(1);
        assert_eq!(t.take_output(c), b"+OK\r\n");
    }

    /// aof-rewrite-incremental-fsync and rdb-save-incremental-fsync: a base or an
    /// RDB file is fsynced every 4 MiB as it is written, or only at its end.
    #[test]
    fn incremental_fsyncs_every_4_mib_of_a_rewrite_or_a_save() {
        for incremental in [true, false] {
            let mut t = TestServer::with_config(Config {
                aof_rewrite_incremental_fsync: incremental,
                rdb_save_incremental_fsync: incremental,
                ..Default::default()
            });
            let value = "x".repeat(1000);
            for i in 0..10_000 {
                t.cmd(&["SET", &format!("k{i}"), &value]);
            }
            t.cmd(&["CONFIG", "SET", "rdbcompression", "no"]);
            let count = |t: &TestServer| {
                let (mut writes, mut fsyncs) = (0, 0);
                for op in &t.disk.log {
                    match op {
                        IoOp::Write { .. } => writes += 1,
                        IoOp::Fsync { .. } => fsyncs += 1,
                        _ => {}
                    }
                }
                (writes, fsyncs)
            };
            for which in ["BGREWRITEAOF", "BGSAVE", "SAVE"] {
                t.disk.log.clear();
                t.cmd(&[which]);
                t.fire_timers();
                t.advance_ms(1100);
                let (writes, fsyncs) = count(&t);
                // About 10 MB in 1 MiB chunks: fsyncs after 4 and 8 MiB, then the last.
                assert!(writes >= 10, "{which}: {writes} writes");
                let want = if incremental { 3 } else { 1 };
                // The rewrite's manifest and old incr file add fsyncs of their own.
                let extra = if which == "BGREWRITEAOF" { 1 } else { 0 };
                assert_eq!(fsyncs, want + extra, "{which}, incremental {incremental}");
            }
        }
    }

    #[test]
    fn everysec_replies_at_once_and_fsyncs_once_a_second() {
        let mut t = aof_server(AppendFsync::Everysec);
        let fsyncs = |t: &TestServer| {
            t.disk
                .log
                .iter()
                .filter(|op| matches!(op, IoOp::Fsync { .. }))
                .count()
        };
        let at_start = fsyncs(&t);
        assert_eq!(t.cmd(&["SET", "a", "1"]), Frame::ok());
        assert_eq!(t.cmd(&["SET", "b", "1"]), Frame::ok());
        assert_eq!(fsyncs(&t), at_start + 1, "one fsync in this second");
        t.cmd(&["SET", "c", "1"]);
        assert_eq!(fsyncs(&t), at_start + 1);
        // The next second's cron fsyncs what was written without a new command.
        t.advance_ms(1100);
        assert_eq!(fsyncs(&t), at_start + 2);
        t.advance_ms(1100);
        assert_eq!(fsyncs(&t), at_start + 2, "nothing new to fsync");
    }

    #[test]
    fn everysec_postpones_writes_behind_a_slow_fsync_then_counts_the_delay() {
        let mut t = aof_server(AppendFsync::Everysec);
        t.advance_ms(1100);
        t.hold_io = true;
        let c = t.default_conn();
        t.send_raw(c, &encode_command(&[b"SET", b"a", b"1"]));
        assert!(t.take_output(c).is_empty(), "the reply waits for its write");
        // Its write (the reply goes), then the fsync for it.
        t.run_io(1);
        assert_eq!(t.take_output(c), b"+OK\r\n");
        assert!(t.server.aof.fsync_pending());
        // Postponed behind the fsync: as in Redis, the reply leaves without the write.
        assert_eq!(t.cmd(&["SET", "b", "1"]), Frame::ok());
        // Only the fsync is queued: the write waits behind it.
        assert_eq!(t.io_queue.len(), 1);
        t.advance_ms(1000);
        assert_eq!(t.cmd(&["SET", "c", "1"]), Frame::ok());
        assert_eq!(t.io_queue.len(), 1, "still within two seconds");
        t.advance_ms(2100);
        t.send_raw(c, &encode_command(&[b"SET", b"d", b"1"]));
        assert_eq!(t.server.aof.delayed_fsync, 1);
        assert!(t
            .logs
            .iter()
            .any(|l| l.starts_with("Asynchronous AOF fsync is taking too long")));
        assert_eq!(
            t.io_queue.len(),
            2,
            "the fsync, then one write with everything"
        );
        t.hold_io = false;
        t.drain();
        assert_eq!(t.take_output(c), b"+OK\r\n");
        assert!(file(&t, INCR).ends_with("*3\r\n$3\r\nSET\r\n$1\r\nd\r\n$1\r\n1\r\n"));
    }

    #[test]
    fn a_failed_write_refuses_writes_until_one_succeeds() {
        let mut t = aof_server(AppendFsync::Everysec);
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Write { .. }),
            MemDisk::error(IoErrorKind::NoSpace, "No space left on device"),
        ));
        assert_eq!(t.cmd(&["SET", "a", "1"]), Frame::ok());
        let misconf = Frame::err("MISCONF Errors writing to the AOF file: No space left on device");
        assert_eq!(t.cmd(&["SET", "b", "1"]), misconf);
        assert_eq!(t.cmd(&["PING"]), misconf);
        assert_eq!(t.cmd(&["GET", "a"]), Frame::bulk("1"));
        t.cmd(&["MULTI"]);
        t.cmd(&["GET", "a"]);
        assert_eq!(t.cmd(&["EXEC"]), Frame::Array(vec![Frame::bulk("1")]));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Error writing to the AOF file: No space left on device"));
        // The retry (from cron) succeeds: the command was kept, writes are back.
        t.advance_ms(200);
        assert!(t
            .logs
            .iter()
            .any(|l| l == "AOF write error looks solved, Redis can write again."));
        assert_eq!(t.cmd(&["SET", "b", "1"]), Frame::ok());
        assert_eq!(
            file(&t, INCR),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n"
        );
    }

    #[test]
    fn a_short_write_is_cut_back() {
        let mut t = aof_server(AppendFsync::Everysec);
        t.cmd(&["SET", "a", "1"]);
        let mut err = MemDisk::error(IoErrorKind::NoSpace, "No space left on device");
        err.written = 5;
        t.disk.fail = Some((|op| matches!(op, IoOp::Write { .. }), err));
        t.cmd(&["SET", "b", "2"]);
        assert!(t
            .disk
            .log
            .iter()
            .any(|op| matches!(op, IoOp::Truncate { len, .. } if *len == 50)));
        assert!(t
            .logs
            .iter()
            .any(|l| l.starts_with("Short write while writing to the AOF file: (nwritten=5")));
    }

    #[test]
    fn always_exits_on_a_write_error_as_redis() {
        let mut t = aof_server(AppendFsync::Always);
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Write { .. }),
            MemDisk::error(IoErrorKind::Other, "Input/output error"),
        ));
        let c = t.default_conn();
        t.send_raw(c, &encode_command(&[b"SET", b"a", b"1"]));
        assert_eq!(t.exited, Some(1));
        assert!(
            t.take_output(c).is_empty(),
            "the write was never acknowledged"
        );
    }

    #[test]
    fn config_set_appendonly_snapshots_the_dataset() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "k", "v"]);
        t.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", "no"]);
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        assert_eq!(
            file(&t, "appendonlydir/appendonly.aof.1.base.aof"),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        );
        t.cmd(&["SET", "j", "w"]);
        assert!(file(&t, INCR).ends_with("$1\r\nj\r\n$1\r\nw\r\n"));
        // Off, then on again: a new base and incr, the old ones removed.
        t.cmd(&["CONFIG", "SET", "appendonly", "no"]);
        t.cmd(&["SET", "off", "1"]);
        t.cmd(&["CONFIG", "SET", "aof-use-rdb-preamble", "yes"]);
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        assert_eq!(
            file(&t, MANIFEST),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(!t
            .disk
            .files
            .contains_key("appendonlydir/appendonly.aof.1.base.aof"));
        assert!(!t.disk.files.contains_key(INCR));
        assert!(!file(&t, INCR).contains("off"));
    }

    #[test]
    fn timestamps_annotate_each_new_second() {
        let config = Config {
            appendonly: true,
            aof_timestamp_enabled: true,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        t.drain();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SET", "b", "1"]);
        t.advance_ms(1000);
        t.cmd(&["SET", "c", "1"]);
        let secs = t.now.wall.0 / 1_000_000;
        let text = file(&t, INCR);
        assert!(text.starts_with(&format!("#TS:{}\r\n*2\r\n$6\r\nSELECT", secs - 1)));
        assert_eq!(text.matches("#TS:").count(), 2);
        assert!(text.contains(&format!("#TS:{secs}\r\n*3\r\n$3\r\nSET\r\n$1\r\nc")));
    }

    fn info(t: &mut TestServer) -> String {
        t.cmd(&["INFO", "persistence"]).as_str()
    }

    #[test]
    fn info_persistence_reports_the_aof_as_redis() {
        let mut t = aof_server(AppendFsync::Everysec);
        let text = info(&mut t);
        for line in [
            "aof_enabled:1",
            "aof_rewrites:0",
            "aof_last_rewrite_time_sec:-1",
            "aof_last_write_status:ok",
            "aof_current_size:0",
            "aof_base_size:0",
            "aof_buffer_length:0",
            "aof_delayed_fsync:0",
        ] {
            assert!(text.contains(&format!("{line}\r\n")), "{line} in {text}");
        }
        t.cmd(&["SET", "a", "1"]);
        assert!(info(&mut t).contains("aof_current_size:50\r\n"));
        let mut t = TestServer::new();
        let text = info(&mut t);
        assert!(text.contains("aof_enabled:0\r\n"));
        assert!(!text.contains("aof_current_size"));
        t.cmd(&["SET", "k", "v"]);
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        let text = info(&mut t);
        assert!(text.contains("aof_rewrites:1\r\n"));
        assert!(text.contains("aof_last_rewrite_time_sec:0\r\n"));
        assert!(!text.contains("aof_base_size:0\r\n"));
    }

    /// A restart on the same disk.
    fn restart(t: TestServer, config: Config) -> TestServer {
        TestServer::with_disk(config, t.disk, false)
    }

    fn digest(t: &mut TestServer) -> Frame {
        t.cmd(&["DEBUG", "DIGEST"])
    }

    fn debug_config() -> Config {
        Config {
            appendonly: true,
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        }
    }

    #[test]
    fn a_restart_replays_base_and_incr_into_the_same_dataset() {
        for preamble in [true, false] {
            let mut t = TestServer::with_config(debug_config());
            t.cmd(&["SET", "s", "v"]);
            t.cmd(&["RPUSH", "l", "a", "b", "c"]);
            t.cmd(&["SADD", "set", "x", "1"]);
            t.cmd(&["ZADD", "z", "1.5", "m"]);
            t.cmd(&["HSET", "h", "f", "v"]);
            t.cmd(&["SET", "e", "v", "PX", "100000"]);
            // A base holding these, then more in the new incr file.
            t.cmd(&[
                "CONFIG",
                "SET",
                "aof-use-rdb-preamble",
                if preamble { "yes" } else { "no" },
            ]);
            t.cmd(&["CONFIG", "SET", "appendonly", "no"]);
            t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
            t.cmd(&["MULTI"]);
            t.cmd(&["INCR", "n"]);
            t.cmd(&["LPOP", "l"]);
            t.cmd(&["EXEC"]);
            t.cmd(&["SELECT", "4"]);
            t.cmd(&["SET", "four", "4"]);
            t.cmd(&["SELECT", "0"]);
            t.cmd(&["INCRBYFLOAT", "f", "0.1"]);
            let want = digest(&mut t);
            let mut config = debug_config();
            config.aof_use_rdb_preamble = preamble;
            let mut r = restart(t, config);
            assert_eq!(r.exited, None, "{:?}", r.logs);
            assert_eq!(digest(&mut r), want);
            assert!(r
                .logs
                .iter()
                .any(|l| l.starts_with("DB loaded from append only file")));
            // It appends where the file ended, selecting its database afresh.
            r.cmd(&["SET", "after", "1"]);
            let incr = file(&r, "appendonlydir/appendonly.aof.2.incr.aof");
            assert!(incr.ends_with(
                "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n"
            ));
            let want = digest(&mut r);
            let mut again = restart(r, debug_config());
            assert_eq!(digest(&mut again), want);
        }
    }

    #[test]
    fn keys_do_not_expire_while_replaying() {
        let mut t = TestServer::with_config(debug_config());
        t.cmd(&["SET", "k", "v", "PX", "10"]);
        t.cmd(&["APPEND", "k", "x"]);
        t.advance_ms(5);
        let d = t.disk;
        // Replayed after its deadline: the APPEND still found the key, as in Redis.
        let mut r = TestServer::with_disk(debug_config(), d, true);
        r.now.wall = crate::io::UnixUs(r.now.wall.0 + 60_000_000);
        r.hold_io = false;
        r.drain();
        assert_eq!(r.server.dbs[0].len(), 1);
        assert_eq!(r.cmd(&["GET", "k"]), Frame::Null);
    }

    #[test]
    fn a_torn_tail_is_cut_back_and_a_corrupt_middle_refused() {
        let mut t = TestServer::with_config(debug_config());
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["MULTI"]);
        t.cmd(&["SET", "b", "2"]);
        t.cmd(&["EXEC"]);
        let whole = t.disk.files[INCR].len();
        let mut disk = t.disk;
        // A torn command, and a transaction that lost its EXEC, at the end.
        disk.files
            .get_mut(INCR)
            .unwrap()
            .extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nc");
        let mut r = TestServer::with_disk(debug_config(), disk, false);
        assert_eq!(r.exited, None, "{:?}", r.logs);
        assert!(r
            .logs
            .iter()
            .any(|l| l.starts_with("Revert incomplete MULTI/EXEC transaction in AOF file")));
        assert!(r
            .logs
            .iter()
            .any(|l| l == &format!("!!! Truncating the AOF {INCR} at offset {whole} !!!")));
        assert_eq!(r.disk.files[INCR].len(), whole);
        assert_eq!(r.cmd(&["GET", "b"]), Frame::bulk("2"));
        assert_eq!(r.cmd(&["GET", "c"]), Frame::Null);

        // With aof-load-truncated off the same file is refused.
        let mut disk = r.disk;
        disk.files
            .get_mut(INCR)
            .unwrap()
            .extend_from_slice(b"*2\r\n$3\r\nDEL");
        let mut config = debug_config();
        config.aof_load_truncated = false;
        let r = TestServer::with_disk(config, disk, false);
        assert_eq!(r.exited, Some(1));
        assert!(r
            .logs
            .iter()
            .any(|l| l.starts_with("Unexpected end of file reading the append only file")));

        // Garbage in the middle: a clear refusal naming the file.
        let mut disk = r.disk;
        disk.files.insert(
            INCR.into(),
            b"*2\r\n$3\r\nDEL\r\n$1\r\na\r\ngarbage\r\n".to_vec(),
        );
        let r = TestServer::with_disk(debug_config(), disk, false);
        assert_eq!(r.exited, Some(1));
        assert!(r.logs.iter().any(|l| l == &format!("Bad file format reading the append only file {INCR}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")));

        // A read that inspects its client is harmless in an AOF.
        let mut disk = r.disk;
        disk.files.insert(
            INCR.into(),
            b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                .to_vec(),
        );
        let mut r = TestServer::with_disk(debug_config(), disk, false);
        assert_eq!(r.exited, None);
        assert_eq!(r.cmd(&["GET", "k"]), Frame::bulk("v"));

        // An unknown command, and a broken manifest.
        let mut disk = r.disk;
        disk.files
            .insert(INCR.into(), b"*1\r\n$5\r\nBOGUS\r\n".to_vec());
        let r = TestServer::with_disk(debug_config(), disk, false);
        assert!(r
            .logs
            .iter()
            .any(|l| l == &format!("Unknown command 'BOGUS' reading the append only file {INCR}")));
        let mut disk = r.disk;
        disk.files
            .insert(MANIFEST.into(), b"file a seq 1 type q\n".to_vec());
        let r = TestServer::with_disk(debug_config(), disk, false);
        assert_eq!(r.exited, Some(1));
        assert!(r.logs.iter().any(|l| l == "Unknown AOF file type\n"));
    }

    /// SHUTDOWN while the first rewrite of an AOF turned on at runtime runs is
    /// refused (no file holds the dataset yet), unless FORCE; a signal's too.
    #[test]
    fn shutdown_is_refused_while_the_initial_aof_is_written() {
        let mut t = TestServer::with_config(Config {
            save: Vec::new(),
            ..Default::default()
        });
        t.cmd(&["SET", "a", "1"]);
        t.hold_io = true;
        assert_eq!(t.cmd(&["CONFIG", "SET", "appendonly", "yes"]), Frame::ok());
        assert_eq!(
            t.cmd(&["SHUTDOWN"]),
            Frame::err("ERR Errors trying to SHUTDOWN. Check logs.")
        );
        let tail: Vec<&str> = t
            .logs
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            tail,
            [
                "User requested shutdown...",
                "Writing initial AOF, can't exit.",
                "Errors trying to shut down the server. Check the logs for more information."
            ]
        );
        assert_eq!(t.exited, None);
        t.server.handle(
            t.now,
            crate::io::Event::Signal(crate::io::Signal::Terminate),
        );
        t.drain();
        assert_eq!(t.exited, None);
        assert_eq!(
            t.logs.last().unwrap(),
            "Errors trying to shut down the server. Check the logs for more information."
        );
        // The server goes on, the rewrite is not killed.
        let c = t.default_conn();
        t.send_raw(c, &encode_command(&[b"SET", b"b", b"2"]));
        assert!(t.server.aof.rewrite_in_progress());
        t.send_raw(c, &encode_command(&[b"SHUTDOWN", b"FORCE"]));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Writing initial AOF. Exit anyway."));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "There is a child rewriting the AOF. Killing it!"));
        t.hold_io = false;
        t.drain();
        assert_eq!(t.exited, Some(0));

        // Once the initial base is in place, SHUTDOWN kills later rewrites freely.
        let mut u = TestServer::with_config(Config {
            save: Vec::new(),
            ..Default::default()
        });
        u.cmd(&["SET", "a", "1"]);
        assert_eq!(u.cmd(&["CONFIG", "SET", "appendonly", "yes"]), Frame::ok());
        u.fire_timers();
        assert_eq!(info_field(&mut u, "aof_rewrite_in_progress"), "0");
        u.hold_io = true;
        u.cmd(&["BGREWRITEAOF"]);
        let c = u.default_conn();
        u.send_raw(c, &encode_command(&[b"SHUTDOWN"]));
        u.hold_io = false;
        u.drain();
        assert_eq!(u.exited, Some(0));
    }

    /// An AOF from before Redis 7 (one `appendonly.aof` in `dir`, no manifest) is
    /// moved into the AOF directory under a manifest naming it as the base, loaded,
    /// and appended to through a new incr file, as Redis 7 upgrades it.
    #[test]
    fn an_old_single_file_aof_is_upgraded_to_the_multi_part_layout() {
        let old = encode_command(&[b"SET", b"a", b"1"])
            .into_iter()
            .chain(encode_command(&[b"RPUSH", b"l", b"x", b"y"]))
            .collect::<Vec<u8>>();
        for (dir, crashed_midway) in [("", false), ("/data", false), ("", true)] {
            let mut disk = MemDisk::default();
            let path = |name: &str| {
                if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                }
            };
            disk.files.insert(path("appendonly.aof"), old.clone());
            if crashed_midway {
                // A migration that stopped after its manifest: done again.
                disk.files.insert(
                    path(MANIFEST),
                    b"file appendonly.aof seq 1 type b\n".to_vec(),
                );
            }
            let config = Config {
                appendonly: true,
                dir: dir.into(),
                ..Default::default()
            };
            let mut t = TestServer::with_disk(config.clone(), disk, false);
            assert!(t.logs.iter().any(|l| l
                == "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."), "{:?}", t.logs);
            assert!(!t.disk.files.contains_key(&path("appendonly.aof")));
            assert_eq!(t.disk.files[&path("appendonlydir/appendonly.aof")], old);
            assert_eq!(
                file(&t, &path(MANIFEST)),
                "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
            );
            assert_eq!(t.cmd(&["GET", "a"]), Frame::bulk("1"));
            assert_eq!(t.cmd(&["SET", "b", "2"]), Frame::ok());
            t.advance_ms(1100);
            let mut r = restart(t, config);
            assert_eq!(
                r.cmd(&["MGET", "a", "b"]),
                Frame::array_of_bulks(&["1", "2"])
            );
            assert_eq!(r.cmd(&["LLEN", "l"]), Frame::Int(2));
            // The first rewrite retires the old file like any base.
            r.cmd(&["BGREWRITEAOF"]);
            r.advance_ms(1100);
            assert_eq!(
                file(&r, &path(MANIFEST)),
                "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
            );
            assert!(!r
                .disk
                .files
                .contains_key(&path("appendonlydir/appendonly.aof")));
        }
    }

    /// DEBUG LOADAOF empties the dataset and replays the AOF files (what was just
    /// written included); the AOF appends on afterwards. With no AOF the server
    /// exits, as Redis's does.
    #[test]
    fn debug_loadaof_replays_the_files_into_an_empty_dataset() {
        let mut t = TestServer::with_config(debug_config());
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["RPUSH", "l", "x"]);
        t.cmd(&["SET", "b", "2"]);
        assert_eq!(t.cmd(&["DEBUG", "LOADAOF"]), Frame::ok());
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Append Only File loaded by DEBUG LOADAOF"));
        assert_eq!(
            t.cmd(&["MGET", "a", "b"]),
            Frame::array_of_bulks(&["1", "2"])
        );
        assert_eq!(t.cmd(&["LLEN", "l"]), Frame::Int(1));
        t.cmd(&["SET", "c", "3"]);
        t.advance_ms(1100);
        let mut r = restart(t, debug_config());
        assert_eq!(
            r.cmd(&["MGET", "a", "b", "c"]),
            Frame::array_of_bulks(&["1", "2", "3"])
        );
        // What is read is the disk's: a command added to the file behind the
        // server's back comes in.
        r.cmd(&["SET", "d", "4"]);
        r.advance_ms(1100);
        let incr = r
            .disk
            .files
            .keys()
            .find(|k| k.ends_with(".incr.aof"))
            .cloned()
            .unwrap();
        let mut extra = encode_command(&[b"SET", b"z", b"9"]);
        r.disk.files.get_mut(&incr).unwrap().append(&mut extra);
        assert_eq!(r.cmd(&["DEBUG", "LOADAOF"]), Frame::ok());
        assert_eq!(r.cmd(&["GET", "z"]), Frame::bulk("9"));
        assert_eq!(r.cmd(&["DBSIZE"]), Frame::Int(6));

        let mut off = TestServer::with_config(Config {
            appendonly: false,
            ..debug_config()
        });
        let c = off.default_conn();
        off.send_raw(c, &encode_command(&[b"DEBUG", b"LOADAOF"]));
        assert_eq!(off.exited, Some(1));
    }

    /// DEBUG LOADAOF while a rewrite's new incr file waits to be named (a slow
    /// disk): every write acknowledged before it is in the files it replays.
    #[test]
    fn debug_loadaof_during_a_rewrite_loses_no_write() {
        for fsync in [AppendFsync::Always, AppendFsync::Everysec, AppendFsync::No] {
            let config = Config {
                appendfsync: fsync,
                ..debug_config()
            };
            let mut t = TestServer::with_config(config.clone());
            t.drain();
            for i in 0..2000 {
                t.cmd(&["SET", &format!("k{i}"), "v"]);
            }
            t.hold_io = true;
            assert_eq!(
                t.cmd(&["BGREWRITEAOF"]),
                Frame::Simple("Background append only file rewriting started".into())
            );
            for i in 0..50 {
                fire(&mut t, &["SET", &format!("w{i}"), "x"]);
                fire(&mut t, &["INCR", "n"]);
            }
            fire(&mut t, &["DEBUG", "LOADAOF"]);
            t.hold_io = false;
            t.drain();
            let c = t.default_conn();
            let out = t.take_output(c);
            let text = String::from_utf8_lossy(&out);
            assert!(
                text.ends_with(":50\r\n+OK\r\n"),
                "{fsync:?}: ...{}",
                &text[text.len().saturating_sub(300)..]
            );
            assert_eq!(t.cmd(&["DBSIZE"]), Frame::Int(2051), "{fsync:?}");
            assert_eq!(t.cmd(&["GET", "n"]), Frame::bulk("50"), "{fsync:?}");
            wait_rewrite_end(&mut t);
            let want = digest(&mut t);
            let mut r = restart(t, config);
            assert_eq!(digest(&mut r), want, "{fsync:?}");
        }
    }

    /// aofRewriteLimited: after three failed rewrites in a row the automatic ones
    /// back off 1, 2, 4 ... minutes; BGREWRITEAOF by hand still runs.
    #[test]
    fn repeated_rewrite_failures_back_off_automatic_rewrites() {
        let mut t = TestServer::with_config(Config {
            auto_aof_rewrite_min_size: 100,
            ..aof_config(AppendFsync::Everysec)
        });
        // Every rewrite's temp base fails to open (the disk's failure is one-shot:
        // armed again before each second).
        let tick = |t: &mut TestServer, secs: u64| {
            for _ in 0..secs {
                t.disk.fail = Some((
                    |op| matches!(op, IoOp::Open { path, .. } if path.contains("temp-rewriteaof")),
                    MemDisk::error(IoErrorKind::Other, "Permission denied"),
                ));
                t.advance_ms(1000);
            }
        };
        let started = |t: &TestServer| {
            t.logs
                .iter()
                .filter(|l| l.starts_with("Starting automatic rewriting of AOF"))
                .count()
        };
        for i in 0..30 {
            t.cmd(&["SET", &format!("k{i}"), "some value to grow the file"]);
        }
        tick(&mut t, 10);
        assert_eq!(started(&t), 3, "{:?}", t.logs);
        assert_eq!(info_field(&mut t, "aof_rewrites_consecutive_failures"), "3");
        assert!(t.logs.iter().any(|l| l
            == "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes"));
        tick(&mut t, 45);
        assert_eq!(started(&t), 3, "limited for a minute");
        tick(&mut t, 10);
        assert_eq!(started(&t), 4);
        tick(&mut t, 10);
        assert!(t
            .logs
            .iter()
            .any(|l| l.ends_with("will retry in 2 minutes")));
        assert_eq!(started(&t), 4);
        // By hand it is not limited; once one succeeds the count is reset.
        t.disk.fail = None;
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        t.advance_ms(1000);
        assert_eq!(info_field(&mut t, "aof_rewrites_consecutive_failures"), "0");
    }

    #[test]
    fn shutdown_waits_for_the_final_fsync() {
        let mut t = aof_server(AppendFsync::No);
        t.cmd(&["SET", "a", "1"]);
        t.hold_io = true;
        let c = t.default_conn();
        t.send_raw(c, &encode_command(&[b"SHUTDOWN"]));
        assert_eq!(t.exited, None);
        t.hold_io = false;
        t.drain();
        assert_eq!(t.exited, Some(0));
        assert!(t
            .disk
            .log
            .iter()
            .rev()
            .take(2)
            .any(|op| matches!(op, IoOp::Fsync { .. })));
    }

    fn info_field(t: &mut TestServer, name: &str) -> String {
        let text = t.cmd(&["INFO", "persistence"]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    }

    /// A background rewrite (BGREWRITEAOF, or CONFIG SET appendonly yes) walks a
    /// dataset over many turns of the loop while commands land on keys it has and
    /// has not written yet; after a restart the new base plus the incr file give
    /// exactly the final dataset: nothing lost, nothing applied twice (INCRs).
    #[test]
    fn a_background_rewrite_is_point_in_time_and_loses_nothing() {
        for (preamble, turn_on) in [(true, false), (false, false), (true, true), (false, true)] {
            let mut config = debug_config();
            config.appendonly = !turn_on;
            config.aof_use_rdb_preamble = preamble;
            let mut t = TestServer::with_config(config.clone());
            for i in 0..3000 {
                t.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
            }
            for i in 0..40 {
                t.cmd(&["SET", &format!("c{i}"), "0"]);
                t.cmd(&["RPUSH", &format!("l{i}"), "a"]);
            }
            t.cmd(&["SELECT", "3"]);
            for i in 0..600 {
                t.cmd(&["SET", &format!("d{i}"), "x"]);
            }
            t.cmd(&["SELECT", "0"]);
            // Disk operations wait (as on a slow disk): each command is then one
            // turn of the rewrite, not the whole of it.
            t.hold_io = true;
            let started = if turn_on {
                assert_eq!(t.cmd(&["CONFIG", "SET", "appendonly", "yes"]), Frame::ok());
                true
            } else {
                t.cmd(&["BGREWRITEAOF"])
                    == Frame::Simple("Background append only file rewriting started".into())
            };
            assert!(started);
            assert_eq!(info_field(&mut t, "aof_rewrite_in_progress"), "1");
            assert_eq!(
                t.cmd(&["BGREWRITEAOF"]),
                Frame::err("ERR Background append only file rewriting already in progress")
            );
            assert_eq!(
                t.cmd(&["BGSAVE"]),
                Frame::err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
            );
            // Each command is a turn: the rewrite moves on a few hundred keys per
            // turn, so these land before and after its front.
            for i in 0..300 {
                fire(&mut t, &["INCR", &format!("c{}", i % 40)]);
                fire(&mut t, &["RPUSH", &format!("l{}", i % 40), &i.to_string()]);
                fire(&mut t, &["DEL", &format!("k{}", i * 7)]);
                fire(&mut t, &["SET", &format!("k{}", i * 7 + 1), "changed"]);
                fire(&mut t, &["SET", &format!("new{i}"), "n"]);
                fire(&mut t, &["PEXPIRE", &format!("k{}", i * 7 + 2), "90000000"]);
                if i == 1 {
                    fire(&mut t, &["SELECT", "3"]);
                    fire(&mut t, &["FLUSHDB"]);
                    fire(&mut t, &["SET", "after-flush", "y"]);
                    fire(&mut t, &["SELECT", "0"]);
                }
            }
            t.hold_io = false;
            t.drain();
            let c = t.default_conn();
            t.take_output(c);
            let mut guard = 0;
            while info_field(&mut t, "aof_rewrite_in_progress") == "1" {
                t.advance_ms(1);
                guard += 1;
                assert!(guard < 1000);
            }
            assert_eq!(info_field(&mut t, "aof_last_bgrewrite_status"), "ok");
            assert!(t.server.dbs.iter().all(|d| d.snapshot.is_none()));
            assert!(t
                .logs
                .iter()
                .any(|l| l == "Background AOF rewrite finished successfully"));
            let want = digest(&mut t);
            let manifest = file(&t, MANIFEST);
            assert_eq!(manifest.matches(" type b").count(), 1, "{manifest}");
            assert_eq!(manifest.matches(" type i").count(), 1, "{manifest}");
            assert!(!t.disk.files.keys().any(|f| f.contains("temp-rewriteaof")));
            config.appendonly = true;
            let mut r = restart(t, config);
            assert_eq!(
                digest(&mut r),
                want,
                "preamble {preamble}, turn on {turn_on}"
            );
            assert_eq!(r.cmd(&["GET", "c0"]), Frame::Bulk(b"8".to_vec()));
        }
    }

    /// Send a command without waiting for its reply (held while its write waits).
    fn fire(t: &mut TestServer, args: &[&str]) {
        let c = t.default_conn();
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        t.send_raw(c, &encode_command(&raw));
    }

    fn wait_rewrite_end(t: &mut TestServer) {
        let mut guard = 0;
        while info_field(t, "aof_rewrite_in_progress") == "1" {
            t.advance_ms(1);
            guard += 1;
            assert!(guard < 1000, "the rewrite never ended");
        }
    }

    /// The manifest naming the rewrite's new incr file cannot be written: nothing of
    /// the old AOF changes (no rename of a torn manifest), the writes stay on the old
    /// incr file, and the next rewrite succeeds.
    #[test]
    fn a_rewrite_whose_manifest_fails_keeps_the_old_files_and_writes_on() {
        let mut t = aof_server(AppendFsync::Always);
        t.cmd(&["SET", "a", "1"]);
        let manifest = file(&t, MANIFEST);
        // The next write is the temp manifest's (the base goes on afterwards).
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Write { .. }),
            MemDisk::error(IoErrorKind::NoSpace, "No space left on device"),
        ));
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        assert_eq!(t.cmd(&["SET", "b", "2"]), Frame::ok());
        wait_rewrite_end(&mut t);
        assert_eq!(file(&t, MANIFEST), manifest);
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Background AOF rewrite terminated with error"));
        assert!(!t.disk.files.keys().any(|f| f.contains("temp-rewriteaof")
            || f.ends_with(".2.base.rdb")
            || f.ends_with(".2.incr.aof")));
        assert!(file(&t, INCR).ends_with("$1\r\nb\r\n$1\r\n2\r\n"));
        assert_eq!(info_field(&mut t, "aof_last_bgrewrite_status"), "err");
        assert_eq!(info_field(&mut t, "aof_rewrites_consecutive_failures"), "1");
        // The next rewrite succeeds, under the names the failed one would have had.
        t.cmd(&["BGREWRITEAOF"]);
        wait_rewrite_end(&mut t);
        let manifest = file(&t, MANIFEST);
        assert!(
            manifest.contains("appendonly.aof.2.base.rdb seq 2"),
            "{manifest}"
        );
        assert!(
            manifest.contains("appendonly.aof.2.incr.aof seq 2"),
            "{manifest}"
        );
        assert_eq!(info_field(&mut t, "aof_last_bgrewrite_status"), "ok");
        let mut r = restart(t, aof_config(AppendFsync::Always));
        assert_eq!(
            r.cmd(&["MGET", "a", "b"]),
            Frame::Array(vec![Frame::Bulk(b"1".to_vec()), Frame::Bulk(b"2".to_vec())])
        );
    }

    fn aof_config(fsync: AppendFsync) -> Config {
        Config {
            appendonly: true,
            appendfsync: fsync,
            ..Default::default()
        }
    }

    /// The base (or its rename into place) fails: the manifest on disk is the one
    /// the rewrite's start made durable (old base, old and new incr files), the
    /// temp base is gone, and a restart has every write.
    #[test]
    fn a_rewrite_whose_base_or_its_rename_fails_keeps_a_loadable_aof() {
        let matchers: [crate::testing::IoMatcher; 2] = [
            |op| matches!(op, IoOp::Open { path, .. } if path.contains("temp-rewriteaof")),
            |op| matches!(op, IoOp::Rename { to, .. } if to.ends_with(".base.rdb")),
        ];
        for matcher in matchers {
            let mut t = aof_server(AppendFsync::Always);
            t.cmd(&["SET", "a", "1"]);
            t.disk.fail = Some((
                matcher,
                MemDisk::error(IoErrorKind::Other, "Input/output error"),
            ));
            t.cmd(&["BGREWRITEAOF"]);
            t.cmd(&["SET", "b", "2"]);
            wait_rewrite_end(&mut t);
            assert_eq!(info_field(&mut t, "aof_last_bgrewrite_status"), "err");
            let manifest = file(&t, MANIFEST);
            assert!(
                manifest.contains("appendonly.aof.1.base.rdb seq 1 type b"),
                "{manifest}"
            );
            assert!(
                manifest.contains("appendonly.aof.2.incr.aof seq 2 type i"),
                "{manifest}"
            );
            assert!(!t
                .disk
                .files
                .keys()
                .any(|f| f.contains("temp-rewriteaof") || f.ends_with(".2.base.rdb")));
            assert_eq!(t.cmd(&["SET", "c", "3"]), Frame::ok());
            let mut r = restart(t, aof_config(AppendFsync::Always));
            assert_eq!(
                r.cmd(&["MGET", "a", "b", "c"]),
                Frame::Array(vec![
                    Frame::Bulk(b"1".to_vec()),
                    Frame::Bulk(b"2".to_vec()),
                    Frame::Bulk(b"3".to_vec())
                ])
            );
        }
    }

    /// While a rewrite's files go in place, writes wait, a second BGREWRITEAOF is
    /// refused, and what was fed before the snapshot is written once, to the old
    /// incr file, never again to the new one.
    #[test]
    fn a_rewrite_in_flight_holds_writes_and_refuses_another() {
        let mut t = aof_server(AppendFsync::Everysec);
        t.cmd(&["INCR", "n"]);
        t.hold_io = true;
        let c = t.default_conn();
        // The first write is in flight when the second INCR comes: its bytes are
        // still in the buffer when the rewrite starts.
        t.send_raw(c, &encode_command(&[b"INCR", b"n"]));
        t.send_raw(c, &encode_command(&[b"INCR", b"n"]));
        t.send_raw(c, &encode_command(&[b"BGREWRITEAOF"]));
        t.send_raw(c, &encode_command(&[b"INCR", b"n"]));
        t.send_raw(c, &encode_command(&[b"BGREWRITEAOF"]));
        // Everything waits behind the first INCR's write (in Redis the write is
        // done before the replies leave).
        assert!(t.take_output(c).is_empty());
        assert!(t.server.aof.rewrite_in_progress());
        t.hold_io = false;
        t.drain();
        assert_eq!(
            t.take_output(c),
            b":2\r\n:3\r\n+Background append only file rewriting started\r\n:4\r\n-ERR Background append only file rewriting already in progress\r\n"
        );
        wait_rewrite_end(&mut t);
        // The last INCR is in the new incr file once, after the base that holds
        // the first three; the old incr file is history, gone.
        assert_eq!(
            file(&t, "appendonlydir/appendonly.aof.2.incr.aof"),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
        );
        assert!(!t.disk.files.contains_key(INCR));
        let mut r = restart(t, aof_config(AppendFsync::Everysec));
        assert_eq!(r.cmd(&["GET", "n"]), Frame::Bulk(b"4".to_vec()));
    }
}
