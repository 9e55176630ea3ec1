"""The bad-input table of ``tests/test_bad_inputs.py``: every case must end with exit status 2, one
line on stderr and no traceback, before any training starts.

A case is ``(id, kind, argv, env, setup, expect)``:

* ``kind``: ``train`` (``qmoe train --router quantum <argv>``, in-process), ``qmoe`` (``qmoe <argv>``),
  ``paper`` (``python -m qmoe_tfq.publish.paper <argv>``, in-process, with ``env`` set).
* ``setup``: a folder the test prepares under ``tmp_path`` (``DATA_FILES``, ``PAPER_TARGETS``); ``{dir}``
  in ``argv`` / ``env`` values becomes its path, ``{tmp}`` the test's ``tmp_path``.
* ``expect``: text the error line must contain.
"""

from __future__ import annotations

INT_FLAGS = {  # flag -> (lowest allowed, highest allowed)
    "--layers": (1, 100),
    "--hidden": (1, 100000),
    "--qubits": (1, 12),
    "--experts": (1, 4096),
    "--n-samples": (1, 1000000),
    "--pca": (1, 784),
    "--resize": (1, 28),
    "--repetitions": (1, 1000000),
    "--epochs": (1, 100000),
    "--batch-size": (1, 1048576),
    "--seed": (0, 4294967295),
    "--data-seed": (0, 4294967295),
}
BAD_INTEGERS = [
    "-1",
    "0",
    "1000000000000",
    "2147483648",
    str(2**63 - 1),
    str(2**63),
    str(10**30),
    "nan",
    "inf",
    "abc",
    "",
    "1.5",
    "1e3",
]
REAL_FLAGS = {  # flag -> values that must be refused
    "--noise": ["-0.1", "1e300", "10.5", "nan", "inf", "-inf", "abc", ""],
    "--depolarizing": ["-0.01", "1.5", "1e300", "nan", "inf", "abc", ""],
    "--test-size": ["-0.1", "1", "1e300", "nan", "inf", "abc", ""],
    "--lr": ["0", "-1", "nan", "inf", "-inf", "abc", ""],
}
CHOICE_FLAGS = ("--router", "--readout", "--ansatz", "--noise-placement", "--engine")
BAD_CHOICES = ["bogus", "", "QUANTUM"]


def _int_cases():
    for flag, (low, high) in INT_FLAGS.items():
        for value in BAD_INTEGERS:
            try:
                if low <= int(value) <= high:
                    continue  # allowed for this flag (0 for the seeds)
            except ValueError:
                pass
            yield (
                f"{flag}={value}",
                "train",
                [f"{flag}={value}"],
                {},
                None,
                f"{flag} must be an integer in [{low}, {high}]",
            )


def _real_cases():
    for flag, values in REAL_FLAGS.items():
        for value in values:
            yield (f"{flag}={value}", "train", [f"{flag}={value}"], {}, None, f"{flag} must be")


def _choice_cases():
    for flag in CHOICE_FLAGS:
        for value in BAD_CHOICES:
            yield (f"{flag}={value}", "train", [f"{flag}={value}"], {}, None, f"{flag} must be one of")


DATASET_CASES = [
    ("dataset=bogus", "train", ["--dataset", "bogus"], {}, None, "unknown dataset 'bogus'"),
    ("dataset=empty", "train", ["--dataset="], {}, None, "unknown dataset ''"),
    ("dataset=mnist-3v3", "train", ["--dataset", "mnist-3v3"], {}, None, "unknown dataset 'mnist-3v3'"),
    ("dataset=mnist-1v10", "train", ["--dataset", "mnist-1v10"], {}, None, "unknown dataset"),
    ("dataset=Moons", "train", ["--dataset", "Moons"], {}, None, "unknown dataset"),
    ("dataset=digits-0v1x", "train", ["--dataset", "digits-0v1x"], {}, None, "unknown dataset"),
    # too big for this machine or this model, from the specs alone (nothing built)
    (
        "params: hidden x experts",
        "train",
        ["--router", "mlp", "--hidden", "100000", "--experts", "4096"],
        {},
        None,
        "trainable parameters",
    ),
    (
        "params: experts on mnist5k",
        "train",
        ["--router", "linear", "--experts", "4096", "--dataset", "mnist5k"],
        {},
        None,
        "trainable parameters",
    ),
    ("qubits for 64 features", "train", ["--dataset", "digits-0v1"], {}, None, "too large to simulate"),
    ("fourier on 64 features", "train", ["--router", "fourier", "--dataset", "digits"], {}, None, "3^d features"),
    ("pca beyond the pixels", "train", ["--dataset", "digits-3v8", "--pca", "65"], {}, None, "pca=65 exceeds"),
    ("resize not dividing", "train", ["--dataset", "mnist5k", "--resize", "5"], {}, None, "resize=5"),
    ("pca on moons", "train", ["--pca", "2"], {}, None, "applies to image datasets only"),
    ("qubits below features", "train", ["--qubits", "1"], {}, None, "below the feature count"),
    (
        "probabilities experts",
        "train",
        ["--readout", "probabilities", "--experts", "3"],
        {},
        None,
        "does not fit the probabilities readout",
    ),
]

