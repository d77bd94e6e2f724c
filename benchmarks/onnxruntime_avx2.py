"""A copy of the installed ONNX Runtime that runs its AVX2 kernels on an AVX-512 CPU (for benchmarks only).

    python benchmarks/onnxruntime_avx2.py /tmp/ort-avx2       # writes /tmp/ort-avx2/onnxruntime, checks it
    PYTHONPATH=/tmp/ort-avx2 python ...                         # that process's ONNX Runtime kernels: AVX2

PyTorch, oneDNN and MKL take a setting that caps their instruction set (``benchmarks/hosts.py --hosts
avx2``); ONNX Runtime takes none: its kernel library (MLAS) asks the CPU itself, once, at start-up.
Each of those checks reads the register that says which vector state the operating system saves
(``xgetbv``), and uses AVX-512 only where that register says the AVX-512 state is saved. The copy
made here has each ``xgetbv`` in the library replaced by an instruction of the same length that
loads 7 (x87, SSE and AVX state; no AVX-512), so ONNX Runtime takes its AVX2 path, as on a CPU
without AVX-512. ``check`` times a u8 x s8 matrix product with both and says which ran faster; on
a CPU with AVX-512 VNNI the AVX2 kernels are about 2x slower.

It needs ``objdump`` (binutils) to find the instructions, and x86-64 Linux.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

XGETBV = b"\x0f\x01\xd0"
XOR_ECX = b"\x31\xc9"  # xor ecx, ecx: the usual set-up before xgetbv
LOAD_7 = b"\x6a\x07\x58"  # push 7; pop rax: three bytes, as xgetbv; edx keeps its value (XCR0's unused top half)

GEMM = f"""
import json, sys
sys.path.append({str(Path(__file__).resolve().parent)!r})
import onnxruntime
from roofline import gemm_rate
print(json.dumps({{"module": onnxruntime.__file__, "gops": round(gemm_rate("u8s8", 1, m=384), 1)}}))
"""  # one thread, 384 x 384 by 384 x 1,536: in a process of its own, importing the ONNX Runtime asked for


def patch(destination: Path) -> Path:
    """Copy the installed ``onnxruntime`` package into ``destination/onnxruntime`` with every ``xgetbv``
    in its native library loading 7 instead; return ``destination`` (for PYTHONPATH)."""
    import onnxruntime

    if shutil.which("objdump") is None:
        raise SystemExit("objdump (binutils) is needed to find the instructions to replace")
    source = Path(onnxruntime.__file__).parent
    target = destination / "onnxruntime"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    libraries = sorted((target / "capi").glob("onnxruntime_pybind11_state*.so"))
    if not libraries:
        raise SystemExit(f"no ONNX Runtime library in {target / 'capi'}")
    library = libraries[0]
    headers = subprocess.run(["objdump", "-h", str(library)], capture_output=True, text=True, check=True).stdout
    found = re.search(r"\.text\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", headers)
    if not found:
        raise SystemExit(f"no .text section in {library}")
    _size, address, offset = (int(x, 16) for x in found.groups())
    code = subprocess.run(["objdump", "-d", "--section=.text", str(library)], capture_output=True, text=True,
                          check=True).stdout
    data = bytearray(library.read_bytes())
    replaced = 0
    for line in code.splitlines():
        hit = re.match(r"\s*([0-9a-f]+):\s+0f 01 d0\s+xgetbv", line)
        if not hit:
            continue
        at = int(hit.group(1), 16) - address + offset
        if bytes(data[at:at + 3]) != XGETBV:
            raise SystemExit(f"{library}: expected xgetbv at file offset {at:#x}")
        # the compiler may count on ecx staying 0 (the next cpuid reads it), so xor ecx, ecx stays
        data[at:at + 3] = LOAD_7
        replaced += 1
    if not replaced:
        raise SystemExit(f"{library}: no xgetbv found; this ONNX Runtime cannot be held to AVX2 this way")
    library.write_bytes(bytes(data))
    (destination / "onnxruntime-avx2.json").write_text(json.dumps({"library": str(library), "replaced": replaced}),
                                                      encoding="utf-8")
    return destination


def gemm_gops(pythonpath: Path | None) -> dict:
    """A u8 x s8 matrix product's speed, one thread, with the installed or (``pythonpath``) the patched copy."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    out = subprocess.run([sys.executable, "-c", GEMM], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check(destination: Path) -> str:
    """Time the same int8 product with the installed and the patched ONNX Runtime; stop if the copy was
    not the one imported, or if on a CPU with AVX-512 VNNI it was not slower (its AVX2 kernels not taken)."""
    installed, patched = gemm_gops(None), gemm_gops(destination)
    if not patched["module"].startswith(str(destination)):
        raise SystemExit(f"the patched copy was not imported: {patched['module']}")
    flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    if "avx512_vnni" in flags and patched["gops"] > 0.75 * installed["gops"]:
        raise SystemExit(f"ONNX Runtime held to AVX2 did not slow down (int8 product {patched['gops']} against "
                         f"{installed['gops']} GOPS): its AVX-512 kernels are still in use")
    return f"int8 product {installed['gops']} GOPS as installed, {patched['gops']} GOPS held to AVX2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path)
    args = parser.parse_args()
    destination = patch(args.destination.resolve())
    print(f"ONNX Runtime held to AVX2 in {destination} ({check(destination)}); use PYTHONPATH={destination}")


if __name__ == "__main__":
    main()
