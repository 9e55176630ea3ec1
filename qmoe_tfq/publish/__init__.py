"""Stage: publish. The paper: its driver (``python -m qmoe_tfq.publish.paper``), its manifest and its
browsable site.
"""
