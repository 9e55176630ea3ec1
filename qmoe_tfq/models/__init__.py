"""Stage: models. Keras models: the routers (``routers/``, one file per family, ``BUILDERS``), the
experts, the mixture (``mixture``), the Phase 1 models, initializers, Fourier features, kernels and
the deploy-under-noise evaluation (``noise_eval``).
"""
