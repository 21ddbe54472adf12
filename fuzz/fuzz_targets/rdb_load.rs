//! Fuzz target `rdb_load`: a thin wrapper; the check is `cinnabar_core::fuzz_checks::check_rdb_bytes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cinnabar_core::fuzz_checks::check_rdb_bytes(data);
});
