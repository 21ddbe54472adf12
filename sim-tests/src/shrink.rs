//! Shrinking a failing seed: for the model scenario, removing client steps and
//! wall-clock jumps (a [`Cut`]); for a fault scenario, ending its fault schedule
//! early and leaving faults out (a [`FaultCut`]) — while the run still fails the
//! same checker, so that the failure is read from a few requests or faults instead
//! of hundreds.
//!
//! Greedy delta debugging: first whole programs and single jumps, then ever smaller
//! runs of consecutive steps of each program (halves, quarters, … single steps),
//! keeping every removal after which the run still fails in the same way, until
//! nothing more can go or the time budget is spent. Each try is a full simulation of
//! the cut scenario, so the result replays exactly (`--cut` of the soak runner,
//! `SIM_CUT` of the model test).

use crate::runner::{self, Failure};
use crate::scenario::{Cut, Scenario};
use crate::scenarios::{self, FaultCut, Kind};
use std::time::{Duration, Instant};

/// A failure's class: what must stay the same while shrinking. The first line of
/// the message without its numbers, so that a cut run failing another checker (or
/// the harness) does not count as the same failure.
pub fn failure_class(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(80)
        .collect()
}

/// The result of a shrink.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub cut: Cut,
    pub failure: Failure,
    /// Steps and jumps before and after.
    pub size_before: usize,
    pub size_after: usize,
    pub tries: usize,
}

