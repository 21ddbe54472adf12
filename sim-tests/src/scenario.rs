//! A run's scenario, drawn entirely from its seed: how many clients, the network's
//! latencies, the keyspace, how often TTLs are used, the server's `hz` and encoding
//! thresholds, the wall-clock jumps and when they happen, every client's program, and
//! the seeds of turmoil and of the core.

use crate::gen::Gen;
use crate::model::Limits;
use crate::workload::{self, Program, Step, WorkloadShape};
use std::fmt;
use std::time::Duration;

/// Limits of the scenario space, kept small enough for a run to take well under a
/// second of real time in release builds.
const CLIENTS_MIN: u64 = 2;
const CLIENTS_MAX: u64 = 5;
const KEYS_MIN: u64 = 10;
const KEYS_MAX: u64 = 25;
const REQUESTS_PER_CLIENT_MIN: u64 = 40;
const REQUESTS_PER_CLIENT_MAX: u64 = 300;
const LATENCY_MS_MAX: u64 = 25;
const JUMPS_MAX: u64 = 6;
/// Wall-clock jumps go up to "a few minutes" either way.
const JUMP_MS_MAX: i64 = 180_000;
/// Seeds the keyspace-notification draws apart from the rest, so that a seed keeps
/// its workload whatever they draw.
const NOTIFY_SALT: u64 = 0x6e6f_7469_6679;

/// A step of the wall clock, applied when the simulation has run `at` long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jump {
    pub at: Duration,
    pub delta_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    pub latency_min: Duration,
    pub latency_max: Duration,
    pub shape: WorkloadShape,
    /// The server's `hz` (cron and active-expiry frequency).
    pub hz: u32,
    /// The server's `active-expire-effort` (1..=10).
    pub active_expire_effort: u32,
    /// The server's encoding thresholds: small, so that conversions happen often.
    pub limits: Limits,
    pub jumps: Vec<Jump>,
    /// Unix time at which the simulation starts (turmoil's epoch).
    pub epoch_secs: u64,
    pub turmoil_seed: u64,
    pub server_seed: u64,
    pub programs: Vec<Program>,
    /// A guess at how long the workload runs, in simulated time.
    pub expected_duration: Duration,
    /// `notify-keyspace-events` the server starts with.
    pub notify_classes: String,
    /// How many of the programs (the last ones) are notification subscribers, and
    /// whether a client sets `notify-keyspace-events` during the run.
    pub notify_subscribers: usize,
    pub notify_config_set: bool,
    /// The server runs with the core's BUGGIFY fault points on (drawn apart from the
    /// rest, never for a regression seed).
    pub buggify: bool,
}

