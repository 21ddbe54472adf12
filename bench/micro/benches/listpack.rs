//! The listpack (`core/src/listpack.rs`) at the sizes small hashes, sets and lists
//! keep it (128 entries, the default `*-max-listpack-entries`): building it from small
//! integers and 10-byte strings, iterating, finding a value, indexing, and deleting
//! from the middle.

use cinnabar_core::listpack::Listpack;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

const ENTRIES: usize = 128;

fn strings() -> Vec<Vec<u8>> {
    (0..ENTRIES)
        .map(|i| format!("value:{i:04}").into_bytes())
        .collect()
}

fn built() -> Listpack {
    let mut lp = Listpack::new();
    for s in strings() {
        lp.push_back(&s);
    }
    lp
}

fn listpack(c: &mut Criterion) {
    let mut g = c.benchmark_group("listpack");
    g.sample_size(50)
        .measurement_time(std::time::Duration::from_secs(3));
    g.bench_function("push_back 128 small ints", |b| {
        b.iter(|| {
            let mut lp = Listpack::new();
            for i in 0..ENTRIES as i64 {
                lp.push_back_int(black_box(i * 37));
            }
            lp
        })
    });
    let values = strings();
    g.bench_function("push_back 128 10-byte strings", |b| {
        b.iter(|| {
            let mut lp = Listpack::new();
            for v in &values {
                lp.push_back(black_box(v));
            }
            lp
        })
    });
    let lp = built();
    g.bench_function("iterate 128 entries", |b| {
        b.iter(|| lp.iter().map(|e| e.as_bytes().len()).sum::<usize>())
    });
    g.bench_function("find the last of 128 values", |b| {
        b.iter(|| lp.find(black_box(b"value:0127"), 0, 0))
    });
    g.bench_function("get by index (middle)", |b| {
        b.iter(|| lp.get(black_box(ENTRIES / 2)).map(|e| e.as_bytes().len()))
    });
    g.bench_function("delete one entry from the middle", |b| {
        b.iter_batched(
            built,
            |mut lp| {
                lp.remove_range(ENTRIES / 2, 1);
                lp
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, listpack);
criterion_main!(benches);
