//! Fuzz target `resp`: a thin wrapper; the check is `cinnabar_core::fuzz_checks::check_resp`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cinnabar_core::fuzz_checks::check_resp(data);
});
