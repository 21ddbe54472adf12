//! The server host: what a turmoil host runs to be a cinnabar server. It listens on
//! turmoil's TCP, accepts connections into the production event loop
//! (`driver::run_observed`) and records the trace.

use crate::clock::{SimWallClock, WallOffset};
use crate::probe::SimProbe;
use crate::trace::Recorder;
use cinnabar_core::{Config, HostInfo, LogLevel, Server, UnixUs};
use cinnabar_io_real::driver::{self, Clock, Incoming, LogSink, Stopped};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::sync::mpsc;

/// The port the simulated server listens on (Redis's default).
pub const SERVER_PORT: u16 = 6379;
/// Accepted connections queued for the loop, as the real binary's acceptor does.
const ACCEPT_QUEUE_MAX: usize = 1024;
/// File descriptors shown in CLIENT LIST start here, as in a fresh redis-server.
const FIRST_FD: i64 = 8;
/// INFO's total_system_memory on every simulated host.
const TOTAL_SYSTEM_MEMORY_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Everything a simulated server is built from. Cloned each time turmoil (re)starts
/// the host, so a restarted server shares the wall clock and the trace.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub config: Config,
    /// Seeds the core's RNG (hash seeds, RANDOMKEY, active-expire sampling, run id).
    pub seed: u64,
    pub wall: WallOffset,
    pub recorder: Recorder,
}

/// Log lines are already in the trace (as `Log` effects): nothing else to do with them.
struct DropLog;

impl LogSink for DropLog {
    fn write(&mut self, _level: LogLevel, _message: &str, _wall: UnixUs) {}
}

/// The host software: serve until the core exits. Must run inside a turmoil host.
pub async fn serve(options: ServerOptions) -> turmoil::Result {
    let ServerOptions {
        config,
        seed,
        wall,
        mut recorder,
    } = options;
    let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), SERVER_PORT);
    let listener = turmoil::net::TcpListener::bind(bind).await?;
    let (incoming_tx, incoming_rx) = mpsc::channel(ACCEPT_QUEUE_MAX);
    tokio::task::spawn_local(async move {
        let mut fd = FIRST_FD;
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let local = stream.local_addr().unwrap_or(bind);
            let incoming = Incoming {
                stream,
                peer,
                local,
                fd,
            };
            fd += 1;
            if incoming_tx.send(incoming).await.is_err() {
                return;
            }
        }
    });
    // No process signals in a simulation: the sender is dropped at once.
    let (_, signals_rx) = mpsc::channel(1);

    let clock = Clock::new(SimWallClock::new(wall));
    let host = HostInfo {
        process_id: 1,
        os: "Linux 6.1.0 x86_64 (turmoil)".into(),
        arch_bits: 64,
        executable: "/usr/local/bin/cinnabar-server".into(),
        config_file: String::new(),
        run_id: None,
        total_system_memory: TOTAL_SYSTEM_MEMORY_BYTES,
        mem_allocator: "libc".into(),
    };
    let server = Server::new(config, seed, host, Box::new(SimProbe), clock.now());
    let stopped = driver::run_observed(
        server,
        clock,
        incoming_rx,
        signals_rx,
        &mut DropLog,
        &mut recorder,
    )
    .await;
    match stopped {
        Stopped::Exit(0) | Stopped::InputsClosed => Ok(()),
        Stopped::Exit(code) => Err(format!("server exited with status {code}").into()),
    }
}
