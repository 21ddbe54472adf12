//! The simulated disk: the core's `Effect::Io` operations carried out on turmoil's
//! per-host filesystem (`unstable-fs`: unsynced data lost on a crash, I/O latency,
//! torn writes, I/O errors, a capacity limit, as the simulation's `FsConfig` says).
//!
//! One local task per queue runs that queue's operations one at a time, in issue
//! order, through turmoil's async file API (which sleeps in simulated time for the
//! configured latency); completions go back to the loop's channel. Everything runs on
//! the host's single-threaded runtime, so a run with the same seeds replays exactly.
//! Relative paths are taken against the host's working directory (`root`).
//!
//! Faults turmoil's filesystem does not have come from [`DiskFaults`], a handle the
//! simulation keeps across crashes and restarts (its generator is seeded, so a run
//! replays): fsync latency on top of turmoil's I/O latency (long enough to make
//! everysec postpone writes), torn tails (the OS writing back part of a write before a
//! crash: a prefix of it is synced, the rest stays pending), and I/O errors and a full
//! disk for writes and fsyncs only, switched on and off by the simulation (a real disk
//! fills up and is freed; turmoil's capacity and error probability are fixed for the
//! run and hit reads too). Torn writes are made here rather than with turmoil's
//! `block_size`, which tears every pending write independently at a crash, so a
//! later write can survive an earlier lost one: a hole in the middle of a file that
//! no append-only log (Redis's included) is meant to recover from.
//!
//! turmoil's filesystem keys its state by path, not by inode: a file removed (or
//! renamed away) whose directory was not synced yet still holds the name in the
//! durable state, so a new file created under that name and fsynced writes its data
//! into the old entry, which the pending removal then deletes when the directory is
//! synced — on a real disk the new inode's data is safe. Before a name that left
//! without a directory sync is created again, the directory is synced here (one of
//! the states a real crash could leave too), so the simulation keeps POSIX's promise.

use bytes::Bytes;
use cinnabar_core::{FileId, IoError, IoErrorKind, IoId, IoOp, IoOutput, IoQueue, OpenMode};
use cinnabar_io_real::disk::io_error;
use cinnabar_io_real::driver::{Disk, IoCompletion};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use tokio::sync::mpsc;
use turmoil::fs::shim::tokio::fs;

/// One open file and its write position.
struct SimFile {
    file: fs::File,
    pos: Cell<u64>,
}

type FileTable = Rc<RefCell<HashMap<FileId, Rc<SimFile>>>>;

/// Paths removed or renamed away since their directory was last synced (see the
/// module comment), each with the number of the removal.
#[derive(Default)]
struct Left {
    next: u64,
    names: HashMap<PathBuf, u64>,
}

type LeftNames = Rc<RefCell<Left>>;

impl Left {
    fn note(&mut self, path: PathBuf) {
        self.next += 1;
        self.names.insert(path, self.next);
    }

    /// `dir` was synced by a call that started when `mark` was the last number: the
    /// removals in it from before are durable (the queues run concurrently, so one
    /// may have come during the call).
    fn synced(&mut self, dir: &Path, mark: u64) {
        self.names
            .retain(|p, n| p.parent() != Some(dir) || *n > mark);
    }
}

/// What goes wrong on a simulated disk besides what turmoil's `FsConfig` does.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    /// Probability that an fsync takes extra time, drawn up to `fsync_delay_max`.
    pub fsync_delay_probability: f64,
    pub fsync_delay_max: Duration,
    /// Probability that the OS writes back a random prefix of a write at once (a torn
    /// tail if the host then crashes).
    pub torn_write_probability: f64,
    /// While the disk is full: writes store a random prefix, then fail with ENOSPC.
    pub full: bool,
    /// While set: writes fail (after a random prefix) and fsyncs fail with EIO, each
    /// with this probability.
    pub io_error_probability: f64,
}

/// How often each fault struck (so a test can assert that its paths were taken).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub fsync_delays: u64,
    pub torn_writes: u64,
    pub full_writes: u64,
    pub write_errors: u64,
    pub fsync_errors: u64,
}

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: u64,
    counts: FaultCounts,
}

/// A shared, seeded handle on a disk's faults; clones share the state.
#[derive(Debug, Clone)]
pub struct DiskFaults(Rc<RefCell<FaultState>>);

