"""The Numba kernels and the execution plan against the NumPy oracle, for every dtype.

These call the kernel path directly (no small-operator dense shortcut), so every size
down to N = 2 exercises the compiled code, vector and batched, fused and single steps.
"""

import threading
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import kmatrix as km
from kmatrix.backends.cpu.apply import apply_twiddle
from kmatrix.backends.cpu.plan import make_plan
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
    tw = km.random(n, width=nb // 2, dtype=dtype, rng=rng, init="randn").twiddle.copy()
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
    K = km.random(64, width=1, rng=0, init="randn")  # m = 6: three fused steps per block
    plan = make_plan(K.twiddle)
    assert plan.factors == ((0, 0, 2), (0, 2, 2), (0, 4, 2), (1, 0, 2), (1, 2, 2), (1, 4, 2))
    assert plan.steps[:, :2].tolist() == [[32, 16], [8, 4], [2, 1], [1, 2], [4, 8], [16, 32]]
    assert plan.phases.tolist() == [[0, 0, 6]]  # N <= 512: one chunk phase
    K = km.random(32, width=1, rng=0, init="randn")  # m = 5: a single step closes each block
    assert [f[2] for f in make_plan(K.twiddle).factors] == [2, 2, 1, 2, 2, 1]
    assert make_plan(km.identity(16).twiddle).steps.shape[0] == 0


@contextmanager
def threads(nt, chunk_rows=None):
    """``nt`` worker threads used from the smallest work array on (more than the cores
    if asked: the cores this process may use are then taken to be ``nt``); plans built
    inside use ``chunk_rows`` (small chunks give every phase several chunks to share)."""
    import kmatrix.backends.cpu.apply as ap
    import kmatrix.backends.cpu.plan as plan_mod
    import kmatrix._threads as thr

    old = ap._PARALLEL_MIN_BYTES, thr.usable_cores
    old_chunk = plan_mod.CHUNK_ROWS
    cores = thr.usable_cores()
    try:
        thr.usable_cores = lambda: max(nt, cores)
        ap._PARALLEL_MIN_BYTES = 0 if nt > 1 else old[0]
        plan_mod.CHUNK_ROWS = chunk_rows
        with km.set_workers(nt):
            yield
    finally:
        ap._PARALLEL_MIN_BYTES, thr.usable_cores = old
        plan_mod.CHUNK_ROWS = old_chunk


@given(sparse_structured(), st.integers(0, 2**32 - 1), st.sampled_from([16, 17, 40, 100]))
def test_column_blocks_on_threads_match_serial(K, seed, k):
    import kmatrix.backends.cpu.apply as ap

    X = rand(np.random.default_rng(seed), (K.shape[1], k), K.dtype)
    with threads(1):
        serial = kernel_apply(K, X)
    with threads(3):
        assert len(ap._column_blocks(K.internal_size, k, 8, 3)) > 1
        threaded = kernel_apply(K, X)
    np.testing.assert_array_equal(threaded, serial)
    assert threaded.shape == (K.shape[0], k) and threaded.flags.c_contiguous


@given(sparse_structured(), st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 16, 40]),
       st.sampled_from([2, 3]))
def test_rows_shared_by_threads_match_serial(K, seed, k, nt):
    import kmatrix.backends.cpu.apply as ap

    X = rand(np.random.default_rng(seed), (K.shape[1], k), K.dtype)
    with threads(nt, chunk_rows=4):
        plan = K._plan()  # built with 4-row chunks: phases have several chunks
        width = np.finfo(K.dtype).dtype.itemsize * (2 if K.dtype.kind == "c" else 1)
        shared = ap._row_parts(plan, k, width, nt)
        threaded = kernel_apply(K, X)
    with threads(1):
        serial = kernel_apply(K, X)  # same plan, one thread, column path
    note(f"row parts {shared}")
    np.testing.assert_array_equal(threaded, serial)
    assert threaded.shape == (K.shape[0], k) and threaded.flags.c_contiguous
    ref = apply_reference(K.twiddle, X, K.shape)
    np.testing.assert_allclose(threaded, ref, atol=tol(K, np.abs(X).max() * K.internal_size),
                               rtol=0)


@pytest.mark.parametrize("make, parts", [
    (lambda: km.random(1024, rng=0, init="randn"), 2),  # real, in place in the output
    (lambda: km.random(1024, dtype=np.complex128, rng=0, init="randn"), 2),  # planar complex
    (lambda: km.dft(1000), 2),  # rectangular padding, permutations at both ends
    # a row gather between two kernel segments
    (lambda: km.random(1024, rng=1, init="randn") @ km.permutation(np.random.default_rng(0).permutation(1024))
     @ km.random(1024, rng=2, init="randn"), 2),
    (lambda: km.permutation(np.random.default_rng(0).permutation(1024)), 1),  # no kernel
])
def test_row_parallel_path_taken_and_exact(make, parts):
    import kmatrix.backends.cpu.apply as ap

    K = make()
    X = rand(np.random.default_rng(5), (K.shape[1], 48), K.dtype)
    with threads(2):
        dtype = np.result_type(K.dtype, X.dtype)
        width = np.finfo(dtype).dtype.itemsize * (2 if dtype.kind == "c" else 1)
        assert ap._row_parts(K._plan(), 48, width, 2) == parts
        threaded = kernel_apply(K, X)
    with threads(1):
        serial = kernel_apply(K, X)
    np.testing.assert_array_equal(threaded, serial)