impl Scenario {
    pub fn from_seed(seed: u64) -> Scenario {
        let mut g = Gen::new(seed);
        let clients = g.range(CLIENTS_MIN, CLIENTS_MAX) as usize;
        let latency_min_ms = g.range(0, 5);
        let latency_max_ms = g.range(latency_min_ms, LATENCY_MS_MAX);
        let key_count = g.range(KEYS_MIN, KEYS_MAX);
        let prefixes = ["k:", "user:", "s"];
        let keys: Vec<Vec<u8>> = (0..key_count)
            .map(|i| format!("{}{}", prefixes[i as usize % prefixes.len()], i).into_bytes())
            .collect();
        let patterns: Vec<Vec<u8>> = ["*", "k:*", "user:?", "*1*", "s[0-9]", "k:[^1]*", "none*"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let shape = WorkloadShape {
            keys,
            patterns,
            requests_per_client: g.range(REQUESTS_PER_CLIENT_MIN, REQUESTS_PER_CLIENT_MAX) as usize,
            pipeline_max: g.range(1, 6) as usize,
            ttl_probability: *g.pick(&[0.0, 0.05, 0.2, 0.4, 0.6]),
            long_pause_probability: *g.pick(&[0.0, 0.01, 0.03]),
            long_pause_ms_max: *g.pick(&[300, 1500, 3000]),
            split_probability: *g.pick(&[0.0, 0.05, 0.2]),
            families: workload::ENABLED,
            resp3_probability: *g.pick(&[0.0, 0.3, 0.5, 1.0]),
            clients,
        };
        let limits = Limits {
            hash_max_listpack_entries: *g.pick(&[1, 2, 3, 4, 6, 8, 128]),
            hash_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
            list_max_listpack_size: *g.pick(&[1, 2, 3, 4, 5, 8, -1]),
            set_max_intset_entries: *g.pick(&[1, 2, 3, 5, 8, 512]),
            set_max_listpack_entries: *g.pick(&[0, 1, 2, 3, 5, 8, 128]),
            set_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
            zset_max_listpack_entries: *g.pick(&[0, 1, 2, 3, 4, 6, 128]),
            zset_max_listpack_value: *g.pick(&[1, 3, 5, 8, 64]),
        };
        let hz = *g.pick(&[10, 10, 25, 50]);
        let active_expire_effort = *g.pick(&[1, 1, 4, 10]);
        let epoch_secs = 1_000_000_000 + g.below(1_000_000_000);
        let turmoil_seed = g.u64();
        let server_seed = g.u64();
        let programs: Vec<Program> = (0..clients)
            .map(|_| workload::program(&mut g, &shape))
            .collect();

        // The longest program, each round trip taking the mean of the latency bounds
        // both ways: about how long the workload runs, so the jumps land inside it.
        let round_trip = Duration::from_millis(latency_min_ms + latency_max_ms + 1);
        let expected_duration = programs
            .iter()
            .map(|p| {
                p.iter()
                    .map(|s| match s {
                        Step::Sleep(d) => *d,
                        Step::Batch {
                            split_permille: Some(_),
                            ..
                        } => round_trip + Duration::from_millis(1),
                        Step::Batch { .. } => round_trip,
                        Step::ScanAll { .. } | Step::ScanKey { .. } => round_trip * 3,
                        Step::Pubsub { .. } => round_trip,
                    })
                    .sum::<Duration>()
            })
            .max()
            .unwrap_or_default();

        let mut jumps: Vec<Jump> = (0..g.range(0, JUMPS_MAX))
            .map(|_| {
                let at =
                    Duration::from_millis(g.range(1, expected_duration.as_millis() as u64 + 1));
                let magnitude = if g.chance(0.5) {
                    g.range_i64(1, 3000)
                } else {
                    g.range_i64(1000, JUMP_MS_MAX)
                };
                Jump {
                    at,
                    delta_ms: if g.chance(0.5) { -magnitude } else { magnitude },
                }
            })
            .collect();
        jumps.sort_by_key(|j| j.at);

        // Keyspace notifications: the server's classes, maybe a CONFIG SET of them
        // by a client that is not a subscriber, and zero to two subscribers reading
        // for about as long as the workload runs.
        let mut programs = programs;
        let mut ng = Gen::new(seed ^ NOTIFY_SALT);
        let notify_classes = workload::notify::classes(&mut ng);
        let mut notify_config_set = false;
        if ng.chance(0.3) {
            let i = ng.below(programs.len() as u64) as usize;
            let plain = !programs[i].iter().any(|s| matches!(s, Step::Pubsub { .. }));
            if plain {
                let at = ng.below(programs[i].len() as u64 + 1) as usize;
                programs[i].insert(at, workload::notify::config_set(&mut ng));
                notify_config_set = true;
            }
        }
        let notify_subscribers = *ng.pick(&[0, 1, 1, 2]);
        for _ in 0..notify_subscribers {
            let mut p = Vec::new();
            if ng.chance(shape.resp3_probability) {
                p.push(Step::Batch {
                    requests: vec![vec![
                        workload::Arg::Bytes(b"HELLO".to_vec()),
                        workload::Arg::Bytes(b"3".to_vec()),
                    ]],
                    split_permille: None,
                });
            }
            p.extend(workload::notify::subscriber(
                &mut ng,
                &shape,
                expected_duration,
            ));
            programs.push(p);
        }

        Scenario {
            seed,
            latency_min: Duration::from_millis(latency_min_ms),
            latency_max: Duration::from_millis(latency_max_ms),
            shape,
            hz,
            active_expire_effort,
            limits,
            jumps,
            epoch_secs,
            turmoil_seed,
            server_seed,
            programs,
            expected_duration,
            notify_classes,
            notify_subscribers,
            notify_config_set,
            buggify: crate::scenarios::buggify_drawn(
                seed,
                &crate::seeds::SEEDS[..crate::seeds::BEFORE_BUGGIFY],
            ),
        }
    }

    pub fn clients(&self) -> usize {
        self.programs.len()
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let jumps: Vec<String> = self
            .jumps
            .iter()
            .map(|j| format!("{:+}ms@{}ms", j.delta_ms, j.at.as_millis()))
            .collect();
        write!(
            f,
            "clients={} requests/client={} pipeline<={} keys={} ttl_p={} latency={}..{}ms hz={} effort={} \
             long_pause_p={} (<={}ms) split_p={} resp3_p={} jumps=[{}] epoch={} \
             notify-keyspace-events={:?} (config set: {}, {} subscribers) buggify={} limits: {}",
            self.clients(),
            self.shape.requests_per_client,
            self.shape.pipeline_max,
            self.shape.keys.len(),
            self.shape.ttl_probability,
            self.latency_min.as_millis(),
            self.latency_max.as_millis(),
            self.hz,
            self.active_expire_effort,
            self.shape.long_pause_probability,
            self.shape.long_pause_ms_max,
            self.shape.split_probability,
            self.shape.resp3_probability,
            jumps.join(" "),
            self.epoch_secs,
            self.notify_classes,
            self.notify_config_set,
            self.notify_subscribers,
            if self.buggify { "on" } else { "off" },
            self.limits.config_lines().replace('\n', ", "),
        )
    }
}

/// What a shrink removed from a seed's scenario: steps of client programs and
/// wall-clock jumps, by their index in the seed's own scenario. Written as
/// `c<client>:<from>-<to>` (steps `from..to`) and `j:<from>-<to>` ranges joined by
/// `,`, e.g. `c0:4-40,c2:0-12,j:0-2`; the empty string removes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cut {
    /// (client index or `None` for the jumps, from, to): half-open ranges.
    pub ranges: Vec<(Option<usize>, usize, usize)>,
}