impl DiskFaults {
    /// No faults, until [`DiskFaults::set`] says otherwise.
    pub fn new(seed: u64) -> DiskFaults {
        DiskFaults(Rc::new(RefCell::new(FaultState {
            config: FaultConfig::default(),
            // splitmix64 wants any non-degenerate start; 0 is fine for it.
            rng: seed,
            counts: FaultCounts::default(),
        })))
    }

    pub fn set(&self, config: FaultConfig) {
        self.0.borrow_mut().config = config;
    }

    pub fn update(&self, f: impl FnOnce(&mut FaultConfig)) {
        f(&mut self.0.borrow_mut().config);
    }

    pub fn config(&self) -> FaultConfig {
        self.0.borrow().config.clone()
    }

    pub fn counts(&self) -> FaultCounts {
        self.0.borrow().counts
    }

    /// splitmix64: uniform in `0..n` (n > 0).
    fn below(&self, n: u64) -> u64 {
        let mut s = self.0.borrow_mut();
        s.rng = s.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    fn chance(&self, p: f64) -> bool {
        p > 0.0 && (self.below(1 << 24) as f64) < p * (1u64 << 24) as f64
    }
}

/// What the faults decided for one write.
enum WriteFault {
    None,
    /// Write this many bytes, sync them, then write the rest.
    Torn(usize),
    /// Write this many bytes, then fail.
    Fail(usize, std::io::Error),
}

impl DiskFaults {
    fn for_write(&self, len: usize) -> WriteFault {
        let c = self.config();
        let prefix = || self.below(len as u64 + 1) as usize;
        if c.full {
            self.0.borrow_mut().counts.full_writes += 1;
            return WriteFault::Fail(prefix(), std::io::Error::from_raw_os_error(28));
        }
        if self.chance(c.io_error_probability) {
            self.0.borrow_mut().counts.write_errors += 1;
            return WriteFault::Fail(prefix(), std::io::Error::from_raw_os_error(5));
        }
        if len > 1 && self.chance(c.torn_write_probability) {
            self.0.borrow_mut().counts.torn_writes += 1;
            return WriteFault::Torn(1 + self.below(len as u64 - 1) as usize);
        }
        WriteFault::None
    }

    /// Extra latency, and whether the fsync fails.
    fn for_fsync(&self) -> (Duration, bool) {
        let c = self.config();
        let mut delay = Duration::ZERO;
        if !c.fsync_delay_max.is_zero() && self.chance(c.fsync_delay_probability) {
            self.0.borrow_mut().counts.fsync_delays += 1;
            let max = c.fsync_delay_max.as_micros() as u64;
            delay = Duration::from_micros(self.below(max + 1));
        }
        let fail = self.chance(c.io_error_probability);
        if fail {
            self.0.borrow_mut().counts.fsync_errors += 1;
        }
        (delay, fail)
    }
}

/// [`Disk`] on the turmoil host's filesystem. Must be used inside a turmoil host.
pub struct SimDisk {
    root: PathBuf,
    workers:
        HashMap<IoQueue, mpsc::UnboundedSender<(IoId, IoOp, mpsc::UnboundedSender<IoCompletion>)>>,
    files: FileTable,
    left: LeftNames,
    faults: Option<DiskFaults>,
}

impl SimDisk {
    /// A disk whose relative paths start at `root` (an absolute path).
    pub fn new(root: impl Into<PathBuf>) -> SimDisk {
        let root = root.into();
        assert!(
            root.is_absolute(),
            "the simulated working directory is absolute"
        );
        SimDisk {
            root,
            workers: HashMap::new(),
            files: Rc::new(RefCell::new(HashMap::new())),
            left: Rc::new(RefCell::new(Left::default())),
            faults: None,
        }
    }

