"""Generated operators (twiddles from a closed form) and their Dask row-chunk schedule."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmatrix as km
from kmatrix.backends import fourstep

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

CONSTRUCTORS = [
    ("dft", lambda n, lazy: km.dft(n, "backward", lazy=lazy)),
    ("dft ortho c64", lambda n, lazy: km.dft(n, "ortho", np.complex64, lazy=lazy)),
    ("idft", lambda n, lazy: km.idft(n, lazy=lazy)),
    ("idft forward", lambda n, lazy: km.idft(n, "forward", lazy=lazy)),
    ("hadamard", lambda n, lazy: km.hadamard(n, lazy=lazy)),
    ("hadamard normalized f32", lambda n, lazy: km.hadamard(n, True, np.float32, lazy=lazy)),
]
IDS = [c[0] for c in CONSTRUCTORS]


def _vector(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


def _rel(got, want):
    return np.linalg.norm(got - want) / np.linalg.norm(want)


@pytest.mark.parametrize("make", [c[1] for c in CONSTRUCTORS], ids=IDS)
@pytest.mark.parametrize("n", [2, 4, 8, 32, 256, 2048])
def test_generated_twiddle_is_the_materialized_one(make, n):
    G, K = make(n, True), make(n, False)
    assert isinstance(G, km.GeneratedKMatrix) and isinstance(K, km.KMatrix)
    assert (G.shape, G.dtype, G.nparams, G.flops) == (K.shape, K.dtype, K.nparams, K.flops)
    M = G.materialize()
    assert M.twiddle.dtype == K.twiddle.dtype
    assert np.array_equal(M.twiddle, K.twiddle)  # bit for bit
    for g, k in ((G.H, K.H), (G.T, K.T), (G.conj(), K.conj())):
        assert isinstance(g, km.GeneratedKMatrix) and g.shape == k.shape
        assert np.array_equal(g.materialize().twiddle, k.twiddle)
    x = _vector(n)
    assert np.array_equal(G @ x, K @ x)
    assert np.array_equal(G.rmatvec(x), K.rmatvec(x))


@pytest.mark.parametrize("make", [c[1] for c in CONSTRUCTORS], ids=IDS)
def test_identity_factors_known_without_computing(make):
    for n in (2, 4, 8, 16, 128, 512):
        f = make(n, True).formula
        tw = f.materialize()
        for b in range(2):
            for j in range(f.m):
                t = tw[b, j]
                idle = bool(np.all(t[..., 0, 0] == 1) and np.all(t[..., 1, 1] == 1)
                            and not t[..., 0, 1].any() and not t[..., 1, 0].any())
                assert f.adjoint().is_identity(1 - b, f.m - 1 - j) == idle
                assert f.is_identity(b, j) == idle


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 12), data=st.data())
def test_any_slice_of_a_factor_is_that_slice_of_the_twiddle(m, data):
    """For all sizes, factors and index sets: the formula at ``index`` is ``tw[b, j, index]``."""
    f = km.dft(1 << m, lazy=True).formula
    tw = km.dft(1 << m).twiddle
    b, j = data.draw(st.integers(0, 1)), data.draw(st.integers(0, m - 1))
    index = np.array(data.draw(st.lists(st.integers(0, (1 << (m - 1)) - 1), max_size=20)),
                     dtype=np.int64)
    assert np.array_equal(f.factor(b, j, index), tw[b, j, index])


def test_huge_sizes_are_instant_and_materializing_them_is_refused():
    F = km.dft(1 << 40, lazy=True)
    assert F.shape == (1 << 40, 1 << 40) and F.nparams == 4 * 40 * (1 << 40)
    assert len(pickle.dumps(F)) < 1000  # the formula, not the twiddle
    with pytest.raises(MemoryError, match="row chunks"):
        F.materialize()
    with pytest.raises(ValueError, match="dimension mismatch"):
        F @ np.zeros(4)  # checked before anything of size N is built


def test_bad_input():
    with pytest.raises(ValueError, match="power of two"):
        km.dft(12, lazy=True)
    with pytest.raises(ValueError, match="power of two"):
        km.hadamard(12, lazy=True)
    with pytest.raises(TypeError, match="complex"):
        km.dft(8, dtype=np.float64, lazy=True)
    with pytest.raises(TypeError, match="TwiddleFormula"):
        km.GeneratedKMatrix(np.zeros((2, 1, 1, 2, 2)))
    G = km.dft(8, lazy=True)
    with pytest.raises(ValueError):
        G @ np.ones(5)
    with pytest.raises(TypeError, match="KMatrix"):
        km.vjp(G, np.ones(8), np.ones(8))
    with pytest.raises(ValueError, match="shape"):
        G @ da.ones(9, chunks=3)


def test_closure_forms_kmatrices():
    G, K = km.dft(16, lazy=True), km.dft(16)
    assert np.array_equal((2 * G).toarray(), (2 * K).toarray())
    assert np.allclose((G @ G.H).toarray(), 16 * np.eye(16))


# ------------------------------------------------------------------ Dask row chunks
CHUNKS = [(256,) * 16, (1000, 1000, 1000, 1096), (300,) * 13 + (196,), (4096,), (64,) * 64]


@pytest.mark.parametrize("chunks", CHUNKS)
def test_row_chunked_dft_and_adjoint_equal_numpy_fft(chunks):
    n = 4096
    x = _vector(n, 1)
    xd = da.from_array(x, chunks=(chunks,))
    F = km.dft(n, lazy=True)
    with dask.config.set(scheduler="synchronous"):
        y = F @ xd
        assert isinstance(y, da.Array) and y.chunks == xd.chunks
        assert _rel(y.compute(), np.fft.fft(x)) < 1e-13
        assert _rel((F.H @ xd).compute(), n * np.fft.ifft(x)) < 1e-13
        assert _rel(F.rmatvec(xd).compute(), n * np.fft.ifft(x)) < 1e-13
        Fi = km.idft(n, "ortho", lazy=True)
        assert _rel((Fi @ xd).compute(), np.fft.ifft(x, norm="ortho")) < 1e-13
        # the stored operator (local kernels) agrees to rounding
        assert _rel((F @ xd).compute(), (km.dft(n) @ xd).compute()) < 1e-14


@pytest.mark.parametrize("slab", [1, 4, 64])
def test_factors_applied_in_slabs(monkeypatch, slab):
    """Slabs smaller than a factor's stride in the chunk (runs inside a group of pairs)
    and larger (whole groups) give the whole-chunk result; several columns too."""
    monkeypatch.setattr(fourstep, "SLAB_PAIRS", slab)
    n = 1024
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))
    Xd = da.from_array(X, chunks=((128,) * 8, (2,)))
    with dask.config.set(scheduler="synchronous"):
        for G in (km.dft(n, "ortho", lazy=True), km.idft(n, lazy=True), km.hadamard(n, lazy=True)):
            assert _rel((G @ Xd).compute(), G.materialize() @ X) < 1e-13


def test_row_chunked_columns_and_single_precision():
    n = 1024
    rng = np.random.default_rng(2)
    X = (rng.standard_normal((n, 3)) + 1j * rng.standard_normal((n, 3))).astype(np.complex64)
    Xd = da.from_array(X, chunks=((100,) * 10 + (24,), (2, 1)))
    F = km.dft(n, dtype=np.complex64, lazy=True)
    with dask.config.set(scheduler="synchronous"):
        Y = (F @ Xd).compute()
    assert Y.dtype == np.complex64
    assert _rel(Y, np.fft.fft(X.astype(np.complex128), axis=0)) < 1e-5
    H = km.hadamard(n, lazy=True)
    with dask.config.set(scheduler="synchronous"):
        assert _rel((H @ Xd).compute(), km.hadamard(n) @ X) < 1e-6


def _graph_arrays(y):
    """Every ndarray literal in the graph of ``y`` (inside tasks too)."""
    found = []

    def walk(v):
        if isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, (tuple, list)):
            for a in v:
                walk(a)
        elif isinstance(v, dict):
            for a in v.values():
                walk(a)
        else:
            for attr in ("args", "kwargs", "value"):  # dask Task / DataNode objects
                a = getattr(v, attr, None)
                if isinstance(a, (tuple, list, dict, np.ndarray)):
                    walk(a)

    for v in dict(y.__dask_graph__()).values():
        walk(v)
    return found


def test_graph_holds_no_twiddle_of_the_whole_operator():
    n = 1 << 12
    xd = da.zeros(n, dtype=np.complex128, chunks=n // 16)
    G, K = km.dft(n, lazy=True), km.dft(n)
    twiddle_bytes = K.twiddle.nbytes
    stored = sum(a.nbytes for a in _graph_arrays(K @ xd))
    generated = sum(a.nbytes for a in _graph_arrays(G @ xd))
    assert stored >= twiddle_bytes // 2  # the check sees twiddle slices where they are
    assert generated < twiddle_bytes // 50  # pair-layout tables only, no twiddle entries
    assert len(pickle.dumps(dict((G @ xd).__dask_graph__()))) < twiddle_bytes // 4


def test_split_reads_every_pair_index_once():
    """Across the chunks of a run, chunk_pairs covers the operator's pairs exactly once."""
    for n, chunk in ((1 << 10, 64), (1 << 10, 32), (1 << 11, 64)):
        split = fourstep.Split(n, chunk)
        for high in (False, True):
            idx = np.concatenate([fourstep.chunk_pairs(high, split, i)
                                  for i in range(split.count(high))])
            assert np.array_equal(np.sort(idx), np.arange(n // 2))

