"""Single-launch plan (every factor in one launch) and single-pass vjp on the GPU.

Runs on a real GPU or under ``NUMBA_ENABLE_CUDASIM=1`` (see test_cuda.py); parity with
the CPU kernels for every dtype and N = 2**1 .. 2**12 on both plans, adjoint,
rectangular and padded shapes, the vjp against the CPU vjp, and the planner.
"""

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
from kmatrix.backends.cuda import device as gdevice  # noqa: E402
from kmatrix.backends.cuda import plan as gplan  # noqa: E402
from kmatrix.backends.cuda import shared as gshared  # noqa: E402
from kmatrix.backends.cuda import vjp as cuda_vjp  # noqa: E402
from kmatrix.kernels import cuda_tile  # noqa: E402

DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
dtype_ids = lambda d: np.dtype(d).name  # noqa: E731


def _sample(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _close(y, ref, nfac, dtype, scale_of=()):
    eps = np.finfo(np.dtype(dtype)).eps
    scale = max([1.0, float(np.abs(ref).max(initial=0))]
                + [float(np.abs(a).max(initial=0)) for a in scale_of])
    assert y.shape == ref.shape and y.dtype == ref.dtype, (y.shape, ref.shape, y.dtype)
    err = float(np.abs(y - ref).max(initial=0))
    assert err <= 16 * nfac * eps * scale, (err, 16 * nfac * eps * scale)


def _nfac(K):
    return K.twiddle.shape[0] * K.twiddle.shape[1]


@pytest.fixture
def kernels_launched(monkeypatch):
    """The kernels launched through the backend, in order."""
    seen = []
    real = gdevice.configured

    def spy(kernel, grid, block, stream, shared):
        seen.append((kernel, shared))
        return real(kernel, grid, block, stream, shared)

    monkeypatch.setattr(gdevice, "configured", spy)
    return seen


@pytest.fixture(params=[False, True], ids=["default-plan", "single-launch"])
def single(request, monkeypatch):
    monkeypatch.setattr(gplan, "SINGLE_LAUNCH", request.param)
    return request.param


@pytest.fixture
def single_on(monkeypatch):
    monkeypatch.setattr(gplan, "SINGLE_LAUNCH", True)


# ------------------------------------------------------------------ apply


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_ids)
@pytest.mark.parametrize("m", range(1, 13))
def test_parity_every_size_on_both_plans(single, kernels_launched, dtype, m):
    n = 1 << m
    k = 3 if n <= 512 else 1
    rng = np.random.default_rng(m)
    K = km.random(n, width=1, dtype=dtype, rng=rng)
    x = _sample(rng, (n, k), dtype)
    y = (K @ cuda.to_device(x)).copy_to_host()
    _close(y, K @ x, _nfac(K), dtype, (x,))
    _close(y, apply_reference(K.twiddle, x, K.shape), _nfac(K), dtype, (x,))
    tiles = [kern for kern, _ in kernels_launched if kern is cuda_tile.tile_kernel]
    assert len(tiles) == (1 if single else 0)
    if single:
        assert len(kernels_launched) == 1


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_ids)
def test_adjoint_and_dot_test(single_on, dtype):
    rng = np.random.default_rng(3)
    K = km.random(64, width=2, dtype=dtype, rng=rng)
    x, z = _sample(rng, (64, 5), dtype), _sample(rng, (64, 5), dtype)
    kx = K.matmat(cuda.to_device(x)).copy_to_host()
    khz = K.rmatmat(cuda.to_device(z)).copy_to_host()
    _close(khz, K.H @ z, _nfac(K), dtype, (z,))
    norm = np.linalg.norm
    bound = 16 * _nfac(K) * np.finfo(dtype).eps * (norm(kx) * norm(z) + norm(x) * norm(khz))
    assert abs(np.vdot(z, kx) - np.vdot(khz, x)) <= bound


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_ids)
@pytest.mark.parametrize("shape,k", [((5, 12), 3), ((12, 5), None), ((3, 30), 9), ((30, 3), 1)])
def test_rectangular_padded_shapes(single_on, kernels_launched, dtype, shape, k):
    rng = np.random.default_rng(sum(shape))
    K = km.random(shape, width=2, dtype=dtype, rng=rng)
    x = _sample(rng, (shape[1],) if k is None else (shape[1], k), dtype)
    _close((K @ cuda.to_device(x)).copy_to_host(), K @ x, _nfac(K), dtype, (x,))
    z = _sample(rng, (shape[0],) if k is None else (shape[0], k), dtype)
    _close((K.H @ cuda.to_device(z)).copy_to_host(), K.H @ z, _nfac(K), dtype, (z,))
    assert {kern for kern, _ in kernels_launched} <= {
        cuda_tile.tile_kernel, kc_pad(1)}


