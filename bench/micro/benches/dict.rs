//! The hash table (`core/src/dict.rs`): growth through incremental rehashing, hits,
//! misses, delete-and-reinsert, and batched lookups with and without `prefetch`.
//! 1,000 keys stay in the cache; 1,000,000 (the throughput benchmarks' key space,
//! ~80 MB of entries) do not, which is where prefetching pays. Probes are drawn over
//! the whole key space, as many as there are keys, so the big table's lookups miss the
//! cache as the server's do. Growth is measured from empty to 1,000 keys (in the
//! cache) and to 100,000 (every rehash on the way to 128k buckets, ~3 ms a run, where
//! 1M would take ~40 ms an iteration and most of the group's time).

use cinnabar_bench_micro::{key, Name, Sequence};
use cinnabar_core::dict::Dict;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};
use std::hint::black_box;

/// Stand-in for the rest of a command between two lookups (parse, dispatch, reply):
/// a few hundred instructions that keep the CPU from overlapping one lookup's cache
/// misses with the next one's by itself, as it does in a tight loop of lookups.
fn command_work(seed: u64) -> u64 {
    let mut x = seed;
    for _ in 0..64 {
        x = black_box(x.rotate_left(7) ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(3);
    }
    x
}

fn filled(n: u64) -> Dict<u64> {
    let mut d = Dict::new(0x5EED);
    for i in 0..n {
        d.insert_new(key(i), i);
    }
    d
}

fn dict(c: &mut Criterion) {
    let mut g = c.benchmark_group("dict");
    g.sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3));
    // ~3 ms an iteration: linear sampling's 1 + 2 + ... + 30 iterations overrun 3 s.
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("insert 100k keys from empty (rehashing)", |b| {
        let keys: Vec<Vec<u8>> = (0..100_000).map(key).collect();
        b.iter_batched(
            || Dict::<u64>::new(1),
            |mut d| {
                for (i, k) in keys.iter().enumerate() {
                    d.insert_new(&k[..], i as u64);
                }
                d
            },
            BatchSize::LargeInput,
        )
    });
    g.sampling_mode(SamplingMode::Auto);
    g.bench_function("insert 1k keys from empty (rehashing)", |b| {
        let keys: Vec<Vec<u8>> = (0..1_000).map(key).collect();
        b.iter_batched(
            || Dict::<u64>::new(1),
            |mut d| {
                for (i, k) in keys.iter().enumerate() {
                    d.insert_new(&k[..], i as u64);
                }
                d
            },
            BatchSize::SmallInput,
        )
    });
    for n in [1_000u64, 1_000_000] {
        let d = filled(n);
        let mut seq = Sequence(n);
        let count = n.max(4096) as usize;
        let probes: Vec<Vec<u8>> = (0..count).map(|_| key(seq.next_u64() % n)).collect();
        let absent: Vec<Vec<u8>> = (0..count as u64).map(|i| key(n + i)).collect();
        let mut i = 0;
        g.bench_function(format!("get hit, {n} keys"), |b| {
            b.iter(|| {
                i = (i + 1) % count;
                black_box(d.get(&probes[i]))
            })
        });
        g.bench_function(format!("get miss, {n} keys"), |b| {
            b.iter(|| {
                i = (i + 1) % count;
                black_box(d.get(&absent[i]))
            })
        });
        // 16 lookups with a command's work between them, as one -P 16 read brings,
        // with and without the batch prefetch first.
        g.bench_function(format!("16 lookups, {n} keys"), |b| {
            b.iter(|| {
                i = (i + 16) % (count - 16);
                let batch = &probes[i..i + 16];
                batch
                    .iter()
                    .map(|k| command_work(*d.get(k).unwrap_or(&0)))
                    .sum::<u64>()
            })
        });
        g.bench_function(format!("16 lookups after prefetch, {n} keys"), |b| {
            b.iter(|| {
                i = (i + 16) % (count - 16);
                let batch = &probes[i..i + 16];
                let mut refs = [&b""[..]; 16];
                for (r, k) in refs.iter_mut().zip(batch) {
                    *r = k;
                }
                d.prefetch(&refs, |v| *v as usize);
                batch
                    .iter()
                    .map(|k| command_work(*d.get(k).unwrap_or(&0)))
                    .sum::<u64>()
            })
        });
    }
    let mut d = filled(100_000);
    let mut j = 0u64;
    let mut name = Name::<16>::new(b"key:");
    g.bench_function("remove and reinsert, 100k keys", |b| {
        b.iter(|| {
            j = (j + 7) % 100_000;
            let (k, v) = d.remove(name.of(j)).expect("present");
            d.insert_new(k, v);
        })
    });
    g.finish();
}

criterion_group!(benches, dict);
criterion_main!(benches);
