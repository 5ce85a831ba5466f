#!/usr/bin/env bash
# Runs the firmware ELF on QEMU's mps2-an386 (Cortex-M4F; code at 0, RAM at 0x2000_0000),
# with the RAM above .bss pre-painted with 0xA5, then reads FPF_OUTPUT and the stack high-water mark back
# from a RAM dump. Needs qemu-system-arm (Debian package) and arm-none-eabi-nm.
# Usage: qemu-run.sh [ELF]
set -euo pipefail
elf=${1:-target/thumbv7em-none-eabihf/release/fpf-firmware}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sym() { arm-none-eabi-nm "$elf" | awk -v s="$1" '$3==s{print $1}'; }
# Paint from the end of .bss (rounded up to 8) to the top of RAM: the stack's whole range.
paint_at=$(( (0x$(sym __ebss) + 7) & ~7 ))
python3 -c "import sys; sys.stdout.buffer.write(b'\xa5' * (0x20010000 - $paint_at))" > "$tmp/paint.bin"
{ sleep 3; echo "pmemsave 0x20000000 0x10000 \"$tmp/ram.bin\""; sleep 1; echo quit; } |
  timeout 20 qemu-system-arm -M mps2-an386 -display none -serial none -monitor stdio \
    -kernel "$elf" -device loader,file="$tmp/paint.bin",addr=$paint_at > "$tmp/qemu.log" 2>&1 || true
[ -s "$tmp/ram.bin" ] || { cat "$tmp/qemu.log"; echo "no RAM dump" >&2; exit 1; }
python3 - "$tmp/ram.bin" "$(sym FPF_OUTPUT)" "$(sym __ebss)" <<'PY'
import struct, sys
ram = open(sys.argv[1], "rb").read()
base = 0x20000000
out, ebss = int(sys.argv[2], 16) - base, int(sys.argv[3], 16) - base
H = 16
b = ram[out:out + 480]
x = struct.unpack_from("<16d", b, 0)
q, = struct.unpack_from("<d", b, 128)
iters, outcome, eig_status = struct.unpack_from("<3I", b, 136)
re = struct.unpack_from("<16d", b, 216)
im = struct.unpack_from("<16d", b, 344)
radius, = struct.unpack_from("<d", b, 472)
print(f"newton: iters {iters} outcome {outcome} q {q:.3e}")
print(f"eig status {eig_status} spectral radius {radius:.6f}")
for k in range(H):
    print(f"  lambda[{k:2}] = {re[k]:+.6f} {im[k]:+.6f}i")
# Stack: the lowest word above .bss that is no longer the paint.
lo = next(i for i in range((ebss + 3) & ~3, len(ram), 4) if ram[i:i + 4] != b"\xa5" * 4)
print(f"stack high-water mark: {len(ram) - lo} bytes (of {len(ram) - ebss} free above .bss)")
PY
