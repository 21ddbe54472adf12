//! The event loop's half of the write contract, on real sockets and in process: every
//! byte of every `Effect::Send` is reported back exactly once as written
//! (`Event::Sent`) while the peer reads; a peer that stops reading leaves bytes
//! unreported, which the core counts against client-output-buffer-limit; and
//! `Effect::Abort` ends the connection without waiting for that peer.

use cinnabar_core::io::NullProbe;
use cinnabar_core::{Config, ConnId, Effect, Event, HostInfo, LogLevel, Now, Server, UnixUs};
use cinnabar_io_real::driver::{self, Clock, Incoming, LogSink, Observer, SystemWallClock};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A liveness bound for waits that end as soon as their condition holds.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    handed: usize,
    reported: usize,
    aborted: bool,
}

/// Counts, per connection, bytes handed to the loop and bytes it reported written.
#[derive(Clone, Default)]
struct Counting(Rc<RefCell<HashMap<ConnId, Tally>>>);

impl Counting {
    fn get(&self, conn: ConnId) -> Tally {
        self.0.borrow().get(&conn).copied().unwrap_or_default()
    }
}

impl Observer for Counting {
    fn on_event(&mut self, _now: Now, event: &Event<'_>) {
        if let Event::Sent { conn, bytes } = *event {
            let mut all = self.0.borrow_mut();
            let t = all.entry(conn).or_default();
            t.reported += bytes;
            assert!(
                t.reported <= t.handed,
                "more reported written than handed over"
            );
        }
    }
    fn on_timeout(&mut self, _now: Now) {}
    fn on_effect(&mut self, effect: &Effect) {
        let mut all = self.0.borrow_mut();
        match effect {
            Effect::Send { conn, data } => all.entry(*conn).or_default().handed += data.len(),
            Effect::Abort { conn } => all.entry(*conn).or_default().aborted = true,
            _ => {}
        }
    }
}

struct Logs(Rc<RefCell<Vec<String>>>);

impl LogSink for Logs {
    fn write(&mut self, _level: LogLevel, message: &str, _wall: UnixUs) {
        self.0.borrow_mut().push(message.to_string());
    }
}

/// Run the real loop on a real listener inside `body`; returns once `body` is done.
fn with_server<F, Fut>(config: Config, body: F)
where
    F: FnOnce(std::net::SocketAddr, Counting, Rc<RefCell<Vec<String>>>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (incoming_tx, incoming_rx) = mpsc::channel(16);
        tokio::task::spawn_local(async move {
            let mut fd = 10;
            while let Ok((stream, peer)) = listener.accept().await {
                let local = stream.local_addr().expect("local addr");
                fd += 1;
                let inc = Incoming {
                    stream,
                    peer,
                    local,
                    fd,
                };
                if incoming_tx.send(inc).await.is_err() {
                    return;
                }
            }
        });
        let (_signals_tx, signals_rx) = mpsc::channel(1);
        let clock = Clock::new(SystemWallClock);
        let server = Server::new(
            config,
            1,
            HostInfo::default(),
            Box::new(NullProbe),
            clock.now(),
        );
        let counting = Counting::default();
        let logs = Rc::new(RefCell::new(Vec::new()));
        let mut observer = counting.clone();
        let mut sink = Logs(logs.clone());
        let server_task = tokio::task::spawn_local(async move {
            driver::run_observed(
                server,
                clock,
                incoming_rx,
                signals_rx,
                &mut cinnabar_io_real::disk::ThreadDisk::new(),
                &mut sink,
                &mut observer,
            )
            .await
        });
        tokio::time::timeout(PATIENCE, body(addr, counting, logs))
            .await
            .expect("the test finished in time");
        server_task.abort();
    });
}

fn command(args: &[&[u8]]) -> Vec<u8> {
    cinnabar_core::testing::encode_command(args)
}

/// Read until `want` bytes have arrived.
async fn read_exactly(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut buf = vec![0u8; want];
    stream.read_exact(&mut buf).await.expect("read");
    buf
}

