"""Stage: core. What every stage uses: errors, atomic io, quiet start-up, worker processes, the one
``paths.ROOT``, the TensorFlow environment. Imports nothing else of the package.
"""
