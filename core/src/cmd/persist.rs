//! SAVE, BGSAVE, LASTSAVE: the commands of RDB persistence. The saving itself is
//! `server/persist.rs`.

use crate::command::{Ctx, Handler};
use crate::server::persist::SaveKind;
use crate::Server;

pub const HANDLERS: &[(&str, Handler)] =
    &[("save", save), ("bgsave", bgsave), ("lastsave", lastsave)];

/// SAVE: the server is blocked until the file is durable; the reply (+OK, or -ERR
/// when the save failed) comes then.
fn save(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if srv.start_save(SaveKind::Save(ctx.conn)).is_err() {
        ctx.reply.error("Background save already in progress");
    }
}

/// BGSAVE [SCHEDULE].
fn bgsave(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() > 1 && !(ctx.argc() == 2 && ctx.arg(1).eq_ignore_ascii_case(b"schedule")) {
        ctx.reply.error("syntax error");
        return;
    }
    let schedule = ctx.argc() == 2;
    if srv.persist.save_in_progress() {
        ctx.reply.error("Background save already in progress");
    } else if srv.aof.rewrite_in_progress() && !schedule && !ctx.deny_blocking {
        ctx.reply.error("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    } else if srv.aof.rewrite_in_progress() || ctx.deny_blocking {
        // Inside EXEC Redis schedules it for serverCron instead of forking there.
        srv.persist.bgsave_scheduled = true;
        ctx.reply.simple("Background saving scheduled");
    } else if srv.start_save(SaveKind::Background).is_ok() {
        ctx.reply.simple("Background saving started");
    } else {
        ctx.reply.error("-ERR");
    }
}

fn lastsave(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.int(srv.persist.lastsave);
}

#[cfg(test)]
mod tests {
    use crate::io::{IoErrorKind, IoOp};
    use crate::rdb::{Item, LoadLimits, Loader};
    use crate::testing::{Frame, MemDisk, TestServer};
    use crate::Config;

    fn info_field(t: &mut TestServer, name: &str) -> String {
        let text = t.cmd(&["INFO", "persistence"]).as_str();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    }

    /// The keys of an RDB file, as (db, key) pairs.
    fn keys_in(t: &mut TestServer, file: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let limits = LoadLimits::from_config(&Config::default(), 8192);
        let mut l = Loader::new(file, limits, true).expect("a valid header");
        let mut out = Vec::new();
        while let Some(item) = l.next_item(&mut t.server.rng).expect("a valid file") {
            if let Item::Key(k) = item {
                out.push((k.db, k.key));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn save_writes_a_temp_file_and_renames_it_when_durable() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SELECT", "3"]);
        t.cmd(&["RPUSH", "l", "x", "y"]);
        // One per element pushed, as Redis counts.
        assert_eq!(info_field(&mut t, "rdb_changes_since_last_save"), "3");
        t.disk.log.clear();
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        let ops: Vec<&str> = t
            .disk
            .log
            .iter()
            .map(|op| match op {
                IoOp::Open { .. } => "open",
                IoOp::Write { .. } => "write",
                IoOp::Fsync { .. } => "fsync",
                IoOp::Close { .. } => "close",
                IoOp::Rename { .. } => "rename",
                IoOp::FsyncDir { .. } => "fsyncdir",
                _ => "other",
            })
            .collect();
        assert_eq!(
            ops,
            ["open", "write", "fsync", "close", "rename", "fsyncdir"]
        );
        assert!(!t.disk.files.contains_key("temp-0.rdb"));
        let file = t.disk.files["dump.rdb"].clone();
        assert!(file.starts_with(b"REDIS0010"));
        assert_eq!(
            keys_in(&mut t, &file),
            [(0, b"a".to_vec()), (3, b"l".to_vec())]
        );
        assert_eq!(info_field(&mut t, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut t, "rdb_saves"), "1");
        assert!(t.logs.iter().any(|l| l == "DB saved on disk"));
    }

    #[test]
    fn save_blocks_every_client_until_the_rename_is_durable() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        t.cmd_on(a, &["SET", "k", "v"]);
        t.hold_io = true;
        t.send_raw(a, &crate::testing::encode_command(&[b"SAVE"]));
        t.send_raw(b, &crate::testing::encode_command(&[b"GET", b"k"]));
        assert!(t.take_output(a).is_empty());
        assert!(t.take_output(b).is_empty(), "the server is blocked");
        // Everything but the directory fsync done: still nothing.
        let queued = t.io_queue.len();
        t.run_io(queued);
        assert!(t.take_output(a).is_empty());
        t.run_io(1); // the rename
        assert!(t.take_output(a).is_empty());
        t.run_io(1); // the directory fsync
        assert_eq!(t.take_output(a), b"+OK\r\n");
        assert_eq!(t.take_output(b), b"$1\r\nv\r\n");
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_replies_err() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        let good = t.disk.files["dump.rdb"].clone();
        t.cmd(&["SET", "b", "2"]);
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Write { .. }),
            MemDisk::error(IoErrorKind::NoSpace, "No space left on device"),
        ));
        assert_eq!(t.cmd(&["SAVE"]), Frame::err("ERR"));
        assert_eq!(t.disk.files["dump.rdb"], good);
        assert!(
            !t.disk.files.contains_key("temp-0.rdb"),
            "the temp file is removed"
        );
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Write error saving DB on disk(rdbSaveRio): No space left on device"));
        // A failed SAVE is not a failed BGSAVE: writes go on.
        assert_eq!(info_field(&mut t, "rdb_last_bgsave_status"), "ok");
        assert_eq!(t.cmd(&["SET", "c", "3"]), Frame::ok());
    }

    #[test]
    fn a_failed_bgsave_turns_on_misconf_until_a_save_succeeds() {
        let mut t = TestServer::new();
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Fsync { .. }),
            MemDisk::error(IoErrorKind::Other, "Input/output error"),
        ));
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        assert_eq!(info_field(&mut t, "rdb_last_bgsave_status"), "err");
        assert!(t.logs.iter().any(|l| l == "Background saving error"));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Write error saving DB on disk(fsync): Input/output error"));
        let misconf = &super::super::super::server::persist::MISCONF_ERR[1..];
        assert_eq!(t.cmd(&["SET", "a", "1"]), Frame::err(misconf));
        assert_eq!(t.cmd(&["PING"]), Frame::err(misconf));
        assert_eq!(t.cmd(&["GET", "a"]), Frame::Null);
        t.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]);
        assert_eq!(t.cmd(&["SET", "a", "1"]), Frame::ok());
        t.cmd(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]);
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        assert_eq!(t.cmd(&["SET", "a", "2"]), Frame::ok());
    }

    #[test]
    fn bgsave_is_a_point_in_time_snapshot() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "old", "1"]);
        t.cmd(&["SET", "gone", "1"]);
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::err("ERR Background save already in progress")
        );
        assert_eq!(
            t.cmd(&["SAVE"]),
            Frame::err("ERR Background save already in progress")
        );
        assert_eq!(info_field(&mut t, "rdb_bgsave_in_progress"), "1");
        // Clients are served while it runs; what they change is not in the file.
        t.cmd(&["SET", "new", "1"]);
        t.cmd(&["DEL", "gone"]);
        t.hold_io = false;
        t.drain();
        assert_eq!(info_field(&mut t, "rdb_bgsave_in_progress"), "0");
        let file = t.disk.files["dump.rdb"].clone();
        assert_eq!(
            keys_in(&mut t, &file),
            [(0, b"gone".to_vec()), (0, b"old".to_vec())]
        );
        // The two writes made during the save still count as unsaved changes.
        assert_eq!(info_field(&mut t, "rdb_changes_since_last_save"), "2");
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Background saving terminated with success"));
    }

    fn debug_config() -> Config {
        Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        }
    }

    /// Writes of every kind land while the background save walks the keyspace (it
    /// serializes a few hundred keys per turn): the file still holds exactly the
    /// dataset of the moment BGSAVE started.
    #[test]
    fn an_incremental_bgsave_is_point_in_time_under_every_kind_of_write() {
        let mut t = TestServer::with_config(debug_config());
        for i in 0..1500 {
            t.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
        }
        t.cmd(&["RPUSH", "list", "a", "b"]);
        t.cmd(&["HSET", "hash", "f", "v"]);
        t.cmd(&["SET", "ttl", "v"]);
        t.cmd(&["PEXPIRE", "ttl", "5000000"]);
        t.cmd(&["SELECT", "1"]);
        for i in 0..700 {
            t.cmd(&["SET", &format!("o{i}"), "x"]);
        }
        t.cmd(&["SELECT", "0"]);
        let digest = t.cmd(&["DEBUG", "DIGEST"]);
        t.hold_io = true;
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        let total = info_field(&mut t, "current_save_keys_total");
        assert_eq!(total, "2203");
        // Each command is a turn of the loop: the save moves 256 keys on per turn,
        // in key order, so these writes reach keys it has not written yet.
        t.cmd(&["SWAPDB", "0", "1"]);
        t.cmd(&["FLUSHDB"]);
        t.cmd(&["SET", "after-flush", "x"]);
        t.cmd(&["SWAPDB", "0", "1"]);
        for i in (100..1000).rev().step_by(11) {
            t.cmd(&["SET", &format!("k{i}"), "changed"]);
            t.cmd(&["DEL", &format!("k{}", i + 1)]);
            t.cmd(&["APPEND", &format!("k{}", i + 2), "more"]);
            t.cmd(&["EXPIRE", &format!("k{}", i + 3), "100"]);
            t.cmd(&["RENAME", &format!("k{}", i + 4), &format!("renamed{i}")]);
            t.cmd(&["SET", &format!("new{i}"), "new"]);
        }
        assert_ne!(
            info_field(&mut t, "current_save_keys_processed"),
            "2203",
            "the writes came while the save was walking"
        );
        t.cmd(&["RPUSH", "list", "c"]);
        t.cmd(&["HSET", "hash", "g", "w"]);
        t.cmd(&["PERSIST", "ttl"]);
        t.hold_io = false;
        t.drain();
        t.fire_timers();
        assert_eq!(info_field(&mut t, "rdb_bgsave_in_progress"), "0");
        assert_eq!(info_field(&mut t, "rdb_last_bgsave_status"), "ok");
        assert!(t.server.dbs.iter().all(|d| d.snapshot.is_none()));
        let mut disk = MemDisk::default();
        disk.files
            .insert("dump.rdb".into(), t.disk.files["dump.rdb"].clone());
        let mut u = TestServer::with_disk(debug_config(), disk, false);
        assert_eq!(u.cmd(&["DEBUG", "DIGEST"]), digest);
        assert_eq!(info_field(&mut u, "rdb_last_load_keys_loaded"), "2203");
    }

    /// Started while the keys dict is rehashing, the save holds keys that expire
    /// (lazily, on a read) and change before it reaches them, with their old
    /// values and deadlines; reads of keys it has not reached copy nothing.
    #[test]
    fn a_bgsave_keeps_what_expires_during_it_and_reads_copy_nothing() {
        let mut t = TestServer::new();
        let mut n = 0;
        while n < 2000 || !t.server.dbs[0].keys.is_rehashing() {
            t.cmd(&["SET", &format!("k{n}"), &format!("v{n}")]);
            n += 1;
        }
        for i in 0..100 {
            t.cmd(&["PEXPIRE", &format!("k{i}"), "5000"]);
        }
        let deadline = crate::testing::TEST_EPOCH_US / 1000 + 5000;
        t.hold_io = true;
        assert!(t.server.dbs[0].keys.is_rehashing());
        assert_eq!(
            t.cmd(&["BGSAVE"]),
            Frame::Simple("Background saving started".into())
        );
        // Reads cost the save nothing (three turns: it is part-way through).
        for i in 100..103 {
            t.cmd(&["GET", &format!("k{i}")]);
            let snap = t.server.dbs[0].snapshot.as_ref().expect("running");
            assert_eq!(snap.preserved_len(), 0, "a read copied k{i}");
        }
        let done: usize = info_field(&mut t, "current_save_keys_processed")
            .parse()
            .unwrap();
        assert!(done >= 1024 && done < n - 300, "part-way: {done} of {n}");
        t.cmd(&["SET", "k1999", "changed"]);
        t.jump_wall_ms(10_000);
        for i in 0..100 {
            assert_eq!(t.cmd(&["GET", &format!("k{i}")]), Frame::Null);
        }
        t.hold_io = false;
        t.drain();
        t.fire_timers();
        assert_eq!(info_field(&mut t, "rdb_last_bgsave_status"), "ok");
        let file = t.disk.files["dump.rdb"].clone();
        let limits = LoadLimits::from_config(&Config::default(), 8192);
        let mut l = Loader::new(&file, limits, true).unwrap();
        let mut got = std::collections::BTreeMap::new();
        while let Some(item) = l.next_item(&mut t.server.rng).unwrap() {
            if let Item::Key(k) = item {
                let crate::object::Value::Str(v) = &k.value else {
                    panic!("strings only")
                };
                got.insert(k.key.clone(), (v.as_bytes().into_owned(), k.expire_ms));
            }
        }
        assert_eq!(got.len(), n);
        for i in 0..n {
            let key = format!("k{i}").into_bytes();
            let expire = (i < 100).then_some(deadline);
            assert_eq!(got[&key], (format!("v{i}").into_bytes(), expire), "k{i}");
        }
    }

    /// Idle, the save needs no inputs: it asks to be woken at once until done.
    #[test]
    fn an_incremental_bgsave_finishes_on_timers_alone() {
        let mut t = TestServer::new();
        for i in 0..3000 {
            t.cmd(&["SET", &format!("k{i}"), "v"]);
        }
        let c = t.default_conn();
        t.send_raw(c, &crate::testing::encode_command(&[b"BGSAVE"]));
        assert!(t.server.persist.bgsave_in_progress());
        assert_eq!(t.server.poll_timeout(), Some(t.now.mono));
        t.fire_timers();
        assert!(!t.server.persist.bgsave_in_progress());
        let file = t.disk.files["dump.rdb"].clone();
        assert_eq!(keys_in(&mut t, &file).len(), 3000);
    }

    #[test]
    fn bgsave_syntax_and_lastsave() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["BGSAVE", "NOW"]), Frame::err("ERR syntax error"));
        let before = t.cmd(&["LASTSAVE"]);
        assert_eq!(
            before,
            Frame::Int(crate::testing::TEST_EPOCH_US / 1_000_000)
        );
        t.advance_ms(5000);
        assert_eq!(
            t.cmd(&["BGSAVE", "schedule"]),
            Frame::Simple("Background saving started".into())
        );
        assert_eq!(
            t.cmd(&["LASTSAVE"]),
            Frame::Int(crate::testing::TEST_EPOCH_US / 1_000_000 + 5)
        );
        // Inside a transaction it is scheduled for the cron.
        t.cmd(&["MULTI"]);
        t.cmd(&["BGSAVE"]);
        assert_eq!(
            t.cmd(&["EXEC"]),
            Frame::Array(vec![Frame::Simple("Background saving scheduled".into())])
        );
        t.advance_ms(200);
        assert_eq!(info_field(&mut t, "rdb_saves"), "2");
    }

    #[test]
    fn save_points_start_a_background_save_from_the_cron() {
        let mut t = TestServer::with_config(Config {
            save: vec![(10, 2)],
            ..Default::default()
        });
        t.cmd(&["SET", "a", "1"]);
        t.advance_ms(11_000);
        assert_eq!(
            info_field(&mut t, "rdb_saves"),
            "0",
            "one change is not enough"
        );
        t.cmd(&["SET", "b", "1"]);
        t.advance_ms(200);
        assert_eq!(info_field(&mut t, "rdb_saves"), "1");
        assert!(t
            .logs
            .iter()
            .any(|l| l == "2 changes in 10 seconds. Saving..."));
        assert!(t.disk.files.contains_key("dump.rdb"));
    }

    #[test]
    fn dir_and_dbfilename_name_the_file() {
        let mut t = TestServer::with_config(Config {
            dir: "/data".into(),
            dbfilename: "x.rdb".into(),
            ..Default::default()
        });
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        assert!(t.disk.files.contains_key("/data/x.rdb"));
        assert!(t.disk.log.contains(&IoOp::FsyncDir {
            path: "/data".into()
        }));
    }

    #[test]
    fn startup_loads_the_file_and_refuses_commands_meanwhile() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["PEXPIRE", "a", "100000"]);
        t.cmd(&["SET", "short", "1"]);
        t.cmd(&["PEXPIRE", "short", "100"]);
        t.cmd(&["HSET", "h", "f", "v"]);
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        let file = t.disk.files["dump.rdb"].clone();

        let mut disk = MemDisk::default();
        disk.files.insert("dump.rdb".into(), file);
        let mut u = TestServer::with_disk(Config::default(), disk, true);
        u.advance_ms(1000);
        let c = u.connect();
        // Clients wait while the server looks for the file, then get -LOADING.
        u.send_raw(c, &crate::testing::encode_command(&[b"PING"]));
        assert!(u.take_output(c).is_empty());
        u.run_io(1);
        assert_eq!(
            u.take_output(c),
            b"-LOADING Redis is loading the dataset in memory\r\n"
        );
        assert_eq!(
            u.cmd_on(c, &["GET", "a"]),
            Frame::err("LOADING Redis is loading the dataset in memory")
        );
        let text = u.cmd_on(c, &["INFO", "persistence"]).as_str();
        assert!(text.contains("loading:1\r\n"), "{text}");
        u.hold_io = false;
        u.drain();
        assert_eq!(u.cmd_on(c, &["GET", "a"]), Frame::bulk("1"));
        assert_eq!(u.cmd_on(c, &["HGET", "h", "f"]), Frame::bulk("v"));
        assert_eq!(u.cmd_on(c, &["EXISTS", "short"]), Frame::Int(0));
        let ttl = u.cmd_on(c, &["PTTL", "a"]);
        assert!(
            matches!(ttl, Frame::Int(n) if n > 98_000 && n <= 99_000),
            "{ttl:?}"
        );
        assert_eq!(info_field(&mut u, "rdb_last_load_keys_loaded"), "2");
        assert_eq!(info_field(&mut u, "rdb_last_load_keys_expired"), "1");
        assert!(u
            .logs
            .iter()
            .any(|l| l == "Done loading RDB, keys loaded: 2, keys expired: 1."));
    }

    #[test]
    fn a_corrupt_file_stops_the_server_with_status_1() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        let mut file = t.disk.files["dump.rdb"].clone();
        let n = file.len();
        file[n - 12] ^= 0xff;
        let mut disk = MemDisk::default();
        disk.files.insert("dump.rdb".into(), file);
        let u = TestServer::with_disk(Config::default(), disk, false);
        assert_eq!(u.exited, Some(1));
        assert!(
            u.logs
                .iter()
                .any(|l| l.starts_with("Internal error in RDB reading offset ")
                    && l.contains(" of dump.rdb -> ")),
            "{:?}",
            u.logs
        );
        assert!(u
            .logs
            .iter()
            .any(|l| l == "Terminating server after rdb file reading failure."));
    }

    #[test]
    fn debug_reload_saves_and_loads_back() {
        let mut t = TestServer::with_config(Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        });
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["ZADD", "z", "1", "m"]);
        let digest = t.cmd(&["DEBUG", "DIGEST"]);
        assert_eq!(t.cmd(&["DEBUG", "RELOAD"]), Frame::ok());
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), digest);
        t.cmd(&["SET", "b", "2"]);
        // NOSAVE: the file on disk comes back, without b.
        assert_eq!(t.cmd(&["DEBUG", "RELOAD", "NOSAVE"]), Frame::ok());
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), digest);
        // NOFLUSH without MERGE: the keys are already there.
        t.cmd(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
        assert_eq!(t.cmd(&["DEBUG", "DIGEST"]), digest);
        assert_eq!(
            t.cmd(&["DEBUG", "RELOAD", "BOGUS"]),
            Frame::err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        );
        t.disk.files.clear();
        assert_eq!(
            t.cmd(&["DEBUG", "RELOAD", "NOSAVE"]),
            Frame::err("ERR Error trying to load the RDB dump")
        );
    }

    #[test]
    fn shutdown_saves_when_save_points_exist() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        let c = t.default_conn();
        t.send_raw(c, &crate::testing::encode_command(&[b"SHUTDOWN"]));
        assert_eq!(t.exited, Some(0));
        assert!(t.disk.files.contains_key("dump.rdb"));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Saving the final RDB snapshot before exiting."));

        let mut u = TestServer::with_config(Config {
            save: Vec::new(),
            ..Default::default()
        });
        u.cmd(&["SET", "a", "1"]);
        let c = u.default_conn();
        u.send_raw(c, &crate::testing::encode_command(&[b"SHUTDOWN"]));
        assert_eq!(u.exited, Some(0));
        assert!(
            !u.disk.files.contains_key("dump.rdb"),
            "no save points, no save"
        );
    }

    #[test]
    fn a_signal_during_save_waits_for_it_then_shuts_down_with_a_final_save() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        let c = t.default_conn();
        t.hold_io = true;
        t.send_raw(c, &crate::testing::encode_command(&[b"SAVE"]));
        t.server.handle(
            t.now,
            crate::io::Event::Signal(crate::io::Signal::Terminate),
        );
        t.drain();
        assert_eq!(t.exited, None, "the save runs to its end first");
        t.hold_io = false;
        t.drain();
        assert_eq!(t.take_output(c), b"+OK\r\n");
        assert_eq!(t.exited, Some(0));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Saving the final RDB snapshot before exiting."));
    }

    #[test]
    fn a_failed_shutdown_save_keeps_the_server_running() {
        let mut t = TestServer::new();
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Open { .. }),
            MemDisk::error(IoErrorKind::Other, "Permission denied"),
        ));
        assert_eq!(
            t.cmd(&["SHUTDOWN", "SAVE"]),
            Frame::err("ERR Errors trying to SHUTDOWN. Check logs.")
        );
        assert_eq!(t.exited, None);
        assert!(t.logs.iter().any(|l| l
            == "Failed opening the temp RDB file temp-0.rdb (in server root dir .) for saving: Permission denied"));
        assert_eq!(t.cmd(&["PING"]), Frame::Simple("PONG".into()));
        t.disk.fail = Some((
            |op| matches!(op, IoOp::Open { .. }),
            MemDisk::error(IoErrorKind::Other, "Permission denied"),
        ));
        let c = t.default_conn();
        t.send_raw(c, &crate::testing::encode_command(&[b"SHUTDOWN", b"FORCE"]));
        assert_eq!(t.exited, Some(0));
        assert!(t
            .logs
            .iter()
            .any(|l| l == "Error trying to save the DB. Exit anyway."));
    }

    #[test]
    fn flushall_saves_the_empty_dataset_with_save_points() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "a", "1"]);
        assert_eq!(t.cmd(&["SAVE"]), Frame::ok());
        t.cmd(&["FLUSHALL"]);
        let file = t.disk.files["dump.rdb"].clone();
        assert!(keys_in(&mut t, &file).is_empty());
        // The FLUSHALL itself is still a change.
        assert_eq!(info_field(&mut t, "rdb_changes_since_last_save"), "2");
    }

    #[test]
    fn save_config_parsing_and_formatting() {
        let mut t = TestServer::new();
        let get = |t: &mut TestServer| t.cmd(&["CONFIG", "GET", "save"]);
        assert_eq!(
            get(&mut t),
            Frame::array_of_bulks(&["save", "3600 1 300 100 60 10000"])
        );
        assert_eq!(t.cmd(&["CONFIG", "SET", "save", "100 5"]), Frame::ok());
        assert_eq!(get(&mut t), Frame::array_of_bulks(&["save", "100 5"]));
        assert_eq!(t.cmd(&["CONFIG", "SET", "save", ""]), Frame::ok());
        assert_eq!(get(&mut t), Frame::array_of_bulks(&["save", ""]));
        for bad in ["100", "0 1", "10 -1", "x 1", "10 1 20"] {
            assert_eq!(
                t.cmd(&["CONFIG", "SET", "save", bad]),
                Frame::err("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
                "{bad}"
            );
        }
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "dir", "/tmp"]),
            Frame::err("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config")
        );
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "dbfilename", "a.rdb"]),
            Frame::err("ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config")
        );
        let mut c = Config::default();
        c.load_from_string("save 60 1\nsave 30 2\n").unwrap();
        assert_eq!(c.save, [(60, 1), (30, 2)]);
        let mut c = Config::default();
        c.load_from_string("save \"\"\nsave 60 1\n").unwrap();
        assert_eq!(c.save, [(60, 1)]);
        let mut c = Config::default();
        c.load_from_string("save \"\"\n").unwrap();
        assert!(c.save.is_empty());
        let mut c = Config::default();
        let e = c.load_from_string("dbfilename a/b\n").unwrap_err();
        assert_eq!(e.message, "dbfilename can't be a path, just a filename");
    }
}
