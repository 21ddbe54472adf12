//! Counters behind INFO stats, commandstats and errorstats.

use crate::util::FastMap;

#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub expire_cycle_cpu_milliseconds: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub io_reads_processed: u64,
    pub io_writes_processed: u64,
    /// Compact blobs RESTORE validated under `sanitize-dump-payload` yes/clients.
    pub dump_payload_sanitizations: u64,
    /// By command full name.
    pub commands: FastMap<&'static str, CommandStats>,
    /// By error prefix (`ERR`, `WRONGTYPE`, …).
    pub errors: FastMap<String, u64>,
}

impl Stats {
    /// CONFIG RESETSTAT: the counters Redis resets.
    pub fn reset(&mut self) {
        *self = Stats::default();
    }

    pub fn command(&mut self, fullname: &'static str) -> &mut CommandStats {
        self.commands.entry(fullname).or_default()
    }

    pub fn count_error(&mut self, prefix: String) {
        self.total_error_replies += 1;
        // Redis caps the table of distinct error codes at 128 (ERRORSTATS_LIMIT).
        if self.errors.len() >= 128 && !self.errors.contains_key(&prefix) {
            return;
        }
        *self.errors.entry(prefix).or_default() += 1;
    }
}
