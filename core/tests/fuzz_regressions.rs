//! Replays the fuzz seed corpora and every input that ever crashed a fuzz target
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the same checks
//! the targets run, on stable Rust and without libFuzzer.

use cinnabar_core::fuzz_checks;
use std::path::Path;

/// Feed every file of the target's corpus and regressions to `check`; returns how
/// many files were replayed.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "regressions"] {
        let dir = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.expect("dir entry").path()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).expect("readable input");
            eprintln!("{target}: {}", path.display());
            check(&data);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn resp_inputs() {
    assert!(replay("resp", fuzz_checks::check_resp) > 0, "no resp seeds");
}

#[test]
fn rdb_load_inputs() {
    assert!(
        replay("rdb_load", fuzz_checks::check_rdb_bytes) > 0,
        "no rdb_load seeds"
    );
}

#[test]
fn rdb_roundtrip_inputs() {
    assert!(
        replay("rdb_roundtrip", fuzz_checks::check_rdb_roundtrip) > 0,
        "no roundtrip seeds"
    );
}

#[test]
fn aof_load_inputs() {
    assert!(
        replay("aof_load", fuzz_checks::check_aof) > 0,
        "no aof_load seeds"
    );
}

#[test]
fn commands_inputs() {
    assert!(
        replay("commands", fuzz_checks::check_commands) > 0,
        "no commands seeds"
    );
}
