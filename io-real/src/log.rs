//! Log lines in Redis's format — `pid:role dd Mon yyyy hh:mm:ss.mmm <mark> message` —
//! written to the `logfile` or to standard output.

use crate::driver::LogSink;
use cinnabar_core::{LogLevel, UnixUs};
use std::io::Write;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `24 Nov 2026 19:21:56.123` for a UTC wall-clock time.
pub fn format_timestamp(wall: UnixUs) -> String {
    let ms_total = wall.ms();
    let secs = ms_total.div_euclid(1000);
    let ms = ms_total.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60,
        ms
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A log destination: a file opened for appending, or stdout when `logfile` is empty.
pub struct Logger {
    pid: u32,
    role: char,
    out: Box<dyn Write>,
}

impl Logger {
    pub fn open(logfile: &str, pid: u32) -> std::io::Result<Logger> {
        let out: Box<dyn Write> = if logfile.is_empty() {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(logfile)?,
            )
        };
        Ok(Logger {
            pid,
            role: 'M',
            out,
        })
    }

    /// Lines written before the server exists carry role `C` in Redis.
    pub fn set_role(&mut self, role: char) {
        self.role = role;
    }

    pub fn line(&mut self, level: LogLevel, message: &str, wall: UnixUs) {
        let _ = writeln!(
            self.out,
            "{}:{} {} {} {}",
            self.pid,
            self.role,
            format_timestamp(wall),
            level.marker(),
            message
        );
        let _ = self.out.flush();
    }
}

impl LogSink for Logger {
    fn write(&mut self, level: LogLevel, message: &str, wall: UnixUs) {
        self.line(level, message, wall);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_redis_layout() {
        assert_eq!(format_timestamp(UnixUs(0)), "01 Jan 1970 00:00:00.000");
        // 2026-11-24T19:21:56.123Z
        assert_eq!(
            format_timestamp(UnixUs(1_795_548_116_123_000)),
            "24 Nov 2026 19:21:56.123"
        );
        assert_eq!(
            format_timestamp(UnixUs(951_782_400_000_000)),
            "29 Feb 2000 00:00:00.000"
        );
    }
}
