"""What this machine's CPU can do, read without importing PyTorch.

    cpu = detect()
    cpu.native_bf16, cpu.vnni, cpu.cores, cpu.isa       # (False, False, 2, "AVX2") on an AVX2-only laptop

The flags come from ``/proc/cpuinfo`` on Linux (PyTorch's own report elsewhere). The settings that
make PyTorch and oneDNN behave as on an older CPU (``ATEN_CPU_CAPABILITY=avx2``,
``ONEDNN_MAX_CPU_ISA=AVX2``) are honoured: under them, bf16 is emulated, so it is not native.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# oneDNN's ISA names, lowest first; bf16 matrix products are native from AVX512_CORE_BF16 on
_ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
                "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX", "AVX512_CORE_AMX",
                "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16", "DEFAULT")
_LIMITS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


@dataclass(frozen=True)
class CPU:
    """The CPU as the models see it: its name, usable cores, instruction-set flags and any limit set on them."""

    name: str
    cores: int
    flags: frozenset[str]
    limits: dict[str, str] = field(default_factory=dict)  # environment variables that narrow the ISA

    @property
    def avx2(self) -> bool:
        return "avx2" in self.flags

    @property
    def avx512(self) -> bool:
        return "avx512f" in self.flags and "avx512bw" in self.flags and not self._capped_below("AVX512_CORE")

    @property
    def vnni(self) -> bool:
        """int8 dot products in one instruction (AVX-512 VNNI or AVX-VNNI)."""
        if "avx_vnni" in self.flags and not self._capped_below("AVX2_VNNI"):
            return True
        return "avx512_vnni" in self.flags and not self._capped_below("AVX512_CORE_VNNI")

    @property
    def native_bf16(self) -> bool:
        """bf16 matrix products in hardware (AVX-512 BF16 or AMX); without them PyTorch emulates bf16,
        about 5x slower than fp32."""
        hardware = bool({"avx512_bf16", "amx_bf16"} & self.flags)
        return hardware and not self._capped_below("AVX512_CORE_BF16")

    @property
    def isa(self) -> str:
        """The widest vector instruction set in use: AVX512_BF16, AVX512_VNNI, AVX512, AVX2 or older."""
        if self.native_bf16:
            return "AVX512_BF16"
        if self.avx512:
            return "AVX512_VNNI" if self.vnni else "AVX512"
        if self.avx2:
            return "AVX2_VNNI" if self.vnni else "AVX2"
        return "SSE" if "sse4_2" in self.flags else platform.machine() or "unknown"

    @property
    def key(self) -> str:
        """Identifies this kind of machine: a backend chosen here holds on any machine with the same key."""
        text = "|".join([self.name, str(self.cores), self.isa, *sorted(f"{k}={v}" for k, v in self.limits.items())])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        limits = ", ".join(f"{k}={v}" for k, v in sorted(self.limits.items()))
        int8 = "VNNI" if self.vnni else "AVX2" if self.avx2 else "none"
        text = (f"{self.name}, {self.cores} cores for this process, {self.isa} "
                f"(bf16 {'native' if self.native_bf16 else 'emulated'}, int8 dot products {int8})")
        return text + (f"; limited by {limits}" if limits else "")

    def _capped_below(self, isa: str) -> bool:
        """Whether the environment keeps PyTorch or oneDNN below ``isa`` (a oneDNN ISA name)."""
        aten = self.limits.get("ATEN_CPU_CAPABILITY", "").lower()
        if aten in ("default", "avx2") and isa.startswith("AVX512"):
            return True
        cap = (self.limits.get("ONEDNN_MAX_CPU_ISA") or self.limits.get("DNNL_MAX_CPU_ISA") or "").upper()
        mkl = self.limits.get("MKL_ENABLE_INSTRUCTIONS", "").upper()
        if mkl in ("SSE4_2", "AVX", "AVX2") and isa.startswith("AVX512"):
            return True
        if cap in _ONEDNN_ISAS and isa in _ONEDNN_ISAS:
            return _ONEDNN_ISAS.index(cap) < _ONEDNN_ISAS.index(isa)
        return False


def usable_cores() -> int:
    """Physical cores this process may run on: its affinity, with a core's hyperthreads counted once
    (two threads of one core share its vector units, so a third model thread there only waits)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add((topology / "physical_package_id").read_text().strip() + ":" +
                      (topology / "core_id").read_text().strip())
        except OSError:
            cores.add(f"cpu{cpu}")
    return max(1, len(cores))


@lru_cache(maxsize=1)
def _proc_cpuinfo() -> tuple[str, frozenset[str]] | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    name, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not name:
            name = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
        if name and flags:
            break
    return name or platform.processor() or platform.machine(), flags


def _flags_from_torch() -> frozenset[str]:
    """Elsewhere (macOS, Windows): PyTorch's own view, at the price of importing it."""
    try:
        import torch
    except ImportError:
        return frozenset()
    capability = torch.backends.cpu.get_cpu_capability().lower()
    flags = {"avx2"} if capability in ("avx2", "avx512") else set()
    if capability == "avx512":
        flags |= {"avx512f", "avx512bw", "avx512_vnni"}
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        flags.add("avx512_bf16")
    return frozenset(flags)


def detect() -> CPU:
    """This process's CPU, with the ISA limits set in its environment."""
    found = _proc_cpuinfo()
    name, flags = found if found else (platform.processor() or platform.machine(), _flags_from_torch())
    limits = {k: os.environ[k] for k in _LIMITS if os.environ.get(k)}
    return CPU(name, usable_cores(), flags, limits)
