//! Generates the C header from this crate's sources with cbindgen, into `$OUT_DIR/fpf.h`
//! only: a build never writes to the source tree.
//!
//! The committed `include/fpf.h` is a copy of it: `cargo run --example write_header`
//! rewrites it, and `tests/header.rs` fails while the two differ.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this")).join("fpf.h");
    let header = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .map_err(|e| e.to_string())
        .and_then(|config| {
            cbindgen::Builder::new()
                .with_src(dir.join("src/lib.rs"))
                .with_config(config)
                .generate()
                .map_err(|e| e.to_string())
        })
        .map(|bindings| {
            let mut bytes = Vec::new();
            bindings.write(&mut bytes);
            bytes
        })
        .unwrap_or_else(|e| {
            // The library itself still builds; the header test reports this text.
            println!("cargo:warning=cbindgen could not generate the C header: {e}");
            format!("#error \"cbindgen could not generate this header: {e}\"\n").into_bytes()
        });
    std::fs::write(&out, header).expect("write $OUT_DIR/fpf.h");
}
