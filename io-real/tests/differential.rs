//! Differential test: the same commands go to cinnabar-server and to a real
//! redis-server 7, and the raw reply bytes must be identical.
//!
//! Scripts live in `tests/differential/*.redis`, one command per line in redis-cli
//! syntax (quotes and `\x..` escapes as in redis.conf). Lines starting with `#` are
//! comments; `@resp3` switches both connections to RESP3 (via HELLO 3) and `@resp2`
//! back; `@sleep <ms>` waits. Every script runs on a fresh pair of servers.
//!
//! For pub/sub, a script can hold several connections: `@conn <name>` makes the named
//! pair current (opened on first use; the first is `main`), and `@read` reads one more
//! frame from the current pair and compares it — a message published from another
//! connection, or the second confirmation of `SUBSCRIBE a b`; `@send <command>` sends
//! without reading (for CLIENT REPLY OFF and what follows it). A command's reply is
//! one frame, after any RESP3 pushes in front of it (a push to oneself precedes the
//! command's reply), except for the (un)subscribe commands, whose RESP3 reply is the
//! push itself. `@drain` reads whatever the current pair received without asking
//! (Pub/Sub messages, keyspace notifications) until both sides have been quiet for a
//! moment, and compares the bytes. The first pair is also called `0`, so numbered
//! pairs (`@conn 0`, `@conn 1`) read naturally in scripts with several clients.

mod support;

use cinnabar_core::resp::splitargs::split_args;
use std::collections::BTreeMap;
use support::{RawConn, ServerProcess};

/// Commands whose RESP3 reply is a push frame, not a push followed by a reply.
const PUSH_REPLIES: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
];

fn run_script(name: &str, text: &str) {
    let Some(redis) = ServerProcess::redis(&["--enable-debug-command", "yes"]) else {
        return;
    };
    let ours = ServerProcess::cinnabar(&["--enable-debug-command", "yes"]);
    // Connection pairs by name: (cinnabar, redis).
    let mut pairs: BTreeMap<String, (RawConn, RawConn)> = BTreeMap::new();
    let mut current = "main".to_string();
    pairs.insert(current.clone(), (ours.raw(), redis.raw()));
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("@conn ") {
            current = match name.trim() {
                "0" => "main".to_string(),
                other => other.to_string(),
            };
            pairs
                .entry(current.clone())
                .or_insert_with(|| (ours.raw(), redis.raw()));
            continue;
        }
        let (a, b) = pairs.get_mut(&current).expect("current pair exists");
        if let Some(cmd) = line.strip_prefix("@send ") {
            // A command with no reply of its own (CLIENT REPLY OFF): send, don't read.
            let args = split_args(cmd.as_bytes())
                .unwrap_or_else(|| panic!("{name}:{}: bad quoting", n + 1));
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            a.send_cmd(&args);
            b.send_cmd(&args);
            continue;
        }
        if line == "@drain" {
            let (got, want) = (a.read_pending(), b.read_pending());
            if got != want {
                failures.push(format!(
                    "{name}:{}: @drain on {current}\n  redis:    {:?}\n  cinnabar: {:?}",
                    n + 1,
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                ));
            }
            continue;
        }
        if line == "@read" {
            let got = a.read_reply();
            let want = b.read_reply();
            if got != want {
                failures.push(format!(
                    "{name}:{}: @read on {current}\n  redis:    {:?}\n  cinnabar: {:?}",
                    n + 1,
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                ));
            }
            continue;
        }
        if let Some(ms) = line.strip_prefix("@sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(
                ms.trim().parse().expect("@sleep <ms>"),
            ));
            continue;
        }
        let line = match line {
            "@resp3" => "HELLO 3",
            "@resp2" => "HELLO 2",
            other => other,
        };
        let args =
            split_args(line.as_bytes()).unwrap_or_else(|| panic!("{name}:{}: bad quoting", n + 1));
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let got = exchange(a, &args);
        let want = exchange(b, &args);
        if line.starts_with("HELLO") {
            continue; // server/version/id fields differ by design
        }
        if got != want {
            failures.push(format!(
                "{name}:{}: {line}\n  redis:    {:?}\n  cinnabar: {:?}",
                n + 1,
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn exchange(conn: &mut RawConn, args: &[&[u8]]) -> Vec<u8> {
    conn.send_cmd(args);
    // A RESP3 push frame precedes the reply it accompanies: keep them together.
    let mut frame = conn.read_reply();
    let name = String::from_utf8_lossy(args[0]).to_ascii_lowercase();
    if PUSH_REPLIES.contains(&name.as_str()) {
        return frame;
    }
    let mut out = Vec::new();
    while frame.starts_with(b">") {
        out.extend_from_slice(&frame);
        frame = conn.read_reply();
    }
    out.extend_from_slice(&frame);
    out
}

#[test]
fn differential_scripts_match_redis() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("scripts dir")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.path());
    let mut ran = 0;
    for e in entries {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("redis") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read script");
        run_script(&path.file_name().unwrap().to_string_lossy(), &text);
        ran += 1;
    }
    assert!(ran > 0, "no differential scripts found");
}
