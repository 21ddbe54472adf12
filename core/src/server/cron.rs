//! Time events: serverCron at `hz` (client timeouts, instantaneous metrics, database
//! maintenance, the slow active-expire cycle), the deadlines of blocked clients, and
//! the before-sleep hook (blocked-client timeouts, the fast active-expire cycle,
//! resuming unblocked clients, flushing replies).
//!
//! Timers run on the monotonic clock only. After a stall (a suspended process, a
//! simulator jumping time) cron runs once and reschedules one period ahead, so time
//! jumps never cause a storm of catch-up runs; wall-clock jumps only change which keys
//! count as expired.

use super::Server;
use crate::buggify::Point;
use crate::io::{ConnId, LogLevel, MonoNs};

/// Databases the slow expire cycle visits per run (CRON_DBS_PER_CALL).
const DBS_PER_CALL: usize = 16;
/// Keys sampled per loop at effort 1 (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const KEYS_PER_LOOP: u64 = 20;
/// Percentage of stale keys tolerated at effort 1 (ACTIVE_EXPIRE_CYCLE_ACCEPTABLE_STALE).
const ACCEPTABLE_STALE_PERCENT: u64 = 10;
/// Microseconds a fast cycle may take at effort 1 (ACTIVE_EXPIRE_CYCLE_FAST_DURATION).
const FAST_CYCLE_US: u64 = 1000;
/// Percentage of a cron tick the slow cycle may take at effort 1.
const SLOW_CYCLE_PERCENT: u64 = 25;
/// The expire cycle counts work instead of reading a clock, so it stays deterministic:
/// each key it examines is charged this many microseconds against its time limit.
const EXPIRE_CHECK_COST_US: u64 = 1;
/// Clients per cron tick before dynamic hz doubles the frequency (MAX_CLIENTS_PER_CLOCK_TICK).
const CLIENTS_PER_TICK_MAX: usize = 200;
/// Buckets moved per database per cron run while a table is rehashing.
const CRON_REHASH_STEPS: usize = 1000;
/// Samples kept for INSTANTANEOUS metrics, taken every 100 ms (STATS_METRIC_SAMPLES).
const METRIC_SAMPLES: usize = 16;
const METRIC_PERIOD_MS: u64 = 100;

#[derive(Debug, Clone, Default)]
pub struct Metric {
    last_sample_mono: MonoNs,
    last_reading: u64,
    samples: [u64; METRIC_SAMPLES],
    index: usize,
}

impl Metric {
    fn sample(&mut self, now: MonoNs, reading: u64) {
        let elapsed_ms = now.ms_since(self.last_sample_mono).max(1);
        let ops = reading.saturating_sub(self.last_reading);
        self.samples[self.index] = ops * 1000 / elapsed_ms;
        self.index = (self.index + 1) % METRIC_SAMPLES;
        self.last_sample_mono = now;
        self.last_reading = reading;
    }

    /// Average per-second rate over the samples.
    pub fn per_sec(&self) -> u64 {
        self.samples.iter().sum::<u64>() / METRIC_SAMPLES as u64
    }
}

#[derive(Debug, Clone)]
pub struct CronState {
    next_run: MonoNs,
    /// The frequency in use (config hz, raised by dynamic-hz).
    pub hz: u64,
    pub cronloops: u64,
    last_metric_sample: MonoNs,
    pub ops: Metric,
    pub net_input: Metric,
    pub net_output: Metric,
    /// Next database the slow expire cycle starts from.
    expire_db_cursor: usize,
    /// Did the last expire cycle stop on its time limit?
    expire_timelimit_exit: bool,
    last_fast_cycle: Option<MonoNs>,
}

impl CronState {
    pub fn new(now: MonoNs, hz: u64) -> CronState {
        CronState {
            next_run: now.add_ms(1000 / hz.max(1)),
            hz,
            cronloops: 0,
            last_metric_sample: now,
            ops: Metric::default(),
            net_input: Metric::default(),
            net_output: Metric::default(),
            expire_db_cursor: 0,
            expire_timelimit_exit: false,
            last_fast_cycle: None,
        }
    }

