"""Stage: experiments. What to run and how: the estimator registry, ``Experiment`` and its cache key
(``experiment``), probes, the runner, the tuned protocol (``tuning``) and its search spaces.
"""
