//! Rewrites the committed C header `include/fpf.h` from the one cbindgen generated for this
//! build (`$OUT_DIR/fpf.h`, see `build.rs`): `cargo run --example write_header`.

use std::path::Path;

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/fpf.h"));

fn main() -> std::io::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/fpf.h");
    if std::fs::read_to_string(&path).ok().as_deref() == Some(GENERATED) {
        println!("{} is up to date", path.display());
        return Ok(());
    }
    let tmp = path.with_extension("h.tmp");
    std::fs::write(&tmp, GENERATED)?;
    std::fs::rename(&tmp, &path)?;
    println!("wrote {}", path.display());
    Ok(())
}
