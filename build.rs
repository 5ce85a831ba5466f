//! Generates the C header `include/fpf.h` from the `ffi` module with cbindgen.
//!
//! The header is committed; `.ci/run` regenerates it and fails if it differs. The file is
//! rewritten only when its content changes, so builds do not churn its timestamp.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    // The header describes the std build's C ABI; nothing to do for a core-only build.
    if std::env::var_os("CARGO_FEATURE_STD").is_none() {
        return;
    }
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml must parse");
    let bindings = match cbindgen::Builder::new()
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
    {
        Ok(b) => b,
        Err(e) => {
            // A parse failure must not block the Rust build; the header check in CI catches it.
            println!("cargo:warning=cbindgen could not generate include/fpf.h: {e}");
            return;
        }
    };
    let mut out = Vec::new();
    bindings.write(&mut out);
    let path = dir.join("include").join("fpf.h");
    if std::fs::read(&path).ok().as_deref() != Some(&out[..]) {
        std::fs::create_dir_all(dir.join("include")).expect("create include/");
        let tmp = path.with_extension("h.tmp");
        std::fs::write(&tmp, &out).expect("write header");
        std::fs::rename(&tmp, &path).expect("rename header");
    }
}