def test_failed_part_releases_the_others_and_is_raised():
    import kmatrix._threads as thr

    counter = thr.counters(1, 2)[0]
    started = threading.Event()

    def do(u):
        if threading.current_thread() is not main:
            started.set()
            raise ValueError("unit failed")
        assert started.wait(10)  # the failing thread holds a unit this one waits for

    main = threading.current_thread()
    with threads(2):
        with pytest.raises(ValueError, match="unit failed"):
            thr.run_shared(lambda part: thr.share(counter, 0, 1000, do, part, 2), 2, [counter])
        assert counter[2] >= thr._sync().RELEASE  # every wait was ended
        K = km.random(256, rng=0, init="randn")
        X = rand(np.random.default_rng(0), (256, 32), K.dtype)
        after = kernel_apply(K, X)  # the pool still works
    with threads(1):
        np.testing.assert_array_equal(after, kernel_apply(K, X))


def test_apply_finishes_when_the_pool_is_busy():
    # the calling thread takes every unit that no pool thread has taken: an apply never
    # waits for a pool thread to start (here: all of them blocked by other work)
    import kmatrix._threads as thr

    K = km.random(1024, rng=0, init="randn")
    X = rand(np.random.default_rng(1), (1024, 64), K.dtype)
    with threads(1):
        serial = kernel_apply(K, X)
    gate = threading.Event()
    with threads(4):
        pool = thr.get_pool()
        blockers = [pool.submit(gate.wait, 60) for _ in range(thr._pool_size)]
        try:
            result = []
            t = threading.Thread(target=lambda: result.append(kernel_apply(K, X)), daemon=True)
            t.start()
            t.join(60)
            assert not t.is_alive(), "waited for a busy pool"
        finally:
            gate.set()
        for b in blockers:
            b.result()
    np.testing.assert_array_equal(result[0], serial)


def test_kernel_waits_end_on_release():
    from kmatrix.kernels import cpu
    from kmatrix.kernels.sync import RELEASE

    K = km.random(256, rng=0, init="randn")
    plan = K._plan()
    steps, phases = plan.segments[0]
    x = np.random.default_rng(0).standard_normal((256, 8))
    before = x.copy()
    # as left by a failed partner thread: every counter released (2 threads: 3 per phase)
    sync = np.full(3 * len(phases), RELEASE, dtype=np.int64)
    # without the release this call would do every unit; it does none and returns
    cpu.apply_real(K._packed(np.dtype(np.float64)), steps, phases, plan.chunk, 1, x, 0, 8, 8,
                   sync, 0, 2)
    np.testing.assert_array_equal(x, before)
    taken = sync.reshape(-1, 3)[:, :2]  # each range tried once, nothing finished
    assert (taken == RELEASE + 1).all() and (sync[2::3] == RELEASE).all()


def test_phases_split_at_chunk_rows(monkeypatch):
    import kmatrix.backends.cpu.plan as plan_mod

    monkeypatch.setattr(plan_mod, "CHUNK_ROWS", 8)
    K = km.random(64, width=2, rng=0, init="randn")  # m = 6, C = 8: strides 32,16,8 | 4,2,1
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
    R = km.random(n, rng=1, init="randn")
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
    import kmatrix.backends.cpu.plan as plan_mod

    old = plan_mod.CHUNK_ROWS
    plan_mod.CHUNK_ROWS = 4  # force slab and chunk phases at small sizes
    try:
        K = km.random(1 << m, width=w, dtype=dtype, rng=seed, init="randn")
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
    R = km.random(2048, rng=1, init="randn")
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
    K = km.dft(128).astype(dtype) if np.dtype(dtype).kind == "c" else km.random(128, rng=seed, dtype=dtype, init="randn")
    wide = rand(rng, (2 * K.shape[1],), xdtype) if xdtype != np.int64 else rng.integers(-5, 5, 256)
    x = wide[::2]
    got = kernel_apply(K, x)
    assert got.dtype == np.result_type(K.dtype, x.dtype)
    ref = K.toarray().astype(np.complex128) @ x.astype(np.complex128)
    np.testing.assert_allclose(got, ref, atol=tol(K, np.abs(x).max() * K.internal_size), rtol=0)


def test_threads_take_their_own_range_first():
    # thread p of n takes units p*N/n .. (p+1)*N/n - 1 in order, then the others' leftovers
    import kmatrix._threads as thr

    sync = thr._sync()
    counter, stride = thr.counters(1, 3)
    assert stride == 4
    got = [sync.take_unit(counter, 0, 1, 3, 9) for _ in range(3)]
    assert got == [3, 4, 5]
    assert sync.take_unit(counter, 0, 0, 3, 9) == 0  # its own first: untouched by thread 1
    # thread 1 helps: range 2, then range 0 (unit 0 is taken), then nothing
    assert [sync.take_unit(counter, 0, 1, 3, 9) for _ in range(5)] == [6, 7, 8, 1, 2]
    assert sync.take_unit(counter, 0, 1, 3, 9) == 9
    assert sync.take_unit(counter, 0, 2, 3, 9) == 9
