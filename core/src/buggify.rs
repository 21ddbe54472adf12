//! BUGGIFY (FoundationDB's idea): fault points inside the core's own decisions, so
//! the simulation reaches the rare-but-legal paths a real run takes once a month.
//!
//! Off unless a backend enables it, which only the simulation does
//! (`Server::enable_buggify`). Then each [`Point`] is switched on for the whole run
//! with probability 1/2, and a point that is on fires with probability 1/4 each time
//! the core asks, every draw from a generator of its own seeded by the simulation, so
//! a run replays exactly and the core's main generator (hash seeds, RANDOMKEY) draws
//! what it would draw without BUGGIFY. A point never changes what a client may
//! observe beyond what Redis itself allows: it picks among behaviours that are all
//! correct (a smaller backlog, a later cron, a reply in two writes, an odd chunk size,
//! a table resized early or rehashed slowly), so every checker must still pass.
//!
//! How often each point fired is kept in a shared counter table the simulation reads
//! for its figures.

use crate::rng::CoreRng;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The fault points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A new replication backlog holds only a few KiB whatever `repl-backlog-size`
    /// says, so short breaks need full resyncs and partial ones cut it close.
    ShrinkBacklog,
    /// serverCron runs up to half a period late.
    DelayCron,
    /// A client's reply goes out in two `Send`s cut at an odd byte.
    SplitReply,
    /// An RDB file read for loading or for a replica's full resync is read in a
    /// chunk of odd size, so records and the `$<len>` payload cross chunk borders.
    OddChunk,
    /// A database's key table is resized (grown) before it needs to be, so SCAN,
    /// RANDOMKEY and lookups meet a table in the middle of a rehash.
    ResizeTable,
    /// serverCron's incremental rehash moves one bucket instead of a thousand, so a
    /// rehash stays in progress (the slow path of a table conversion) for long.
    SlowRehash,
    /// A hash or set converted to the hash-table encoding gets its table grown insert
    /// by insert instead of sized once for every element (Redis's dictExpand), so the
    /// new table is left in the middle of a rehash for the next HSCAN, SRANDMEMBER,
    /// SPOP or HRANDFIELD.
    SlowConversion,
}

impl Point {
    pub const ALL: [Point; 7] = [
        Point::ShrinkBacklog,
        Point::DelayCron,
        Point::SplitReply,
        Point::OddChunk,
        Point::ResizeTable,
        Point::SlowRehash,
        Point::SlowConversion,
    ];

    /// The points whose on/off switch the run's generator draws, in order. Points
    /// added later draw theirs from a stream of their own, so adding one leaves every
    /// earlier seed's run as it was wherever the new point is off.
    const DRAWN_TOGETHER: usize = 6;

    pub fn name(self) -> &'static str {
        match self {
            Point::ShrinkBacklog => "shrink the replication backlog",
            Point::DelayCron => "delay serverCron",
            Point::SplitReply => "split a reply",
            Point::OddChunk => "read an RDB chunk of odd size",
            Point::ResizeTable => "resize a key table early",
            Point::SlowRehash => "rehash one bucket per cron",
            Point::SlowConversion => "grow a converted table unsized",
        }
    }

    fn index(self) -> usize {
        Point::ALL
            .iter()
            .position(|p| *p == self)
            .expect("every point is in ALL")
    }
}

/// How often each point fired, shared between the core and the simulation that
/// reads it (indexed like [`Point::ALL`]).
pub type FiredCounts = Arc<[AtomicU64; Point::ALL.len()]>;

pub fn new_counts() -> FiredCounts {
    Arc::new(std::array::from_fn(|_| AtomicU64::new(0)))
}

/// Each point's count, with its name.
pub fn read_counts(counts: &FiredCounts) -> Vec<(&'static str, u64)> {
    Point::ALL
        .iter()
        .map(|p| (p.name(), counts[p.index()].load(Ordering::Relaxed)))
        .collect()
}

/// The core's BUGGIFY state: nothing (the default, and always outside simulation),
/// or the run's generator and the points it switched on.
#[derive(Debug, Default)]
pub struct Buggify {
    on: Option<On>,
}

#[derive(Debug)]
struct On {
    rng: CoreRng,
    enabled: [bool; Point::ALL.len()],
    counts: FiredCounts,
}

