"""Stage: specs. The vocabulary (``vocabulary``: ansatzes, readouts, placements, engines, shape checks),
the router families (``routers``), ``ModelSpec`` / ``TrainSpec`` (``config``) and the Phase 1 spec
(``phase1``): plain validated data, no TensorFlow.
"""
