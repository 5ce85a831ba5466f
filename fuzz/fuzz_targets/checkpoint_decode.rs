#![no_main]

include!("../src/bodies.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checkpoint_decode_body(data);
});
