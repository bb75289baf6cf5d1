"""Execution back ends that take whole array libraries other than NumPy.

Only detection lives here: it must not import the libraries themselves, so that
``import kmatrix`` stays light and a missing optional dependency costs nothing until
such an array is actually passed.
"""

__all__ = ["is_dask_array"]


def is_dask_array(x):
    """Whether ``x`` is a ``dask.array.Array`` (checked without importing Dask).

    Examples
    --------
    >>> import numpy as np
    >>> from kmatrix.backends import is_dask_array
    >>> is_dask_array(np.ones(3))
    False
    """
    return type(x).__module__.startswith("dask.") and hasattr(x, "__dask_graph__") and hasattr(
        x, "chunks"
    )
