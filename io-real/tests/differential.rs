//! Differential test: the same commands go to cinnabar-server and to a real
//! redis-server 7, and the raw reply bytes must be identical.
//!
//! Scripts live in `tests/differential/*.redis`, one command per line in redis-cli
//! syntax (quotes and `\x..` escapes as in redis.conf). Lines starting with `#` are
//! comments; `@resp3` switches both connections to RESP3 (via HELLO 3) and `@resp2`
//! back; `@sleep <ms>` waits. Every script runs on a fresh pair of servers.
//!
//! Several clients: `@conn <n>` sends the following lines on connection pair `n`
//! (pair 0 is the one a script starts on; others open on first use), so one client
//! can WATCH while another writes. `@drain` reads what the current pair received
//! without asking (Pub/Sub messages, keyspace notifications) until both sides have
//! been quiet for a moment, and compares the bytes.

mod support;

use cinnabar_core::resp::splitargs::split_args;
use support::{RawConn, ServerProcess};

fn run_script(name: &str, text: &str) {
    let Some(redis) = ServerProcess::redis(&["--enable-debug-command", "yes"]) else {
        return;
    };
    let ours = ServerProcess::cinnabar(&["--enable-debug-command", "yes"]);
    let mut pairs = vec![(ours.raw(), redis.raw())];
    let mut current = 0;
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(ms) = line.strip_prefix("@sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(
                ms.trim().parse().expect("@sleep <ms>"),
            ));
            continue;
        }
        if let Some(k) = line.strip_prefix("@conn ") {
            current = k.trim().parse().expect("@conn <n>");
            while pairs.len() <= current {
                pairs.push((ours.raw(), redis.raw()));
            }
            continue;
        }
        let (a, b) = &mut pairs[current];
        if line == "@drain" {
            let (got, want) = (a.read_pending(), b.read_pending());
            if got != want {
                failures.push(format!(
                    "{name}:{}: @drain on connection {current}\n  redis:    {:?}\n  cinnabar: {:?}",
                    n + 1,
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                ));
            }
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
    let mut out = conn.read_reply();
    if out.starts_with(b">") {
        let reply = conn.read_reply();
        out.extend_from_slice(&reply);
    }
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
