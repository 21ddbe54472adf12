//! The event loop that carries out the core's contract on tokio: accepted streams and
//! bytes read become events; `Send`/`Close`/`Log`/`Exit` effects become writes, closes,
//! log lines and the loop's exit; `poll_timeout` becomes a sleep.
//!
//! Every connection gets one task that reads into a buffer and forwards each read to
//! the loop, and writes whatever the loop hands it, in order, reporting each finished
//! write back (`Event::Sent`) so the core knows how much output a peer has not taken.
//! `Abort` ends the task at once, dropping what it had not written. The loop handles
//! every event already queued before draining effects, so pipelined requests from many
//! clients are answered with one write per client per iteration.
//!
//! Disk operations (`Effect::Io`) go to a [`Disk`]: the real one runs them on worker
//! threads (`disk::ThreadDisk`), the simulated one on turmoil's filesystem. Their
//! completions come back on a channel the loop watches beside the network and become
//! `Event::IoDone`; the loop itself never waits for the disk.
//!
//! Outbound connections (`Effect::Connect`, a replica's link to its master) go to a
//! [`Connector`]: the attempt runs as a task of its own, its outcome comes back on a
//! channel and becomes `Event::Connected` (the stream then gets a connection task like
//! an accepted one) or `Event::ConnectFailed`. A `Close`/`Abort` of an id still
//! connecting gives the attempt up; a stream that arrives after that is dropped.

use bytes::{Bytes, BytesMut};
use cinnabar_core::{
    ConnId, Effect, Event, IoError, IoId, IoOp, IoOutput, IoQueue, LogLevel, MonoNs, Now, Server,
    Signal, UnixUs,
};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Bytes requested from the socket per read (Redis's PROTO_IOBUF_LEN).
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Events handled before effects are drained, bounding the latency of one iteration.
const EVENTS_PER_ITERATION_MAX: usize = 1024;
/// How long connections get to flush their last replies when the server exits.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The wall clock, as a function of the monotonic reading. Real time uses the system
/// clock; the simulator adds its own offsets to make time jump.
pub trait WallClock {
    fn wall(&self, mono: MonoNs) -> UnixUs;
}

/// The system's wall clock.
pub struct SystemWallClock;

impl WallClock for SystemWallClock {
    fn wall(&self, _mono: MonoNs) -> UnixUs {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        UnixUs(since_epoch.as_micros() as i64)
    }
}

/// A finished disk operation, on its way back to the loop.
#[derive(Debug)]
pub struct IoCompletion {
    pub id: IoId,
    pub result: Result<IoOutput, IoError>,
}

/// Carries out the core's disk operations (`Effect::Io`). Operations submitted on one
/// queue must run one at a time in submission order; queues run independently. Each
/// operation's completion is sent on `done` (a clone of it may be kept), from any
/// thread or task, once it finished.
pub trait Disk {
    fn submit(
        &mut self,
        id: IoId,
        queue: IoQueue,
        op: IoOp,
        done: &mpsc::UnboundedSender<IoCompletion>,
    );
}

/// Where log lines go.
pub trait LogSink {
    fn write(&mut self, level: LogLevel, message: &str, wall: UnixUs);
}

/// Sees, in order, every input the loop hands the core (with the `Now` it was stamped
/// with) and every effect the core asks for. The simulator records these to hash a run
/// and to replay it through a reference model; the real binary uses [`NoObserver`].
/// Observers only watch: they cannot change what the loop does.
pub trait Observer {
    /// An event, just before `Server::handle` receives it.
    fn on_event(&mut self, now: Now, event: &Event<'_>);
    /// A timer deadline, just before `Server::handle_timeout` runs.
    fn on_timeout(&mut self, now: Now);
    /// An effect, just before the loop carries it out.
    fn on_effect(&mut self, effect: &Effect);
    /// The loop has carried out every effect and is about to wait for the next
    /// input: the core is at rest, and its tables can be checked
    /// (`Server::footprint`). Nothing to do by default.
    fn on_drained(&mut self, _server: &Server) {}
}

/// The observer of the real binary: watches nothing.
pub struct NoObserver;

impl Observer for NoObserver {
    fn on_event(&mut self, _now: Now, _event: &Event<'_>) {}
    fn on_timeout(&mut self, _now: Now) {}
    fn on_effect(&mut self, _effect: &Effect) {}
}

/// A connection handed to the loop by an acceptor.
pub struct Incoming<S> {
    pub stream: S,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub fd: i64,
}

/// An outbound connection, established.
pub struct Outgoing<S> {
    pub stream: S,
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// What a [`Connector`] returns: a future run as a local task of the loop.
pub type ConnectFuture<S> = Pin<Box<dyn Future<Output = std::io::Result<Outgoing<S>>>>>;

/// Opens the outbound connections the core asks for (`Effect::Connect`): TCP on the
/// real host, turmoil's TCP in a simulation.
pub trait Connector<S> {
    fn connect(&mut self, host: String, port: u16) -> ConnectFuture<S>;
}

/// A backend that cannot open connections: every attempt fails at once.
pub struct NoConnector;

impl<S: 'static> Connector<S> for NoConnector {
    fn connect(&mut self, _host: String, _port: u16) -> ConnectFuture<S> {
        Box::pin(async {
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "Outbound connections are not supported by this backend",
            ))
        })
    }
}

/// strerror(3)'s text of a connect failure, without Rust's " (os error N)".
fn connect_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

enum NetEvent {
    Data(ConnId, Bytes),
    /// A write of this many bytes finished.
    Sent(ConnId, usize),
    Closed(ConnId),
}

/// The loop's handle on one connection task.
struct ConnHandle {
    outbound: mpsc::UnboundedSender<Outbound>,
    task: tokio::task::AbortHandle,
}

enum Outbound {
    Data(Bytes),
    Close,
}

/// What made the loop stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The core asked to exit with this code.
    Exit(i32),
    /// Every input channel closed (only in tests and simulations).
    InputsClosed,
}

