#!/usr/bin/env python3
"""Lists the core::panic::Location records left in an ARM ELF's .rodata (file:line:col).

After --gc-sections, only Locations still referenced by code survive, so this is the list of
panic sites the optimizer could not remove. A Location on a 32-bit target is
{file: &str (ptr, len), line: u32, col: u32}. Usage: panic-locations.py ELF
"""
import struct, subprocess, sys, collections

elf = sys.argv[1]
def sections():
    out = subprocess.run(["arm-none-eabi-objdump", "-h", elf], capture_output=True, text=True).stdout
    res = {}
    lines = out.splitlines()
    for l in lines:
        p = l.split()
        if len(p) >= 7 and p[0].isdigit():
            res[p[1]] = (int(p[3], 16), int(p[2], 16), int(p[5], 16))  # vma, size, file offset
    return res
secs = sections()
data = open(elf, "rb").read()
vma, size, off = secs[".rodata"]
ro = data[off:off + size]
def read_str(addr, n):
    if vma <= addr and addr + n <= vma + size:
        return ro[addr - vma: addr - vma + n]
    return None
locs = collections.Counter()
for i in range(0, size - 15, 4):
    ptr, n, line, col = struct.unpack_from("<IIII", ro, i)
    if 3 < n < 300 and 0 < line < 100000 and 0 < col < 500:
        s = read_str(ptr, n)
        if s and s.endswith(b".rs"):
            try:
                locs[(s.decode(), line, col, vma + i)] += 1
            except UnicodeDecodeError:
                pass
for (f, l, c, a) in sorted(locs):
    print(f"{a:08x}  {f}:{l}:{c}")
print(f"{len(locs)} panic locations", file=sys.stderr)
