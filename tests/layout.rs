//! What ARCHITECTURE.md says about the layout, checked against the sources.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its comments (line comments only: the sources use no block
/// comments).
fn code(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn scalar_rs_is_the_only_file_naming_a_math_backend() {
    let core = root().join("crates/core/src");
    let mut all = rust_files(&core);
    all.extend(rust_files(&root().join("crates/std/src")));
    all.extend(rust_files(&root().join("src")));
    for p in all {
        if p == core.join("scalar.rs") {
            continue;
        }
        let c = code(&p);
        for name in ["libm::", "micromath::"] {
            assert!(!c.contains(name), "{} names {name}", p.display());
        }
    }
}

#[test]
fn the_kernel_never_imports_the_std_layer_or_std() {
    let core = root().join("crates/core/src");
    for p in rust_files(&core) {
        let c = code(&p);
        let in_tests = c.find("mod tests").unwrap_or(c.len());
        let c = &c[..in_tests];
        // With its `std` feature, the kernel links std for CPU feature detection only:
        // `extern crate std` in lib.rs, `std::is_x86_feature_detected!` in isa.rs.
        let names: &[&str] = if p == core.join("lib.rs") {
            &["fpf_std", "std::", "alloc::"]
        } else if p == core.join("isa.rs") {
            &["fpf_std", "alloc::", "extern crate"]
        } else {
            &["fpf_std", "std::", "alloc::", "extern crate"]
        };
        for &name in names {
            assert!(
                !c.split(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == ':'))
                    .any(|w| w.starts_with(name)),
                "{} uses {name}",
                p.display()
            );
        }
    }
}

#[test]
fn only_the_c_library_the_instruction_set_code_and_the_threads_have_unsafe_code() {
    for krate in ["crates/core/src/lib.rs", "crates/std/src/lib.rs"] {
        let c = fs::read_to_string(root().join(krate)).unwrap();
        assert!(c.contains("#![deny(unsafe_code)]"), "{krate}");
    }
    // The exceptions: calling `#[target_feature]` code after detection, and the intrinsics;
    // the threads' join handing a borrowed closure to a helper, and the affinity calls.
    let core = root().join("crates/core/src");
    let threads = root().join("crates/std/src/threads");
    let allowed = [
        core.join("isa.rs"),
        core.join("linalg/gemm/x86.rs"),
        threads.join("team.rs"),
        threads.join("cpu.rs"),
    ];
    for krate in ["crates/core/src", "crates/std/src"] {
        for p in rust_files(&root().join(krate)) {
            let c = code(&p);
            if !allowed.contains(&p) {
                assert!(!c.contains("allow(unsafe_code)"), "{}", p.display());
            }
        }
    }
}

#[test]
fn no_source_cites_a_document_the_repository_does_not_contain() {
    let mut all = rust_files(&root().join("crates"));
    all.extend(rust_files(&root().join("src")));
    all.push(root().join("include/fpf.h"));
    all.push(root().join("ffi-examples/cpp/fpf.hpp"));
    all.push(root().join("ffi-examples/python/fpf.py"));
    for dir in ["python/fpf", "python/tests"] {
        for e in fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "py") {
                all.push(p);
            }
        }
    }
    all.extend(["setup.py", "pyproject.toml", "README.md"].map(|f| root().join(f)));
    for p in all {
        let text = fs::read_to_string(&p).unwrap();
        for doc in ["DESIGN.md", "shared/", "seeds/"] {
            assert!(!text.contains(doc), "{} cites {doc}", p.display());
        }
    }
}
