"""environment.yml and requirements.lock pin the same versions of the same packages."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pins_of(lines):
    out = {}
    for line in lines:
        if "==" in line:
            name, version = line.split(";")[0].strip().split("==")
            out[name.lower().replace("_", "-")] = version.strip()
    return out


def test_environment_yml_matches_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    lock = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    env_pins, lock_pins = pins_of(pip_section), pins_of(lock)
    assert env_pins == lock_pins, {
        k: (env_pins.get(k), lock_pins.get(k))
        for k in set(env_pins) | set(lock_pins)
        if env_pins.get(k) != lock_pins.get(k)
    }


def test_lock_has_the_tfq_pins():
    pins = pins_of((ROOT / "requirements.lock").read_text().splitlines())
    assert pins["tensorflow-quantum"] == "0.7.6"
    assert pins["tensorflow"].startswith("2.18.")
    assert pins["tf-keras"].startswith("2.18.")
    assert pins["cirq-core"] == "1.5.0" and pins["cirq-google"] == "1.5.0"
    assert pins["sympy"].startswith("1.14")
    assert "torch" not in pins, "torch belongs to the optional 'authors' extra, not the lock"


def test_makefile_exports_the_instruction_set_pins():
    """make test / make paper export exactly the pins the package sets (processes that import numpy first)."""
    import re

    from qmoe_tfq.core.environment import ISA_PINS

    exported = dict(re.findall(r"^export (\w+) := (.*)$", (ROOT / "Makefile").read_text(), flags=re.M))
    assert {k: exported.get(k) for k in ISA_PINS} == ISA_PINS


def test_importing_the_package_pins_numpy_and_onednn_before_they_load():
    """A fresh interpreter without the pins in its environment: importing qmoe_tfq first sets them, so
    numpy dispatches on no AVX-512 kernel and oneDNN is capped at AVX2; a caller's own value is kept."""
    import json
    import os
    import platform
    import subprocess
    import sys

    import pytest

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the pins are x86-64 only")
    code = (
        "import json, os, qmoe_tfq, numpy, scipy.linalg\n"
        "from numpy._core._multiarray_umath import __cpu_features__ as f, __cpu_dispatch__ as d\n"
        "from threadpoolctl import threadpool_info\n"
        "print(json.dumps({'onednn': os.environ['ONEDNN_MAX_CPU_ISA'], 'npy': os.environ['NPY_DISABLE_CPU_FEATURES'],"
        " 'tf_onednn': os.environ['TF_ENABLE_ONEDNN_OPTS'],"
        " 'blas': sorted({i['architecture'] for i in threadpool_info() if i['internal_api'] == 'openblas'}),"
        " 'avx512': sorted(k for k in d if k.startswith('AVX512') and f[k])}))"
    )
    pins = ("ONEDNN_MAX_CPU_ISA", "NPY_DISABLE_CPU_FEATURES", "TF_ENABLE_ONEDNN_OPTS", "OPENBLAS_CORETYPE")
    env = {k: v for k, v in os.environ.items() if k not in pins}
    out = json.loads(
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    )
    assert out["onednn"] == "AVX2" and "AVX512F" in out["npy"].split() and out["avx512"] == []
    assert out["tf_onednn"] == "0"
    assert out["blas"] == ["Haswell"], "numpy's and scipy's OpenBLAS kernels: the Haswell ones on every machine"
    env["ONEDNN_MAX_CPU_ISA"] = "AVX"
    out = json.loads(
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    )
    assert out["onednn"] == "AVX"


def test_numpy_imported_unpinned_on_an_avx512_machine_is_warned(monkeypatch):
    """The warning names the AVX-512 targets numpy dispatches on; silent when none is active, and a feature
    the CPU has but numpy has no kernels for (AVX512_SPR on an Emerald Rapids Xeon, numpy 2.0) does not count."""
    import warnings

    import numpy._core._multiarray_umath as umath
    import pytest

    from qmoe_tfq.core import environment

    monkeypatch.setattr(umath, "__cpu_dispatch__", ["AVX2", "AVX512F", "AVX512_SKX"])
    monkeypatch.setattr(
        umath,
        "__cpu_features__",
        {**umath.__cpu_features__, "AVX2": True, "AVX512F": True, "AVX512_SKX": True, "AVX512_SPR": True},
    )
    with pytest.warns(RuntimeWarning, match=r"dispatches on AVX512F, AVX512_SKX:"):
        environment._check_numpy_pinned()
    monkeypatch.setattr(umath, "__cpu_features__", {**umath.__cpu_features__, "AVX512F": False, "AVX512_SKX": False})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        environment._check_numpy_pinned()
    monkeypatch.setattr(umath, "__cpu_features__", {k: False for k in umath.__cpu_features__})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        environment._check_numpy_pinned()


def test_the_processor_record_reads_cpuinfo(tmp_path):
    """``core.machine.cpu`` names the model and vendor and keeps only the kernel-selecting flags."""
    from qmoe_tfq.core.machine import cpu

    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7551 32-Core Processor\n"
        "flags\t\t: fpu sse avx avx2 fma\n\nprocessor\t: 1\nmodel name\t: ignored\n"
    )
    record = cpu.__wrapped__(info)
    assert (record["model"], record["vendor"], record["flags"]) == (
        "AMD EPYC 7551 32-Core Processor",
        "AuthenticAMD",
        ["avx", "avx2", "fma"],
    )
    assert cpu.__wrapped__(tmp_path / "missing")["vendor"] is None
