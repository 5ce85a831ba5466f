#!/usr/bin/env bash
# Builds the fpf core as a no_std rlib (no default features, panic = abort) and links it into
# the freestanding `#![no_std] #![no_main]` binary main.rs, then runs it. Linking fails if
# anything in the core pulls in std or an allocator.
#
# Why not a Cargo package: Cargo builds every crate type a dependency declares, and fpf's
# cdylib/staticlib need a panic handler that a no_std library must not define
# (rust-lang/cargo#4280). So the rlib is built with `cargo rustc --crate-type rlib`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target="$root/target/nostd"
cd "$root"
RUSTFLAGS="-C panic=abort" CARGO_TARGET_DIR="$target" \
  cargo rustc --quiet --lib --release --no-default-features --crate-type rlib
deps="$target/release/deps"
rlib=$(ls -t "$deps"/libfpf-*.rlib | head -n 1)
rustc --edition 2024 -C panic=abort -C opt-level=2 --crate-type bin \
  -L "dependency=$deps" --extern "fpf=$rlib" \
  -o "$target/nostd-check" .ci/nostd-check/main.rs
"$target/nostd-check"
echo "no_std check: the core links into a #![no_std] #![no_main] binary and runs"