    pub fn next_deadline(&self) -> MonoNs {
        self.next_run
    }

    fn period_ms(&self) -> u64 {
        1000 / self.hz.max(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpireCycle {
    Slow,
    Fast,
}

impl Server {
    pub(super) fn run_due_timers(&mut self) {
        let _ = self.handle_blocked_timeouts();
        if self.now.mono >= self.cron.next_run {
            self.server_cron();
            // One period after now, not after the missed deadline: no catch-up storm.
            let mut period = self.cron.period_ms();
            if self.buggify.fire(Point::DelayCron) {
                period += self.buggify.below(period / 2 + 1);
            }
            self.cron.next_run = self.now.mono.add_ms(period);
        }
    }

    /// Redis's serverCron.
    fn server_cron(&mut self) {
        if self.cron_paused {
            return;
        }
        self.cron.cronloops += 1;
        let used = self.probe.used_memory();
        self.used_memory_peak = self.used_memory_peak.max(used);
        self.adjust_dynamic_hz();
        // Everysec fsyncs with no new writes, postponed flushes, failed-write retries.
        self.aof_cron();
        if self.now.mono.ms_since(self.cron.last_metric_sample) >= METRIC_PERIOD_MS {
            let now = self.now.mono;
            self.cron.last_metric_sample = now;
            self.cron
                .ops
                .sample(now, self.stats.total_commands_processed);
            self.cron
                .net_input
                .sample(now, self.stats.total_net_input_bytes);
            self.cron
                .net_output
                .sample(now, self.stats.total_net_output_bytes);
        }
        self.clients_cron();
        self.output_peaks.rotate(self.now.mono);
        self.persistence_cron();
        self.output_limits_cron();
        // A replica expires nothing itself: its master's DELs do.
        if self.active_expire_enabled && self.expires_keys_itself() {
            // Each expired key's DEL stands alone, never wrapped in MULTI/EXEC.
            self.propagate_unwrapped(|s| s.active_expire_cycle(ExpireCycle::Slow));
        }
        let steps = if self.buggify.fire(Point::SlowRehash) {
            1
        } else {
            CRON_REHASH_STEPS
        };
        if self.buggify.fire(Point::ResizeTable) {
            let db = self.buggify.below(self.dbs.len() as u64) as usize;
            let grow = 2 << self.buggify.below(3);
            self.dbs[db].buggify_grow_keys(grow);
        }
        for db in &mut self.dbs {
            db.cron_maintenance(steps);
        }
    }

    fn adjust_dynamic_hz(&mut self) {
        let mut hz = self.config.effective_hz();
        if self.config.dynamic_hz {
            while self.clients.len() as u64 / hz > CLIENTS_PER_TICK_MAX as u64 {
                hz *= 2;
                if hz > crate::config::HZ_MAX as u64 {
                    hz = crate::config::HZ_MAX as u64;
                    break;
                }
            }
        }
        self.cron.hz = hz;
    }

    /// Close clients idle longer than `timeout` seconds.
    fn clients_cron(&mut self) {
        let timeout = self.config.timeout_secs;
        if timeout <= 0 {
            return;
        }
        let now = self.now.mono;
        let mut idle: Vec<(u64, ConnId)> = self
            .clients
            .iter()
            // Subscribers wait for messages, not for their own requests: never idle.
            .filter(|(_, c)| {
                now.secs_since(c.last_interaction) > timeout as u64
                    && !c.close_asap
                    && !c.is_pubsub()
                    // Blocked clients wait as long as their command says.
                    && !c.blocked
                    // Replicas and masters are timed out by the replication cron.
                    && !c.is_replica
                    && !c.is_master
            })
            .map(|(conn, c)| (c.id, *conn))
            .collect();
        idle.sort_unstable();
        for (_, conn) in idle {
            self.log(LogLevel::Verbose, "Closing idle client");
            self.close_client_asap(conn);
        }
    }

    /// The before-sleep hook, in Redis's order: blocked clients past their deadline,
    /// a fast expire cycle when the slow one fell behind, the input unblocked clients
    /// buffered, then the replies of everything handled since the last drain.
    pub(super) fn before_sleep(&mut self) {
        if self.suspended.is_none() {
            let _ = self.handle_blocked_timeouts();
        }
        if self.suspended.is_none() && self.active_expire_enabled && self.expires_keys_itself() {
            self.propagate_unwrapped(|s| s.active_expire_cycle(ExpireCycle::Fast));
        }
        if self.suspended.is_none() {
            self.process_unblocked_clients();
            self.handle_clients_blocked_on_keys();
        }
        // The AOF is written before replies go out (flushAppendOnlyFile), so their
        // group-commit tags cover this round's commands.
        self.aof_before_sleep();
        // The stream to replicas, then the replies (Redis writes both in
        // handleClientsWithPendingWrites; replicas never have replies).
        self.repl_before_sleep();
        self.flush_replies();
    }

    /// Redis 7.0's activeExpireCycle, sampling keys with deadlines through the core RNG
    /// and bounding its work by a deterministic budget instead of a clock.
    fn active_expire_cycle(&mut self, kind: ExpireCycle) {
        let effort = (self.config.active_expire_effort.clamp(1, 10) - 1) as u64;
        let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
        let fast_cycle_us = FAST_CYCLE_US + FAST_CYCLE_US / 4 * effort;
        let acceptable_stale = ACCEPTABLE_STALE_PERCENT - effort;
        let now = self.now.mono;

        if kind == ExpireCycle::Fast {
            // Only when the slow cycle hit its limit or left too many stale keys, and
            // not more often than every two fast-cycle durations.
            if !self.cron.expire_timelimit_exit
                && self.stats.expired_stale_perc * 100.0 < acceptable_stale as f64
            {
                return;
            }
            if let Some(last) = self.cron.last_fast_cycle {
                if now.0 < last.0.saturating_add(fast_cycle_us * 2 * 1000) {
                    return;
                }
            }
            self.cron.last_fast_cycle = Some(now);
        }
        let budget_us = match kind {
            ExpireCycle::Fast => fast_cycle_us,
            ExpireCycle::Slow => {
                (SLOW_CYCLE_PERCENT + 2 * effort) * 1_000_000 / self.cron.hz.max(1) / 100
            }
        };
        let mut spent_us = 0u64;
        let mut total_sampled = 0u64;
        let mut total_expired = 0u64;
        self.cron.expire_timelimit_exit = false;
        let dbs = self.dbs.len();
        let now_ms = self.wall_ms();
        for _ in 0..DBS_PER_CALL.min(dbs) {
            let db_index = self.cron.expire_db_cursor % dbs;
            self.cron.expire_db_cursor = self.cron.expire_db_cursor.wrapping_add(1);
            loop {
                let db = &mut self.dbs[db_index];
                let with_ttl = db.expires_len() as u64;
                if with_ttl == 0 {
                    db.avg_ttl_ms = 0;
                    break;
                }
                let samples = with_ttl.min(keys_per_loop);
                let (mut expired, mut ttl_sum, mut ttl_samples) = (0u64, 0i64, 0i64);
                for _ in 0..samples {
                    let db = &mut self.dbs[db_index];
                    let Some((key, when)) = db.expires.random_entry(&mut self.rng) else {
                        break;
                    };
                    let (key, when) = (key.to_vec(), *when);
                    // activeExpireCycleTryExpire: `now > when`, as lazy expiry.
                    if now_ms > when {
                        db.delete(&key);
                        self.key_expired(db_index, &key);
                        expired += 1;
                    } else if when > now_ms {
                        ttl_sum += when - now_ms;
                        ttl_samples += 1;
                    }
                }
                let db = &mut self.dbs[db_index];
                if ttl_samples > 0 {
                    let avg = ttl_sum / ttl_samples;
                    // Same smoothing as Redis: 2% of the new sample each loop.
                    db.avg_ttl_ms = if db.avg_ttl_ms == 0 {
                        avg
                    } else {
                        (db.avg_ttl_ms / 50) * 49 + avg / 50
                    };
                }
                total_sampled += samples;
                total_expired += expired;
                spent_us += samples * EXPIRE_CHECK_COST_US;
                if spent_us > budget_us {
                    self.cron.expire_timelimit_exit = true;
                    self.stats.expired_time_cap_reached_count += 1;
                    break;
                }
                // Keep going on this database only while it is still mostly stale.
                if expired * 100 <= samples * acceptable_stale {
                    break;
                }
            }
            if self.cron.expire_timelimit_exit {
                break;
            }
        }
        let current = if total_sampled > 0 {
            total_expired as f64 / total_sampled as f64
        } else {
            0.0
        };
        self.stats.expired_stale_perc = current * 0.05 + self.stats.expired_stale_perc * 0.95;
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn set_with_deadline(t: &mut TestServer, key: &str, in_ms: i64) {
        assert_eq!(t.cmd(&["SET", key, "v"]), Frame::ok());
        let when = t.server.wall_ms() + in_ms;
        t.server.set_expire(0, key.as_bytes(), when);
    }

    #[test]
    fn active_expiry_removes_untouched_keys() {
        let mut t = TestServer::new();
        for i in 0..200 {
            set_with_deadline(&mut t, &format!("short{i}"), 100);
        }
        for i in 0..50 {
            set_with_deadline(&mut t, &format!("long{i}"), 1_000_000);
        }
        assert_eq!(t.server.dbs[0].len(), 250);
        // Nothing reads the keys: only the cron's sampling can remove them.
        for _ in 0..50 {
            t.advance_ms(100);
        }
        assert_eq!(t.server.dbs[0].len(), 50);
        assert_eq!(t.server.stats.expired_keys, 200);
        assert!(t.server.dbs[0].avg_ttl_ms > 0);
    }

    #[test]
    fn lazy_expiry_on_access() {
        let mut t = TestServer::new();
        set_with_deadline(&mut t, "k", 10);
        t.now.wall.0 += 20_000; // wall clock only: no timer fires
        assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
        assert_eq!(t.server.stats.expired_keys, 1);
        assert_eq!(t.server.dbs[0].len(), 0);
    }

    #[test]
    fn timers_survive_wall_clock_jumps() {
        let mut t = TestServer::new();
        let before = t.server.cron.cronloops;
        t.jump_wall_ms(-3_600_000);
        for _ in 0..10 {
            t.advance_ms(100);
        }
        t.jump_wall_ms(7 * 24 * 3_600_000);
        for _ in 0..10 {
            t.advance_ms(100);
        }
        t.jump_wall_ms(i64::MIN / 4_000);
        t.advance_ms(100);
        assert_eq!(
            t.server.cron.cronloops,
            before + 21,
            "cron fires once per period whatever the wall clock does"
        );
        assert_eq!(t.cmd(&["PING"]), Frame::Simple("PONG".into()));
    }

    #[test]
    fn a_long_stall_runs_cron_once_not_a_storm() {
        let mut t = TestServer::new();
        let before = t.server.cron.cronloops;
        t.now.mono = t.now.mono.add_ms(3_600_000);
        t.fire_timers();
        assert_eq!(t.server.cron.cronloops, before + 1);
        let next = t.server.poll_timeout().unwrap();
        assert_eq!(next, t.now.mono.add_ms(100));
    }

    #[test]
    fn idle_clients_are_closed_after_timeout() {
        let config = crate::Config {
            timeout_secs: 2,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        let idle = t.connect();
        let busy = t.connect();
        // Redis closes a client idle for more than `timeout` whole seconds.
        for _ in 0..35 {
            t.advance_ms(100);
            assert_eq!(t.cmd_on(busy, &["PING"]), Frame::Simple("PONG".into()));
        }
        assert!(t.closed.contains(&idle));
        assert!(!t.closed.contains(&busy));
    }

    #[test]
    fn dynamic_hz_rises_with_many_clients() {
        let mut t = TestServer::new();
        for _ in 0..2500 {
            t.connect();
        }
        t.advance_ms(100);
        assert_eq!(t.server.cron.hz, 20);
    }
}
