"""The Examples in the public docstrings run: the estimators, the runner and the study entry points
(numpydoc ``Examples`` sections, as the docs render them). Each example is small (a few epochs on
40 Two Moons points, a runner call on a temporary cache)."""

import doctest
import importlib
import pkgutil

import pytest

# Each entry: the module's names in this layout and the next (``qmoe_tfq.x`` ->
# ``qmoe_tfq.<subpackage>.x``); the first that imports is used. A package is walked: every public
# submodule's examples run.
MODULES = {
    "estimators": ("qmoe_tfq.estimators",),
    "runner": ("qmoe_tfq.runner", "qmoe_tfq.experiments.runner"),
    "studies": ("qmoe_tfq.studies",),
}
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules(names):
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        found = [module]
        if hasattr(module, "__path__"):
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
                if not any(part.startswith("_") for part in info.name.split(".")):
                    found.append(importlib.import_module(info.name))
        return found
    raise AssertionError(f"none of {names} can be imported")


@pytest.mark.slow
@pytest.mark.parametrize("key", list(MODULES))
def test_docstring_examples_run(key):
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    n_tests = 0
    for module in _modules(MODULES[key]):
        for test in finder.find(module, module.__name__):
            if test.examples:
                n_tests += 1
                runner.run(test)
    result = runner.summarize(verbose=False)
    assert n_tests, f"no docstring examples found for {key}"
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed ({key})"
