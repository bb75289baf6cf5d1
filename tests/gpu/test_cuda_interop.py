"""GPU interop: the caller's stream and array type, scratch-buffer reuse, bad streams.

Under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) foreign device memory cannot be
read: the CuPy-like doubles below expose ``__cuda_array_interface__`` (with a stream
key) and, for the simulator only, the simulated array they view in
``__simulated_device_array__``, so that the library takes the same path as for a real
foreign array.  Every launch goes through ``device.configured``: a spy records the
stream each launch was enqueued on.
"""

import sys
import types

import numpy as np
import pytest

cuda = pytest.importorskip("numba.cuda", reason="numba-cuda is not installed")
if not cuda.is_available():
    pytest.skip(
        "no CUDA GPU here and NUMBA_ENABLE_CUDASIM is not set", allow_module_level=True
    )

import kmatrix as km  # noqa: E402
import kmatrix.cuda as kc  # noqa: E402
from kmatrix.backends.cuda import buffers, device, interop  # noqa: E402

SIM = device.simulating()
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]
if SIM:  # stream handles as CuPy or torch would report them (the simulator runs none)
    STREAM_PTR, OTHER_PTR = 0x7F00DEAD0000, 0x7F00DEAD0100
else:  # real streams, kept for the whole module
    _KEPT = cuda.stream(), cuda.stream()
    STREAM_PTR, OTHER_PTR = (int(s.handle) for s in _KEPT)


