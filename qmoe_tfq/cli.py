"""``qmoe`` command line. TensorFlow is imported only by the commands that train."""

from __future__ import annotations

import argparse
import json
import math
import sys

from qmoe_tfq.circuits import ANSATZES, READOUTS
from qmoe_tfq.config import ENGINES, NOISE_PLACEMENTS, ROUTERS, ModelSpec, TrainSpec
from qmoe_tfq.data import DATASETS, DataSpec
from qmoe_tfq.errors import ConfigError


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one model and report its accuracy and size")
    p.add_argument("--router", required=True, help=f"one of {', '.join(ROUTERS)}")
    p.add_argument("--layers", type=int, default=3, help="variational layers L (quantum router)")
    p.add_argument("--hidden", type=int, default=8, help="hidden units h (mlp router)")
    p.add_argument("--readout", default="expectation", help=f"one of {', '.join(READOUTS)}")
    p.add_argument("--ansatz", default="strongly_entangling", help=f"one of {', '.join(ANSATZES)}")
    p.add_argument("--qubits", type=int, default=None, help="qubits (default: one per feature)")
    p.add_argument("--experts", type=int, default=None, help="experts E (default 2; 2^n for probabilities)")
    p.add_argument(
        "--dataset", default="moons",
        help=f"one of {', '.join(DATASETS)}, or <source>-<a>v<b> for another class pair (see README 'Datasets')",
    )
    p.add_argument("--n-samples", type=int, default=500, help="examples drawn (moons); a cap for image datasets")
    p.add_argument("--pca", type=int, default=None, help="PCA components (image datasets; default: no PCA)")
    p.add_argument("--resize", type=int, default=None, help="block-average images to RxR pixels first (e.g. 4)")
    p.add_argument(
        "--data-dir", default=None, help="folder with mnist.npz / fashion_mnist.npz (default: $QMOE_DATA_DIR or data/)"
    )
    p.add_argument("--noise", type=float, default=0.1, help="make_moons noise")
    p.add_argument(
        "--depolarizing", type=float, default=0.0, metavar="EPS",
        help="single-qubit depolarizing probability on the router circuit, in [0, 1] (default 0: noiseless)",
    )
    p.add_argument("--noise-placement", default="authors", help=f"one of {', '.join(NOISE_PLACEMENTS)}")
    p.add_argument("--engine", default="exact", help=f"one of {', '.join(ENGINES)}")
    p.add_argument("--repetitions", type=int, default=1000, help="trajectories per expectation (tfq_sampled)")
    p.add_argument("--test-size", type=float, default=0.3, help="held-out fraction (0: train set only)")
    p.add_argument("--data-seed", type=int, default=None, help="data seed (default: --seed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object")
    p.set_defaults(func=_train)


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
    from qmoe_tfq.data import load_dataset

    data = load_dataset(data_spec, args.seed)
    if model.router == "quantum":
        model.qubits_for(data.n_features)
    model.experts_for(data.n_features)

    from qmoe_tfq.train import train_model

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
    print(f"parameters      router {result.params.router}, experts {result.params.experts}, total {result.params.total}")
    print(f"train time      {result.train_seconds:.2f} s for {args.epochs} epochs")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qmoe", description="Hybrid quantum-classical mixture of experts (arXiv 2512.22296) in TFQ."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``qmoe`` console script; bad input exits 2 with a one-line message."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"qmoe: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
