"""GPU apply (numba.cuda): parity with the CPU kernels, adjoint, planner, bad inputs.

Runs on a real GPU or under the CUDA simulator; the variable must be set before numba
is imported, so this is a separate pytest run::

    NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/gpu -q

Anywhere else the whole module is skipped.  Sizes are small: the simulator runs one
Python thread per GPU thread.
"""

import re

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
if not cuda.is_available():
    pytest.skip(
        "no CUDA GPU here and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True
    )

from hypothesis import given, strategies as st  # noqa: E402

import kmatrix as km  # noqa: E402
import kmatrix.cuda as kc  # noqa: E402
from kmatrix._reference import apply_reference  # noqa: E402
from kmatrix.backends.cuda import plan as gplan  # noqa: E402
from kmatrix.backends.cuda import vjp as cuda_vjp  # noqa: E402

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _sample(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _host(y):
    assert kc.is_device_array(y), f"result left the device: {type(y)}"
    return y.copy_to_host()


def _assert_parity(K, x, y):
    """``y`` (host copy of the GPU result) equals the CPU ``K @ x`` and the NumPy oracle
    to rounding: ``16 * factors * eps`` relative to the largest entry."""
    ref = K @ x
    assert y.shape == ref.shape
    assert y.dtype == ref.dtype
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    eps = np.finfo(ref.dtype).eps
    scale = max(1.0, float(np.abs(ref).max(initial=0)), float(np.abs(x).max(initial=0)))
    for expected in (ref, apply_reference(K.twiddle, x, K.shape)):
        err = float(np.abs(y - expected).max(initial=0))
        assert err <= 16 * nfac * eps * scale, (err, 16 * nfac * eps * scale)


# ------------------------------------------------------------------ parity with the CPU

GRID = [(n, k, 1) for n in (2, 8, 64, 256) for k in (None, 1, 3, 17)] + [
    (8, 3, 2),
    (64, 1, 2),
    (256, None, 2),
    (256, 17, 2),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n,k,width", GRID)
def test_parity_square(dtype, n, k, width):
    rng = np.random.default_rng(n * 100 + (k or 0) + width)
    K = km.random(n, width=width, dtype=dtype, rng=rng)
    x = _sample(rng, (n,) if k is None else (n, k), dtype)
    y = K @ cuda.to_device(x)
    _assert_parity(K, x, _host(y))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,k", [((5, 12), 3), ((12, 5), None), ((3, 30), 6), ((30, 3), 1)])
def test_parity_rectangular_and_adjoint(dtype, shape, k):
    rng = np.random.default_rng(sum(shape))
    K = km.random(shape, width=2, expansion=2, dtype=dtype, rng=rng)
    rows, cols = shape
    x = _sample(rng, (cols,) if k is None else (cols, k), dtype)
    _assert_parity(K, x, _host(K @ cuda.to_device(x)))
    z = _sample(rng, (rows,) if k is None else (rows, k), dtype)
    yh = _host(K.rmatvec(cuda.to_device(z)) if k is None else K.rmatmat(cuda.to_device(z)))
    _assert_parity(K.H, z, yh)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_adjoint_dot_test_on_device(dtype):
    """``<K x, z> == <x, K^H z>`` with both products computed on the GPU."""
    rng = np.random.default_rng(7)
    K = km.random((24, 40), width=2, dtype=dtype, rng=rng)
    x = _sample(rng, (40, 3), dtype)
    z = _sample(rng, (24, 3), dtype)
    kx = _host(K.matmat(cuda.to_device(x)))
    khz = _host(K.rmatmat(cuda.to_device(z)))
    lhs = np.vdot(z, kx)
    rhs = np.vdot(khz, x)
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    eps = np.finfo(K.dtype).eps
    norm = np.linalg.norm
    bound = 16 * nfac * eps * (norm(kx) * norm(z) + norm(x) * norm(khz))
    assert abs(lhs - rhs) <= bound


# ------------------------------------------------------------------ several launches


SMALL_TILE = dict(TILE_BYTES=256, LANE_BYTES=32)
MULTI_CASES = [(64, None), (64, 3), (32, 9), (128, 2)]


@pytest.fixture
def small_tiles(monkeypatch):
    """Shrink the shared tile so that small problems need several launches."""
    for name, value in SMALL_TILE.items():
        monkeypatch.setattr(gplan, name, value)


def test_multi_launch_cases_reach_every_tile_geometry(small_tiles):
    """The cases below launch windows above bit 0, split lanes over several blocks
    (with a partial last block), and hold several vectors in one block."""
    seen = set()
    for dtype in DTYPES:
        for n, k in MULTI_CASES:
            m = n.bit_length() - 1
            plan = gplan.plan_passes(4, m, k or 1, np.dtype(dtype).itemsize)
            if len(plan) > 1:
                seen.add(f"several launches at {n}x{k}")
            for p in plan:
                seen.add("h>0" if p.h > 0 else "h=0")
                seen.add("nph>1" if p.nph > 1 else "nph=1")
                if p.h == 0 and p.lb_sh > 0:
                    seen.add("several vectors per block")
                if p.n_lanes % (1 << p.lb_sh):
                    seen.add("partial lanes")
    launches = {f"several launches at {n}x{k}" for n, k in MULTI_CASES}
    geometries = {"h>0", "h=0", "nph>1", "several vectors per block", "partial lanes"}
    assert seen >= geometries | launches, seen


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n,k", MULTI_CASES)
def test_parity_multi_launch(small_tiles, dtype, n, k):
    rng = np.random.default_rng(n + (k or 0))
    K = km.random(n, width=2, dtype=dtype, rng=rng)
    x = _sample(rng, (n,) if k is None else (n, k), dtype)
    _assert_parity(K, x, _host(K @ cuda.to_device(x)))


@given(
    nblocks=st.sampled_from([2, 4, 6]),
    m=st.integers(1, 21),
    k=st.integers(1, 5000),
    itemsize=st.sampled_from([4, 8, 16]),
    tile_bytes=st.sampled_from([128, 1024, 32768]),
)
def test_plan_covers_every_factor_in_its_window(nblocks, m, k, itemsize, tile_bytes):
    """For all sizes: passes partition the factors, each factor's stride bit lies in its
    pass's window, tiles fit the shared memory and the grid covers the index space."""
    old = gplan.TILE_BYTES, gplan.LANE_BYTES
    gplan.TILE_BYTES, gplan.LANE_BYTES = tile_bytes, min(64, tile_bytes // 8)
    try:
        plan = gplan.plan_passes(nblocks, m, k, itemsize)
    finally:
        gplan.TILE_BYTES, gplan.LANE_BYTES = old
    assert [p.f0 for p in plan] == list(np.cumsum([0] + [p.nf for p in plan[:-1]]))
    assert sum(p.nf for p in plan) == nblocks * m
    n = 1 << m
    for p in plan:
        bits = [gplan.factor_bit(f, m) for f in range(p.f0, p.f0 + p.nf)]
        assert p.h == min(bits) and p.h + p.s == max(bits) + 1 and p.h + p.s <= m
        lanes_per_block = 1 << p.lb_sh
        assert (1 << p.s) * lanes_per_block * itemsize == p.shared <= tile_bytes
        assert p.n_lanes == (1 << p.h) * k and p.n_hi == n >> (p.h + p.s)
        # the grid covers every (outer chunk, lane) once
        assert p.n_hi * p.nph == p.grid
        assert p.nph * lanes_per_block >= p.n_lanes > (p.nph - 1) * lanes_per_block
        assert 1 <= p.threads <= 256



# ------------------------------------------------------------------ register passes


@pytest.fixture
def register_passes(monkeypatch):
    """Take the register pass for every size it can run (N >= 16)."""
    monkeypatch.setattr(gplan, "REGISTER_MIN_LANES", 1)
    monkeypatch.setattr(gplan, "REGISTER_MIN_ENTRIES", 0)


def test_register_pass_is_taken_where_it_was_measured_faster():
    use = gplan.use_register_passes
    assert use(12, 4096) and use(16, 256) and use(14, 256) and use(4, 1 << 20)
    assert not use(12, 256) and not use(10, 4096) and not use(14, 128)
    assert not use(20, 31) and not use(3, 1 << 22)


def test_register_plan_of_a_bbstar_merges_the_runs_at_stride_one():
    plan = gplan.plan_register_passes(2, 12)  # strides 2**11 .. 1, then 1 .. 2**11
    assert [(p.nf, p.L) for p in plan] == [(4, 8), (4, 4), (8, 0), (4, 4), (4, 8)]


@given(nblocks=st.sampled_from([2, 4, 6]), m=st.integers(4, 24))
def test_register_plan_covers_every_factor_in_its_window(nblocks, m):
    """For all sizes: runs partition the factors and every factor's stride bit lies in
    its run's 4-bit register window, which lies inside the row bits."""
    plan = gplan.plan_register_passes(nblocks, m)
    assert [p.f0 for p in plan] == list(np.cumsum([0] + [p.nf for p in plan[:-1]]))
    assert sum(p.nf for p in plan) == nblocks * m
    for p in plan:
        assert 0 <= p.L <= m - gplan.REGISTER_BITS
        bits = [gplan.factor_bit(f, m) for f in range(p.f0, p.f0 + p.nf)]
        assert all(p.L <= b < p.L + gplan.REGISTER_BITS for b in bits)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n,k,width", [(16, 1, 1), (64, 3, 2), (256, 4, 1), (32, 2, 2)])
def test_parity_register_passes(register_passes, dtype, n, k, width):
    rng = np.random.default_rng(n + k + width)
    K = km.random(n, width=width, dtype=dtype, rng=rng)
    x = _sample(rng, (n, k), dtype)
    _assert_parity(K, x, _host(K @ cuda.to_device(x)))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_register_passes_pad_cast_and_adjoint(register_passes, dtype):
    """The first launch reads the caller's array: fewer rows than N (zero padding),
    another dtype (cast on load), any strides; the adjoint runs the same kernel."""
    rng = np.random.default_rng(11)
    K = km.random((20, 27), width=2, dtype=dtype, rng=rng)  # internal N = 32
    x = _sample(rng, (3, 27), np.float32).T  # transposed: strided rows
    _assert_parity(K, np.ascontiguousarray(x), _host(K @ cuda.to_device(x)))
    z = _sample(rng, (20, 2), dtype)
    _assert_parity(K.H, z, _host(K.rmatmat(cuda.to_device(z))))

def _random_cases(count, seed=2024):
    r = np.random.default_rng(seed)
    return [
        (int(r.integers(1, 41)), int(r.integers(1, 41)), int(r.integers(1, 7)),
         int(r.integers(1, 3)), DTYPES[i % 4], int(r.integers(2**31)))
        for i in range(count)
    ]


@pytest.mark.parametrize("rows,cols,k,width,dtype,seed", _random_cases(8))
def test_parity_any_shape(rows, cols, k, width, dtype, seed):
    rng = np.random.default_rng(seed)
    K = km.random((rows, cols), width=width, dtype=dtype, rng=rng)
    x = _sample(rng, (cols, k), dtype)
    _assert_parity(K, x, _host(K @ cuda.to_device(x)))


# ------------------------------------------------------------------ dtypes, views, cache


@pytest.mark.parametrize(
    "kdt,xdt",
    [
        (np.float32, np.float64),
        (np.float64, np.complex64),
        (np.complex64, np.float32),
        (np.float32, np.int64),
        (np.complex128, np.bool_),
    ],
)
def test_result_dtype_promotes_like_numpy(kdt, xdt):
    rng = np.random.default_rng(3)
    K = km.random(8, dtype=kdt, rng=rng)
    x = (rng.standard_normal((8, 2)) * 3).astype(xdt)
    y = _host(K @ cuda.to_device(x))
    assert y.dtype == np.result_type(kdt, xdt)
    _assert_parity(K, x, y)


def test_strided_and_transposed_device_inputs():
    rng = np.random.default_rng(4)
    K = km.random((6, 10), dtype=np.float64, rng=rng)
    big = rng.standard_normal((20, 6))
    d = cuda.to_device(big)
    _assert_parity(K, big[::2, 1:4], _host(K @ d[::2, 1:4]))
    bt = rng.standard_normal((3, 10))
    _assert_parity(K, bt.T, _host(K @ cuda.to_device(bt).T))
    v = rng.standard_normal(20).astype(np.float32)  # a strided vector: padded first
    _assert_parity(K, v[::2], _host(K @ cuda.to_device(v)[::2]))


def test_twiddles_copied_once_and_reused():
    K = km.random(16, dtype=np.float32, rng=0)
    d = cuda.to_device(np.ones((16, 2), np.float32))
    K @ d
    tw = kc.device_twiddle(K, np.float32)
    K @ d
    K.matvec(cuda.to_device(np.ones(16, np.float32)))
    assert kc.device_twiddle(K, np.float32) is tw
    assert tw.shape == (2 * 4, 4, 8)
    # one copy per operator and dtype, dropped with the operator
    from kmatrix.backends.cuda.device import cached_twiddles

    assert len(cached_twiddles(K)) == 1
    kc.device_twiddle(K, np.float64)
    assert len(cached_twiddles(K)) == 2


def test_empty_batch_and_result_shapes():
    K = km.random((5, 7), rng=0)
    y = K @ cuda.to_device(np.zeros((7, 0)))
    assert kc.is_device_array(y) and y.shape == (5, 0)
    y1 = K.matvec(cuda.to_device(np.ones(7)))
    assert y1.shape == (5,)


# ------------------------------------------------------------------ bad input


def test_host_arrays_are_refused_by_apply_device():
    K = km.random(8, rng=0)
    with pytest.raises(TypeError, match="device array"):
        kc.apply_device(K, np.ones(8))


@pytest.mark.parametrize("shape", [(7,), (9, 2), (8, 2, 2), ()])
def test_wrong_shapes_name_expected_and_given(shape):
    K = km.random(8, rng=0)
    d = cuda.to_device(np.ones(shape))
    given = re.escape(f"got shape {shape}")
    with pytest.raises(ValueError, match=r"\(8,\) or \(8, k\); " + given):
        K @ d


def test_matvec_and_rmatmat_shape_rules_on_device():
    K = km.random((4, 8), rng=0)
    with pytest.raises(ValueError):
        K.matvec(cuda.to_device(np.ones((8, 2))))
    with pytest.raises(ValueError, match=r"dimension mismatch: expected shape \(4, k\)"):
        K.rmatmat(cuda.to_device(np.ones((8, 2))))
    with pytest.raises(ValueError):
        K.matmat(cuda.to_device(np.ones(8)))


def test_non_numeric_device_array_is_refused():
    K = km.random(4, rng=0)
    rec = np.zeros(4, dtype=[("a", np.float64)])
    with pytest.raises(TypeError, match="numeric"):
        K @ cuda.to_device(rec)


def test_is_available_and_device_detection():
    assert kc.is_available() is True
    assert kc.is_device_array(cuda.to_device(np.ones(2)))
    assert not kc.is_device_array(np.ones(2))
    assert not kc.is_device_array([1.0, 2.0])


# ------------------------------------------------------------------ in place, benchmark


@pytest.mark.parametrize("dtype", [np.float32, np.complex128], ids=lambda d: np.dtype(d).name)
def test_apply_internal_in_place_equals_padded_product(dtype):
    rng = np.random.default_rng(11)
    K = km.random((5, 6), width=2, expansion=2, dtype=dtype, rng=rng)
    n = K.internal_size
    x = _sample(rng, (n, 3), dtype)
    d = cuda.to_device(x)
    assert kc.apply_internal(K, d) is d
    full = km.KMatrix(K.twiddle)  # the internal N x N operator
    _assert_parity(full, x, d.copy_to_host())


def test_apply_internal_refuses_bad_work():
    K = km.random(8, dtype=np.complex64, rng=0)
    with pytest.raises(TypeError, match="device array"):
        kc.apply_internal(K, np.ones(8, np.complex64))
    with pytest.raises(ValueError, match=r"\(8,\) or \(8, k\)"):
        kc.apply_internal(K, cuda.to_device(np.ones(6, np.complex64)))
    with pytest.raises(TypeError, match="complex64"):
        kc.apply_internal(K, cuda.to_device(np.ones(8, np.float32)))
    with pytest.raises(ValueError, match="C-contiguous"):
        kc.apply_internal(K, cuda.to_device(np.ones((8, 4), np.complex64))[:, ::2])


def test_benchmark_sim_smoke_parity(tmp_path):
    """The GPU benchmark's parity part, tiny sizes: every row passes and JSON is written."""
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "gpu.json"
    assert bench.main(["--sim-smoke", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["parity"] and all(r["ok"] for r in result["parity"])
    assert {r["dtype"] for r in result["parity"]} == {np.dtype(d).name for d in DTYPES}


# ------------------------------------------------------------------ vjp


def _assert_close(a, b, nfac, dtype):
    eps = np.finfo(np.dtype(dtype)).eps
    scale = max(1.0, float(np.abs(b).max(initial=0)))
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    assert float(np.abs(a - b).max(initial=0)) <= 16 * nfac * eps * scale


def _vjp_oracle(K, X, G):
    """NumPy vjp straight from the chain rule: tape of factor inputs, reverse sweep."""
    from kmatrix._layout import pair_indices, stride

    dtype = np.result_type(K.dtype, X.dtype, G.dtype)
    tw = K.twiddle.astype(dtype)
    nb, m = tw.shape[:2]
    n = K.internal_size
    rows, cols = K.shape
    x = np.zeros((n, X.reshape(cols, -1).shape[1]), dtype)
    x[:cols] = X.reshape(cols, -1)
    tape = []
    for b in range(nb):
        for j in range(m):
            p, q = pair_indices(n, stride(b, j, m))
            t = tw[b, j][:, :, :, None]
            tape.append(x.copy())
            xp, xq = x[p], x[q]
            x[p], x[q] = t[:, 0, 0] * xp + t[:, 0, 1] * xq, t[:, 1, 0] * xp + t[:, 1, 1] * xq
    g = np.zeros_like(x)
    g[:rows] = G.reshape(rows, -1)
    dtw = np.zeros_like(tw)
    for f in range(nb * m - 1, -1, -1):
        b, j = divmod(f, m)
        p, q = pair_indices(n, stride(b, j, m))
        xin, gp, gq = tape[f], g[p].copy(), g[q].copy()
        for a, ga in ((0, gp), (1, gq)):
            dtw[b, j, :, a, 0] = (ga * xin[p].conj()).sum(1)
            dtw[b, j, :, a, 1] = (ga * xin[q].conj()).sum(1)
        t = tw[b, j].conj()[:, :, :, None]
        g[p], g[q] = t[:, 0, 0] * gp + t[:, 1, 0] * gq, t[:, 0, 1] * gp + t[:, 1, 1] * gq
    if K.dtype.kind != "c":
        dtw = dtw.real
    return g[:cols].reshape(X.shape), dtw.astype(K.dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape,k", [((8, 8), 3), ((5, 12), None), ((12, 5), 6), ((32, 32), 1)])
def test_vjp_device_matches_the_chain_rule(dtype, shape, k):
    rng = np.random.default_rng(sum(shape) + (k or 0))
    K = km.random(shape, width=2, dtype=dtype, rng=rng)
    rows, cols = shape
    X = _sample(rng, (cols,) if k is None else (cols, k), dtype)
    G = _sample(rng, (rows,) if k is None else (rows, k), dtype)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = _vjp_oracle(K, X, G)
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    _assert_close(_host(dx), K.H @ G, nfac, dtype)
    _assert_close(_host(dx), rx, nfac, dtype)
    _assert_close(_host(dtw), rtw, nfac, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_vjp_device_twiddle_gradient_is_the_directional_derivative(dtype):
    """``L(t) = Re<G, K_t X>`` is linear in each factor's twiddle, so for a change ``D``
    of one factor ``L(t + D) - L(t) == Re sum(conj(dL/dt) * D)`` up to rounding."""
    rng = np.random.default_rng(9)
    K = km.random((6, 7), width=2, dtype=dtype, rng=rng)
    X, G = _sample(rng, (7, 3), dtype), _sample(rng, (6, 3), dtype)
    _, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    dtw = _host(dtw)
    for b, j in [(0, 0), (1, 2), (3, 1)]:
        D = np.zeros_like(K.twiddle)
        D[b, j] = _sample(rng, D[b, j].shape, dtype)
        K2 = km.KMatrix(K.twiddle + D, K.shape)
        change = np.vdot(G, K2 @ X).real - np.vdot(G, K @ X).real
        predicted = np.sum(dtw.conj() * D).real
        scale = np.abs(G).sum() * (np.abs(K2 @ X).max() + np.abs(K @ X).max())
        assert abs(change - predicted) <= 1e-12 * scale


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_vjp_device_matches_cpu_vjp(dtype):
    """Same conventions as :func:`kmatrix.vjp` on the host."""
    rng = np.random.default_rng(10)
    K = km.random((12, 5), width=2, dtype=dtype, rng=rng)
    X, G = _sample(rng, (5, 3), dtype), _sample(rng, (12, 3), dtype)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = km.vjp(K, X, G)
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    _assert_close(_host(dx), rx, nfac, dtype)
    _assert_close(_host(dtw), rtw, nfac, dtype)


@pytest.mark.parametrize(
    "kdt,xdt",
    [(np.float64, np.complex128), (np.float32, np.float64), (np.complex64, np.complex128)],
)
def test_vjp_device_mixed_dtypes(kdt, xdt):
    rng = np.random.default_rng(5)
    K = km.random((6, 10), dtype=kdt, rng=rng)
    X, G = _sample(rng, (10, 2), xdt), _sample(rng, (6, 2), xdt)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = _vjp_oracle(K, X, G)
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    _assert_close(_host(dx), rx, nfac, xdt)
    _assert_close(_host(dtw), rtw, nfac, kdt)


def test_vjp_device_tape_in_column_chunks(monkeypatch):
    """A tape budget of two columns: three chunks accumulate the same gradient."""
    rng = np.random.default_rng(6)
    K = km.random(16, width=1, dtype=np.float64, rng=rng)
    monkeypatch.setattr(cuda_vjp, "TAPE_BYTES", 2 * 8 * 16 * 8)  # 8 factors, N = 16, float64
    X, G = _sample(rng, (16, 5), np.float64), _sample(rng, (16, 5), np.float64)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = _vjp_oracle(K, X, G)
    _assert_close(_host(dx), rx, 8, np.float64)
    _assert_close(_host(dtw), rtw, 8, np.float64)


def test_vjp_device_bad_inputs():
    K = km.random((4, 8), rng=0)
    X, G = cuda.to_device(np.ones((8, 2))), cuda.to_device(np.ones((4, 2)))
    with pytest.raises(TypeError, match="device arrays"):
        kc.vjp_device(K, np.ones((8, 2)), G)
    with pytest.raises(ValueError, match=r"X of shape \(8,\) or \(8, k\)"):
        kc.vjp_device(K, cuda.to_device(np.ones((4, 2))), G)
    with pytest.raises(ValueError, match=r"shape of K @ X, \(4, 2\)"):
        kc.vjp_device(K, X, cuda.to_device(np.ones((4, 3))))


# ------------------------------------------------------------------ real operators


def test_real_matrix_operator_names_the_complex_form():
    """Complex factors with a real product (dct, real Toeplitz): the GPU path asks for
    the complex operator of the same matrix, which it applies."""
    C = km.dct(8)
    with pytest.raises(TypeError, match="real_matrix.*astype"):
        C @ cuda.to_device(np.ones(8))
    with pytest.raises(TypeError, match="real_matrix"):
        kc.vjp_device(C, cuda.to_device(np.ones(8)), cuda.to_device(np.ones(8)))
    Cc = C.astype(np.complex128)
    y = _host(Cc @ cuda.to_device(np.arange(8.0).astype(np.complex128)))
    assert np.allclose(y.real, C @ np.arange(8.0), atol=1e-12)
