#![no_main]

include!("../src/bodies.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ffi_entry_body(data);
});
