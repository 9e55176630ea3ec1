"""One Two Moons training epoch (500 samples, batch 32, Adam lr 0.1): ours per router kind, and the
authors' PennyLane + torch stack on the same data, so their ratio is visible side by side.

Both stacks are timed in steady state: setup builds the model and trains one epoch first (our graph
tracing, torch/PennyLane warm-up), then each timed call is exactly one more epoch of 16 batches.
"""

from __future__ import annotations

from ._common import BATCH, LR, grid, make_model, moons

ROUTERS = ["quantum", "quantum_tfq", "quantum_direct", "linear", "mlp", "mlp_h4"]


class TrainingEpoch:
    """Ours: ``qmoe_tfq.training.train.EpochTrainer.run_epoch`` (what ``fit`` runs each epoch) on the
    authors' 500-sample Two Moons set. ``quantum`` is the 2-qubit, L=3 quantum router as shipped
    (``simulator="auto"``: the fastest exact engine); ``quantum_tfq`` the same on TFQ's analytic op
    (the reference engine; skipped on commits without ``ModelSpec.simulator``); ``quantum_direct``
    forces one circuit simulation per input row (the pre-interpolation path)."""

    params = [grid(ROUTERS, ["quantum"])]
    param_names = ["router"]
    timeout = 300
    warmup_time = 0.0
    repeat = (3, 10, 20.0)

    def setup(self, router):
        import numpy as np

        from ._common import epoch_runner

        self.x, self.y = moons()
        self.order = np.random.default_rng(0).permutation(len(self.x))
        self.run = epoch_runner(make_model(router, seed=0), n_features=2, lr=LR, batch_size=BATCH)
        self.run(self.x[self.order], self.y[self.order])  # trace + first epoch

    def time_epoch(self, router):
        self.run(self.x[self.order], self.y[self.order])

    def peakmem_epoch(self, router):
        self.run(self.x[self.order], self.y[self.order])


class MemberPrediction:
    """A trained stack member's predictions (``Stack.member_output``: what a run's test, train and gate
    measurements and ``predict`` call), logits for the 500 Two Moons points in padded chunks of 64 rows,
    after one epoch of a 16-member stack; setup traces the prediction once. ``quantum`` is the 2-qubit,
    L=3 router, ``mlp_h4`` the parameter-matched MLP router."""

    params = [grid(["quantum", "mlp_h4"], ["quantum"])]
    param_names = ["router"]
    timeout = 300
    warmup_time = 0.0

    def setup(self, router):
        import numpy as np

        from ._common import tensorflow

        tensorflow()
        try:
            from qmoe_tfq.specs.config import ModelSpec
            from qmoe_tfq.training.stack import StackedMoE, fit_stack
        except ImportError as err:  # a commit from before the stacks
            raise NotImplementedError(f"no stacked training here: {err}") from err
        spec = ModelSpec(router="quantum") if router == "quantum" else ModelSpec(router="mlp", hidden=4)
        self.x, y = moons()
        members = list(range(16))
        self.stack = StackedMoE(spec, 2, 2, members)
        xs, ys = np.repeat(self.x[None], 16, axis=0), np.repeat(y[None], 16, axis=0)
        fit_stack(self.stack, xs, ys, lr=np.full(16, LR), seeds=members, batch_size=BATCH, max_epochs=1)
        self.stack.member_output(3, self.x)  # trace

    def time_member_output(self, router):
        self.stack.member_output(3, self.x)


class AuthorsStackEpoch:
    """Reference: the authors' framework on the same model and data — PennyLane ``lightning.qubit``
    with adjoint differentiation inside ``qml.qnn.TorchLayer``, torch Linear adapter and experts,
    Adam lr 0.1, CrossEntropyLoss, shuffled DataLoader of batch 32 (see ``authors_stack.py``).
    Skipped (not zero) when torch or PennyLane is missing: ``pip install -e .[authors,test]``."""

    timeout = 600
    warmup_time = 0.0
    number = 1
    repeat = (3, 10, 60.0)

    def setup(self):
        from . import authors_stack

        missing = authors_stack.missing_dependency()
        if missing is not None:
            raise NotImplementedError(f"the authors' stack needs '{missing}' (optional: pip install torch==2.13.0)")
        from ._common import THREADS, pin_threads_env

        pin_threads_env()
        x, y = authors_stack.moons_angles()
        self.model, self.optimizer, self.loss_fn = authors_stack.build(seed=0, threads=THREADS)
        self.loader = authors_stack.make_loader(x, y, seed=0)
        self.train_epoch = authors_stack.train_epoch
        self.time_epoch()  # first epoch: lazy initialisation of PennyLane / lightning / torch

    def time_epoch(self):
        self.train_epoch(self.model, self.optimizer, self.loss_fn, self.loader)

    def peakmem_epoch(self):
        self.train_epoch(self.model, self.optimizer, self.loss_fn, self.loader)