/// Shrink `seed`'s failing model run within `budget`; `progress` hears of every
/// removal kept. `None` if the seed does not fail.
pub fn shrink_model(seed: u64, budget: Duration, mut progress: impl FnMut(&str)) -> Option<Shrunk> {
    let started = Instant::now();
    let original = Scenario::from_seed(seed);
    let first = runner::run_seed(seed).err()?;
    let class = failure_class(&first.message);
    let mut best = Shrunk {
        cut: Cut::default(),
        failure: first,
        size_before: original.size(),
        size_after: original.size(),
        tries: 0,
    };
    let mut try_cut = |best: &mut Shrunk, extra: Vec<(Option<usize>, usize, usize)>| -> bool {
        if started.elapsed() > budget {
            return false;
        }
        let mut cut = best.cut.clone();
        cut.ranges.extend(extra);
        best.tries += 1;
        match runner::run_cut(seed, &cut) {
            Err(f) if failure_class(&f.message) == class => {
                let size = original.with_cut(&cut).size();
                progress(&format!("kept cut {cut}: {size} steps and jumps left"));
                best.cut = cut;
                best.failure = f;
                best.size_after = size;
                true
            }
            _ => false,
        }
    };

    // Whole programs, then single jumps.
    for client in 0..original.programs.len() {
        let len = original.programs[client].len();
        if len > 0 {
            try_cut(&mut best, vec![(Some(client), 0, len)]);
        }
    }
    for j in 0..original.jumps.len() {
        try_cut(&mut best, vec![(None, j, j + 1)]);
    }
    // Runs of consecutive surviving steps, halving their length.
    let longest = original.programs.iter().map(Vec::len).max().unwrap_or(0);
    let mut chunk = longest.div_ceil(2).max(1);
    loop {
        for client in 0..original.programs.len() {
            let mut at = 0;
            loop {
                // The surviving original indices of this program.
                let alive: Vec<usize> = (0..original.programs[client].len())
                    .filter(|&i| {
                        !best
                            .cut
                            .ranges
                            .iter()
                            .any(|&(c, f, t)| c == Some(client) && (f..t).contains(&i))
                    })
                    .collect();
                if at >= alive.len() {
                    break;
                }
                let end = (at + chunk).min(alive.len());
                let range = (Some(client), alive[at], alive[end - 1] + 1);
                if !try_cut(&mut best, vec![range]) {
                    at = end;
                }
            }
        }
        if chunk == 1 || started.elapsed() > budget {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    best.cut.ranges.sort();
    best.cut.ranges = merge(&best.cut.ranges);
    Some(best)
}

/// The result of a fault scenario's shrink.
#[derive(Debug, Clone)]
pub struct FaultShrunk {
    pub cut: FaultCut,
    pub failure: String,
    /// Schedule length and faults applied, before and after.
    pub before: (u64, u32),
    pub after: (u64, u32),
    pub tries: usize,
}

/// Shrink a failing fault-scenario seed within `budget`: end its fault schedule as
/// early as it still fails, then leave out ever smaller runs of its faults (halves,
/// quarters, … single faults), keeping each cut after which the run still fails the
/// same checker. `None` if the seed does not fail.
pub fn shrink_faults(
    kind: Kind,
    seed: u64,
    budget: Duration,
    mut progress: impl FnMut(&str),
) -> Option<FaultShrunk> {
    let started = Instant::now();
    let (first, schedule_ms, drawn) = scenarios::run_cut(kind, seed, &FaultCut::default());
    let class = failure_class(first.failure.as_deref()?);
    let mut best = FaultShrunk {
        cut: FaultCut::default(),
        failure: first.failure.clone().unwrap_or_default(),
        before: (schedule_ms, drawn),
        after: (schedule_ms, drawn),
        tries: 0,
    };
    let mut try_cut = |best: &mut FaultShrunk, cut: FaultCut| -> bool {
        if started.elapsed() > budget || cut == best.cut {
            return false;
        }
        best.tries += 1;
        let (o, ms, drawn) = scenarios::run_cut(kind, seed, &cut);
        match o.failure {
            Some(f) if failure_class(&f) == class => {
                let applied = drawn - skipped(&cut, drawn);
                progress(&format!(
                    "kept cut {cut}: {} ms of faults, {applied} faults applied",
                    cut.end(ms)
                ));
                best.cut = cut;
                best.failure = f;
                best.after = (best.cut.end(ms), applied);
                true
            }
            _ => false,
        }
    };
    // The shortest schedule that still fails: the halving search of an ordered
    // cut-off (failing need not be monotone in it; each kept step failed).
    let (mut lo, mut hi) = (0u64, schedule_ms);
    while hi - lo > 50 && started.elapsed() < budget {
        let mid = lo + (hi - lo) / 2;
        let cut = FaultCut {
            until_ms: Some(mid),
            ..best.cut.clone()
        };
        if try_cut(&mut best, cut) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // Runs of faults, halving their length.
    let total = best.before.1;
    let mut chunk = total.div_ceil(2).max(1);
    while total > 0 && started.elapsed() < budget {
        let mut at = 0;
        while at < total {
            let end = (at + chunk).min(total);
            if best.cut.keeps(at) || best.cut.keeps(end - 1) {
                let cut = best.cut.skipping(at, end);
                try_cut(&mut best, cut);
            }
            at = end;
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    Some(best)
}

/// How many of the first `drawn` faults `cut` leaves out.
fn skipped(cut: &FaultCut, drawn: u32) -> u32 {
    (0..drawn).filter(|&i| !cut.keeps(i)).count() as u32
}

/// Overlapping or touching ranges of the same client merged (sorted input).
fn merge(ranges: &[(Option<usize>, usize, usize)]) -> Vec<(Option<usize>, usize, usize)> {
    let mut out: Vec<(Option<usize>, usize, usize)> = Vec::new();
    for &(c, f, t) in ranges {
        match out.last_mut() {
            Some(last) if last.0 == c && f <= last.2 => last.2 = last.2.max(t),
            _ => out.push((c, f, t)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_ignore_numbers_and_details() {
        assert_eq!(
            failure_class("client-3 did not finish its program"),
            failure_class("client-12 did not finish its program")
        );
        assert_ne!(
            failure_class("model check failed\n  recent"),
            failure_class("client-1 did not finish its program")
        );
    }

    #[test]
    fn merging_joins_overlapping_ranges_of_one_client_only() {
        let m = merge(&[
            (None, 0, 1),
            (Some(0), 0, 4),
            (Some(0), 2, 6),
            (Some(0), 6, 7),
            (Some(0), 9, 10),
            (Some(1), 9, 12),
        ]);
        assert_eq!(
            m,
            vec![
                (None, 0, 1),
                (Some(0), 0, 7),
                (Some(0), 9, 10),
                (Some(1), 9, 12)
            ]
        );
    }
}
