"""Stage: core. Which processor computed a number: its model, vendor and the instruction sets and switches that change kernels.

Numbers are not yet identical across processors (docs/guide/reproducing.md, "Numbers across machines"):
the same commit, seed and pins gave different tables on an AMD EPYC (Zen 1) and an Intel Xeon (Emerald
Rapids). So the run cache records the processor with the commit that computed each run, and the paper
manifest and page name both.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

#: CPU flags (as /proc/cpuinfo spells them) that select kernels in oneDNN, numpy or TensorFlow.
KERNEL_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile")


def _cpuinfo(path: Path) -> dict[str, str]:
    """The first processor's ``key: value`` lines of ``/proc/cpuinfo`` (empty where there is none)."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    info: dict[str, str] = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


@functools.cache
def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """``{"model", "vendor", "family_model", "flags", "onednn_opts"}`` of this machine: the CPU model name,
    its vendor, family/model numbers (a virtual machine's model name can be generic), which of
    ``KERNEL_FLAGS`` it has, and TensorFlow's oneDNN switch as this process sets it (TensorFlow turns it
    on by default only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX, so it differs by machine unless
    pinned, ``core.environment.ISA_PINS``)."""
    info = _cpuinfo(cpuinfo)
    flags = set(info.get("flags", "").split())
    return {
        "model": info.get("model name") or platform.processor() or platform.machine() or None,
        "vendor": info.get("vendor_id") or None,
        "family_model": f"{info['cpu family']}/{info['model']}" if "cpu family" in info and "model" in info else None,
        "flags": [f for f in KERNEL_FLAGS if f in flags],
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


__all__ = ["KERNEL_FLAGS", "cpu"]
