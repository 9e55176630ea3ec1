"""Stage: cli. ``qmoe`` command line. TensorFlow is imported only by the commands that train.

Every number a user types is checked here, in the argument layer, before anything is built: a bad
value exits with status 2 and one line naming the flag as typed, what is allowed and what was given
(``--depolarizing must be in [0, 1], got 2``). Every number has an upper bound this machine can honour
(``LAYERS_MAX`` ... ``BATCH_MAX`` below, stated in ``--help``), and the model's parameter count is
checked against ``PARAMS_MAX`` from the specs alone, before TensorFlow loads. Ctrl-C exits 130 with
one line (``qmoe: interrupted``). Training that diverges (a non-finite loss) exits with
status 1 and says so instead of reporting an accuracy.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable

from qmoe_tfq import __version__
from qmoe_tfq.core.errors import ConfigError, TrainingDiverged
from qmoe_tfq.data import DATASETS, DataSpec
from qmoe_tfq.specs.config import ENGINES, NOISE_PLACEMENTS, ROUTERS, ModelSpec, TrainSpec, param_counts
from qmoe_tfq.specs.vocabulary import ANSATZES, MAX_QUBITS, READOUTS

SEED_MAX = 2**32 - 1  # numpy's seed range; TensorFlow's is wider
# Upper bounds this machine can honour, checked before anything is built (and shown in --help).
LAYERS_MAX = 100  # variational layers: the circuit is built gate by gate in Cirq/SymPy
HIDDEN_MAX = 100_000  # MLP router width
EXPERTS_MAX = 4096  # experts (each a linear model)
PARAMS_MAX = 10_000_000  # trainable parameters in all, router and experts (~40 MB float32, x4 with Adam)
N_SAMPLES_MAX = 1_000_000  # examples drawn (moons, synthetic16) or the cap on an image dataset
PCA_MAX = 784  # 28 x 28 pixels, the largest images
RESIZE_MAX = 28
NOISE_MAX = 10.0  # make_moons noise: beyond ~1 the two moons are indistinguishable already
REPETITIONS_MAX = 1_000_000  # TFQ sampled trajectories (its counts are int32; 10^6 keeps well inside)
EPOCHS_MAX = 100_000
BATCH_MAX = 2**20

Check = Callable[[str], object]


class BadValue(ValueError):
    """A typed value is not allowed; the message completes "<flag> ..."."""


def integer(low: int, high: int | None = None) -> Check:
    """Parse an integer in [low, high] (no upper bound if ``high`` is None)."""
    allowed = (
        f"an integer in [{low}, {high}]"
        if high is not None
        else ("a positive integer" if low == 1 else f"an integer >= {low}")
    )

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise BadValue(f"must be {allowed}, got {text}") from None
        if value < low or (high is not None and value > high):
            raise BadValue(f"must be {allowed}, got {text}")
        return value

    return check


def real(low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False) -> Check:
    """Parse a finite real number in the interval given (open or closed at each end)."""
    if math.isinf(high):
        allowed = f"a finite number {'>' if low_open else '>='} {low:g}"
    else:
        allowed = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise BadValue(f"must be {allowed}, got {text}") from None
        inside = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not math.isfinite(value) or not inside:
            raise BadValue(f"must be {allowed}, got {text}")
        return value

    return check


def choice(allowed: tuple[str, ...]) -> Check:
    def check(text: str) -> str:
        if text not in allowed:
            raise BadValue(f"must be one of {', '.join(allowed)}, got {text}")
        return text

    return check


class OneLineParser(argparse.ArgumentParser):
    """argparse with errors on one line (``prog: error: ...``), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows "(default: X)" for options that have a real default (not None, False or required)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS or action.required:
            return action.help or ""
        return super()._get_help_string(action)


