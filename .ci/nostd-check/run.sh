#!/usr/bin/env bash
# Builds the kernel crate fpf-core (panic = abort) and links it into the freestanding
# `#![no_std] #![no_main]` host binary main.rs, then runs it: linking fails if anything in
# the kernel pulls in std or an allocator, and running checks a few values. (The firmware
# example, examples/firmware, is the cross-compiled counterpart.)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
target="$root/target/nostd"
cd "$root"
RUSTFLAGS="-C panic=abort" CARGO_TARGET_DIR="$target" \
  cargo build --quiet --release -p fpf-core
deps="$target/release/deps"
rlib=$(ls -t "$deps"/libfpf_core-*.rlib | head -n 1)
rustc --edition 2024 -C panic=abort -C opt-level=2 --crate-type bin \
  -L "dependency=$deps" --extern "fpf_core=$rlib" \
  -o "$target/nostd-check" .ci/nostd-check/main.rs
"$target/nostd-check"
echo "no_std check: the core links into a #![no_std] #![no_main] binary and runs"
