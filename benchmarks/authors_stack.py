"""The authors' stack, rebuilt for the reference benchmark: PennyLane ``lightning.qubit`` (adjoint)
+ PyTorch, Model B of their Phase 2 notebook (2 qubits, AngleEmbedding(RX) +
StronglyEntanglingLayers(3), <Z_0>, <Z_1> -> Linear(2->2) + softmax gates over two Linear(2->2)
experts; Adam lr 0.1, cross-entropy, shuffled batches of 32 on make_moons(500, noise=0.1,
random_state=42) min-max scaled to [0, pi]).

Test/benchmark-only: needs ``torch`` (the optional ``authors`` extra, never in the lock) and
PennyLane. ``available()`` says whether it can run; importing this module never fails.
"""

from __future__ import annotations

import importlib.util

N_QUBITS = 2
N_LAYERS = 3
BATCH = 32
LR = 0.1


def missing_dependency() -> str | None:
    """Name of the first missing optional dependency, or None when the stack can run."""
    for name in ("torch", "pennylane", "pennylane_lightning"):
        if importlib.util.find_spec(name) is None:
            return name
    return None


def moons_angles(n_samples: int = 500):
    """The authors' data: make_moons(n, noise=0.1, random_state=42), scaled to [0, pi] per feature."""
    import numpy as np
    from sklearn.datasets import make_moons
    from sklearn.preprocessing import MinMaxScaler

    x, y = make_moons(n_samples=n_samples, noise=0.1, random_state=42)
    x = MinMaxScaler(feature_range=(0, np.pi)).fit_transform(x)
    return x.astype(np.float32), y.astype(np.int64)


def build(seed: int = 0, threads: int = 0):
    """(model, optimizer, loss_fn) of the authors' hybrid Model B; ``threads > 0`` pins torch's
    intra-op threads (set OMP_NUM_THREADS before the first import for lightning's OpenMP too)."""
    import pennylane as qml
    import torch
    from torch import nn

    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dev = qml.device("lightning.qubit", wires=N_QUBITS)

    @qml.qnode(dev, interface="torch", diff_method="adjoint")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(N_QUBITS))
        qml.StronglyEntanglingLayers(weights, wires=range(N_QUBITS))
        return [qml.expval(qml.PauliZ(i)) for i in range(N_QUBITS)]

    weight_shapes = {"weights": (N_LAYERS, N_QUBITS, 3)}

    class QuantumRouter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q_layer = qml.qnn.TorchLayer(
                circuit, weight_shapes, init_method=lambda t: nn.init.uniform_(t, 0, 2 * 3.141592653589793)
            )
            self.adapter = nn.Linear(N_QUBITS, 2)

        def forward(self, x):
            return torch.softmax(self.adapter(self.q_layer(x)), dim=1)

    class HybridMoE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.router = QuantumRouter()
            self.experts = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])

        def forward(self, x):
            gates = self.router(x)
            outs = torch.stack([e(x) for e in self.experts], dim=1)  # (batch, E, classes)
            return torch.sum(gates.unsqueeze(-1) * outs, dim=1)

    model = HybridMoE()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    return model, optimizer, nn.CrossEntropyLoss()


def make_loader(x, y, seed: int = 0):
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    gen = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=BATCH, shuffle=True, generator=gen)


def train_epoch(model, optimizer, loss_fn, loader) -> float:
    """One epoch as in the notebook; returns the summed batch loss (what the authors printed)."""
    total = 0.0
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total
