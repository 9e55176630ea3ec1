"""The machine fingerprint (``qmoe_tfq.experiments.fingerprint``): the same digests twice in a process,
a changed kernel output changes its digest, ``compare`` names exactly the differing entries, and the CLI
refuses a missing comparison file with a clear error."""

import json

import numpy as np
import pytest

from qmoe_tfq.experiments import fingerprint as fp


def test_kernel_digests_repeat_and_compare_names_what_differs(tmp_path, capsys):
    first = fp.fingerprint(training=False)
    assert first == fp.fingerprint(training=False)
    assert {"tf.matmul f32 144x48x20", "tf.matmul c64 64x16x16", "np.sin f32"} <= set(first["digests"])
    assert first["machine"]["onednn_opts"] == "0"  # the package's pin, as make runs it
    other = json.loads(json.dumps(first))
    other["digests"]["np.sin f32"] = "0" * 16
    other["digests"]["only elsewhere"] = "1" * 16
    assert fp.compare(first, other) == ["np.sin f32"]
    assert fp.compare(first, first) == []
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other))
    assert fp.main(["--no-training", "--out", str(tmp_path / "here.json"), "--compare", str(path)]) == 0
    assert "1 of" in capsys.readouterr().err and json.loads((tmp_path / "here.json").read_text()) == first


def test_training_runs_compare_only_within_one_results_schema():
    here = {"schema": 8, "digests": {"np.sin f32": "a", "train linear (5 epochs, epoch losses)": "b"}}
    same = {"schema": 8, "digests": {"np.sin f32": "x", "train linear (5 epochs, epoch losses)": "y"}}
    older = {**same, "schema": 7}
    unrecorded = {"digests": same["digests"]}
    assert fp.compare(here, same) == ["np.sin f32", "train linear (5 epochs, epoch losses)"]
    assert fp.compare(here, older) == fp.compare(here, unrecorded) == ["np.sin f32"]
    assert fp.fingerprint(training=False)["schema"] == fp.RESULTS_SCHEMA


def test_digest_sees_one_bit_and_the_dtype():
    a = np.linspace(0, 1, 10, dtype=np.float32)
    b = a.copy()
    b.view(np.uint32)[3] ^= 1
    assert fp.digest(a) != fp.digest(b) and fp.digest(a) != fp.digest(a.astype(np.float64))


def test_a_missing_comparison_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        fp.main(["--no-training", "--compare", str(tmp_path / "nope.json")])
    assert err.value.code == 2 and "nope.json is not a file" in capsys.readouterr().err
