"""Compute kernels: ``cpu`` (Numba) and ``cuda`` (numba.cuda) twins, with
``cpu_vector`` (one vector), ``cpu_grad``/``cuda_grad`` (gradients) and
``cuda_register`` (the GPU pass for large batches) beside them.

Nothing here is compiled at import; Numba compiles on first call and caches to disk.
"""
