//! Fuzz target `rdb_roundtrip`: a thin wrapper; the check is `cinnabar_core::fuzz_checks::check_rdb_roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cinnabar_core::fuzz_checks::check_rdb_roundtrip(data);
});
