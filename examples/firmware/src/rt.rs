//! The bare-metal runtime, hand-written (no cortex-m-rt): vector table, `Reset`, fault handler
//! and the panic handler. `link.x` places `.vector_table` at the start of flash and defines
//! `_stack_start`, `__sbss`/`__ebss`, `__sdata`/`__edata`/`__sidata`.

use core::arch::global_asm;

// Vector table (ARMv7-M): initial SP, Reset, then the 14 system exceptions. No device IRQs:
// this example enables none. `.word` of a Thumb function symbol carries its Thumb bit.
//
// Reset is assembly so that no FP instruction can run before the FPU is enabled (the
// thumbv7em-none-eabihf ABI passes floats in FP registers, and Rust code may use them
// anywhere): CPACR.CP10/CP11 = full access, then zero .bss, copy .data, call `fw_main`.
global_asm!(
    r#"
    .syntax unified
    .thumb

    .section .vector_table, "a"
    .global __vector_table
    .p2align 2
__vector_table:
    .word _stack_start
    .word Reset
    .word DefaultHandler      /* NMI */
    .word DefaultHandler      /* HardFault */
    .word DefaultHandler      /* MemManage */
    .word DefaultHandler      /* BusFault */
    .word DefaultHandler      /* UsageFault */
    .word 0, 0, 0, 0          /* reserved */
    .word DefaultHandler      /* SVCall */
    .word DefaultHandler      /* DebugMonitor */
    .word 0                   /* reserved */
    .word DefaultHandler      /* PendSV */
    .word DefaultHandler      /* SysTick */

    .section .text.Reset, "ax"
    .global Reset
    .type Reset, %function
    .thumb_func
Reset:
    ldr   r0, =0xE000ED88     /* CPACR */
    ldr   r1, [r0]
    orr   r1, r1, #(0xF << 20)
    str   r1, [r0]
    dsb
    isb
    ldr   r0, =__sbss
    ldr   r1, =__ebss
    movs  r2, #0
1:  cmp   r0, r1
    bhs   2f
    str   r2, [r0], #4
    b     1b
2:  ldr   r0, =__sdata
    ldr   r1, =__edata
    ldr   r2, =__sidata
3:  cmp   r0, r1
    bhs   4f
    ldr   r3, [r2], #4
    str   r3, [r0], #4
    b     3b
4:  bl    fw_main
    b     4b
    .pool
    .size Reset, . - Reset

    .section .text.DefaultHandler, "ax"
    .global DefaultHandler
    .type DefaultHandler, %function
    .thumb_func
DefaultHandler:
    b     DefaultHandler
    .size DefaultHandler, . - DefaultHandler
"#
);

#[cfg(feature = "panic-check")]
unsafe extern "C" {
    /// Defined nowhere: the link succeeds only if the optimizer removed every call to the
    /// panic handler, i.e. no panic path is reachable from `fw_main`.
    fn __fpf_kernel_panicked() -> !;
}

/// With `panic-locate`: the last panic's location, kept so that every surviving panic site's
/// `core::panic::Location` stays in .rodata, where `panic-locations.py` lists them.
#[cfg(feature = "panic-locate")]
#[unsafe(no_mangle)]
static mut FPF_PANIC_LOCATION: Option<&'static core::panic::Location<'static>> = None;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    #[cfg(feature = "panic-locate")]
    // SAFETY: single-threaded; a plain store.
    unsafe {
        let loc: Option<&'static core::panic::Location<'static>> = _info
            .location()
            .map(|l| &*(l as *const core::panic::Location<'_>).cast());
        core::ptr::write_volatile(core::ptr::addr_of_mut!(FPF_PANIC_LOCATION), loc);
    }
    #[cfg(feature = "panic-check")]
    unsafe {
        __fpf_kernel_panicked()
    }
    #[cfg(not(feature = "panic-check"))]
    loop {
        core::hint::spin_loop();
    }
}
