"""Host code of the execution backends (CUDA, Dask); the kernels they launch are in
:mod:`kmatrix.kernels`. Importing this package imports no optional dependency."""
