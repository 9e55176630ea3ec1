"""Stage: circuits. Cirq circuits: the router circuits and the Phase 1 expert circuits (``router``),
and where depolarizing noise goes in them (``noise``).
"""
