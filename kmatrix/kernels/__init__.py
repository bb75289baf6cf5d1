"""Compute kernels: ``cpu`` (Numba) and ``cuda`` (numba.cuda) twins.

Nothing here is compiled at import; Numba compiles on first call and caches to disk.
"""
