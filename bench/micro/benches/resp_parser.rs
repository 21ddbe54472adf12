//! The request parser (`core/src/resp/parse.rs`) on the shapes the throughput
//! benchmarks send: 16 pipelined `SET key:%012d <100 bytes>` (redis-benchmark -P 16
//! -d 100), one GET, an inline command, and one LPUSH of 100 values.

use cinnabar_bench_micro::key;
use cinnabar_core::resp::parse::{peek_key_args, RequestParser};
use cinnabar_core::resp::{Parse, ParseLimits};
use cinnabar_core::testing::encode_command;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const LIMITS: ParseLimits = ParseLimits {
    proto_max_bulk_len: 512 * 1024 * 1024,
    auth_required: false,
};

/// Parse every request in `buf` as the dispatcher does; returns how many there were.
fn parse_all(parser: &mut RequestParser, buf: &[u8]) -> usize {
    let mut at = 0;
    let mut requests = 0;
    while at < buf.len() {
        match parser.parse(&buf[at..], LIMITS) {
            Parse::Ready { consumed, inline } => {
                black_box(parser.args(&buf[at..], inline).len());
                at += consumed;
                requests += 1;
                parser.reset();
            }
            other => panic!("unexpected parse outcome {other:?}"),
        }
    }
    requests
}

fn parser(c: &mut Criterion) {
    let value = vec![b'x'; 100];
    let pipelined: Vec<u8> = (0..16)
        .flat_map(|i| encode_command(&[b"SET", &key(i * 7919), &value]))
        .collect();
    let get = encode_command(&[b"GET", &key(42)]);
    let inline = b"SET greeting \"hello world\"\r\n".to_vec();
    let values: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("element:{i}").into_bytes())
        .collect();
    let mut lpush_args: Vec<&[u8]> = vec![b"LPUSH", b"mylist"];
    lpush_args.extend(values.iter().map(|v| &v[..]));
    let lpush = encode_command(&lpush_args);

    let mut g = c.benchmark_group("resp_parser");
    g.sample_size(50)
        .measurement_time(std::time::Duration::from_secs(3));
    for (name, buf) in [
        ("16 pipelined SETs of 100 bytes", &pipelined),
        ("one GET", &get),
        ("inline SET", &inline),
        ("LPUSH of 100 values", &lpush),
    ] {
        g.throughput(Throughput::Bytes(buf.len() as u64));
        g.bench_function(name, |b| {
            let mut p = RequestParser::new();
            b.iter(|| parse_all(&mut p, black_box(buf)))
        });
    }
    g.throughput(Throughput::Bytes(pipelined.len() as u64));
    g.bench_function("look ahead over 16 pipelined SETs (prefetch)", |b| {
        let mut out = [[&b""[..]; 3]; 32];
        b.iter(|| peek_key_args(black_box(&pipelined), &mut out))
    });
    g.finish();
}

criterion_group!(benches, parser);
criterion_main!(benches);
