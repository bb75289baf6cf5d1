"""The Numba kernels and the execution plan against the NumPy oracle, for every dtype.

These call the kernel path directly (no small-operator dense shortcut), so every size
down to N = 2 exercises the compiled code, vector and batched, fused and single steps.
"""

import os

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import kmatrix as km
from kmatrix._apply import apply_twiddle
from kmatrix._plan import make_plan
from oracle import DTYPES, apply_reference, rand, tol


def kernel_apply(K, x):
    dtype = np.result_type(K.dtype, x.dtype)
    return apply_twiddle(K._packed(dtype), K._plan(), x, K.shape[0], dtype)


@st.composite
def sparse_structured(draw):
    """Twiddles mixing identity, swap-only and general factors (exercises the plan)."""
    m = draw(st.integers(1, 7))
    nb = 2 * draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = 1 << m
    tw = km.random(n, width=nb // 2, dtype=dtype, rng=rng).twiddle.copy()
    eye = np.eye(2, dtype=dtype)
    swap = eye[::-1]
    kinds = draw(st.lists(st.sampled_from(["general", "identity", "swap"]), min_size=nb * m, max_size=nb * m))
    for (b, j), kind in zip(np.ndindex(nb, m), kinds):
        if kind == "identity":
            tw[b, j] = eye
        elif kind == "swap":
            choose = rng.random(n // 2) < 0.5
            tw[b, j] = np.where(choose[:, None, None], swap, eye)
    rows = draw(st.integers(1, n))
    cols = draw(st.integers(1, n))
    return km.KMatrix(tw, (rows, cols))


@given(sparse_structured(), st.integers(0, 2**32 - 1), st.sampled_from([1, 2, 5, 8, 9, 33, 70]))
def test_kernel_path_matches_oracle(K, seed, k):
    rng = np.random.default_rng(seed)
    X = rand(rng, (K.shape[1], k), K.dtype)
    ref = apply_reference(K.twiddle, X, K.shape)
    a = tol(K, np.abs(X).max() * K.internal_size)
    np.testing.assert_allclose(kernel_apply(K, X), ref, atol=a, rtol=0)
    np.testing.assert_allclose(kernel_apply(K, X[:, 0]), ref[:, 0], atol=a, rtol=0)


@given(st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_swap_only_twiddles_are_exact_gathers(m, seed):
    rng = np.random.default_rng(seed)
    n = 1 << m
    tw = np.zeros((2, m, n // 2, 2, 2))
    choose = rng.random((2, m, n // 2)) < 0.5
    tw[..., 0, 0] = tw[..., 1, 1] = ~choose
    tw[..., 0, 1] = tw[..., 1, 0] = choose
    K = km.KMatrix(tw)
    plan = make_plan(K.twiddle)
    assert plan.steps.shape[0] == 0
    x = rng.standard_normal((n, 3))
    np.testing.assert_array_equal(kernel_apply(K, x), apply_reference(K.twiddle, x))


def test_fused_and_single_steps_planned():
    K = km.random(64, width=1, rng=0)  # m = 6: three fused steps per block
    plan = make_plan(K.twiddle)
    assert plan.factors == ((0, 0, 2), (0, 2, 2), (0, 4, 2), (1, 0, 2), (1, 2, 2), (1, 4, 2))
    assert plan.steps[:, :2].tolist() == [[32, 16], [8, 4], [2, 1], [1, 2], [4, 8], [16, 32]]
    assert plan.phases.tolist() == [[0, 0, 6]]  # N <= 512: one chunk phase
    K = km.random(32, width=1, rng=0)  # m = 5: a single step closes each block
    assert [f[2] for f in make_plan(K.twiddle).factors] == [2, 2, 1, 2, 2, 1]
    assert make_plan(km.identity(16).twiddle).steps.shape[0] == 0


@given(sparse_structured(), st.integers(0, 2**32 - 1), st.sampled_from([16, 17, 40, 100]))
def test_column_blocks_on_threads_match_serial(K, seed, k):
    import kmatrix._apply as ap

    X = rand(np.random.default_rng(seed), (K.shape[1], k), K.dtype)
    old = ap._PARALLEL_MIN_BYTES, os.environ.get("KMATRIX_NUM_THREADS"), ap._pool
    try:
        os.environ["KMATRIX_NUM_THREADS"] = "1"
        serial = kernel_apply(K, X)
        os.environ["KMATRIX_NUM_THREADS"] = "3"
        ap._PARALLEL_MIN_BYTES = 0
        ap._pool = None
        assert len(ap._column_blocks(K.internal_size, k, 8)) > 1
        threaded = kernel_apply(K, X)
    finally:
        ap._PARALLEL_MIN_BYTES = old[0]
        if old[1] is None:
            os.environ.pop("KMATRIX_NUM_THREADS", None)
        else:
            os.environ["KMATRIX_NUM_THREADS"] = old[1]
        ap._pool = old[2]
    np.testing.assert_array_equal(threaded, serial)
    assert threaded.shape == (K.shape[0], k) and threaded.flags.c_contiguous


def test_phases_split_at_chunk_rows(monkeypatch):
    import kmatrix._plan as plan_mod

    monkeypatch.setattr(plan_mod, "CHUNK_ROWS", 8)
    K = km.random(64, width=2, rng=0)  # m = 6, C = 8: strides 32,16,8 | 4,2,1
    plan = make_plan(K.twiddle)
    assert plan.chunk == 8
    # slab (b0 big), chunk (b0 small + b1 small), slab (b1 big + b2 big), chunk, slab
    assert plan.phases[:, 0].tolist() == [1, 0, 1, 0, 1]
    for s0, s1 in plan.phases[:, 1:]:
        big = {bool(a >= 8) for a, b, _, _ in plan.steps[s0:s1]}
        assert len(big) == 1


def test_middle_swap_runs_become_gathers():
    n = 64
    P = km.permutation(np.random.default_rng(0).permutation(n))
    R = km.random(n, rng=1)
    K = R @ P @ R  # general, swap-only, general
    plan = make_plan(K.twiddle)
    kinds = [type(s).__name__ for s in plan.segments]
    assert kinds == ["tuple", "ndarray", "tuple"]
    x = np.random.default_rng(2).standard_normal((n, 5))
    np.testing.assert_allclose(kernel_apply(K, x), R.toarray() @ (P.toarray() @ (R.toarray() @ x)),
                               atol=1e-12 * n)


@given(st.integers(2, 9), st.integers(1, 3), st.sampled_from(DTYPES), st.integers(0, 2**32 - 1),
       st.sampled_from([1, 3, 16, 40]))
def test_cache_blocked_phases_match_oracle(m, w, dtype, seed, k):
    import kmatrix._plan as plan_mod

    old = plan_mod.CHUNK_ROWS
    plan_mod.CHUNK_ROWS = 4  # force slab and chunk phases at small sizes
    try:
        K = km.random(1 << m, width=w, dtype=dtype, rng=seed)
        rng = np.random.default_rng(seed)
        X = rand(rng, (K.shape[1], k), dtype)
        got = kernel_apply(K, X)
    finally:
        plan_mod.CHUNK_ROWS = old
    ref = apply_reference(K.twiddle, X, K.shape)
    np.testing.assert_allclose(got, ref, atol=tol(K, np.abs(X).max() * K.internal_size), rtol=0)


def test_results_do_not_alias_scratch_between_calls():
    # plans with gathers run in per-thread scratch arrays: results must be copies
    P = km.permutation(np.random.default_rng(0).permutation(2048))
    R = km.random(2048, rng=1)
    for K in (R @ P @ R, (R @ P @ R).astype(np.complex128), km.dft(2048)):
        X1 = np.ones((2048, 8))
        X2 = np.random.default_rng(2).standard_normal((2048, 8))
        Y1 = K @ X1
        keep = Y1.copy()
        K @ X2
        np.testing.assert_array_equal(Y1, keep)


@given(st.sampled_from(DTYPES), st.sampled_from([np.int64, np.float32, np.float64, np.complex64]),
       st.integers(0, 2**32 - 1))
def test_vector_path_takes_any_input_layout_and_dtype(dtype, xdtype, seed):
    # one compiled call per matvec: strided views and other input dtypes are converted
    # first; a DFT plan has a gather between its kernel segments
    rng = np.random.default_rng(seed)
    K = km.dft(128).astype(dtype) if np.dtype(dtype).kind == "c" else km.random(128, rng=seed, dtype=dtype)
    wide = rand(rng, (2 * K.shape[1],), xdtype) if xdtype != np.int64 else rng.integers(-5, 5, 256)
    x = wide[::2]
    got = kernel_apply(K, x)
    assert got.dtype == np.result_type(K.dtype, x.dtype)
    ref = K.toarray().astype(np.complex128) @ x.astype(np.complex128)
    np.testing.assert_allclose(got, ref, atol=tol(K, np.abs(x).max() * K.internal_size), rtol=0)
