# cuda-gdb -x scripts/crash_stack.gdb.py (after `-ex run` has stopped on a native crash): names every
# word on the stack that points into a loaded library's code, and the registers. `bt` cannot unwind
# from a call through a null pointer (PC=0); this scan found cuDNN's call_once crash (docs/performance.md, "GPU: cuDNN and std::call_once").
import gdb
gdb.execute("set language c")
rsp = int(gdb.parse_and_eval("$rsp"))
inf = gdb.selected_inferior()
seen = 0
for i in range(4096):
    a = rsp + 8 * i
    try:
        w = int.from_bytes(bytes(inf.read_memory(a, 8)), "little")
    except Exception:
        break
    if w < 0x7f0000000000:
        continue
    s = gdb.execute("info symbol 0x%x" % w, to_string=True).strip()
    if "No symbol" in s:
        continue
    print("stack+%d: 0x%x %s" % (8 * i, w, s))
    seen += 1
    if seen > 60:
        break
for r in ["rdi", "rsi", "rdx", "rcx", "rbx", "r12"]:
    v = int(gdb.parse_and_eval("$" + r))
    print(r, hex(v), gdb.execute("info symbol 0x%x" % v, to_string=True).strip())
ret = int.from_bytes(bytes(inf.read_memory(rsp, 8)), "little")
print(gdb.execute("x/14i 0x%x" % (ret - 40), to_string=True))
print(gdb.execute("info sharedlibrary", to_string=True))
