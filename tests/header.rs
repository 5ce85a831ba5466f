//! The committed C header is the one cbindgen generates from the sources (see `build.rs`).

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/fpf.h"));
const COMMITTED: &str = include_str!("../include/fpf.h");

#[test]
fn committed_header_is_fresh() {
    assert!(
        !GENERATED.starts_with("#error"),
        "cbindgen failed: {GENERATED}"
    );
    if GENERATED != COMMITTED {
        let line = GENERATED
            .lines()
            .zip(COMMITTED.lines())
            .position(|(a, b)| a != b)
            .map_or(
                GENERATED.lines().count().min(COMMITTED.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "include/fpf.h is stale (first difference at line {line}): run \
             `cargo run --example write_header` and commit it"
        );
    }
}
