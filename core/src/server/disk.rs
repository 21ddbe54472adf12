//! The core's side of the disk contract (`io.rs`): fresh operation and file ids,
//! issuing `Effect::Io`, and routing each `Event::IoDone` back to the subsystem whose
//! queue the operation ran on (snapshots for `Rdb` and `Misc`, the AOF for `Aof`).

use super::Server;
use crate::io::{Effect, FileId, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel};
use std::collections::BTreeMap;

/// Ids and the operations in flight.
#[derive(Debug, Default)]
pub struct DiskState {
    next_io: u64,
    next_file: u64,
    /// Issued and not yet completed, with the queue each runs on.
    in_flight: BTreeMap<IoId, IoQueue>,
}

impl DiskState {
    /// Operations issued on `queue` and not completed yet.
    pub fn in_flight_on(&self, queue: IoQueue) -> usize {
        self.in_flight.values().filter(|q| **q == queue).count()
    }
}

impl Server {
    /// Ask the backend to run `op` on `queue`; its result comes back as
    /// `Event::IoDone` with the returned id.
    pub fn issue_io(&mut self, queue: IoQueue, op: IoOp) -> IoId {
        self.disk.next_io += 1;
        let id = IoId(self.disk.next_io);
        self.disk.in_flight.insert(id, queue);
        self.effects.push_back(Effect::Io { id, queue, op });
        id
    }

    /// A name for a file about to be opened, never used before in this process.
    pub fn new_file_id(&mut self) -> FileId {
        self.disk.next_file += 1;
        FileId(self.disk.next_file)
    }

    pub(super) fn io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        let Some(queue) = self.disk.in_flight.remove(&id) else {
            // A backend reporting an operation twice, or one never issued, is broken;
            // in a release build the report is dropped rather than misrouted.
            debug_assert!(false, "completion of unknown disk operation {id:?}");
            self.log(
                LogLevel::Warning,
                format!("Ignoring completion of unknown disk operation {}", id.0),
            );
            return;
        };
        match queue {
            // A bulk transfer to a replica reads the RDB file on the Rdb queue.
            IoQueue::Rdb if self.repl.owns_io(id) => self.repl_io_done(id, result),
            // A replica writes the payload its master sends on the Rdb queue.
            IoQueue::Rdb if self.replica.owns_io(id) => self.replica_io_done(id, result),
            IoQueue::Rdb | IoQueue::Misc => self.snapshot_io_done(id, result),
            IoQueue::Aof => self.aof_io_done(id, result),
        }
    }
}

impl Server {
    /// Completions of the `Aof` queue: the AOF module's (`server/aof.rs`).
    fn aof_io_done(&mut self, id: IoId, result: Result<IoOutput, IoError>) {
        self.aof_on_io_done(id, result);
    }
}
