//! A minimal RESP client on turmoil's TCP: runs a workload program, pipelining each
//! batch, and logs every byte it wrote and read, so the checker can compare both ends
//! of each connection with the server's trace.

use crate::resp::{self, take_reply, Reply};
use crate::workload::{ClientIds, Program, Step};
use cinnabar_io_sim::{SimWallClock, SERVER_PORT};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

/// SCAN calls one full iteration may take before the client reports that the cursor
/// never came back to 0 (the keyspace has at most a few dozen keys).
const SCAN_CALLS_MAX: usize = 200;
const READ_CHUNK_BYTES: usize = 4096;

/// Everything one client did.
#[derive(Debug, Clone, Default)]
pub struct ClientLog {
    pub name: String,
    /// The client's side of the connection, as the server's Accepted event shows it.
    pub local: Option<SocketAddr>,
    pub written: Vec<u8>,
    pub read: Vec<u8>,
    pub requests: usize,
    pub replies: usize,
    /// Published messages read (by a subscriber), beside the replies.
    pub messages: usize,
    /// The program ran to its end and the server closed the connection after it.
    pub finished: bool,
    /// The blocking pop with a timeout of 0 this client waits for the reply of (the
    /// final client serves it once everybody else is done or waiting so too).
    pub waiting_forever: Option<Vec<Vec<u8>>>,
    /// Replies to the last request sent, kept by the final checker.
    pub last_reply: Option<Reply>,
}

pub type SharedLog = Rc<RefCell<ClientLog>>;

/// One connection to the server, with the bytes read but not yet parsed.
pub struct Connection {
    stream: TcpStream,
    pending: Vec<u8>,
    log: SharedLog,
}

impl Connection {
    pub async fn open(log: SharedLog) -> turmoil::Result<Connection> {
        let stream = TcpStream::connect(("server", SERVER_PORT)).await?;
        log.borrow_mut().local = Some(stream.local_addr()?);
        Ok(Connection {
            stream,
            pending: Vec::new(),
            log,
        })
    }

    async fn write(&mut self, bytes: &[u8]) -> turmoil::Result {
        self.stream.write_all(bytes).await?;
        self.log.borrow_mut().written.extend_from_slice(bytes);
        Ok(())
    }

    /// Send requests (already encoded) as one pipeline, optionally in two writes.
    pub async fn send(
        &mut self,
        bytes: &[u8],
        count: usize,
        split_at: Option<usize>,
    ) -> turmoil::Result {
        match split_at {
            Some(at) if at > 0 && at < bytes.len() => {
                self.write(&bytes[..at]).await?;
                // Let the first part travel on its own.
                tokio::time::sleep(Duration::from_millis(1)).await;
                self.write(&bytes[at..]).await?;
            }
            _ => self.write(bytes).await?,
        }
        self.log.borrow_mut().requests += count;
        Ok(())
    }

    /// Read the next whole reply.
    pub async fn reply(&mut self) -> turmoil::Result<Reply> {
        loop {
            if let Some((reply, len)) = take_reply(&self.pending)? {
                let mut log = self.log.borrow_mut();
                log.read.extend_from_slice(&self.pending[..len]);
                log.replies += 1;
                self.pending.drain(..len);
                return Ok(reply);
            }
            let mut chunk = [0u8; READ_CHUNK_BYTES];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(format!(
                    "server closed the connection with {} unparsed bytes: {}",
                    self.pending.len(),
                    resp::show(&self.pending)
                )
                .into());
            }
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// Half-close, then read until the server closes: nothing may arrive that was not
    /// asked for.
    pub async fn finish(mut self) -> turmoil::Result {
        self.stream.shutdown().await?;
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).await?;
        self.pending.extend_from_slice(&rest);
        let mut log = self.log.borrow_mut();
        if !self.pending.is_empty() {
            log.read.extend_from_slice(&self.pending);
            return Err(format!(
                "{}: unsolicited bytes after the last reply: {}",
                log.name,
                resp::show(&self.pending)
            )
            .into());
        }
        log.finished = true;
        Ok(())
    }
}

/// The connection ids the clients learned, shared by all of them.
pub type SharedIds = Rc<RefCell<ClientIds>>;

