//! `loadgen`: an open-loop load generator for tail latency at a fixed request rate,
//! which redis-benchmark (a closed loop: each client sends its next request when the
//! last reply arrives) cannot measure.
//!
//! Each of `--connections` threads owns one connection and sends requests on a fixed
//! schedule (`rate / connections` per second each), one in flight at a time. A
//! request's latency counts from the moment it was *scheduled*, not sent: when a slow
//! reply makes a connection fall behind, the requests that should have gone out
//! meanwhile leave at once and their waiting counts too, so a stall shows in the tail
//! instead of hiding (coordinated omission, as wrk2 corrects it). Keys are uniform over
//! the key space from a seeded generator, so two servers see the same sequence.
//!
//! Output: one line of `name=value` pairs (`achieved_rps`, `p50_ms`, `p99_ms`,
//! `p999_ms`, `max_ms`, `requests`, `errors`), for scripts (`bench/throughput.py`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

struct Options {
    host: String,
    port: u16,
    connections: usize,
    rate: f64,
    duration: Duration,
    warmup: Duration,
    command: Command,
    keyspace: u64,
    value_size: usize,
    seed: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Command {
    Set,
    Get,
}

const USAGE: &str = "usage: loadgen [--host 127.0.0.1] [--port 6379] [--connections 50] [--rate 50000] \
[--duration 10] [--warmup 2] [--command set|get] [--keyspace 1000000] [--value-size 100] [--seed 1]";

fn parse_options() -> Result<Options, String> {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        connections: 50,
        rate: 50_000.0,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        command: Command::Set,
        keyspace: 1_000_000,
        value_size: 100,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--host" => o.host = value,
            "--port" => o.port = value.parse().map_err(|e| bad(&e))?,
            "--connections" => o.connections = value.parse().map_err(|e| bad(&e))?,
            "--rate" => o.rate = value.parse().map_err(|e| bad(&e))?,
            "--duration" => {
                o.duration = Duration::from_secs_f64(value.parse().map_err(|e| bad(&e))?)
            }
            "--warmup" => o.warmup = Duration::from_secs_f64(value.parse().map_err(|e| bad(&e))?),
            "--command" => {
                o.command = match value.as_str() {
                    "set" => Command::Set,
                    "get" => Command::Get,
                    _ => return Err(format!("--command must be set or get\n{USAGE}")),
                }
            }
            "--keyspace" => o.keyspace = value.parse().map_err(|e| bad(&e))?,
            "--value-size" => o.value_size = value.parse().map_err(|e| bad(&e))?,
            "--seed" => o.seed = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if o.connections == 0 || o.rate <= 0.0 || o.keyspace == 0 {
        return Err(format!(
            "connections, rate and keyspace must be positive\n{USAGE}"
        ));
    }
    Ok(o)
}

/// SplitMix64: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn request(command: Command, key: u64, value: &[u8], out: &mut Vec<u8>) {
    let key = format!("key:{key:012}");
    out.clear();
    match command {
        Command::Set => {
            out.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
                    key.len(),
                    value.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        Command::Get => {
            out.extend_from_slice(
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            );
        }
    }
}

/// Read one reply (simple string, error, integer or bulk string); an error reply or a
/// type this tool never asks for is an `Err` with its text.
fn read_reply(reader: &mut BufReader<TcpStream>, line: &mut Vec<u8>) -> Result<(), String> {
    line.clear();
    reader
        .read_until(b'\n', line)
        .map_err(|e| format!("read: {e}"))?;
    if line.is_empty() {
        return Err("the server closed the connection".into());
    }
    let text = String::from_utf8_lossy(line).trim_end().to_string();
    match line[0] {
        b'+' | b':' => Ok(()),
        b'-' => Err(format!("error reply: {text}")),
        b'$' => {
            let len: i64 = text[1..]
                .parse()
                .map_err(|_| format!("bad bulk length: {text}"))?;
            if len >= 0 {
                let mut body = vec![0; len as usize + 2];
                reader
                    .read_exact(&mut body)
                    .map_err(|e| format!("read: {e}"))?;
            }
            Ok(())
        }
        _ => Err(format!("unexpected reply: {text}")),
    }
}

/// One connection's schedule: returns the latencies (ns, from each request's scheduled
/// time to its reply) of the requests scheduled after the warm-up.
fn run_connection(o: &Options, index: usize, start: Instant) -> Result<Vec<u64>, String> {
    let stream =
        TcpStream::connect((o.host.as_str(), o.port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let interval = Duration::from_secs_f64(o.connections as f64 / o.rate);
    // Connections start spread over one interval, not all at once.
    let offset = interval.mul_f64(index as f64 / o.connections as f64);
    let end = o.warmup + o.duration;
    let mut rng = Rng(o.seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407));
    let value = vec![b'x'; o.value_size];
    let (mut buf, mut line) = (Vec::new(), Vec::new());
    let mut latencies =
        Vec::with_capacity((o.duration.as_secs_f64() / interval.as_secs_f64()) as usize + 16);
    for k in 0u32.. {
        let due = offset + interval * k;
        if due >= end {
            break;
        }
        let scheduled = start + due;
        let now = Instant::now();
        if scheduled > now {
            std::thread::sleep(scheduled - now);
        }
        request(o.command, rng.next() % o.keyspace, &value, &mut buf);
        writer.write_all(&buf).map_err(|e| format!("write: {e}"))?;
        read_reply(&mut reader, &mut line)?;
        if due >= o.warmup {
            latencies.push(scheduled.elapsed().as_nanos() as u64);
        }
    }
    Ok(latencies)
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn main() -> ExitCode {
    let o = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Every thread starts its schedule from the same instant, a little ahead so that
    // all of them are connected by then.
    let start = Instant::now() + Duration::from_millis(200);
    let results: Vec<Result<Vec<u64>, String>> = std::thread::scope(|scope| {
        let o = &o;
        let handles: Vec<_> = (0..o.connections)
            .map(|i| scope.spawn(move || run_connection(o, i, start)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a connection thread panicked".into()))
            })
            .collect()
    });
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(l) => all.extend(l),
            Err(e) => errors.push(e),
        }
    }
    all.sort_unstable();
    let achieved = all.len() as f64 / o.duration.as_secs_f64();
    println!(
        "achieved_rps={achieved:.0} p50_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} requests={} errors={}",
        percentile_ms(&all, 50.0),
        percentile_ms(&all, 99.0),
        percentile_ms(&all, 99.9),
        all.last().map_or(f64::NAN, |&n| n as f64 / 1e6),
        all.len(),
        errors.len()
    );
    if let Some(e) = errors.first() {
        eprintln!("loadgen: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
