"""The Examples in the package's docstrings run (numpydoc ``Examples`` sections, as the docs render
them): the estimators, the runner, the study entry points and every other module that has some.
Each example is small (a few epochs on 40 Two Moons points, a runner call on a temporary cache).

Modules are found by walking the package, so the examples run wherever a module lives."""

import doctest
import importlib
import pkgutil

import pytest

import qmoe_tfq

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Public entry points that must keep a runnable example (by object name, wherever its module is).
REQUIRED = (
    "QMoEClassifier",
    "Phase1Classifier",
    "fit_many",
    "run_experiments",
    "runner",
    "concat_rows",
    "study",
    "study_experiments",
    "FourierFeatures",
    "QuantumKernel",
)


def _modules():
    """Every module of the package, private ones included: a public class may live in a private
    module behind a thin public package (``estimators/_classes.py``)."""
    yield qmoe_tfq
    for info in pkgutil.walk_packages(qmoe_tfq.__path__, prefix="qmoe_tfq."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


@pytest.fixture(scope="module")
def doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for module in _modules() for t in finder.find(module, module.__name__) if t.examples]


@pytest.mark.slow
def test_docstring_examples_run(doctests):
    failures = []
    for test in doctests:
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        result = runner.run(test)
        if result.failed:
            failures.append(f"{test.name} ({result.failed} of {result.attempted} failed)")
    assert not failures, "docstring examples failed: " + ", ".join(failures)


@pytest.mark.slow
def test_public_entry_points_have_examples(doctests):
    names = {t.name.rsplit(".", 1)[-1] for t in doctests}
    missing = [name for name in REQUIRED if name not in names]
    assert not missing, f"no docstring example for {missing}"
