//! Replays the fuzz seed corpora and every input that ever crashed a fuzz target
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the same checks
//! the targets run, on stable Rust and without libFuzzer.

// The core itself never touches files; this test reads its inputs from the repository.
#![allow(clippy::disallowed_methods)]

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

/// The RDB and DUMP seeds are worth fuzzing from: each file redis-server wrote (and
/// the hand-built legacy one) loads to its end with its checksum, each payload
/// decodes; only the stream, which we do not support, is refused.
#[test]
fn rdb_seeds_load() {
    use cinnabar_core::rdb::{decode_dump_payload, LoadLimits, Loader};
    use cinnabar_core::rng::CoreRng;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/rdb_load");
    let limits = LoadLimits::from_config(&fuzz_checks::small_encodings_config(), 1 << 30);
    let mut rng = CoreRng::from_seed(1);
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("rdb_load corpus") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).expect("readable seed");
        let stream = name.contains("stream");
        if name.ends_with(".rdb") {
            let mut loader = Loader::new(&data, limits, true).expect("header");
            let mut keys = 0;
            let end = loop {
                match loader.next_item(&mut rng) {
                    Ok(Some(_)) => keys += 1,
                    Ok(None) => break Ok(keys),
                    Err(e) => break Err(e),
                }
            };
            assert_eq!(end.is_err(), stream, "{name}: {end:?}");
        } else {
            let mut blobs = 0;
            let value = decode_dump_payload(&data, &limits, &mut rng, true, &mut blobs);
            assert_eq!(value.is_err(), stream, "{name}: {value:?}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} RDB seeds");
}