/// The loop's clock: tokio's monotonic time (real or simulated) plus a wall clock.
pub struct Clock<W> {
    origin: Instant,
    wall: W,
}

impl<W: WallClock> Clock<W> {
    /// Monotonic readings start at one second so that zero never appears as a time.
    pub fn new(wall: W) -> Clock<W> {
        Clock {
            origin: Instant::now() - Duration::from_secs(1),
            wall,
        }
    }

    pub fn now(&self) -> Now {
        let mono = MonoNs(self.origin.elapsed().as_nanos() as u64);
        Now {
            mono,
            wall: self.wall.wall(mono),
        }
    }

    pub fn instant_at(&self, mono: MonoNs) -> Instant {
        self.origin + Duration::from_nanos(mono.0)
    }

    pub fn wall_clock(&self) -> &W {
        &self.wall
    }
}

/// Run `server` until it exits. `incoming` delivers accepted connections, `signals`
/// process signals. Connection tasks are spawned with `spawn_local`, so this must run
/// inside a `LocalSet` (turmoil hosts already do).
pub async fn run<S, W, D, L>(
    server: Server,
    clock: Clock<W>,
    incoming: mpsc::Receiver<Incoming<S>>,
    signals: mpsc::Receiver<Signal>,
    disk: &mut D,
    log: &mut L,
) -> Stopped
where
    S: AsyncRead + AsyncWrite + 'static,
    W: WallClock,
    D: Disk + ?Sized,
    L: LogSink,
{
    run_observed(server, clock, incoming, signals, disk, log, &mut NoObserver).await
}

/// [`run`], showing every input and effect to `observer` as it happens.
pub async fn run_observed<S, W, D, L, O>(
    server: Server,
    clock: Clock<W>,
    incoming: mpsc::Receiver<Incoming<S>>,
    signals: mpsc::Receiver<Signal>,
    disk: &mut D,
    log: &mut L,
    observer: &mut O,
) -> Stopped
where
    S: AsyncRead + AsyncWrite + 'static,
    W: WallClock,
    D: Disk + ?Sized,
    L: LogSink,
    O: Observer + ?Sized,
{
    let mut connector = NoConnector;
    run_connected(
        server,
        clock,
        incoming,
        signals,
        disk,
        log,
        observer,
        &mut connector,
    )
    .await
}

