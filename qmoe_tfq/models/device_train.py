"""Stage: models. Training aware of the device: a trained quantum router fine-tuned under one processor's calibrated noise.

``fine_tune_on_device(model, processor, train, validation, test)`` compiles the trained router to the
processor (``circuits.device.compile_router``) and fine-tunes, under the processor's noise model and
its readout error, the parameters a device run would expose: the (x, z, a) exponents of every native
single-qubit ``PhasedXZGate`` of the compiled ansatz and the router's adapter (the experts are
frozen, so any change comes from the router). The embedding, the sqrt-iSWAPs and the noise channels
stay as compiled. The noisy <Z_i> are exact and differentiable in those parameters
(``sim.heisenberg.TrainableCoefficients``: the Heisenberg propagation of ``device_eval``, in
TensorFlow); the loss is the mixture's cross-entropy on the readout-error-affected <Z_i>
(``device_eval``'s ``readout`` setting), minimised by Adam over shuffled mini-batches of the
training split for ``epochs`` epochs. Epoch 0 is the deployed model; the epoch with the lowest
validation loss is kept (so fine-tuning can only be chosen when it helps on validation), and the
held-out test split is read once, for the deployed and the kept model.

Checks recorded with the result: the engine at the compiled angles against ``fourier_coefficients``
(``engine_check_deviation``) and, at the kept angles, against ``cirq.DensityMatrixSimulator`` on the
noisy circuit with those angles put in (``dm_check_deviation``, one test input).
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

import qmoe_tfq  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from qmoe_tfq.circuits import device as dev
from qmoe_tfq.core.errors import ConfigError, check_positive_int
from qmoe_tfq.models.device_eval import check_router, dm_check, placed_inputs
from qmoe_tfq.models.mixture import MixtureOfExperts
from qmoe_tfq.models.ops import softmax
from qmoe_tfq.sim import heisenberg

EPOCHS = 10
LEARNING_RATE = 0.01
BATCH_SIZE = 32

Split = tuple[np.ndarray, np.ndarray]


def _scores(logits: tf.Tensor, y: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of class logits against integer labels ``y``."""
    loss = keras.losses.sparse_categorical_crossentropy(tf.constant(y), logits, from_logits=True)
    return float(tf.reduce_mean(loss)), float(np.mean(np.argmax(logits.numpy(), axis=1) == y))