def _option(p: argparse.ArgumentParser, flag: str, check: Check | None = None, **kwargs) -> argparse.Action:
    """``add_argument`` whose typed value is parsed and checked by ``check`` after parsing, so the
    error names ``flag`` and echoes the text as typed."""
    action = p.add_argument(flag, **kwargs)
    if check is not None:
        checks = p.get_default("checks") or []
        p.set_defaults(checks=[*checks, (action.dest, flag, check)])
    return action


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train one model and report its accuracy and size",
        formatter_class=DefaultsFormatter,
        description="Train one mixture of experts and report held-out accuracy, parameters and time.",
    )
    seed = integer(0, SEED_MAX)
    _option(p, "--router", choice(ROUTERS), required=True, help=f"one of {', '.join(ROUTERS)}")
    _option(
        p,
        "--layers",
        integer(1, LAYERS_MAX),
        default=3,
        metavar="L",
        help=f"variational layers L (quantum router), 1 to {LAYERS_MAX}",
    )
    _option(
        p,
        "--hidden",
        integer(1, HIDDEN_MAX),
        default=8,
        metavar="H",
        help=f"hidden units h (mlp router), 1 to {HIDDEN_MAX}",
    )
    _option(p, "--readout", choice(READOUTS), default="expectation", help=f"one of {', '.join(READOUTS)}")
    _option(p, "--ansatz", choice(ANSATZES), default="strongly_entangling", help=f"one of {', '.join(ANSATZES)}")
    _option(
        p,
        "--qubits",
        integer(1, MAX_QUBITS),
        default=None,
        metavar="N",
        help=f"qubits, 1 to {MAX_QUBITS} (default: one per feature)",
    )
    _option(
        p,
        "--experts",
        integer(1, EXPERTS_MAX),
        default=None,
        metavar="E",
        help=f"experts E, 1 to {EXPERTS_MAX} (default: 2; 2^n for probabilities); router and experts "
        f"together at most {PARAMS_MAX} parameters",
    )
    _option(
        p,
        "--dataset",
        default="moons",
        help=f"one of {', '.join(DATASETS)}, or <source>-<a>v<b> for another class pair (docs/guide/datasets.md)",
    )
    _option(
        p,
        "--n-samples",
        integer(1, N_SAMPLES_MAX),
        default=500,
        metavar="N",
        help=f"examples drawn (moons); a cap for image datasets; 1 to {N_SAMPLES_MAX}",
    )
    _option(
        p,
        "--pca",
        integer(1, PCA_MAX),
        default=None,
        metavar="K",
        help=f"PCA components (image datasets), 1 to {PCA_MAX} (default: no PCA)",
    )
    _option(
        p,
        "--resize",
        integer(1, RESIZE_MAX),
        default=None,
        metavar="R",
        help=f"block-average images to RxR pixels first (e.g. 4), 1 to {RESIZE_MAX}",
    )
    _option(
        p,
        "--data-dir",
        default=None,
        help="folder with mnist.npz / fashion_mnist.npz (default: $QMOE_DATA_DIR or data/)",
    )
    _option(
        p,
        "--noise",
        real(0.0, NOISE_MAX),
        default=0.1,
        metavar="SIGMA",
        help=f"make_moons noise, in [0, {NOISE_MAX:g}]",
    )
    _option(
        p,
        "--depolarizing",
        real(0.0, 1.0),
        default=0.0,
        metavar="EPS",
        help="single-qubit depolarizing probability on the router circuit, in [0, 1] (0: noiseless)",
    )
    _option(
        p,
        "--noise-placement",
        choice(NOISE_PLACEMENTS),
        default="authors",
        help=f"one of {', '.join(NOISE_PLACEMENTS)}",
    )
    _option(p, "--engine", choice(ENGINES), default="exact", help=f"one of {', '.join(ENGINES)}")
    _option(
        p,
        "--repetitions",
        integer(1, REPETITIONS_MAX),
        default=1000,
        metavar="R",
        help=f"trajectories per expectation (tfq_sampled), 1 to {REPETITIONS_MAX}",
    )
    _option(
        p,
        "--test-size",
        real(0.0, 1.0, high_open=True),
        default=0.3,
        metavar="F",
        help="held-out fraction in [0, 1) (0: train set only)",
    )
    _option(
        p, "--data-seed", seed, default=None, metavar="SEED", help=f"data seed in [0, {SEED_MAX}] (default: --seed)"
    )
    _option(p, "--seed", seed, default=0, metavar="SEED", help=f"model (and default data) seed in [0, {SEED_MAX}]")
    _option(p, "--epochs", integer(1, EPOCHS_MAX), default=50, metavar="N", help=f"training epochs, 1 to {EPOCHS_MAX}")
    _option(p, "--lr", real(0.0, low_open=True), default=0.1, metavar="LR", help="Adam learning rate (> 0)")
    _option(p, "--batch-size", integer(1, BATCH_MAX), default=32, metavar="B", help=f"minibatch size, 1 to {BATCH_MAX}")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=_train)


