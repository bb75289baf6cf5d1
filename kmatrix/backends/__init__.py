"""Host code of the execution backends; the kernels they launch are in :mod:`kmatrix.kernels`."""
