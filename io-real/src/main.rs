//! `cinnabar-server [config-file] [--name value ...]`: redis-server's command line,
//! config syntax, startup log and signals, around the cinnabar core.

use cinnabar_core::{Config, HostInfo, LogLevel, Server, Signal};
use cinnabar_io_real::args::{self, Invocation};
use cinnabar_io_real::driver::{self, Clock, Stopped, SystemWallClock, WallClock};
use cinnabar_io_real::listen;
use cinnabar_io_real::log::Logger;
use cinnabar_io_real::probe::{CountingAllocator, RealProbe};
use std::io::Read;
use tokio::sync::mpsc;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn usage() -> &'static str {
    "Usage: ./cinnabar-server [/path/to/redis.conf] [options] [-]\n       \
     ./cinnabar-server - (read config from stdin)\n       \
     ./cinnabar-server -v or --version\n       \
     ./cinnabar-server -h or --help\n\n\
     Examples:\n       \
     ./cinnabar-server (run the server with default conf)\n       \
     ./cinnabar-server /etc/redis/6379.conf\n       \
     ./cinnabar-server --port 7777\n       \
     ./cinnabar-server /etc/myredis.conf --loglevel verbose -\n       \
     ./cinnabar-server /etc/myredis.conf --loglevel verbose\n"
}

fn os_seed() -> u64 {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    u64::from_le_bytes(bytes) ^ std::process::id() as u64
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let (config_file, config_from_stdin, options) = match args::parse(&argv) {
        Invocation::Version => {
            println!(
                "Redis server v={} sha=00000000:0 malloc=libc bits=64 build=cinnabar-{}",
                cinnabar_core::REDIS_VERSION,
                cinnabar_core::CINNABAR_VERSION
            );
            return;
        }
        Invocation::Help => {
            eprint!("{}", usage());
            return;
        }
        Invocation::Run {
            config_file,
            config_from_stdin,
            options,
        } => (config_file, config_from_stdin, options),
    };

    let mut text = String::new();
    if let Some(path) = &config_file {
        match std::fs::read_to_string(path) {
            Ok(s) => text.push_str(&s),
            Err(e) => {
                eprintln!("Fatal error, can't open config file '{path}': {e}");
                std::process::exit(1);
            }
        }
    }
    if config_from_stdin {
        let mut s = String::new();
        if std::io::stdin().read_to_string(&mut s).is_ok() {
            text.push('\n');
            text.push_str(&s);
        }
    }
    if !options.is_empty() {
        text.push('\n');
        text.push_str(&options);
    }
    let mut config = Config::default();
    if let Err(e) = config.load_from_string(&text) {
        eprint!("{}", e.report());
        std::process::exit(1);
    }
    if !config.dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            eprintln!("Can't chdir to '{}': {e}", config.dir);
            std::process::exit(1);
        }
    }
    // Like Redis (which reports getcwd()), `dir` is absolute from here on; the core
    // joins it to every file name it asks the disk for.
    if let Ok(cwd) = std::env::current_dir() {
        config.dir = cwd.display().to_string();
    }
    let pid = std::process::id();
    let mut logger = match Logger::open(&config.logfile, pid) {
        Ok(l) => l,
        Err(e) => {
            eprint!(
                "{}",
                cinnabar_core::config::ConfigFileError {
                    line: None,
                    message: format!("Can't open the log file: {e}")
                }
                .report()
            );
            std::process::exit(1);
        }
    };
    let code = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(tokio::task::LocalSet::new().run_until(serve(
            config,
            config_file,
            &mut logger,
            pid,
        )));
    std::process::exit(code);
}