    /// The same disk with faults injected as `faults` says.
    pub fn with_faults(mut self, faults: DiskFaults) -> SimDisk {
        self.faults = Some(faults);
        self
    }
}

impl Disk for SimDisk {
    fn submit(
        &mut self,
        id: IoId,
        queue: IoQueue,
        op: IoOp,
        done: &mpsc::UnboundedSender<IoCompletion>,
    ) {
        let (root, files, left, faults) = (&self.root, &self.files, &self.left, &self.faults);
        let worker = self.workers.entry(queue).or_insert_with(|| {
            let (tx, mut rx) =
                mpsc::unbounded_channel::<(IoId, IoOp, mpsc::UnboundedSender<IoCompletion>)>();
            let root = root.clone();
            let files = Rc::clone(files);
            let left = Rc::clone(left);
            let faults = faults.clone();
            tokio::task::spawn_local(async move {
                while let Some((id, op, done)) = rx.recv().await {
                    let result = run_op(&root, &files, &left, faults.as_ref(), op).await;
                    let _ = done.send(IoCompletion { id, result });
                }
            });
            tx
        });
        // The task ends only when this sender is dropped.
        let _ = worker.send((id, op, done.clone()));
    }
}

/// `path` against `root`, without `.` components (turmoil compares paths as given).
fn resolve(root: &Path, path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in root.join(path).components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn bad_file() -> IoError {
    IoError {
        kind: IoErrorKind::Other,
        message: "Bad file descriptor".into(),
        written: 0,
    }
}

fn lookup(files: &FileTable, file: FileId) -> Result<Rc<SimFile>, IoError> {
    files.borrow().get(&file).cloned().ok_or_else(bad_file)
}

/// Write all of `data` at the file's position, moving it.
async fn write_all(open: &SimFile, data: &[u8], already: usize) -> Result<usize, IoError> {
    let mut written = 0;
    while written < data.len() {
        match open.file.write_at(&data[written..], open.pos.get()).await {
            Ok(0) => {
                let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                return Err(io_error(&e, already + written));
            }
            Ok(n) => {
                written += n;
                open.pos.set(open.pos.get() + n as u64);
            }
            Err(e) => return Err(io_error(&e, already + written)),
        }
    }
    Ok(written)
}

async fn run_op(
    root: &Path,
    files: &FileTable,
    left: &LeftNames,
    faults: Option<&DiskFaults>,
    op: IoOp,
) -> Result<IoOutput, IoError> {
    let err = |e: std::io::Error| io_error(&e, 0);
    match op {
        IoOp::Open { file, path, mode } => {
            let path = resolve(root, &path);
            if left.borrow().names.contains_key(&path) {
                // The name is created again: its removal is made durable first.
                let dir = path.parent().expect("an absolute path").to_path_buf();
                let mark = left.borrow().next;
                fs::sync_dir(&dir).await.map_err(err)?;
                left.borrow_mut().synced(&dir, mark);
            }
            let handle = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(mode == OpenMode::Truncate)
                .open(&path)
                .await
                .map_err(err)?;
            let pos = match mode {
                OpenMode::Truncate => 0,
                OpenMode::Append => handle.metadata().await.map_err(err)?.len(),
            };
            let open = Rc::new(SimFile {
                file: handle,
                pos: Cell::new(pos),
            });
            files.borrow_mut().insert(file, open);
            Ok(IoOutput::Done)
        }
        IoOp::Write { file, data } => {
            let open = lookup(files, file)?;
            let fault = faults.map_or(WriteFault::None, |f| f.for_write(data.len()));
            match fault {
                WriteFault::None => {}
                WriteFault::Torn(at) => {
                    // The OS wrote this much back already: it survives a crash.
                    write_all(&open, &data[..at], 0).await?;
                    open.file.sync_all().await.map_err(err)?;
                    write_all(&open, &data[at..], at).await?;
                    return Ok(IoOutput::Written(data.len()));
                }
                WriteFault::Fail(at, e) => {
                    write_all(&open, &data[..at], 0).await?;
                    return Err(io_error(&e, at));
                }
            }
            Ok(IoOutput::Written(write_all(&open, &data, 0).await?))
        }
        IoOp::Fsync { file } => {
            let open = lookup(files, file)?;
            let (delay, fail) = faults.map_or((Duration::ZERO, false), |f| f.for_fsync());
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if fail {
                return Err(io_error(&std::io::Error::from_raw_os_error(5), 0));
            }
            open.file.sync_all().await.map_err(err)?;
            Ok(IoOutput::Done)
        }
        IoOp::Truncate { file, len } => {
            let open = lookup(files, file)?;
            open.file.set_len(len).await.map_err(err)?;
            open.pos.set(len);
            Ok(IoOutput::Done)
        }
        IoOp::Close { file } => {
            files.borrow_mut().remove(&file).ok_or_else(bad_file)?;
            Ok(IoOutput::Done)
        }
        IoOp::Rename { from, to } => {
            let from = resolve(root, &from);
            fs::rename(&from, resolve(root, &to)).await.map_err(err)?;
            left.borrow_mut().note(from);
            Ok(IoOutput::Done)
        }
        IoOp::FsyncDir { path } => {
            let dir = resolve(root, &path);
            let mark = left.borrow().next;
            fs::sync_dir(&dir).await.map_err(err)?;
            left.borrow_mut().synced(&dir, mark);
            Ok(IoOutput::Done)
        }
        IoOp::Remove { path } => {
            let path = resolve(root, &path);
            fs::remove_file(&path).await.map_err(err)?;
            left.borrow_mut().note(path);
            Ok(IoOutput::Done)
        }
        IoOp::Read { path, offset, len } => {
            let f = fs::File::open(resolve(root, &path)).await.map_err(err)?;
            let size = f.metadata().await.map_err(err)?.len();
            // Never allocate more than the file holds, whatever `len` says.
            let want = len.min(size.saturating_sub(offset)) as usize;
            let mut buf = vec![0u8; want];
            let mut got = 0;
            while got < want {
                match f.read_at(&mut buf[got..], offset + got as u64).await {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) => return Err(err(e)),
                }
            }
            buf.truncate(got);
            Ok(IoOutput::Data(Bytes::from(buf)))
        }
        IoOp::Stat { path } => match fs::metadata(resolve(root, &path)).await {
            Ok(m) => Ok(IoOutput::Size(Some(m.len()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IoOutput::Size(None)),
            Err(e) => {
                let e = err(e);
                if e.kind == IoErrorKind::NotFound {
                    Ok(IoOutput::Size(None))
                } else {
                    Err(e)
                }
            }
        },
        IoOp::ListDir { path } => {
            let mut names = Vec::new();
            for entry in fs::read_dir(resolve(root, &path)).await.map_err(err)? {
                let entry = entry.map_err(err)?;
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            names.sort_unstable();
            Ok(IoOutput::Names(names))
        }
        IoOp::CreateDir { path } => {
            let path = resolve(root, &path);
            match fs::create_dir(&path).await {
                Ok(()) => Ok(IoOutput::Done),
                Err(e) => match fs::metadata(&path).await {
                    Ok(m) if m.is_dir() => Ok(IoOutput::Done),
                    _ => Err(err(e)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_on_the_simulated_disk() {
        let mut sim = turmoil::Builder::new().build();
        sim.client("host", async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let mut disk = SimDisk::new("/data");
            let mut next = 0;
            let mut op = async |queue, op| {
                next += 1;
                disk.submit(IoId(next), queue, op, &tx);
                let done = rx.recv().await.expect("a completion");
                assert_eq!(done.id, IoId(next));
                done.result
            };
            let f = FileId(1);
            op(
                IoQueue::Misc,
                IoOp::CreateDir {
                    path: "/data".into(),
                },
            )
            .await
            .unwrap();
            op(IoQueue::Misc, IoOp::CreateDir { path: ".".into() })
                .await
                .unwrap();
            op(
                IoQueue::Rdb,
                IoOp::Open {
                    file: f,
                    path: "x".into(),
                    mode: OpenMode::Truncate,
                },
            )
            .await
            .unwrap();
            assert_eq!(
                op(
                    IoQueue::Rdb,
                    IoOp::Write {
                        file: f,
                        data: Bytes::from_static(b"abcdef")
                    }
                )
                .await,
                Ok(IoOutput::Written(6))
            );
            op(IoQueue::Aof, IoOp::Fsync { file: f }).await.unwrap();
            op(IoQueue::Rdb, IoOp::Truncate { file: f, len: 3 })
                .await
                .unwrap();
            op(
                IoQueue::Rdb,
                IoOp::Write {
                    file: f,
                    data: Bytes::from_static(b"Z"),
                },
            )
            .await
            .unwrap();
            // turmoil's sync_dir applies a pending rename without carrying the file's
            // pending writes along (they stay under the old name): sync first, as
            // every save does anyway.
            op(IoQueue::Rdb, IoOp::Fsync { file: f }).await.unwrap();
            op(IoQueue::Rdb, IoOp::Close { file: f }).await.unwrap();
            op(
                IoQueue::Rdb,
                IoOp::Rename {
                    from: "x".into(),
                    to: "./y".into(),
                },
            )
            .await
            .unwrap();
            op(IoQueue::Rdb, IoOp::FsyncDir { path: "".into() })
                .await
                .unwrap();
            assert_eq!(
                op(
                    IoQueue::Rdb,
                    IoOp::Read {
                        path: "/data/y".into(),
                        offset: 1,
                        len: 99
                    }
                )
                .await,
                Ok(IoOutput::Data(Bytes::from_static(b"bcZ")))
            );
            assert_eq!(
                op(IoQueue::Misc, IoOp::Stat { path: "y".into() }).await,
                Ok(IoOutput::Size(Some(4)))
            );
            assert_eq!(
                op(IoQueue::Misc, IoOp::Stat { path: "x".into() }).await,
                Ok(IoOutput::Size(None))
            );
            assert_eq!(
                op(IoQueue::Misc, IoOp::ListDir { path: "".into() }).await,
                Ok(IoOutput::Names(vec!["y".into()]))
            );
            let e = op(IoQueue::Misc, IoOp::Remove { path: "x".into() })
                .await
                .unwrap_err();
            assert_eq!(e.kind, IoErrorKind::NotFound);
            assert_eq!(e.message, "No such file or directory");
            Ok(())
        });
        sim.run().unwrap();
    }

    /// A temp file removed without a directory sync, created again under the same
    /// name, fsynced, renamed and the directory synced: after a crash the new name
    /// holds the new data (turmoil alone would give an empty file, see the module
    /// comment). AOF_CRASH_SEED=314 hit this with the rewrite's temp base.
    #[test]
    fn a_name_created_again_after_an_unsynced_removal_keeps_its_new_data() {
        let mut sim = turmoil::Builder::new().build();
        let booted = Rc::new(Cell::new(0));
        let seen = Rc::new(RefCell::new(None));
        let (b, out) = (booted.clone(), seen.clone());
        sim.host("host", move || {
            let (b, out) = (b.clone(), out.clone());
            async move {
                b.set(b.get() + 1);
                let (tx, mut rx) = mpsc::unbounded_channel();
                let mut disk = SimDisk::new("/");
                let mut next = 0;
                let mut op = async |op| {
                    next += 1;
                    disk.submit(IoId(next), IoQueue::Misc, op, &tx);
                    rx.recv().await.expect("a completion").result
                };
                if b.get() > 1 {
                    let got = op(IoOp::Read {
                        path: "y".into(),
                        offset: 0,
                        len: 99,
                    })
                    .await;
                    *out.borrow_mut() = Some(got);
                    return Ok(());
                }
                op(IoOp::CreateDir { path: ".".into() }).await.unwrap();
                for (n, data) in [b"old".as_slice(), b"new data"].into_iter().enumerate() {
                    let file = FileId(n as u64);
                    let path = "x".to_string();
                    let mode = OpenMode::Truncate;
                    op(IoOp::Open { file, path, mode }).await.unwrap();
                    let data = Bytes::copy_from_slice(data);
                    op(IoOp::Write { file, data }).await.unwrap();
                    op(IoOp::Fsync { file }).await.unwrap();
                    op(IoOp::Close { file }).await.unwrap();
                    if n == 0 {
                        op(IoOp::FsyncDir { path: ".".into() }).await.unwrap();
                        op(IoOp::Remove { path: "x".into() }).await.unwrap();
                    }
                }
                let (from, to) = ("x".into(), "y".into());
                op(IoOp::Rename { from, to }).await.unwrap();
                op(IoOp::FsyncDir { path: ".".into() }).await.unwrap();
                std::future::pending::<()>().await;
                Ok(())
            }
        });
        while booted.get() == 0 || sim.elapsed() < Duration::from_secs(1) {
            sim.step().unwrap();
        }
        sim.crash("host");
        sim.bounce("host");
        while seen.borrow().is_none() {
            sim.step().unwrap();
        }
        assert_eq!(
            seen.borrow_mut().take().unwrap(),
            Ok(IoOutput::Data(Bytes::from_static(b"new data")))
        );
    }
}
