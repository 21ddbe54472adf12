//! The sorted-set skiplist (`core/src/types/skiplist.rs`) at 100,000 members (beyond
//! the cache, as a large leaderboard): inserts, score updates that move the member
//! (ZADD of an existing member, two searches), rank lookups both ways, a 100-member
//! range walk, and remove-and-reinsert. The timed loops write a member's name into a
//! reusable buffer (`Name`): `format!` would add an allocation and ~40% more
//! instructions to `rank_of` (callgrind), and a table of 100k prebuilt names a cache
//! miss per lookup of its own.

use cinnabar_bench_micro::{Name, Sequence};
use cinnabar_core::rng::CoreRng;
use cinnabar_core::types::skiplist::SkipList;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

const MEMBERS: u64 = 100_000;

/// `element:%012d`.
fn member() -> Name<20> {
    Name::new(b"element:")
}

fn filled(rng: &mut CoreRng) -> SkipList {
    let mut sl = SkipList::new(11);
    let mut seq = Sequence(3);
    let mut name = member();
    for i in 0..MEMBERS {
        sl.insert((seq.next_u64() % 1_000_000) as f64, name.of(i), rng);
    }
    sl
}

fn skiplist(c: &mut Criterion) {
    let mut g = c.benchmark_group("skiplist");
    g.sample_size(30)
        .measurement_time(std::time::Duration::from_secs(3));
    let mut rng = CoreRng::from_seed(1);
    g.bench_function("insert 100k random-score members", |b| {
        b.iter_batched(
            || CoreRng::from_seed(2),
            |mut rng| filled(&mut rng),
            BatchSize::LargeInput,
        )
    });
    let mut sl = filled(&mut rng);
    let mut seq = Sequence(99);
    let mut name = member();
    g.bench_function("set_score to a random score", |b| {
        b.iter(|| {
            let m = name.of(seq.next_u64() % MEMBERS);
            sl.set_score(m, (seq.next_u64() % 1_000_000) as f64, &mut rng);
        })
    });
    g.bench_function("rank_of", |b| {
        b.iter(|| black_box(sl.rank_of(name.of(seq.next_u64() % MEMBERS))))
    });
    g.bench_function("by_rank", |b| {
        b.iter(|| {
            black_box(
                sl.by_rank((seq.next_u64() % MEMBERS) as usize)
                    .map(|c| sl.score(c)),
            )
        })
    });
    g.bench_function("walk 100 members from a rank", |b| {
        b.iter(|| {
            let mut at = sl.by_rank((seq.next_u64() % (MEMBERS - 100)) as usize);
            let mut sum = 0.0;
            for _ in 0..100 {
                let Some(c) = at else { break };
                sum += sl.score(c);
                at = sl.next(c);
            }
            sum
        })
    });
    g.bench_function("remove and reinsert", |b| {
        b.iter(|| {
            let m = name.of(seq.next_u64() % MEMBERS);
            let score = sl.remove(m).expect("present");
            sl.insert(score, m, &mut rng);
        })
    });
    g.finish();
}

criterion_group!(benches, skiplist);
criterion_main!(benches);