impl Cut {
    pub fn parse(s: &str) -> Result<Cut, String> {
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("bad cut {part:?} (want c<client>:<from>-<to> or j:<from>-<to>)");
            let (what, span) = part.split_once(':').ok_or_else(bad)?;
            let (from, to) = span.split_once('-').ok_or_else(bad)?;
            let (from, to): (usize, usize) = (
                from.parse().map_err(|_| bad())?,
                to.parse().map_err(|_| bad())?,
            );
            let client = match what {
                "j" => None,
                c => Some(
                    c.strip_prefix('c')
                        .ok_or_else(bad)?
                        .parse()
                        .map_err(|_| bad())?,
                ),
            };
            if from >= to {
                return Err(bad());
            }
            ranges.push((client, from, to));
        }
        Ok(Cut { ranges })
    }

    fn removes(&self, client: Option<usize>, index: usize) -> bool {
        self.ranges
            .iter()
            .any(|&(c, from, to)| c == client && (from..to).contains(&index))
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .ranges
            .iter()
            .map(|&(c, from, to)| match c {
                Some(c) => format!("c{c}:{from}-{to}"),
                None => format!("j:{from}-{to}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl Scenario {
    /// The seed's scenario less what `cut` removes. Clients keep their numbers (an
    /// emptied program still connects), so ids and names stay those of the seed.
    pub fn with_cut(&self, cut: &Cut) -> Scenario {
        let mut sc = self.clone();
        for (i, program) in sc.programs.iter_mut().enumerate() {
            let mut index = 0;
            program.retain(|_| {
                index += 1;
                !cut.removes(Some(i), index - 1)
            });
        }
        let mut index = 0;
        sc.jumps.retain(|_| {
            index += 1;
            !cut.removes(None, index - 1)
        });
        sc
    }

    /// Steps per program and jumps: what a shrink can remove.
    pub fn size(&self) -> usize {
        self.programs.iter().map(Vec::len).sum::<usize>() + self.jumps.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_are_a_function_of_the_seed() {
        let a = Scenario::from_seed(11);
        let b = Scenario::from_seed(11);
        assert_eq!(a.to_string(), b.to_string());
        assert_eq!(a.programs, b.programs);
        assert_ne!(a.to_string(), Scenario::from_seed(12).to_string());
    }

    #[test]
    fn cuts_round_trip_and_remove_what_they_name() {
        let cut = Cut::parse("c0:1-3,j:0-1,c2:0-100").unwrap();
        assert_eq!(Cut::parse(&cut.to_string()).unwrap(), cut);
        assert!(Cut::parse("c0:3-1").is_err() && Cut::parse("x:0-1").is_err());
        assert!(Cut::parse("").unwrap().is_empty());
        let sc = Scenario::from_seed(11);
        let cut_sc = sc.with_cut(&cut);
        assert_eq!(cut_sc.programs[0].len(), sc.programs[0].len() - 2);
        assert_eq!(cut_sc.programs[0][1], sc.programs[0][3]);
        assert_eq!(cut_sc.jumps.len(), sc.jumps.len().saturating_sub(1));
        if let Some(p) = cut_sc.programs.get(2) {
            assert_eq!(p.len(), sc.programs[2].len().saturating_sub(100));
        }
        assert_eq!(cut_sc.programs[1], sc.programs[1]);
    }

    #[test]
    fn scenarios_stay_within_their_limits() {
        for seed in 0..50 {
            let s = Scenario::from_seed(seed);
            assert!((2..=7).contains(&s.clients()));
            assert!(s.notify_subscribers <= 2);
            assert!((10..=25).contains(&s.shape.keys.len()));
            assert!(s.latency_min <= s.latency_max);
            assert!(s.jumps.len() <= JUMPS_MAX as usize);
            assert!(s.jumps.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(s
                .jumps
                .iter()
                .all(|j| j.delta_ms != 0 && j.delta_ms.abs() <= JUMP_MS_MAX));
        }
    }
}