def check_size(model: ModelSpec, data: DataSpec) -> None:
    """Raise ConfigError unless the model fits this data shape within ``PARAMS_MAX`` parameters
    (counted analytically from the specs: nothing is built or loaded)."""
    if model.router == "quantum":
        model.qubits_for(data.n_features)
    counts = param_counts(model, data.n_features, len(data.classes))
    if counts.total > PARAMS_MAX:
        total = str(counts.total) if counts.total < 10**30 else f"about 10^{len(str(counts.total)) - 1}"
        raise ConfigError(
            f"this model would have {total} trainable parameters (router and experts) on "
            f"{data.n_features} features; allowed: at most {PARAMS_MAX} (lower --hidden, --experts "
            "or the features)"
        )


def _train(args: argparse.Namespace) -> int:
    model = ModelSpec(
        router=args.router,
        layers=args.layers,
        hidden=args.hidden,
        readout=args.readout,
        ansatz=args.ansatz,
        n_qubits=args.qubits,
        n_experts=args.experts,
        noise=args.depolarizing,
        noise_placement=args.noise_placement,
        engine=args.engine,
        repetitions=args.repetitions,
    )
    data_spec = DataSpec(
        name=args.dataset,
        n_samples=args.n_samples,
        noise=args.noise,
        test_size=args.test_size,
        seed=args.data_seed,
        pca=args.pca,
        resize=args.resize,
        data_dir=args.data_dir,
    )
    train = TrainSpec(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size)
    check_size(model, data_spec)
    from qmoe_tfq.data import load_dataset

    data = load_dataset(data_spec, args.seed)
    if model.router == "quantum":
        model.qubits_for(data.n_features)
    model.experts_for(data.n_features)

    from qmoe_tfq.training.train import train_model

    progress = None
    if not args.json:
        progress = lambda e, loss: print(f"epoch {e + 1:>4}/{train.epochs}  loss {loss:.4f}", file=sys.stderr)  # noqa: E731
    result = train_model(model, data, train, args.seed, progress=progress)
    out = {
        "router": args.router,
        "dataset": args.dataset,
        "seed": args.seed,
        "epochs": args.epochs,
        "test_accuracy": None if math.isnan(result.test_accuracy) else result.test_accuracy,
        "train_accuracy": result.train_accuracy,
        "router_params": result.params.router,
        "expert_params": result.params.experts,
        "total_params": result.params.total,
        "train_seconds": result.train_seconds,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    test = "n/a (no held-out split)" if out["test_accuracy"] is None else f"{out['test_accuracy']:.4f}"
    print(f"model           {model.label()} on {args.dataset}, seed {args.seed}")
    print(f"test accuracy   {test}")
    print(f"train accuracy  {result.train_accuracy:.4f}  (training set)")
    print(
        f"parameters      router {result.params.router}, experts {result.params.experts}, total {result.params.total}"
    )
    print(f"train time      {result.train_seconds:.2f} s for {args.epochs} epochs")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="qmoe", description="Hybrid quantum-classical mixture of experts (arXiv 2512.22296) in TFQ."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_train(sub)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check ``argv``; a bad value exits 2 with one line naming its flag."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for dest, flag, check in getattr(args, "checks", []):
        value = getattr(args, dest)
        if isinstance(value, str):
            try:
                setattr(args, dest, check(value))
            except BadValue as err:
                parser.exit(2, f"qmoe {args.command}: error: {flag} {err}\n")
    return args


def _interrupted(signum, frame) -> None:
    """Ctrl-C in the console script: one line and exit 130 at once. TensorFlow can turn a
    KeyboardInterrupt raised inside one of its ops into another error, and ``qmoe train`` writes no
    file, so there is nothing to finish."""
    sys.stdout.flush()
    sys.stderr.write("qmoe: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qmoe`` console script; bad input exits 2 with a one-line message, a
    diverged training run exits 1, Ctrl-C exits 130 with one line."""
    if argv is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)
    try:
        args = parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        print("qmoe: interrupted", file=sys.stderr)
        return 130
    except ConfigError as err:
        print(f"qmoe: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"qmoe: error: {err}; no accuracy is reported", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
