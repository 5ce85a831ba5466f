//! fpf on a Cortex-M4F: one Newton step to a GRU fixed point and the Jacobian's eigenvalues.
//!
//! Build: `cargo build --release --target thumbv7em-none-eabihf` (links with rust-lld and
//! `link.x`, no runtime crate). On the host, the same file is a std program that runs the
//! pipeline once and prints it (`cargo run --release`).
//!
//! Inputs are read with `read_volatile` and the weights through `black_box`, and the result is
//! stored with `write_volatile`, so the optimizer can neither fold the computation to a
//! constant nor drop it.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use fpf_firmware::{Gru32, H, I, Output, example_weights, run};

#[cfg(target_os = "none")]
mod rt;

/// The network, in flash (.rodata).
static NET: Gru32 = example_weights();
/// Input and initial state, in RAM (.data): a debugger or bootloader may overwrite them.
static mut INPUT_U: [f32; I] = [0.5, -0.25, 1.0];
static mut INPUT_H0: [f32; H] = [0.1; H];
/// The result, in RAM (.bss), under a fixed symbol name for a debugger.
#[unsafe(no_mangle)]
static mut FPF_OUTPUT: Output = Output::ZERO;

fn run_once() {
    // SAFETY: single-threaded, no interrupts enabled; plain loads/stores of owned statics.
    let (u, h0) = unsafe {
        (
            read_volatile(addr_of!(INPUT_U)),
            read_volatile(addr_of!(INPUT_H0)),
        )
    };
    let net: &Gru32 = core::hint::black_box(&NET);
    let out = run(net, &u, &h0);
    unsafe { write_volatile(addr_of_mut!(FPF_OUTPUT), out) };
}

/// Called by `Reset` (src/rt.rs) once the FPU is on and .data/.bss are initialized.
#[cfg(target_os = "none")]
#[unsafe(no_mangle)]
extern "C" fn fw_main() -> ! {
    run_once();
    loop {
        // SAFETY: `wfi` only waits for an interrupt.
        unsafe { core::arch::asm!("wfi") };
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    run_once();
    // SAFETY: written above, single-threaded.
    let out = unsafe { read_volatile(addr_of!(FPF_OUTPUT)) };
    println!(
        "newton: iters {} outcome {} q {:.3e}",
        out.iters, out.outcome, out.q
    );
    println!(
        "eig status {} spectral radius {:.6}",
        out.eig_status, out.radius
    );
    for k in 0..H {
        println!("  lambda[{k:2}] = {:+.6} {:+.6}i", out.re[k], out.im[k]);
    }
    // FNV-1a over every result's bits: equal checksums mean bit-identical results.
    let bits = out
        .x
        .iter()
        .chain(&out.re)
        .chain(&out.im)
        .chain([&out.q, &out.radius]);
    let words = bits
        .map(|v| v.to_bits())
        .chain(out.f.iter().map(|v| v.to_bits() as u64));
    let fnv = words.fold(0xcbf2_9ce4_8422_2325u64, |h, w| {
        (h ^ w).wrapping_mul(0x100_0000_01b3)
    });
    println!("checksum {fnv:016x}");
}
