//! Builds and runs the C, C++ and Python examples of `ffi-examples/` against the library of
//! this build profile (target/release for `cargo test --release`, target/debug otherwise).
//! The binaries go to a temporary directory (`make OUT=…`), so the source tree stays clean.
//! Outside CI, a part whose tool (make, cc, c++, python3 + numpy) is missing prints a SKIP
//! line and passes; under CI (`CI` set, as `.ci/run` runs) a missing tool fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A missing tool: a failure under CI, a visible skip elsewhere.
fn missing(what: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "{what} (CI must have it: .ci/run installs it)");
    println!("SKIP {what}");
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory and profile of this test binary (`…/target/<profile>/deps/x`).
fn lib_dir() -> (PathBuf, &'static str) {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let profile = if profile_dir.file_name().is_some_and(|n| n == "release") {
        "release"
    } else {
        "debug"
    };
    (profile_dir.to_path_buf(), profile)
}

/// Makes sure libfpf.a and libfpf.so of this profile are built from these sources (cargo
/// is a no-op when they are; `cargo test` alone may leave a stale cdylib behind).
fn ensure_libs() -> &'static PathBuf {
    static LIBS: OnceLock<PathBuf> = OnceLock::new();
    LIBS.get_or_init(|| {
        let (dir, profile) = lib_dir();
        {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(root()).args(["build", "--lib"]);
            if profile == "release" {
                cmd.arg("--release");
            }
            if let Some(target) = dir.parent() {
                cmd.env("CARGO_TARGET_DIR", target);
            }
            let st = cmd.status().expect("run cargo build --lib");
            assert!(st.success(), "cargo build --lib failed");
        }
        dir
    })
}

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fpf_ffi_examples_{}_{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `make -C ffi-examples/<sub> OUT=<tmp> <targets>` against this profile's libraries.
fn make(sub: &str, out: &Path, targets: &[&str]) {
    let libs = ensure_libs();
    let (_, profile) = lib_dir();
    let target_dir = libs.parent().expect("target dir");
    let o = Command::new("make")
        .arg("-C")
        .arg(root().join("ffi-examples").join(sub))
        .arg(format!("OUT={}", out.display()))
        .arg(format!("CARGO_TARGET_DIR={}", target_dir.display()))
        .arg(format!("PROFILE={profile}"))
        .args(targets)
        .output()
        .expect("run make");
    assert!(o.status.success(), "{}", show("make", &o));
}

fn run_ok(bin: &Path, cwd: &Path) -> String {
    let o = Command::new(bin)
        .current_dir(cwd)
        .env("TMPDIR", cwd)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    assert!(
        o.status.success(),
        "{}",
        show(&bin.display().to_string(), &o)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_eight_stable(stdout: &str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Stable fixed points: 8 / "))
        .unwrap_or_else(|| panic!("no `Stable fixed points: 8 / N` line in:\n{stdout}"));
    let n: usize = line["Stable fixed points: 8 / ".len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("bad line {line}"));
    assert!(n >= 8, "{line}");
}

#[test]
fn c_examples_build_and_run() {
    if !have("make", "--version") || !have("cc", "--version") {
        missing("c_examples_build_and_run: make or cc not found");
        return;
    }
    let out = temp_dir("c");
    make("c", &out, &["static", "shared"]);
    for bin in ["flipflop", "flipflop_shared"] {
        let stdout = run_ok(&out.join(bin), &out);
        assert_eight_stable(&stdout);
        assert!(stdout.contains("Checkpoint round trip OK"), "{stdout}");
    }
    for bin in ["bad_input", "bad_input_shared"] {
        let stdout = run_ok(&out.join(bin), &out);
        assert!(stdout.contains(" 0 failures"), "{stdout}");
    }
    for bin in ["callback", "callback_shared"] {
        let stdout = run_ok(&out.join(bin), &out);
        assert!(stdout.contains("Number of fixed points: 9\n"), "{stdout}");
        assert!(stdout.contains("Stable fixed points: 4 / 9\n"), "{stdout}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn cpp_example_builds_and_runs() {
    if !have("make", "--version") || !have("c++", "--version") {
        missing("cpp_example_builds_and_runs: make or c++ not found");
        return;
    }
    let out = temp_dir("cpp");
    make("cpp", &out, &["static"]);
    let stdout = run_ok(&out.join("flipflop_cpp"), &out);
    assert_eight_stable(&stdout);
    assert!(stdout.contains("Checkpoint round trip OK"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn python_examples_run() {
    let numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !numpy {
        missing("python_examples_run: python3 with numpy not available");
        return;
    }
    let libs = ensure_libs();
    let out = temp_dir("py");
    let dir = root().join("ffi-examples").join("python");
    let py = |args: &[&str]| {
        let o = Command::new("python3")
            .current_dir(&dir)
            .env("FPF_LIB", libs.join("libfpf.so"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("MPLBACKEND", "Agg")
            .args(args)
            .output()
            .expect("run python3");
        assert!(o.status.success(), "{}", show(&args.join(" "), &o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let t = py(&["test_fpf.py"]);
    assert!(t.contains("tests passed"), "{t}");
    let f = py(&["flipflop.py", "--out-dir", &out.display().to_string()]);
    assert_eight_stable(&f);
    // Many networks in a process pool: one line per network, in seed order.
    let m = py(&["many_networks.py", "--networks", "3", "--workers", "2"]);
    for seed in 100..103 {
        assert!(m.contains(&format!("network seed {seed} ")), "{m}");
    }
    assert!(
        m.contains("networks by number of stable fixed points"),
        "{m}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
