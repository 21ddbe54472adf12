//! The real disk: the core's `Effect::Io` operations carried out on the host's files
//! by one worker thread per queue, so an fsync or a large write never stalls the event
//! loop, and operations on one queue run one at a time in issue order. Completions go
//! back to the loop as [`IoCompletion`]s.
//!
//! One exception: a write to the AOF while its queue is idle runs on the loop's
//! thread, as Redis writes its AOF buffer in beforeSleep. It lands in the page cache
//! (the core holds writes back while an fsync runs, as Redis does), and the replies
//! waiting for it are released without two thread handoffs per loop turn, which cost
//! a fifth of the SET throughput under `appendfsync everysec` (bench/persistence.py).
//!
//! The open-file table is shared by the workers: a file opened on one queue may be
//! written on it and fsynced on another (Redis's background fsync of the AOF).

use crate::driver::{Disk, IoCompletion};
use cinnabar_core::{FileId, IoError, IoErrorKind, IoId, IoOp, IoOutput, IoQueue, OpenMode};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use tokio::sync::mpsc;

/// One open file: the handle and its write position.
struct OpenFile {
    file: File,
    pos: Mutex<u64>,
}

type FileTable = Arc<Mutex<HashMap<FileId, Arc<OpenFile>>>>;

/// One queue's thread, and how many of its jobs have not sent their completion yet.
struct Worker {
    jobs: std_mpsc::Sender<Job>,
    unfinished: Arc<AtomicUsize>,
}

/// Work for one queue's thread.
struct Job {
    id: IoId,
    op: IoOp,
    done: mpsc::UnboundedSender<IoCompletion>,
}

/// [`Disk`] on the host's filesystem, one thread per queue (started on first use).
/// Dropping it lets each thread finish the operation it is running and end.
#[derive(Default)]
pub struct ThreadDisk {
    workers: HashMap<IoQueue, Worker>,
    files: FileTable,
}

impl ThreadDisk {
    pub fn new() -> ThreadDisk {
        ThreadDisk::default()
    }

    fn worker(&mut self, queue: IoQueue) -> &Worker {
        let files = &self.files;
        self.workers.entry(queue).or_insert_with(|| {
            let (tx, rx) = std_mpsc::channel::<Job>();
            let files = Arc::clone(files);
            let unfinished = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&unfinished);
            std::thread::Builder::new()
                .name(format!("cinnabar-io-{queue:?}").to_lowercase())
                .spawn(move || {
                    for job in rx {
                        let result = run_op(&files, job.op);
                        // The loop has gone (exit): nobody waits for the result.
                        let _ = job.done.send(IoCompletion { id: job.id, result });
                        // Only after the completion is queued: an op run inline next
                        // must not overtake it.
                        counter.fetch_sub(1, Ordering::AcqRel);
                    }
                })
                .expect("spawn a disk worker thread");
            Worker {
                jobs: tx,
                unfinished,
            }
        })
    }
}

impl Disk for ThreadDisk {
    fn submit(
        &mut self,
        id: IoId,
        queue: IoQueue,
        op: IoOp,
        done: &mpsc::UnboundedSender<IoCompletion>,
    ) {
        let worker = self.worker(queue);
        let inline = queue == IoQueue::Aof
            && matches!(op, IoOp::Write { .. })
            && worker.unfinished.load(Ordering::Acquire) == 0;
        if inline {
            let result = run_op(&self.files, op);
            let _ = done.send(IoCompletion { id, result });
            return;
        }
        worker.unfinished.fetch_add(1, Ordering::AcqRel);
        let job = Job {
            id,
            op,
            done: done.clone(),
        };
        if let Err(std_mpsc::SendError(job)) = worker.jobs.send(job) {
            worker.unfinished.fetch_sub(1, Ordering::AcqRel);
            // The worker thread died (it panicked): report instead of losing the op.
            let _ = job.done.send(IoCompletion {
                id: job.id,
                result: Err(IoError {
                    kind: IoErrorKind::Other,
                    message: "disk worker thread is gone".into(),
                    written: 0,
                }),
            });
        }
    }
}

/// The core's view of an OS error: its kind and strerror's text (Rust's `Display`
/// appends " (os error N)", which Redis's messages do not have).
pub fn io_error(e: &std::io::Error, written: usize) -> IoError {
    let text = e.to_string();
    let message = match text.rfind(" (os error ") {
        Some(cut) if e.raw_os_error().is_some() => text[..cut].to_string(),
        _ => text,
    };
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => IoErrorKind::NotFound,
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => IoErrorKind::NoSpace,
        // turmoil's simulated disk reports ENOSPC as an `Other` error with this text.
        _ if message == "No space left on device" => IoErrorKind::NoSpace,
        _ if message == "No such file or directory" => IoErrorKind::NotFound,
        _ => IoErrorKind::Other,
    };
    IoError {
        kind,
        message,
        written,
    }
}

