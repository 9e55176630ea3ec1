"""Importing TensorFlow through ``qmoe_tfq`` prints nothing on a machine without a GPU: the known
CUDA-probing lines and retracing warnings are filtered, every other line still gets through."""

import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent("""
    import logging, os
    import qmoe_tfq
    import tensorflow as tf

    @tf.function
    def f(x):
        return x

    for i in range(8):  # a Python int per call: one retrace each
        f(i)
    os.write(2, b"a real C-level line\\n")
    logging.getLogger("tensorflow").warning("a real TensorFlow warning")
    print("done")
""")


def run(code: str, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, **env}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the package's default (2), as a user gets it
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_filtered_stderr_drops_only_the_known_lines():
    code = textwrap.dedent("""
        import os
        from qmoe_tfq.core.quiet import filtered_stderr
        with filtered_stderr():
            os.write(2, b"E0000 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN\\n")
            os.write(2, b"E external/cuda_driver.cc:152] failed call to cuInit: INTERNAL: CUDA error\\n")
            os.write(2, b"E something that really went wrong\\n")
        os.write(2, b"after\\n")
    """)
    proc = run(code)
    assert proc.returncode == 0
    assert proc.stderr == "E something that really went wrong\nafter\n"


@pytest.mark.slow
def test_tensorflow_start_up_and_retracing_are_quiet_real_messages_are_not():
    proc = run(PROBE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "done\n"
    assert proc.stderr == "a real C-level line\nWARNING:tensorflow:a real TensorFlow warning\n", proc.stderr

    control = run(PROBE, QMOE_TF_LOGS="all")  # filtering off: what the user would otherwise see
    assert "triggered tf.function retracing" in control.stderr
    assert "a real C-level line" in control.stderr


def test_benchmark_processes_probe_devices_quietly(capfd):
    """``benchmarks._common.quiet_device_probe``: in a process forked from asv's forkserver the device
    probe prints TensorFlow's cuInit line; it is filtered out, any other line gets through."""
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks._common import quiet_device_probe

    class FakeConfig:
        @staticmethod
        def list_physical_devices():
            os.write(2, b"E0000 cuda_driver.cc:152] failed call to cuInit: INTERNAL: CUDA error\n")
            os.write(2, b"a real error\n")
            return []

    class FakeTF:
        config = FakeConfig()

    quiet_device_probe(FakeTF())
    err = capfd.readouterr().err
    assert "cuInit" not in err and "a real error\n" in err


def test_dependency_deprecation_notices_are_quiet():
    """cirq 1.5's own native-gate compilation warns about cirq 1.6 (``core.quiet.DEPENDENCY_NOTICES``):
    filtered once ``qmoe_tfq`` is imported, shown with ``QMOE_TF_LOGS=all``."""
    code = textwrap.dedent("""
        import warnings
        import qmoe_tfq
        import cirq
        warnings.warn("In cirq 1.6 the default value of `use_repetition_ids` will change to False", FutureWarning)
        warnings.warn("another future change", FutureWarning)
        q = cirq.LineQubit.range(2)
        cirq.optimize_for_target_gateset(cirq.Circuit(cirq.CNOT(*q)), gateset=cirq.SqrtIswapTargetGateset())
        print("done")
    """)
    proc = run(code)
    assert proc.returncode == 0, proc.stderr
    assert "use_repetition_ids" not in proc.stderr and "another future change" in proc.stderr
    assert "use_repetition_ids" in run(code, QMOE_TF_LOGS="all").stderr
