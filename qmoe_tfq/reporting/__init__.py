"""Stage: reporting. Tables and figures as files (``report``, ``plots``), one look per model
(``style``), and each output's provenance sidecar (``provenance``).
"""