def _sample(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _to_host(y):
    return (y._arr if isinstance(y, ForeignArray) else y).copy_to_host()


def _close(K, x, y):
    ref = K @ x
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    eps = np.finfo(ref.dtype).eps
    scale = max(1.0, float(np.abs(ref).max(initial=0)))
    assert y.shape == ref.shape and y.dtype == ref.dtype
    assert float(np.abs(y - ref).max(initial=0)) <= 16 * nfac * eps * scale


class ForeignArray:
    """Any library's CUDA array: only ``__cuda_array_interface__`` (version 3)."""

    def __init__(self, numba_array, stream=None):
        self._arr = numba_array
        self._stream = stream

    @property
    def __cuda_array_interface__(self):
        if SIM:
            desc = dict(self._arr._ary.__array_interface__)
        else:
            desc = dict(self._arr.__cuda_array_interface__)
        desc.update(stream=self._stream, version=3)
        return desc

    @property
    def __simulated_device_array__(self):  # read by the library in the simulator only
        return self._arr


@pytest.fixture
def launches(monkeypatch):
    """The streams of every launch, in order."""
    seen = []
    real = device.configured

    def spy(kernel, grid, block, stream, shared):
        seen.append(stream)
        return real(kernel, grid, block, stream, shared)

    monkeypatch.setattr(device, "configured", spy)
    return seen


def _handle(s):
    return interop.stream_key(s)


# ------------------------------------------------------------------ foreign arrays


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n,k", [(16, None), (256, 3), (4096, None)])
def test_foreign_array_parity(dtype, n, k):
    """An object exposing only the interface is read in place; the result is a Numba
    device array equal to the CPU product."""
    rng = np.random.default_rng(n + (k or 0))
    K = km.random(n, width=1 if n > 256 else 2, dtype=dtype, rng=rng)
    x = _sample(rng, (n,) if k is None else (n, k), dtype)
    y = K @ ForeignArray(cuda.to_device(x))
    assert getattr(y, "__cuda_ndarray__", False) is True
    _close(K, x, y.copy_to_host())


def test_foreign_strided_input_is_read_in_place():
    rng = np.random.default_rng(1)
    K = km.random((6, 10), dtype=np.float64, rng=rng)
    big = rng.standard_normal((20, 6))
    _close(K, big[::2, 1:4], (K @ ForeignArray(cuda.to_device(big)[::2, 1:4])).copy_to_host())


@pytest.mark.parametrize("key", [None, 1, 2, STREAM_PTR])
def test_the_reported_stream_key_is_where_work_runs(launches, key):
    K = km.random(32, dtype=np.float32, rng=0)
    x = np.arange(32, dtype=np.float32)
    y = K @ ForeignArray(cuda.to_device(x), stream=key)
    assert launches, "no launch recorded"
    expected = 0 if key is None else key
    assert all(_handle(s) == expected for s in launches), launches
    assert _handle(y.stream) == expected
    _close(K, x, y.copy_to_host())


def test_stream_key_zero_is_refused():
    K = km.random(8, rng=0)
    with pytest.raises(ValueError, match="stream 0"):
        K @ ForeignArray(cuda.to_device(np.ones(8)), stream=0)


def test_a_foreign_object_without_a_simulated_array_is_refused_in_the_simulator():
    if not SIM:
        pytest.skip("simulator only")

    class Opaque:
        __cuda_array_interface__ = dict(shape=(8,), typestr="<f8", data=(0, False),
                                        version=3, stream=None)

    with pytest.raises(TypeError, match="simulator can only read"):
        km.random(8, rng=0) @ Opaque()


# ------------------------------------------------------------------ stream= argument


def test_numba_array_bound_to_a_stream_runs_there(launches):
    s = cuda.stream()
    K = km.random((12, 20), dtype=np.complex64, rng=0)
    x = _sample(np.random.default_rng(0), (20, 2), np.complex64)
    y = K @ cuda.to_device(x).bind(s)
    assert launches and all(t is s for t in launches)
    assert y.stream is s
    _close(K, x, y.copy_to_host())


@pytest.mark.parametrize("given", ["numba", 0, 1, 2, STREAM_PTR, "protocol"])
def test_stream_argument_overrides_the_array(launches, given):
    s = cuda.stream()
    if given == "numba":
        arg = expected = s
    elif given == "protocol":  # a CuPy / cuda.core stream: __cuda_stream__ -> (0, handle)
        arg = types.SimpleNamespace(__cuda_stream__=lambda: (0, STREAM_PTR))
        expected = STREAM_PTR
    else:
        arg = expected = given
    K = km.random(16, dtype=np.float64, rng=0)
    x = np.linspace(-1, 1, 16)
    y = kc.apply_device(K, ForeignArray(cuda.to_device(x), stream=1), stream=arg)
    key = (lambda t: t) if given == "numba" else _handle
    assert launches and all(key(t) == expected for t in launches)
    assert key(y.stream) == expected
    _close(K, x, y.copy_to_host())


@pytest.mark.parametrize(
    "bad,exc", [("1", TypeError), (1.0, TypeError), (True, TypeError), (object(), TypeError),
                (-3, ValueError)]
)
def test_bad_streams_name_the_argument(bad, exc):
    K = km.random(8, rng=0)
    d = cuda.to_device(np.ones(8))
    for call in (lambda: kc.apply_device(K, d, stream=bad),
                 lambda: kc.apply_internal(K, cuda.to_device(np.ones(8)), stream=bad),
                 lambda: kc.vjp_device(K, d, d, stream=bad)):
        with pytest.raises(exc, match="stream"):
            call()


def test_apply_internal_on_a_stream(launches):
    s = cuda.stream()
    K = km.random(16, dtype=np.float32, rng=2)
    x = _sample(np.random.default_rng(2), (16, 3), np.float32)
    d = cuda.to_device(x)
    assert kc.apply_internal(K, d, stream=s) is d
    assert launches and all(t is s for t in launches)
    _close(K, x, d.copy_to_host())


# ------------------------------------------------------------------ the caller's type


class _FakeLibraryArray(ForeignArray):
    """What CuPy / torch build from an interface: a view of the same memory."""

    def __init__(self, exported, **extra):
        desc = exported.__cuda_array_interface__
        inner = getattr(exported, interop.SIMULATED_ARRAY_ATTR) if SIM else \
            cuda.from_cuda_array_interface(desc, owner=exported, sync=False)
        super().__init__(inner, stream=None)
        self.imported_stream = desc["stream"]
        self.owner = exported
        self.__dict__.update(extra)


@pytest.fixture
def fake_cupy(monkeypatch):
    """A module named ``cupy`` whose arrays are interface views (CuPy's own type)."""
    mod = types.ModuleType("cupy")

    class ndarray(_FakeLibraryArray):
        pass

    ndarray.__module__ = "cupy"
    mod.ndarray = ndarray
    mod.asarray = lambda obj: ndarray(obj)
    monkeypatch.setitem(sys.modules, "cupy", mod)
    return mod


@pytest.fixture
def fake_torch(monkeypatch):
    """A module named ``torch``: tensors report no stream; the current stream is torch's."""
    mod = types.ModuleType("torch")

    class Tensor(_FakeLibraryArray):
        pass

    Tensor.__module__ = "torch"
    mod.Tensor = Tensor
    mod.as_tensor = lambda obj, device=None: Tensor(obj, device=device)
    current = types.SimpleNamespace(cuda_stream=STREAM_PTR)
    mod.cuda = types.SimpleNamespace(current_stream=lambda device=None: current)
    monkeypatch.setitem(sys.modules, "torch", mod)
    return mod


def _shares_memory(a, b):
    if SIM:
        return np.shares_memory(a._arr._ary, b._ary)
    return a._arr.__cuda_array_interface__["data"][0] == b.__cuda_array_interface__["data"][0]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_cupy_in_cupy_out(fake_cupy, launches, dtype):
    rng = np.random.default_rng(3)
    K = km.random((20, 24), width=2, dtype=dtype, rng=rng)
    x = _sample(rng, (24, 2), dtype)
    xc = fake_cupy.ndarray.__new__(fake_cupy.ndarray)
    ForeignArray.__init__(xc, cuda.to_device(x), stream=STREAM_PTR)
    y = K @ xc
    assert type(y) is fake_cupy.ndarray
    assert all(_handle(s) == STREAM_PTR for s in launches)
    # the work ran on the stream CuPy reported: CuPy need not synchronize on import
    assert y.imported_stream is None
    assert _shares_memory(y, y.owner.owner)  # a view of the result, not a copy
    _close(K, x, _to_host(y))


def test_cupy_with_another_stream_reports_it(fake_cupy):
    s = OTHER_PTR
    K = km.random(8, dtype=np.float32, rng=0)
    xc = fake_cupy.ndarray.__new__(fake_cupy.ndarray)
    ForeignArray.__init__(xc, cuda.to_device(np.ones(8, np.float32)), stream=STREAM_PTR)
    y = kc.apply_device(K, xc, stream=s)
    assert y.imported_stream == s  # CuPy orders its own stream after ours


def test_torch_in_torch_out_on_torch_current_stream(fake_torch, launches):
    K = km.random(16, dtype=np.complex64, rng=4)
    x = _sample(np.random.default_rng(4), (16,), np.complex64)
    xt = fake_torch.Tensor.__new__(fake_torch.Tensor)
    ForeignArray.__init__(xt, cuda.to_device(x), stream=None)
    xt.device = "cuda:0"
    y = K @ xt
    assert type(y) is fake_torch.Tensor and y.device == "cuda:0"
    assert launches and all(_handle(s) == STREAM_PTR for s in launches)
    assert y.imported_stream is None
    _close(K, x, _to_host(y))


def test_library_not_imported_is_not_imported(launches):
    """A type whose module merely looks like CuPy's is a plain interface object when
    CuPy itself is not loaded: nothing is imported, a Numba array comes back."""
    if "cupy" in sys.modules:
        pytest.skip("CuPy is loaded in this process")
    cls = type("ndarray", (ForeignArray,), {"__module__": "cupy"})
    y = km.random(8, rng=0) @ cls(cuda.to_device(np.ones(8)))
    assert getattr(y, "__cuda_ndarray__", False) is True and "cupy" not in sys.modules


# ------------------------------------------------------------------ vjp


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_vjp_foreign_arrays_on_their_stream(fake_cupy, launches, dtype):
    rng = np.random.default_rng(5)
    K = km.random((12, 10), width=2, dtype=dtype, rng=rng)
    X, G = _sample(rng, (10, 3), dtype), _sample(rng, (12, 3), dtype)

    def cupy_like(a):
        arr = fake_cupy.ndarray.__new__(fake_cupy.ndarray)
        ForeignArray.__init__(arr, cuda.to_device(a), stream=STREAM_PTR)
        return arr

    dx, dtw = kc.vjp_device(K, cupy_like(X), cupy_like(G))
    assert type(dx) is fake_cupy.ndarray and type(dtw) is fake_cupy.ndarray
    assert launches and all(_handle(s) == STREAM_PTR for s in launches)
    rx, rtw = km.vjp(K, X, G)
    nfac = K.twiddle.shape[0] * K.twiddle.shape[1]
    tol = 16 * nfac * np.finfo(dtype).eps
    assert np.abs(_to_host(dx) - rx).max() <= tol * max(1, np.abs(rx).max())
    assert np.abs(_to_host(dtw) - rtw).max() <= tol * max(1, np.abs(rtw).max())


def test_vjp_waits_for_the_gradient_stream_on_the_device(monkeypatch):
    """G on another stream: an event recorded there, waited on by the work's stream."""
    events = []

    class Event:
        def record(self, stream=0):
            events.append(("record", interop.stream_key(stream)))

        def wait(self, stream=0):
            events.append(("wait", interop.stream_key(stream)))

    monkeypatch.setattr(cuda, "event", lambda timing=True: Event())
    K = km.random(8, rng=0)
    X = ForeignArray(cuda.to_device(np.ones(8)), stream=STREAM_PTR)
    G = ForeignArray(cuda.to_device(np.ones(8)), stream=2)
    kc.vjp_device(K, X, G)
    assert events == [("record", 2), ("wait", STREAM_PTR)]
    events.clear()
    kc.vjp_device(K, X, ForeignArray(cuda.to_device(np.ones(8)), stream=STREAM_PTR))
    assert events == []


# ------------------------------------------------------------------ buffer reuse


def test_vjp_reuses_scratch_but_never_a_returned_result(monkeypatch):
    kc.free_buffers()
    taken = []
    real_take = buffers.take
    monkeypatch.setattr(buffers, "take", lambda *a: taken.append(real_take(*a)) or taken[-1])
    rng = np.random.default_rng(8)
    K = km.random(16, dtype=np.float32, rng=rng)  # float64 data: dtw is cast back
    X1, G1 = rng.standard_normal((16, 2)), rng.standard_normal((16, 2))
    X2, G2 = rng.standard_normal((16, 2)), rng.standard_normal((16, 2))
    dx1, dtw1 = kc.vjp_device(K, cuda.to_device(X1), cuda.to_device(G1))
    h1 = dx1.copy_to_host(), dtw1.copy_to_host()
    first = list(taken)
    assert kc.pooled_bytes() > 0
    dx2, dtw2 = kc.vjp_device(K, cuda.to_device(X2), cuda.to_device(G2))
    second = taken[len(first):]
    assert [id(b) for b in second] == [id(b) for b in first]  # the same scratch arrays
    # the first results are untouched by the second call and share nothing with scratch
    np.testing.assert_array_equal(dx1.copy_to_host(), h1[0])
    np.testing.assert_array_equal(dtw1.copy_to_host(), h1[1])
    for res in (dx1, dtw1, dx2, dtw2):
        for b in first:
            assert not np.shares_memory(res._ary, b._ary) if SIM else True
    for (X, G), (dx, dtw) in (((X1, G1), (dx1, dtw1)), ((X2, G2), (dx2, dtw2))):
        rx, rtw = km.vjp(K, X, G)
        assert np.abs(dx.copy_to_host() - rx).max() <= 1e-4 * max(1, np.abs(rx).max())
        assert np.abs(dtw.copy_to_host() - rtw).max() <= 1e-4 * max(1, np.abs(rtw).max())
    kc.free_buffers()
    assert kc.pooled_bytes() == 0


def test_scratch_is_per_stream_and_never_handed_out_twice():
    kc.free_buffers()
    s1, s2 = cuda.stream(), cuda.stream()
    a = buffers.take(cuda, 0, s1, (8,), np.float64)
    b = buffers.take(cuda, 0, s1, (8,), np.float64)
    assert a is not b  # both in use: distinct
    buffers.give_back(a, 0, s1)
    assert buffers.take(cuda, 0, s2, (8,), np.float64) is not a  # another stream
    assert buffers.take(cuda, 0, s1, (8,), np.float64) is a
    kc.free_buffers()


def test_apply_results_never_alias_each_other():
    K = km.random((5, 8), dtype=np.float64, rng=0)
    x1, x2 = np.arange(8.0), -np.arange(8.0)
    y1 = K @ cuda.to_device(x1)
    h1 = y1.copy_to_host()
    y2 = K @ cuda.to_device(x2)
    np.testing.assert_array_equal(y1.copy_to_host(), h1)
    _close(K, x2, y2.copy_to_host())


def test_launches_are_planned_once_per_operator(monkeypatch):
    from kmatrix.backends.cuda import plan

    K = km.random(64, dtype=np.float32, rng=0)
    d = cuda.to_device(np.ones((64, 2), np.float32))
    K @ d

    def refuse(*a, **k):
        raise AssertionError("planned again")

    monkeypatch.setattr(plan, "plan_passes", refuse)
    monkeypatch.setattr(plan, "plan_register_passes", refuse)
    K @ d
    kc.apply_internal(K, cuda.to_device(np.ones((64, 2), np.float32)))


def test_host_benchmark_smoke(tmp_path):
    """The host-time benchmark runs (stubbed launches record every launch) and writes JSON."""
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu_host.py"
    spec = importlib.util.spec_from_file_location("bench_gpu_host", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "host.json"
    real = device.configured
    assert bench.main(["--n", "16", "--calls", "3", "--repeat", "1", "--out", str(out)]) == 0
    assert device.configured is real  # the stub is removed again
    rows = json.loads(out.read_text())["rows"]
    stubbed = [r for r in rows if r["mode"] == "stubbed"]
    assert len(stubbed) == 8 and all(r["host_us"] > 0 and r["launches"] >= 1 for r in stubbed)