def kc_pad(ndim):
    from kmatrix.kernels import cuda as kern

    return kern.pad_kernel(ndim)


def test_strided_cast_input_and_in_place(single_on):
    """The one launch reads the caller's array (strided, another dtype) and the work
    array in place (``apply_internal``)."""
    rng = np.random.default_rng(4)
    K = km.random((20, 27), width=2, dtype=np.complex64, rng=rng)  # internal N = 32
    x = _sample(rng, (3, 27), np.float32).T
    y = (K @ cuda.to_device(x)).copy_to_host()
    _close(y, K @ np.ascontiguousarray(x), _nfac(K), np.complex64, (x,))
    w = _sample(rng, (32, 6), np.complex128)
    d = cuda.to_device(w)
    kc.apply_internal(K, d)
    Kc = K.astype(np.complex128)
    internal = km.KMatrix(Kc.twiddle, (32, 32))
    _close(d.copy_to_host(), internal @ w, _nfac(K), np.complex64, (w,))


def test_column_too_long_falls_back_to_the_default_plan(single_on, kernels_launched,
                                                         monkeypatch):
    monkeypatch.setattr(gshared, "SIMULATED_OPTIN_BYTES", 128)  # 16 complex64 entries
    rng = np.random.default_rng(5)
    K = km.random(32, width=1, dtype=np.complex64, rng=rng)
    x = _sample(rng, (32, 2), np.complex64)
    _close((K @ cuda.to_device(x)).copy_to_host(), K @ x, _nfac(K), np.complex64, (x,))
    assert kernels_launched and all(kern is not cuda_tile.tile_kernel
                                    for kern, _ in kernels_launched)


@pytest.mark.skipif(gdevice.simulating(), reason="the opt-in beyond 48 KiB is a device "
                    "attribute; the simulator takes minutes per launch of this size and "
                    "test_parity_every_size_on_both_plans covers the same kernel there")
@pytest.mark.parametrize("dtype,n,k", [(np.complex64, 4096, 4), (np.float32, 8192, 2)])
def test_tile_beyond_the_portable_48_kib(single_on, kernels_launched, dtype, n, k):
    """Tiles above 48 KiB of dynamic shared memory (opt-in on a device)."""
    assert gshared.optin_bytes(cuda) > gshared.PORTABLE_BYTES
    rng = np.random.default_rng(6)
    K = km.random(n, width=1, dtype=dtype, rng=rng)
    x = _sample(rng, (n, k), dtype)
    _close((K @ cuda.to_device(x)).copy_to_host(), K @ x, _nfac(K), dtype, (x,))
    (kern, shared), = kernels_launched
    assert kern is cuda_tile.tile_kernel and shared > gshared.PORTABLE_BYTES