def fine_tune_on_device(
    model: MixtureOfExperts,
    processor: str,
    train: Split,
    validation: Split,
    test: Split,
    epochs: int = EPOCHS,
    learning_rate: float = LEARNING_RATE,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> dict:
    """Fine-tune ``model``'s router under ``processor``'s calibrated noise (module docstring).

    Parameters
    ----------
    model : MixtureOfExperts
        A trained mixture with the quantum router and the <Z> + adapter readout; its weights are
        left as they were.
    processor : str
        One of ``circuits.device.PROCESSORS``.
    train, validation, test : tuple of numpy.ndarray
        (scaled inputs, integer labels) of the training split, the validation split that selects
        the epoch, and the held-out test split.
    epochs : int, default EPOCHS
        Passes over the training split after the deployed model (epoch 0).
    learning_rate : float, default LEARNING_RATE
        Adam's learning rate.
    batch_size : int, default BATCH_SIZE
        Rows per step.
    seed : int, default 0
        Seeds the batch order.

    Returns
    -------
    dict
        ``{noiseless, deploy, tuned}_{validation, test}_{loss, accuracy}`` (mean cross-entropy and
        accuracy; deploy = noiselessly trained on the device, tuned = fine-tuned on the device),
        ``best_epoch``, ``validation_loss_curve`` (epoch 0 first), the checks and seconds.
    """
    check_router(model)
    router = model.router
    if router.adapter is None:
        raise ConfigError("device fine-tuning needs the router's adapter (the <Z> + adapter readout)")
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    start = time.perf_counter()
    compiled = dev.compile_router(router.rc, router.theta.numpy().astype(float), processor)
    noisy = dev.noisy_circuit(compiled)
    qs = sorted(compiled.placed)
    observables = [qs.index(q) for q in compiled.readout]
    engine = heisenberg.TrainableCoefficients(noisy, qs, observables, dev.EMBEDDING_TAG, dev.is_native_slot)
    reference = heisenberg.fourier_coefficients(noisy, qs, observables, dev.EMBEDDING_TAG)
    engine_check = float(np.abs(engine.coefficients(engine.initial).numpy() - reference).max())
    slope, offset = (tf.constant(v, tf.float64) for v in dev.readout_affine(processor, compiled.readout))

    splits = {"train": train, "validation": validation, "test": test}
    phi = {k: tf.constant(heisenberg.features(placed_inputs(compiled, x)), tf.float64) for k, (x, _) in splits.items()}
    expert_logits = {k: model.experts(tf.constant(x, tf.float32)) for k, (x, _) in splits.items()}
    labels = {k: np.asarray(y, np.int32) for k, (_, y) in splits.items()}

    adapter = router.adapter
    saved = adapter.get_weights()
    exponents = tf.Variable(engine.initial, dtype=tf.float64)
    variables = [exponents, *adapter.trainable_variables]
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    optimizer.build(variables)

    def logits(features: tf.Tensor, experts: tf.Tensor) -> tf.Tensor:
        z = tf.matmul(features, engine.coefficients(exponents), transpose_b=True) * slope + offset
        gates = softmax(adapter(tf.cast(z, tf.float32)))
        return tf.einsum("be,bec->bc", gates, experts)

    signature = (
        tf.TensorSpec([None, phi["train"].shape[1]], tf.float64),
        tf.TensorSpec([None, *expert_logits["train"].shape[1:]], tf.float32),
        tf.TensorSpec([None], tf.int32),
    )

    @tf.function(input_signature=signature, autograph=False)
    def step(features: tf.Tensor, experts: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(y, logits(features, experts), from_logits=True)
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def evaluate(split: str) -> tuple[float, float]:
        return _scores(logits(phi[split], expert_logits[split]), labels[split])

    try:
        record = {"processor": processor}
        for split in ("validation", "test"):
            x, y = splits[split]
            record[f"noiseless_{split}_loss"], record[f"noiseless_{split}_accuracy"] = _scores(
                model(tf.constant(x, tf.float32)), np.asarray(y)
            )
            record[f"deploy_{split}_loss"], record[f"deploy_{split}_accuracy"] = evaluate(split)
        curve = [record["deploy_validation_loss"]]
        best = (curve[0], 0, engine.initial.copy(), adapter.get_weights())
        rng = np.random.default_rng(seed)
        n = len(labels["train"])
        for epoch in range(1, epochs + 1):
            order = rng.permutation(n)
            for s in range(0, n, batch_size):
                rows = order[s : s + batch_size]
                step(tf.gather(phi["train"], rows), tf.gather(expert_logits["train"], rows), labels["train"][rows])
            curve.append(evaluate("validation")[0])
            if curve[-1] < best[0]:
                best = (curve[-1], epoch, exponents.numpy().copy(), adapter.get_weights())
        exponents.assign(best[2])
        adapter.set_weights(best[3])
        record["tuned_validation_loss"], record["tuned_validation_accuracy"] = evaluate("validation")
        record["tuned_test_loss"], record["tuned_test_accuracy"] = evaluate("test")
        x0 = test[0][:1]
        z0 = heisenberg.evaluate(engine.coefficients(best[2]).numpy(), placed_inputs(compiled, x0))[0]
        tuned_circuit = engine.with_exponents(noisy, best[2], dev.is_native_slot)
        record.update(
            best_epoch=int(best[1]),
            epochs=int(epochs),
            learning_rate=float(learning_rate),
            trainable_angles=int(engine.initial.size),
            angle_change_max=float(np.abs(best[2] - engine.initial).max()),
            validation_loss_curve=[float(v) for v in curve],
            engine_check_deviation=engine_check,
            dm_check_deviation=dm_check(tuned_circuit, compiled, x0[0], z0),
            seconds=time.perf_counter() - start,
        )
    finally:
        adapter.set_weights(saved)
    return record


__all__ = ["BATCH_SIZE", "EPOCHS", "LEARNING_RATE", "fine_tune_on_device"]