/// Run `program` on one connection, as client number `index`.
pub async fn run_program(
    program: Program,
    wall: SimWallClock,
    log: SharedLog,
    index: usize,
    ids: SharedIds,
) -> turmoil::Result {
    let mut conn = Connection::open(log.clone()).await?;
    for step in program {
        match step {
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Batch {
                requests,
                split_permille,
            } => {
                let wall_ms = wall.now_ms();
                let mut bytes = Vec::new();
                let mut last = Vec::new();
                let mut asks_id = Vec::new();
                for template in &requests {
                    let args: Vec<Vec<u8>> = template
                        .iter()
                        .map(|a| a.resolve(wall_ms, &ids.borrow()))
                        .collect();
                    resp::encode_request(&args, &mut bytes);
                    asks_id.push(
                        args.len() == 2
                            && args[0].eq_ignore_ascii_case(b"client")
                            && args[1].eq_ignore_ascii_case(b"id"),
                    );
                    last = args;
                }
                let forever = crate::model::blocking::forever_wait(&last).is_some();
                let split_at = split_permille.map(|p| bytes.len() * p as usize / 1000);
                conn.send(&bytes, requests.len(), split_at).await?;
                if forever {
                    conn.log.borrow_mut().waiting_forever = Some(last);
                }
                for asked in asks_id {
                    if let (true, Reply::Int(id)) = (asked, conn.reply().await?) {
                        ids.borrow_mut().insert(index, id);
                    }
                }
                conn.log.borrow_mut().waiting_forever = None;
            }
            Step::Pubsub { requests, frames } => {
                let wall_ms = wall.now_ms();
                let mut bytes = Vec::new();
                for template in &requests {
                    let args: Vec<Vec<u8>> = template
                        .iter()
                        .map(|a| a.resolve(wall_ms, &ids.borrow()))
                        .collect();
                    resp::encode_request(&args, &mut bytes);
                }
                conn.send(&bytes, frames, None).await?;
                let mut got = 0;
                while got < frames {
                    if crate::model::is_message(&conn.reply().await?) {
                        let mut log = conn.log.borrow_mut();
                        log.replies -= 1;
                        log.messages += 1;
                    } else {
                        got += 1;
                    }
                }
            }
            Step::ScanKey {
                command,
                key,
                count,
                pattern,
            } => {
                // Follow the cursor until 0; an error (WRONGTYPE, ...) ends the walk.
                let mut cursor = b"0".to_vec();
                for _ in 0..SCAN_CALLS_MAX {
                    let mut args = vec![command.as_bytes().to_vec(), key.clone(), cursor.clone()];
                    if let Some(p) = &pattern {
                        args.extend([b"MATCH".to_vec(), p.clone()]);
                    }
                    args.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
                    let mut bytes = Vec::new();
                    resp::encode_request(&args, &mut bytes);
                    conn.send(&bytes, 1, None).await?;
                    let next = match conn.reply().await? {
                        Reply::Array(parts) => match parts.first() {
                            Some(Reply::Bulk(c)) => c.clone(),
                            _ => break,
                        },
                        _ => break,
                    };
                    if next == b"0" {
                        break;
                    }
                    cursor = next;
                }
            }
            Step::ScanAll {
                count,
                pattern,
                type_name,
            } => {
                let mut cursor = b"0".to_vec();
                let mut calls = 0;
                loop {
                    let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
                    if let Some(p) = &pattern {
                        args.extend([b"MATCH".to_vec(), p.clone()]);
                    }
                    args.extend([b"COUNT".to_vec(), count.to_string().into_bytes()]);
                    if let Some(t) = &type_name {
                        args.extend([b"TYPE".to_vec(), t.clone()]);
                    }
                    let mut bytes = Vec::new();
                    resp::encode_request(&args, &mut bytes);
                    conn.send(&bytes, 1, None).await?;
                    let reply = conn.reply().await?;
                    let next = match &reply {
                        Reply::Array(parts) => match parts.first() {
                            Some(Reply::Bulk(c)) => c.clone(),
                            _ => return Err(format!("SCAN replied {reply:?}").into()),
                        },
                        _ => return Err(format!("SCAN replied {reply:?}").into()),
                    };
                    calls += 1;
                    if next == b"0" {
                        break;
                    }
                    if calls >= SCAN_CALLS_MAX {
                        return Err(format!("SCAN did not finish in {calls} calls").into());
                    }
                    cursor = next;
                }
            }
        }
    }
    conn.finish().await
}
