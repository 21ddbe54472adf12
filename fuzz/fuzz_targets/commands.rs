//! Fuzz target `commands`: a thin wrapper; the check is `cinnabar_core::fuzz_checks::check_commands`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cinnabar_core::fuzz_checks::check_commands(data);
});
