//! The server host: what a turmoil host runs to be a cinnabar server. It listens on
//! turmoil's TCP, accepts connections into the production event loop
//! (`driver::run_observed`) and records the trace.

use crate::clock::{SimWallClock, WallOffset};
use crate::disk::{DiskFaults, SimDisk};
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

/// Outbound connections on turmoil's TCP (a replica's link to its master host).
struct SimConnector;

impl driver::Connector<turmoil::net::TcpStream> for SimConnector {
    fn connect(
        &mut self,
        host: String,
        port: u16,
    ) -> driver::ConnectFuture<turmoil::net::TcpStream> {
        Box::pin(async move {
            let stream = turmoil::net::TcpStream::connect((host.as_str(), port)).await?;
            let peer = stream.peer_addr()?;
            let local = stream.local_addr()?;
            Ok(driver::Outgoing {
                stream,
                peer,
                local,
            })
        })
    }
}

/// The host software: serve until the core exits. Must run inside a turmoil host.
pub async fn serve(options: ServerOptions) -> turmoil::Result {
    serve_on(options, SimDisk::new("/")).await
}

/// [`serve`] on a disk with injected faults (kept by the caller across restarts).
pub async fn serve_with_faults(options: ServerOptions, faults: DiskFaults) -> turmoil::Result {
    serve_on(options, SimDisk::new("/").with_faults(faults)).await
}

/// The simulated process runs in the root of its host's filesystem (`disk`'s root).
async fn serve_on(options: ServerOptions, mut disk: SimDisk) -> turmoil::Result {
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
            // turmoil's accept fails only when the host is going away.
            let Ok((stream, peer)) = listener.accept().await else {
                return;
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
    let mut server = Server::new(config, seed, host, Box::new(SimProbe), clock.now());
    if let Some((seed, counts)) = crate::buggify::for_host(seed) {
        server.enable_buggify(seed, counts);
    }
    #[cfg(feature = "injected-bugs")]
    if let Some(bug) = crate::injected::for_host() {
        server.inject_bug(bug);
    }
    let stopped = driver::run_connected(
        server,
        clock,
        incoming_rx,
        signals_rx,
        &mut disk,
        &mut DropLog,
        &mut recorder,
        &mut SimConnector,
    )
    .await;
    match stopped {
        Stopped::Exit(0) | Stopped::InputsClosed => Ok(()),
        Stopped::Exit(code) => Err(format!("server exited with status {code}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceEntry;
    use std::time::{Duration, UNIX_EPOCH};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const EPOCH_SECS: u64 = 1_700_000_000;

    fn sim<'a>(wall: &WallOffset, recorder: &Recorder) -> turmoil::Sim<'a> {
        let mut sim = turmoil::Builder::new()
            .rng_seed(7)
            .epoch(UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
            .build();
        let options = ServerOptions {
            config: Config::default(),
            seed: 7,
            wall: wall.clone(),
            recorder: recorder.clone(),
        };
        sim.host("server", move || serve(options.clone()));
        sim
    }

    /// Send one request and read until `reply_len` bytes came back.
    async fn ask(
        stream: &mut turmoil::net::TcpStream,
        request: &[u8],
        reply_len: usize,
    ) -> Vec<u8> {
        stream.write_all(request).await.unwrap();
        let mut reply = vec![0u8; reply_len];
        stream.read_exact(&mut reply).await.unwrap();
        reply
    }

    #[test]
    fn serves_resp_and_records_the_trace() {
        let (wall, recorder) = (WallOffset::new(), Recorder::new());
        let mut sim = sim(&wall, &recorder);
        sim.client("client", async {
            let mut s = turmoil::net::TcpStream::connect(("server", SERVER_PORT)).await?;
            assert_eq!(ask(&mut s, b"*1\r\n$4\r\nPING\r\n", 7).await, b"+PONG\r\n");
            Ok(())
        });
        sim.run().unwrap();
        let trace = recorder.snapshot();
        let conn = trace
            .entries
            .iter()
            .find_map(|e| match e {
                TraceEntry::Accepted { conn, local, .. } => {
                    assert_eq!(local.port(), SERVER_PORT);
                    Some(*conn)
                }
                _ => None,
            })
            .expect("the connection was accepted");
        assert_eq!(trace.sent_to(conn), b"+PONG\r\n");
        assert!(trace
            .entries
            .iter()
            .any(|e| matches!(e, TraceEntry::Received { data, .. } if data.as_ref() == b"*1\r\n$4\r\nPING\r\n")));
        let first_input = trace.entries.iter().find(|e| e.is_input()).expect("inputs");
        let wall_ms = first_input.now().wall.ms();
        assert!(
            (wall_ms / 1000).abs_diff(EPOCH_SECS as i64) <= 2,
            "wall clock starts at the epoch"
        );
    }

    async fn read_line(s: &mut turmoil::net::TcpStream) -> Vec<u8> {
        let mut line = Vec::new();
        while !line.ends_with(b"\r\n") {
            line.push(s.read_u8().await.unwrap());
        }
        line.truncate(line.len() - 2);
        line
    }

    /// TIME's seconds, from a fresh request.
    async fn server_time_secs(s: &mut turmoil::net::TcpStream) -> i64 {
        s.write_all(b"*1\r\n$4\r\nTIME\r\n").await.unwrap();
        assert_eq!(read_line(s).await, b"*2");
        let mut fields = Vec::new();
        for _ in 0..2 {
            let header = read_line(s).await;
            assert_eq!(header[0], b'$');
            fields.push(read_line(s).await);
        }
        std::str::from_utf8(&fields[0]).unwrap().parse().unwrap()
    }

    #[test]
    fn wall_clock_jumps_reach_the_server_but_not_its_timers() {
        let (wall, recorder) = (WallOffset::new(), Recorder::new());
        let mut sim = sim(&wall, &recorder);
        let jumper = wall.clone();
        sim.client("client", async move {
            let mut s = turmoil::net::TcpStream::connect(("server", SERVER_PORT)).await?;
            let before = server_time_secs(&mut s).await;
            jumper.jump_ms(-3_600_000);
            let after = server_time_secs(&mut s).await;
            assert!((before - 3600 - after).abs() <= 1, "{before} -> {after}");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(())
        });
        sim.run().unwrap();
        // Timers ran at hz 10 throughout, jump or not.
        let timer_runs = recorder
            .snapshot()
            .entries
            .iter()
            .filter(|e| matches!(e, TraceEntry::Timeout { .. }))
            .count();
        assert!(timer_runs >= 9, "{timer_runs} timer runs in over a second");
    }
}
