"""Helpers shared by the Dask tests: data, the rounding tolerance, a scheduler that
fails (to prove that building a graph computes nothing)."""

import numpy as np


def assert_close(got, want):
    """Equal up to rounding: a few hundred ulps of the result's precision, by its scale."""
    want = np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    eps = np.finfo(want.dtype).eps
    np.testing.assert_allclose(got, want, rtol=0, atol=256 * eps * max(1.0, np.abs(want).max()))


def fail_scheduler(*args, **kwargs):
    raise AssertionError("something was computed before .compute()")


def data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)