impl Buggify {
    /// Switch BUGGIFY on for this run: draw which points are on.
    pub fn enable(seed: u64, counts: FiredCounts) -> Buggify {
        let mut rng = CoreRng::from_seed(seed);
        let mut later = CoreRng::from_seed(seed ^ 0x5107_C0DE_u64);
        let enabled = std::array::from_fn(|i| {
            let drawn_by = if i < Point::DRAWN_TOGETHER {
                &mut rng
            } else {
                &mut later
            };
            drawn_by.below(2) == 0
        });
        Buggify {
            on: Some(On {
                rng,
                enabled,
                counts,
            }),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// Whether `point` fires now. Always false when BUGGIFY is off.
    #[inline]
    pub fn fire(&mut self, point: Point) -> bool {
        self.arm(point).inspect(Armed::record).is_some()
    }

    /// Whether `point` fires for an effect that may not happen (a conversion the write
    /// may not need): drawn now, counted only when the holder calls
    /// [`Armed::record`]. Always `None` when BUGGIFY is off.
    #[inline]
    pub fn arm(&mut self, point: Point) -> Option<Armed> {
        let on = self.on.as_mut()?;
        let index = point.index();
        if !on.enabled[index] || on.rng.below(4) != 0 {
            return None;
        }
        Some(Armed {
            counts: on.counts.clone(),
            index,
        })
    }

    /// A value in `0..bound` from BUGGIFY's own generator (`bound > 0`), for the size
    /// of what a point that fired does. 0 when off.
    pub fn below(&mut self, bound: u64) -> u64 {
        match self.on.as_mut() {
            Some(on) => on.rng.below(bound),
            None => 0,
        }
    }
}

/// A point that fired for an effect that may not happen; see [`Buggify::arm`].
#[derive(Debug, Clone)]
pub struct Armed {
    counts: FiredCounts,
    index: usize,
}

impl Armed {
    /// The effect happened: count the point as fired.
    pub fn record(&self) {
        self.counts[self.index].fetch_add(1, Ordering::Relaxed);
    }
}

/// An armed point, for tests of what a point's holder does with it.
#[cfg(test)]
pub(crate) fn armed_for_tests() -> Armed {
    Armed {
        counts: new_counts(),
        index: Point::SlowConversion.index(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_fires() {
        let mut b = Buggify::default();
        assert!(!b.is_on());
        assert!((0..1000).all(|_| Point::ALL.iter().all(|p| !b.fire(*p))));
    }

    #[test]
    fn on_fires_the_enabled_points_sometimes_and_replays() {
        let run = |seed| {
            let counts = new_counts();
            let mut b = Buggify::enable(seed, counts.clone());
            let n = Point::ALL.len();
            let fired: Vec<bool> = (0..400).map(|i| b.fire(Point::ALL[i % n])).collect();
            (fired, read_counts(&counts))
        };
        assert_eq!(run(7), run(7));
        // Over a few seeds every point is on in some and fires about a quarter of
        // the time it is asked.
        let mut total = [0u64; Point::ALL.len()];
        for seed in 0..8 {
            for (i, (_, n)) in run(seed).1.iter().enumerate() {
                total[i] += n;
                assert!(*n == 0 || (4..=40).contains(n), "point {i} fired {n} of 57");
            }
        }
        assert!(total.iter().all(|n| *n > 0), "{total:?}");
    }

    #[test]
    fn an_armed_point_counts_only_when_recorded() {
        let counts = new_counts();
        // A seed where the point is on: some seed among the first few is.
        let mut b = (0..64)
            .map(|seed| Buggify::enable(seed, counts.clone()))
            .find(|b| b.on.as_ref().unwrap().enabled[Point::SlowConversion.index()])
            .expect("the point is on for some seed");
        let armed: Vec<Armed> = (0..200)
            .filter_map(|_| b.arm(Point::SlowConversion))
            .collect();
        assert!(!armed.is_empty());
        let count = || read_counts(&counts)[Point::SlowConversion.index()].1;
        assert_eq!(count(), 0);
        armed[0].record();
        assert_eq!(count(), 1);
        assert!(Buggify::default().arm(Point::SlowConversion).is_none());
    }
}