async fn until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn every_byte_sent_is_reported_written_once() {
    with_server(Config::default(), |addr, counting, _logs| async move {
        let mut c = TcpStream::connect(addr).await.expect("connect");
        let big = vec![b'v'; 1 << 20];
        c.write_all(&command(&[b"SET", b"big", &big]))
            .await
            .unwrap();
        assert_eq!(read_exactly(&mut c, 5).await, b"+OK\r\n");
        let mut batch = Vec::new();
        for _ in 0..20 {
            batch.extend(command(&[b"GET", b"big"]));
        }
        c.write_all(&batch).await.unwrap();
        let one = format!("${}\r\n", big.len()).len() + big.len() + 2;
        let got = read_exactly(&mut c, 20 * one).await;
        assert!(got.starts_with(b"$1048576\r\nvvv"));
        // Connection ids start at 1: this is the only client.
        let conn = ConnId(1);
        until(|| {
            let t = counting.get(conn);
            t.reported == t.handed
        })
        .await;
        let t = counting.get(conn);
        assert_eq!(t.handed, 5 + 20 * one);
        assert!(!t.aborted);
    });
}

#[test]
fn a_peer_that_stops_reading_leaves_output_unreported_until_aborted() {
    let mut config = Config::default();
    config
        .set_many(&[(b"client-output-buffer-limit", b"pubsub 2mb 0 0")])
        .expect("valid limits");
    with_server(config, |addr, counting, logs| async move {
        let mut slow = TcpStream::connect(addr).await.expect("connect");
        slow.write_all(&command(&[b"SUBSCRIBE", b"ch"]))
            .await
            .unwrap();
        let confirm = b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
        assert_eq!(read_exactly(&mut slow, confirm.len()).await, confirm);
        let slow_conn = ConnId(1);
        let mut publisher = TcpStream::connect(addr).await.expect("connect");
        let message = vec![b'm'; 64 * 1024];
        let mut largest_backlog = 0;
        for _ in 0..1000 {
            publisher
                .write_all(&command(&[b"PUBLISH", b"ch", &message]))
                .await
                .unwrap();
            let reply = read_exactly(&mut publisher, 4).await;
            let t = counting.get(slow_conn);
            largest_backlog = largest_backlog.max(t.handed - t.reported);
            if t.aborted {
                break;
            }
            assert_eq!(reply, b":1\r\n");
        }
        let t = counting.get(slow_conn);
        assert!(t.aborted, "the slow subscriber was never cut off");
        assert!(t.reported < t.handed, "its last output was never written");
        assert!(
            largest_backlog > 0,
            "unwritten output was visible to the core"
        );
        assert!(logs
            .borrow()
            .iter()
            .any(|l| l
                .contains("scheduled to be closed ASAP for overcoming of output buffer limits.")));
        // The connection is gone: draining what reached the socket ends in EOF (or a
        // reset), not in a wait for output the server no longer holds.
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            match slow.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
}

/// The connector behind `Effect::Connect` on the real host: a stream to the address
/// asked for (peer and local addresses as the other end sees them), and a refusal
/// reported as an error rather than a hang.
#[test]
fn tcp_connector_opens_streams_and_reports_refusals() {
    use cinnabar_io_real::driver::Connector;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut connector = cinnabar_io_real::listen::TcpConnector;
        let mut out = connector
            .connect("127.0.0.1".into(), addr.port())
            .await
            .expect("connects");
        assert_eq!(out.peer, addr);
        let (mut accepted, from) = listener.accept().await.expect("accept");
        assert_eq!(from, out.local);
        out.stream.write_all(b"PING\r\n").await.expect("write");
        assert_eq!(read_exactly(&mut accepted, 6).await, b"PING\r\n");
        drop(listener);
        drop(accepted);
        let refused = connector.connect("127.0.0.1".into(), addr.port()).await;
        let err = refused.err().expect("nobody listens any more");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        // A backend without outbound connections fails every attempt.
        let mut none = driver::NoConnector;
        let attempt: driver::ConnectFuture<TcpStream> = none.connect("127.0.0.1".into(), 1);
        assert!(attempt.await.is_err());
    });
}
