//! BGREWRITEAOF. The rewrite itself (new base, new incr file, manifest swap, history
//! removal) is `Server::aof_rewrite` in `server/aof.rs`.

use crate::command::{Ctx, Handler};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[("bgrewriteaof", bgrewriteaof)];

/// bgrewriteaofCommand: refused while a rewrite runs, scheduled behind a
/// background save or inside EXEC, else started (the base is produced in the
/// background, `server/aof.rs`).
fn bgrewriteaof(srv: &mut Server, ctx: &mut Ctx<'_>) {
    // Inside EXEC the command runs nested in EXEC's own call.
    let in_exec = srv.propagation.depth > 1;
    if srv.aof.rewrite_in_progress() {
        ctx.reply
            .error("Background append only file rewriting already in progress");
        return;
    }
    if srv.persist.bgsave_in_progress() || in_exec {
        srv.aof.rewrite_scheduled = true;
        // Asked for by hand: it may run at once, whatever failed before.
        srv.aof.rewrite_failures = 0;
        ctx.reply
            .simple("Background append only file rewriting scheduled");
        return;
    }
    srv.aof_rewrite();
    ctx.reply
        .simple("Background append only file rewriting started");
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn file(t: &TestServer, path: &str) -> String {
        String::from_utf8_lossy(t.disk.files.get(path).map_or(&[][..], |v| v)).into_owned()
    }

    #[test]
    fn rewrites_into_a_new_base_and_incr() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        t.cmd(&["SET", "a", "1"]);
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        t.cmd(&["SET", "b", "2"]);
        assert_eq!(
            file(&t, "appendonlydir/appendonly.aof.manifest"),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(!t
            .disk
            .files
            .contains_key("appendonlydir/appendonly.aof.1.incr.aof"));
        assert!(!t
            .disk
            .files
            .contains_key("appendonlydir/appendonly.aof.1.base.rdb"));
        assert_eq!(
            file(&t, "appendonlydir/appendonly.aof.2.incr.aof"),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        let info = t.cmd(&["INFO", "persistence"]).as_str();
        assert!(info.contains("aof_rewrites:2\r\n"), "{info}");
        // Inside EXEC it is scheduled, and cron runs it.
        t.cmd(&["MULTI"]);
        t.cmd(&["BGREWRITEAOF"]);
        assert_eq!(
            t.cmd(&["EXEC"]),
            Frame::Array(vec![Frame::Simple(
                "Background append only file rewriting scheduled".into()
            )])
        );
        assert!(t
            .cmd(&["INFO", "persistence"])
            .as_str()
            .contains("aof_rewrite_scheduled:1\r\n"));
        t.advance_ms(200);
        assert!(file(&t, "appendonlydir/appendonly.aof.manifest").contains("seq 3 type b"));
    }

    #[test]
    fn with_the_aof_off_only_a_base_is_written() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["BGREWRITEAOF"]);
        assert_eq!(
            file(&t, "appendonlydir/appendonly.aof.manifest"),
            "file appendonly.aof.1.base.rdb seq 1 type b\n"
        );
        t.cmd(&["SET", "b", "1"]);
        assert!(!t.disk.files.keys().any(|k| k.ends_with(".incr.aof")));
    }

    fn info_field(t: &mut TestServer, name: &str) -> String {
        let text = t.cmd(&["INFO", "persistence"]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    }

    /// One snapshot at a time, as Redis's one child: BGSAVE during a rewrite is
    /// refused (or scheduled with SCHEDULE, and runs when the rewrite is over), and
    /// BGREWRITEAOF during a BGSAVE is scheduled.
    #[test]
    fn bgsave_and_bgrewriteaof_wait_for_each_other() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
        );
        assert_eq!(
            t.cmd(&["BGSAVE", "SCHEDULE"]),
            Frame::Simple("Background saving scheduled".into())
        );
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::err("ERR Background append only file rewriting already in progress")
        );
        t.advance_ms(1100);
        assert_eq!(info_field(&mut t, "rdb_bgsave_in_progress"), "0");
        t.hold_io = false;
        t.drain();
        assert_eq!(info_field(&mut t, "aof_rewrite_in_progress"), "0");
        assert_eq!(info_field(&mut t, "rdb_saves"), "0");
        // The cron starts the scheduled save once the rewrite is over.
        t.advance_ms(200);
        assert_eq!(info_field(&mut t, "rdb_saves"), "1");
        assert!(t.disk.files.contains_key("dump.rdb"));

        // The reverse: a rewrite asked for during a BGSAVE waits for it.
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting scheduled".into())
        );
        assert_eq!(info_field(&mut t, "aof_rewrite_scheduled"), "1");
        t.advance_ms(1100);
        assert_eq!(info_field(&mut t, "aof_rewrite_in_progress"), "0");
        t.hold_io = false;
        t.drain();
        t.advance_ms(1100);
        assert_eq!(info_field(&mut t, "aof_rewrite_scheduled"), "0");
        assert!(file(&t, "appendonlydir/appendonly.aof.manifest").contains("seq 2 type b"));
    }

    /// A full resync asked for while a rewrite holds the snapshot waits for it
    /// (replicationStartPendingFork), then gets its BGSAVE.
    #[test]
    fn a_full_resync_during_a_rewrite_starts_when_the_rewrite_ends() {
        // A disk-target sync starts at once (a diskless one would wait its delay).
        let mut t = TestServer::with_config(crate::Config {
            repl_diskless_sync: false,
            ..Default::default()
        });
        t.cmd(&["SET", "a", "1"]);
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        let r = t.connect();
        t.send_raw(r, b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
        assert!(t.logs.iter().any(|l| l
            == "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed"));
        assert!(t.take_output(r).is_empty());
        assert_eq!(info_field(&mut t, "rdb_bgsave_in_progress"), "0");
        t.hold_io = false;
        t.drain();
        t.fire_timers();
        let out = t.take_output(r);
        assert!(out.starts_with(b"+FULLRESYNC "), "{out:?}");
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Starting BGSAVE for SYNC with target: disk"));
        let at = out.windows(9).position(|w| w == b"REDIS0010");
        assert!(at.is_some(), "the snapshot follows: {out:?}");
    }

    /// FLUSHALL with save points saves the emptied dataset even while a rewrite
    /// holds the snapshot (Redis saves synchronously there); the rewrite's base
    /// still has what it started from.
    #[test]
    fn flushall_during_a_rewrite_saves_without_the_snapshot() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        for i in 0..600 {
            t.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGREWRITEAOF"]),
            Frame::Simple("Background append only file rewriting started".into())
        );
        let c = t.default_conn();
        // Their replies wait for the writes (the disk is held).
        t.send_raw(c, &crate::testing::encode_command(&[b"FLUSHALL"]));
        t.send_raw(
            c,
            &crate::testing::encode_command(&[b"SET", b"after", b"1"]),
        );
        t.hold_io = false;
        t.drain();
        assert_eq!(t.take_output(c), b"+OK\r\n+OK\r\n");
        t.fire_timers();
        assert_eq!(info_field(&mut t, "aof_last_bgrewrite_status"), "ok");
        assert_eq!(info_field(&mut t, "rdb_last_bgsave_status"), "ok");
        let dump = t.disk.files["dump.rdb"].clone();
        assert!(
            !dump.windows(2).any(|w| w == b"k1"),
            "the saved dataset is empty"
        );
        let base = t.disk.files["appendonlydir/appendonly.aof.2.base.rdb"].clone();
        assert!(base.windows(4).any(|w| w == b"k599"));
        let incr = file(&t, "appendonlydir/appendonly.aof.2.incr.aof");
        assert!(
            incr.contains("FLUSHALL") && incr.contains("after"),
            "{incr}"
        );
    }

    #[test]
    fn automatic_rewrites_on_growth() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "auto-aof-rewrite-min-size", "100"]);
        t.cmd(&["CONFIG", "SET", "appendonly", "yes"]);
        for i in 0..20 {
            t.cmd(&["SET", &format!("key{i}"), "some value"]);
        }
        t.advance_ms(200);
        assert!(t
            .logs
            .iter()
            .any(|l| l.starts_with("Starting automatic rewriting of AOF on ")));
        assert!(file(&t, "appendonlydir/appendonly.aof.manifest").contains("seq 2 type b"));
    }
}