@given(
    nblocks=st.sampled_from([2, 4]),
    m=st.integers(1, 20),
    k=st.integers(1, 5000),
    itemsize=st.sampled_from([4, 8, 16]),
    limit=st.sampled_from([64, 1000, 48 * 1024, 227 * 1024]),
)
def test_single_plan_geometry(nblocks, m, k, itemsize, limit):
    """For all sizes: a single plan exists exactly when a column fits; its tile fits the
    limit, its blocks cover the columns once, with at most a 32-byte row segment each."""
    p = gplan.plan_single(nblocks, m, k, itemsize, limit)
    n = 1 << m
    if n * itemsize > limit:
        assert p is None
        return
    lanes = 1 << p.lb_sh
    assert p.nf == nblocks * m
    assert p.shared == n * lanes * itemsize <= limit
    assert lanes <= max(1, gplan.SINGLE_LANE_BYTES // itemsize) and lanes < 2 * k
    assert p.grid * lanes >= k > (p.grid - 1) * lanes
    assert 1 <= p.threads <= gplan.SINGLE_THREADS and p.threads & (p.threads - 1) == 0


def test_optin_helper_in_the_simulator_or_on_a_device():
    limit = gshared.optin_bytes(cuda)
    assert limit >= gshared.PORTABLE_BYTES
    if gdevice.simulating():
        assert limit == gshared.SIMULATED_OPTIN_BYTES
        launch = object()
        assert gshared.allow_large(launch, 1 << 20) is launch  # nothing to raise


# ------------------------------------------------------------------ vjp


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_ids)
@pytest.mark.parametrize("shape,k", [((8, 8), 3), ((5, 12), None), ((12, 5), 6),
                                     ((64, 64), 9), ((16, 16), 1)])
def test_single_pass_vjp_matches_cpu_vjp(single_on, kernels_launched, dtype, shape, k):
    rng = np.random.default_rng(sum(shape) + (k or 0))
    K = km.random(shape, width=2, dtype=dtype, rng=rng)
    rows, cols = shape
    X = _sample(rng, (cols,) if k is None else (cols, k), dtype)
    G = _sample(rng, (rows,) if k is None else (rows, k), dtype)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = km.vjp(K, X, G)
    nfac = _nfac(K)
    _close(dx.copy_to_host(), rx, nfac, dtype, (X, G))
    _close(dtw.copy_to_host(), rtw, nfac, dtype, (X, G))
    vjps = [kern for kern, _ in kernels_launched if kern is cuda_tile.tile_vjp_kernel]
    assert len(vjps) == 1


def test_single_pass_vjp_mixed_dtypes_and_chunks(single_on, kernels_launched, monkeypatch):
    """Float32 operator, complex128 data (cast on load); a tape budget of 4 columns:
    the columns run in 3 chunks of one launch each, accumulating one gradient."""
    rng = np.random.default_rng(7)
    K = km.random((16, 10), width=1, dtype=np.float32, rng=rng)
    monkeypatch.setattr(cuda_vjp, "TAPE_BYTES", 4 * 8 * 16 * 16)  # 8 factors, N = 16
    X, G = _sample(rng, (10, 9), np.complex128), _sample(rng, (16, 9), np.complex128)
    dx, dtw = kc.vjp_device(K, cuda.to_device(X), cuda.to_device(G))
    rx, rtw = km.vjp(K, X, G)
    _close(dx.copy_to_host(), rx, 8, np.complex128, (X, G))
    assert dtw.copy_to_host().dtype == np.float32
    _close(dtw.copy_to_host(), rtw, 8, np.float32, (X, G))
    vjps = [kern for kern, _ in kernels_launched if kern is cuda_tile.tile_vjp_kernel]
    assert len(vjps) == 3


@pytest.mark.skipif(gdevice.simulating(), reason="the simulator has no driver bindings")
def test_optin_query_reads_the_device_limit_or_stays_portable():
    """The device query behind the planner's limit: the device's opt-in limit where the
    kernel attribute can be raised, the portable 48 KiB where the device has no such
    attribute."""

    class Device:
        MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 232448

    class Bare:
        pass

    class Cuda:
        def __init__(self, dev):
            self.dev = dev

        def get_current_device(self):
            return self.dev

    assert gshared._query(Cuda(Device())) == 232448
    assert gshared._query(Cuda(Bare())) == gshared.PORTABLE_BYTES
