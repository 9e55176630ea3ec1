"""Stage: training. Training: the Keras loop (``train``) and stacks of many runs as one program
(``stack/``).
"""
