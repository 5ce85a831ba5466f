//! Links the no_std core into a freestanding binary and runs one step of each cell.
#![no_std]
#![no_main]

use fpf_core::cell::fixed::{GruCell, LstmCell, TanhCell};

// The C runtime provides `_start`, which calls `main`; nothing from Rust's std is linked.
#[link(name = "c")]
unsafe extern "C" {}

// The host's precompiled libcore is built with unwinding and refers to this symbol; with
// panic = abort it is never called.
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut t = TanhCell::<f32, 2, 4>::zeros();
    t.b = [0.5; 4];
    let (f, j) = t.step_with_jacobian(&[1.0, 0.0], &[0.1; 4]);
    let g = GruCell::<f64, 1, 3>::zeros().step(&[1.0], &[0.2; 3]);
    let (h, c) = LstmCell::<f32, 1, 2>::zeros().step(&[1.0], &[0.0; 2], &[1.0; 2]);
    let ok = (f[0] - 0.462_117_2).abs() < 1e-6
        && j[0][0] == 0.0
        && (g[0] - 0.1).abs() < 1e-12
        && c[0] == 0.5
        && h[0] > 0.0;
    if ok { 0 } else { 1 }
}