# Data folders the test builds (see test_bad_inputs.make_data_dir).
DATA_FILES = (
    "missing",
    "directory",
    "truncated",
    "missing_key",
    "huge_header",
    "single_npy",
    "text",
    "wrong_shape",
    "bad_labels",
    "data_dir_is_a_file",
)
DATA_CASES = [
    (f"mnist.npz: {name}", "train", ["--dataset", "mnist-0v1", "--pca", "2", "--data-dir", "{dir}"], {}, name, expect)
    for name, expect in [
        ("missing", "put it there"),
        ("directory", "mnist.npz is a directory"),
        ("truncated", "not a readable .npz"),
        ("missing_key", "lacks the key(s) y_train, x_test, y_test"),
        ("huge_header", "more than the"),
        ("single_npy", "holds a single .npy array"),
        ("text", "not a readable .npz"),
        ("wrong_shape", "images must be (N, 28, 28)"),
        ("bad_labels", "labels in"),
        ("data_dir_is_a_file", "put it there"),
    ]
]

QMOE_CASES = [
    ("qmoe: no command", "qmoe", [], {}, None, "required: command"),
    ("qmoe: unknown command", "qmoe", ["fly"], {}, None, "invalid choice"),
    ("qmoe: no router", "qmoe", ["train"], {}, None, "--router"),
    ("qmoe: flag without value", "qmoe", ["train", "--router", "quantum", "--lr"], {}, None, "expected one argument"),
    ("qmoe: unknown flag", "qmoe", ["train", "--router", "quantum", "--gpu"], {}, None, "unrecognized arguments"),
    ("qmoe: bad version flag", "qmoe", ["--versions"], {}, None, "error"),
]

# Paper targets the test builds (see test_bad_inputs.make_paper_target).
PAPER_TARGETS = (
    "non_empty",
    "foreign_manifest",
    "file",
    "home",
    "holds_home",
    "foreign_staging",
    "foreign_previous",
    "broken_manifest",
)
PAPER_CASES = [
    ("paper: /", "paper", [], {"QMOE_PAPER_DIR": "/"}, None, "refusing to write to /: it is the root folder"),
    ("paper: repository", "paper", [], {"QMOE_PAPER_DIR": "{root}"}, None, "it is the repository itself"),
    ("paper: repository via .", "paper", [], {"QMOE_PAPER_DIR": "{root}/."}, None, "it is the repository itself"),
    ("paper: parent of the repository", "paper", [], {"QMOE_PAPER_DIR": "{root}/.."}, None, "it holds the repository"),
    ("paper: qmoe_tfq package", "paper", [], {"QMOE_PAPER_DIR": "{root}/qmoe_tfq"}, None, "is not empty"),
    ("paper: .git", "paper", [], {"QMOE_PAPER_DIR": "{root}/.git"}, None, "refusing to write to"),
    *[
        (f"paper: {name}", "paper", [], {"QMOE_PAPER_DIR": "{dir}"}, name, expect)
        for name, expect in [
            ("non_empty", "is not empty and holds no manifest.json written by qmoe_tfq.publish.paper"),
            ("foreign_manifest", "is not empty and holds no manifest.json"),
            ("broken_manifest", "is not empty and holds no manifest.json"),
            ("file", "it is a file"),
            ("home", "it is the home folder"),
            ("holds_home", "it holds the home folder"),
            ("foreign_staging", "was not made by this tool"),
            ("foreign_previous", "was not made by this tool"),
        ]
    ],
    *[
        (f"paper: QMOE_QUICK={v}", "paper", [], {"QMOE_QUICK": v}, None, "QMOE_QUICK must be 0 or 1")
        for v in ("yes", "2", "-1", "true", "0.5")
    ],
    *[
        (f"paper: QMOE_JOBS={v}", "paper", [], {"QMOE_JOBS": v}, None, "QMOE_JOBS must be an integer in [1, 1024]")
        for v in ("0", "-1", "abc", "1e3", "1025", str(2**63), "nan", "1.5")
    ],
    (
        "paper: QMOE_CACHE_DIR is a file",
        "paper",
        [],
        {"QMOE_CACHE_DIR": "{root}/README.md", "QMOE_PAPER_DIR": "{tmp}/new"},
        None,
        "QMOE_CACHE_DIR must be a folder",
    ),
    ("paper: unknown notebook", "paper", ["no_such_notebook"], {}, None, "unknown notebook(s) no_such_notebook"),
    ("paper: unknown flag", "paper", ["--fast"], {}, None, "unrecognized arguments: --fast"),
    (
        "paper: QUICK into paper/",
        "paper",
        [],
        {"QMOE_QUICK": "1", "QMOE_PAPER_DIR": "{root}/paper"},
        None,
        "QUICK runs go to paper-quick/",
    ),
]

CASES = [*_int_cases(), *_real_cases(), *_choice_cases(), *DATASET_CASES, *DATA_CASES, *QMOE_CASES, *PAPER_CASES]