async fn serve(config: Config, config_file: Option<String>, logger: &mut Logger, pid: u32) -> i32 {
    let clock = Clock::new(SystemWallClock);
    let wall = || SystemWallClock.wall(cinnabar_core::MonoNs(0));
    logger.set_role('C');
    logger.line(
        LogLevel::Warning,
        "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
        wall(),
    );
    logger.line(
        LogLevel::Warning,
        &format!(
            "Redis version={} (cinnabar {}), bits=64, commit=00000000, modified=0, pid={pid}, just started",
            cinnabar_core::REDIS_VERSION,
            cinnabar_core::CINNABAR_VERSION
        ),
        wall(),
    );
    match &config_file {
        Some(_) => logger.line(LogLevel::Warning, "Configuration loaded", wall()),
        None => logger.line(
            LogLevel::Warning,
            "Warning: no config file specified, using the default config. In order to specify a config file use ./cinnabar-server /path/to/redis.conf",
            wall(),
        ),
    }
    logger.set_role('M');

    let port = u16::try_from(config.port).expect("port is validated to 0..=65535");
    let addrs = match listen::resolve(&config.bind, port) {
        Ok(a) => a,
        Err(e) => {
            logger.line(LogLevel::Warning, &e, wall());
            return 1;
        }
    };
    let (inc_tx, inc_rx) = mpsc::channel(1024);
    let mut listening = 0;
    let backlog = i32::try_from(config.tcp_backlog).unwrap_or(i32::MAX);
    let keepalive = u64::try_from(config.tcp_keepalive_secs).unwrap_or(0);
    for b in &addrs {
        match listen::listen(b.addr, backlog) {
            Ok(l) => {
                listening += 1;
                tokio::task::spawn_local(listen::accept_loop(l, keepalive, inc_tx.clone()));
            }
            Err(e)
                if b.optional
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
                    ) => {}
            Err(e) => {
                logger.line(
                    LogLevel::Warning,
                    &format!("Warning: Could not create server TCP listening socket {}:{port}: bind: {e}", b.shown),
                    wall(),
                );
                logger.line(
                    LogLevel::Warning,
                    &format!("Failed listening on port {port} (TCP), aborting."),
                    wall(),
                );
                return 1;
            }
        }
    }
    drop(inc_tx);
    if listening == 0 && !addrs.is_empty() {
        logger.line(
            LogLevel::Warning,
            &format!("Failed listening on port {port} (TCP), aborting."),
            wall(),
        );
        return 1;
    }
    if !config.pidfile.is_empty() {
        if let Err(e) = std::fs::write(&config.pidfile, format!("{pid}\n")) {
            logger.line(
                LogLevel::Warning,
                &format!("Failed to write PID file: {e}"),
                wall(),
            );
        }
    }
    logger.line(
        LogLevel::Notice,
        "monotonic clock: POSIX clock_gettime",
        wall(),
    );
    logger.line(
        LogLevel::Notice,
        &format!("Running mode=standalone, port={port}."),
        wall(),
    );
    logger.line(LogLevel::Warning, "Server initialized", wall());

    let host = HostInfo {
        process_id: pid,
        os: os_string(),
        arch_bits: 64,
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_file: config_file
            .map(|f| {
                std::fs::canonicalize(&f)
                    .map(|p| p.display().to_string())
                    .unwrap_or(f)
            })
            .unwrap_or_default(),
        run_id: None,
        total_system_memory: total_system_memory(),
        mem_allocator: "libc".into(),
    };
    let pidfile = config.pidfile.clone();
    let server = Server::new(
        config,
        os_seed(),
        host,
        Box::new(RealProbe::new()),
        clock.now(),
    );
    logger.line(LogLevel::Notice, "Ready to accept connections", wall());

    let (sig_tx, sig_rx) = mpsc::channel(4);
    tokio::task::spawn_local(forward_signals(sig_tx));
    let mut disk = cinnabar_io_real::disk::ThreadDisk::new();
    let stopped = driver::run_connected(
        server,
        clock,
        inc_rx,
        sig_rx,
        &mut disk,
        logger,
        &mut driver::NoObserver,
        &mut cinnabar_io_real::listen::TcpConnector,
    )
    .await;
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    match stopped {
        Stopped::Exit(code) => code,
        Stopped::InputsClosed => 0,
    }
}

async fn forward_signals(tx: mpsc::Sender<Signal>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    loop {
        let sig = tokio::select! {
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        };
        if tx.send(sig).await.is_err() {
            return;
        }
    }
}

fn os_string() -> String {
    // SAFETY: uname fills the zeroed struct we pass.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a utsname struct.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

fn total_system_memory() -> u64 {
    // /proc/meminfo: "MemTotal:  24576000 kB"
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .map_or(0, |kb| kb * 1024)
}