fn bad_file() -> IoError {
    io_error(&std::io::Error::from_raw_os_error(libc::EBADF), 0)
}

/// A directory path as the OS wants it: the empty path is the working directory.
fn dir_path(path: &str) -> &str {
    if path.is_empty() {
        "."
    } else {
        path
    }
}

fn lookup(files: &FileTable, file: FileId) -> Result<Arc<OpenFile>, IoError> {
    let table = files.lock().unwrap_or_else(|p| p.into_inner());
    table.get(&file).cloned().ok_or_else(bad_file)
}

fn run_op(files: &FileTable, op: IoOp) -> Result<IoOutput, IoError> {
    let err = |e: std::io::Error| io_error(&e, 0);
    match op {
        IoOp::Open { file, path, mode } => {
            let handle = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(mode == OpenMode::Truncate)
                .open(&path)
                .map_err(err)?;
            let pos = match mode {
                OpenMode::Truncate => 0,
                OpenMode::Append => handle.metadata().map_err(err)?.len(),
            };
            let open = Arc::new(OpenFile {
                file: handle,
                pos: Mutex::new(pos),
            });
            let mut table = files.lock().unwrap_or_else(|p| p.into_inner());
            table.insert(file, open);
            Ok(IoOutput::Done)
        }
        IoOp::Write { file, data } => {
            let open = lookup(files, file)?;
            let mut pos = open.pos.lock().unwrap_or_else(|p| p.into_inner());
            let mut written = 0;
            while written < data.len() {
                match open.file.write_at(&data[written..], *pos) {
                    Ok(0) => {
                        let e = std::io::Error::from(std::io::ErrorKind::WriteZero);
                        return Err(io_error(&e, written));
                    }
                    Ok(n) => {
                        written += n;
                        *pos += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_error(&e, written)),
                }
            }
            Ok(IoOutput::Written(written))
        }
        IoOp::Fsync { file } => {
            let open = lookup(files, file)?;
            open.file.sync_all().map_err(err)?;
            Ok(IoOutput::Done)
        }
        IoOp::Truncate { file, len } => {
            let open = lookup(files, file)?;
            let mut pos = open.pos.lock().unwrap_or_else(|p| p.into_inner());
            open.file.set_len(len).map_err(err)?;
            *pos = len;
            Ok(IoOutput::Done)
        }
        IoOp::Close { file } => {
            let mut table = files.lock().unwrap_or_else(|p| p.into_inner());
            // The handle closes when the last queue using it lets go.
            table.remove(&file).ok_or_else(bad_file)?;
            Ok(IoOutput::Done)
        }
        IoOp::Rename { from, to } => {
            std::fs::rename(&from, &to).map_err(err)?;
            Ok(IoOutput::Done)
        }
        IoOp::FsyncDir { path } => {
            File::open(dir_path(&path))
                .and_then(|d| d.sync_all())
                .map_err(err)?;
            Ok(IoOutput::Done)
        }
        IoOp::Remove { path } => {
            std::fs::remove_file(&path).map_err(err)?;
            Ok(IoOutput::Done)
        }
        IoOp::Read { path, offset, len } => {
            let f = File::open(&path).map_err(err)?;
            let size = f.metadata().map_err(err)?.len();
            // Never allocate more than the file holds, whatever `len` says.
            let want = len.min(size.saturating_sub(offset));
            let mut buf = Vec::with_capacity(want as usize);
            let mut reader = FileAt {
                file: &f,
                pos: offset,
            }
            .take(want);
            reader.read_to_end(&mut buf).map_err(err)?;
            Ok(IoOutput::Data(buf.into()))
        }
        IoOp::Stat { path } => match std::fs::metadata(&path) {
            Ok(m) => Ok(IoOutput::Size(Some(m.len()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(IoOutput::Size(None)),
            Err(e) => Err(err(e)),
        },
        IoOp::ListDir { path } => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir_path(&path)).map_err(err)? {
                let entry = entry.map_err(err)?;
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            names.sort_unstable();
            Ok(IoOutput::Names(names))
        }
        IoOp::CreateDir { path } => match std::fs::create_dir(&path) {
            Ok(()) => Ok(IoOutput::Done),
            Err(e)
                if e.kind() == std::io::ErrorKind::AlreadyExists && Path::new(&path).is_dir() =>
            {
                Ok(IoOutput::Done)
            }
            Err(e) => Err(err(e)),
        },
    }
}

/// Positional reads as a `Read`, so `take` bounds them.
struct FileAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for FileAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn run(
        disk: &mut ThreadDisk,
        rx: &mut mpsc::UnboundedReceiver<IoCompletion>,
        tx: &mpsc::UnboundedSender<IoCompletion>,
        queue: IoQueue,
        op: IoOp,
    ) -> Result<IoOutput, IoError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = IoId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        disk.submit(id, queue, op, tx);
        let done = rx.blocking_recv().expect("a completion");
        assert_eq!(done.id, id);
        done.result
    }

    #[test]
    fn aof_ops_complete_in_issue_order_whether_inline_or_on_the_worker() {
        let dir = std::env::temp_dir().join(format!("cinnabar-disk-aof-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("a.aof").to_string_lossy().into_owned();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut disk = ThreadDisk::new();
        let f = FileId(7);
        let mut ops = vec![IoOp::Open {
            file: f,
            path: path.clone(),
            mode: OpenMode::Truncate,
        }];
        let mut want = Vec::new();
        for i in 0..200u32 {
            let line = format!("write {i}\n");
            want.extend_from_slice(line.as_bytes());
            ops.push(IoOp::Write {
                file: f,
                data: Bytes::from(line),
            });
            // A worker's fsync now and then: the writes behind it wait for it.
            if i % 17 == 0 {
                ops.push(IoOp::Fsync { file: f });
            }
        }
        let n = ops.len() as u64;
        // All submitted before any completion is read, as the loop does.
        for (i, op) in ops.into_iter().enumerate() {
            disk.submit(IoId(1000 + i as u64), IoQueue::Aof, op, &tx);
        }
        for i in 0..n {
            let done = rx.blocking_recv().expect("a completion");
            assert_eq!(done.id, IoId(1000 + i), "completions in issue order");
            assert!(done.result.is_ok(), "{:?}", done.result);
        }
        assert_eq!(std::fs::read(&path).expect("the file"), want);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_operation_on_real_files() {
        let dir = std::env::temp_dir().join(format!("cinnabar-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut disk = ThreadDisk::new();
        let mut op = |queue, op| run(&mut disk, &mut rx, &tx, queue, op);
        assert_eq!(
            op(IoQueue::Misc, IoOp::CreateDir { path: d("") }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(IoQueue::Misc, IoOp::CreateDir { path: d("") }),
            Ok(IoOutput::Done)
        );
        let f = FileId(1);
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Open {
                    file: f,
                    path: d("a"),
                    mode: OpenMode::Truncate
                }
            ),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Write {
                    file: f,
                    data: Bytes::from_static(b"hello world")
                }
            ),
            Ok(IoOutput::Written(11))
        );
        // A file opened on one queue can be fsynced on another.
        assert_eq!(
            op(IoQueue::Misc, IoOp::Fsync { file: f }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(IoQueue::Rdb, IoOp::Truncate { file: f, len: 5 }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Write {
                    file: f,
                    data: Bytes::from_static(b"!")
                }
            ),
            Ok(IoOutput::Written(1))
        );
        assert_eq!(
            op(IoQueue::Rdb, IoOp::Close { file: f }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Open {
                    file: f,
                    path: d("a"),
                    mode: OpenMode::Append
                }
            ),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Write {
                    file: f,
                    data: Bytes::from_static(b"?")
                }
            ),
            Ok(IoOutput::Written(1))
        );
        assert_eq!(
            op(IoQueue::Rdb, IoOp::Close { file: f }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Rename {
                    from: d("a"),
                    to: d("b")
                }
            ),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(IoQueue::Rdb, IoOp::FsyncDir { path: d("") }),
            Ok(IoOutput::Done)
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Read {
                    path: d("b"),
                    offset: 0,
                    len: 100
                }
            ),
            Ok(IoOutput::Data(Bytes::from_static(b"hello!?")))
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Read {
                    path: d("b"),
                    offset: 5,
                    len: 1
                }
            ),
            Ok(IoOutput::Data(Bytes::from_static(b"!")))
        );
        assert_eq!(
            op(
                IoQueue::Rdb,
                IoOp::Read {
                    path: d("b"),
                    offset: 50,
                    len: u64::MAX
                }
            ),
            Ok(IoOutput::Data(Bytes::new()))
        );
        assert_eq!(
            op(IoQueue::Misc, IoOp::Stat { path: d("b") }),
            Ok(IoOutput::Size(Some(7)))
        );
        assert_eq!(
            op(IoQueue::Misc, IoOp::Stat { path: d("a") }),
            Ok(IoOutput::Size(None))
        );
        assert_eq!(
            op(IoQueue::Misc, IoOp::ListDir { path: d("") }),
            Ok(IoOutput::Names(vec!["b".into()]))
        );
        let missing = op(IoQueue::Misc, IoOp::Remove { path: d("a") }).unwrap_err();
        assert_eq!(missing.kind, IoErrorKind::NotFound);
        assert_eq!(missing.message, "No such file or directory");
        let bad = op(IoQueue::Aof, IoOp::Fsync { file: FileId(99) }).unwrap_err();
        assert_eq!(bad.message, "Bad file descriptor");
        assert_eq!(
            op(IoQueue::Misc, IoOp::Remove { path: d("b") }),
            Ok(IoOutput::Done)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