/// [`run_observed`] with outbound connections opened by `connector`.
#[allow(clippy::too_many_arguments)]
pub async fn run_connected<S, W, D, L, O, C>(
    mut server: Server,
    clock: Clock<W>,
    mut incoming: mpsc::Receiver<Incoming<S>>,
    mut signals: mpsc::Receiver<Signal>,
    disk: &mut D,
    log: &mut L,
    observer: &mut O,
    connector: &mut C,
) -> Stopped
where
    S: AsyncRead + AsyncWrite + 'static,
    W: WallClock,
    D: Disk + ?Sized,
    L: LogSink,
    O: Observer + ?Sized,
    C: Connector<S> + ?Sized,
{
    let (net_tx, mut net_rx) = mpsc::unbounded_channel::<NetEvent>();
    // The loop keeps a sender, so this channel never closes.
    let (io_tx, mut io_rx) = mpsc::unbounded_channel::<IoCompletion>();
    let mut conns: HashMap<ConnId, ConnHandle> = HashMap::new();
    // The loop keeps a sender, so this channel never closes either.
    let (connect_tx, mut connect_rx) =
        mpsc::unbounded_channel::<(ConnId, std::io::Result<Outgoing<S>>)>();
    let mut connecting: HashMap<ConnId, tokio::task::AbortHandle> = HashMap::new();
    let mut tasks = Vec::new();
    let mut next_conn = 1u64;
    let mut incoming_open = true;
    let mut signals_open = true;

    loop {
        while let Some(effect) = server.poll_effect() {
            observer.on_effect(&effect);
            match effect {
                Effect::Send { conn, data } => {
                    if let Some(h) = conns.get(&conn) {
                        // A send to a connection whose task already ended is moot.
                        let _ = h.outbound.send(Outbound::Data(data));
                    }
                }
                Effect::Close { conn } => {
                    if let Some(h) = conns.remove(&conn) {
                        let _ = h.outbound.send(Outbound::Close);
                    }
                    if let Some(attempt) = connecting.remove(&conn) {
                        attempt.abort();
                    }
                }
                Effect::Abort { conn } => {
                    if let Some(attempt) = connecting.remove(&conn) {
                        attempt.abort();
                    }
                    if let Some(h) = conns.remove(&conn) {
                        // Dropping the task drops the socket and the queued output.
                        h.task.abort();
                    }
                }
                Effect::Log { level, message } => log.write(level, &message, clock.now().wall),
                Effect::Io { id, queue, op } => disk.submit(id, queue, op, &io_tx),
                Effect::Connect { conn, host, port } => {
                    debug_assert!(conn.is_outbound());
                    let attempt = connector.connect(host, port);
                    let done = connect_tx.clone();
                    let task = tokio::task::spawn_local(async move {
                        let _ = done.send((conn, attempt.await));
                    });
                    connecting.insert(conn, task.abort_handle());
                }
                Effect::Exit { code } => {
                    for (_, attempt) in connecting.drain() {
                        attempt.abort();
                    }
                    // In connection order, so that a simulated run stays replayable.
                    let mut open: Vec<_> = conns.drain().collect();
                    open.sort_unstable_by_key(|(conn, _)| *conn);
                    for (_, h) in open {
                        let _ = h.outbound.send(Outbound::Close);
                    }
                    let flush = async {
                        for t in tasks {
                            let _ = t.await;
                        }
                    };
                    let _ = tokio::time::timeout(EXIT_FLUSH_TIMEOUT, flush).await;
                    return Stopped::Exit(code);
                }
            }
        }
        observer.on_drained(&server);
        tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
        if !incoming_open && !signals_open && conns.is_empty() && connecting.is_empty() {
            return Stopped::InputsClosed;
        }
        let deadline = server.poll_timeout().map(|m| clock.instant_at(m));
        let sleep = async {
            match deadline {
                // Already due (a background save's next turn asks for "now"): no
                // timer, since tokio's wheel rounds a deadline up to its next
                // millisecond tick, which made an idle server's BGSAVE of 5.5M keys
                // three times slower than its SAVE. The biased select below still
                // takes what the network and the disk have first.
                Some(d) if d <= Instant::now() => {}
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            sig = signals.recv(), if signals_open => match sig {
                Some(sig) => {
                    let now = clock.now();
                    let event = Event::Signal(sig);
                    observer.on_event(now, &event);
                    server.handle(now, event);
                }
                None => signals_open = false,
            },
            done = io_rx.recv() => {
                let Some(done) = done else { continue };
                let now = clock.now();
                let event = Event::IoDone { id: done.id, result: done.result };
                observer.on_event(now, &event);
                server.handle(now, event);
            }
            outcome = connect_rx.recv() => {
                let Some((conn, outcome)) = outcome else { continue };
                if connecting.remove(&conn).is_none() {
                    // Given up by the core meanwhile: drop the stream.
                    continue;
                }
                let now = clock.now();
                match outcome {
                    Ok(out) => {
                        let event = Event::Connected { conn, peer: out.peer, local: out.local };
                        observer.on_event(now, &event);
                        server.handle(now, event);
                        let (out_tx, out_rx) = mpsc::unbounded_channel();
                        let task = tokio::task::spawn_local(connection_task(conn, out.stream, net_tx.clone(), out_rx));
                        conns.insert(conn, ConnHandle { outbound: out_tx, task: task.abort_handle() });
                        tasks.push(task);
                    }
                    Err(e) => {
                        let event = Event::ConnectFailed { conn, error: connect_error_text(&e) };
                        observer.on_event(now, &event);
                        server.handle(now, event);
                    }
                }
            }
            ev = net_rx.recv() => {
                let Some(ev) = ev else { continue };
                // One reading of the clocks for the whole batch: the events were all
                // queued by the time it started, and two clock reads per event were
                // a measurable share of an unpipelined request's CPU.
                let now = clock.now();
                handle_net(&mut server, now, ev, observer);
                for _ in 0..EVENTS_PER_ITERATION_MAX {
                    match net_rx.try_recv() {
                        Ok(ev) => handle_net(&mut server, now, ev, observer),
                        Err(_) => break,
                    }
                }
            }
            inc = incoming.recv(), if incoming_open => match inc {
                Some(inc) => {
                    let conn = ConnId(next_conn);
                    next_conn += 1;
                    let (out_tx, out_rx) = mpsc::unbounded_channel();
                    let now = clock.now();
                    let event = Event::Accepted { conn, peer: inc.peer, local: inc.local, fd: inc.fd };
                    observer.on_event(now, &event);
                    server.handle(now, event);
                    let task = tokio::task::spawn_local(connection_task(conn, inc.stream, net_tx.clone(), out_rx));
                    conns.insert(conn, ConnHandle { outbound: out_tx, task: task.abort_handle() });
                    tasks.push(task);
                }
                None => incoming_open = false,
            },
            _ = sleep => {
                let now = clock.now();
                observer.on_timeout(now);
                server.handle_timeout(now);
            }
        }
    }
}

fn handle_net<O: Observer + ?Sized>(server: &mut Server, now: Now, ev: NetEvent, observer: &mut O) {
    let event = match &ev {
        NetEvent::Data(conn, data) => Event::Received { conn: *conn, data },
        NetEvent::Sent(conn, bytes) => Event::Sent {
            conn: *conn,
            bytes: *bytes,
        },
        NetEvent::Closed(conn) => Event::Closed { conn: *conn },
    };
    observer.on_event(now, &event);
    server.handle(now, event);
}

/// Read and write one connection until the core closes it or the peer goes away.
async fn connection_task<S>(
    conn: ConnId,
    stream: S,
    events: mpsc::UnboundedSender<NetEvent>,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
) where
    S: AsyncRead + AsyncWrite + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let read_events = events.clone();
    let write_events = events.clone();
    let read_loop = async move {
        let mut buf = BytesMut::with_capacity(READ_CHUNK_BYTES);
        loop {
            if buf.capacity() - buf.len() < READ_CHUNK_BYTES / 4 {
                buf.reserve(READ_CHUNK_BYTES);
            }
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if read_events
                        .send(NetEvent::Data(conn, buf.split().freeze()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = read_events.send(NetEvent::Closed(conn));
    };
    let write_loop = async move {
        while let Some(out) = outbound.recv().await {
            match out {
                Outbound::Data(data) => {
                    // Report each part the kernel takes: from then on it is no longer
                    // output this process holds for the peer.
                    let mut written = 0;
                    while written < data.len() {
                        match writer.write(&data[written..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                written += n;
                                let _ = write_events.send(NetEvent::Sent(conn, n));
                            }
                        }
                    }
                }
                Outbound::Close => {
                    let _ = writer.flush().await;
                    let _ = writer.shutdown().await;
                    return;
                }
            }
        }
    };
    tokio::pin!(read_loop, write_loop);
    tokio::select! {
        // Polled in a fixed order: an unbiased select draws from tokio's unseeded RNG,
        // which would make simulated runs differ from one another.
        biased;
        // The peer stopped sending: keep writing until the core closes the connection
        // (it answers what was already asked first).
        _ = &mut read_loop => write_loop.await,
        // The core closed the connection, or writing failed.
        _ = &mut write_loop => {}
    }
    let _ = events.send(NetEvent::Closed(conn));
}
