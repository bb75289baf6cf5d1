"""Learning: vjp against finite differences, fit, parametrizations, relaxation, rounding."""

import functools

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

import kmatrix as km
from kmatrix._layout import pair_indices, stride
from kmatrix._reference import apply_reference, dense_reference
from kmatrix.learn import FitResult, round_permutation
from kmatrix.learn.optimize import Objective
from kmatrix.learn.parametrizations import PARAMETRIZATIONS, make_parametrization
from kmatrix.learn.relax import realify
from oracle import DTYPES, rand


seeds = st.integers(0, 2**32 - 1)


def wide(dtype):
    return np.complex128 if np.dtype(dtype).kind == "c" else np.float64


@st.composite
def problems(draw, dtypes=st.sampled_from(DTYPES)):
    """A K-matrix (width 1 or 3, rectangular or expanded), an input X and a gradient G."""
    dtype = draw(dtypes)
    rows, cols = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    K = km.random(
        (rows, cols),
        width=draw(st.sampled_from([1, 3])),
        expansion=draw(st.sampled_from([1, 2])),
        dtype=dtype,
        init=draw(st.sampled_from(["randn", "ortho"])),
        rng=draw(seeds),
    )
    k = draw(st.sampled_from([None, 1, 3]))
    rng = np.random.default_rng(draw(seeds))
    X = rand(rng, (cols,) if k is None else (cols, k), dtype)
    G = rand(rng, (rows,) if k is None else (rows, k), dtype)
    return K, X, G


def pairing(A, B):
    """Real inner product ``sum Re(conj(A) B)`` (the one the gradient convention uses)."""
    return float(np.real(np.vdot(A, B)))


def directional_fd(K, X, G, V, h=1e-5):
    """Central difference of ``L(t) = Re <G, K(t) X>`` along ``V``, in double precision."""
    tw = K.twiddle.astype(wide(K.dtype))
    Xw, Gw = X.astype(wide(K.dtype)), G.astype(wide(K.dtype))

    def loss(t):
        return pairing(Gw, apply_reference(t, Xw, K.shape))

    return (loss(tw + h * V) - loss(tw - h * V)) / (2 * h)


# ---------------------------------------------------------------------------- vjp


@given(problems(dtypes=st.sampled_from([np.float64, np.complex128])), seeds)
def test_vjp_matches_central_differences(problem, seed):
    K, X, G = problem
    dX, dtw = km.vjp(K, X, G)
    assert dtw.shape == K.twiddle.shape and dtw.dtype == K.dtype
    rng = np.random.default_rng(seed)
    for _ in range(3):
        V = rand(rng, K.twiddle.shape, K.dtype)
        fd = directional_fd(K, X, G, V)
        scale = np.linalg.norm(dtw) * np.linalg.norm(V)
        assert abs(pairing(dtw, V) - fd) <= 1e-6 * max(scale, 1.0)


@given(problems(dtypes=st.sampled_from([np.float32, np.complex64])))
def test_vjp_single_precision_matches_double(problem):
    K, X, G = problem
    dX, dtw = km.vjp(K, X, G)
    assert dX.dtype == K.dtype and dtw.dtype == K.dtype
    dX64, dtw64 = km.vjp(K.astype(wide(K.dtype)), X.astype(wide(K.dtype)), G.astype(wide(K.dtype)))
    eps = np.finfo(K.dtype).eps
    nfactors = K.twiddle.shape[0] * K.twiddle.shape[1]
    growth = np.prod([max(1.0, np.abs(f).sum(-1).max()) for blk in K.twiddle for f in blk])
    bound = 32 * eps * nfactors * growth * max(1.0, np.abs(X).max()) * max(1.0, np.abs(G).max())
    bound *= max(1, X.size // X.shape[0])
    assert np.abs(dtw - dtw64).max() <= bound
    assert np.abs(dX - dX64).max() <= bound


@given(problems())
def test_vjp_dx_is_adjoint_times_g(problem):
    K, X, G = problem
    dX, _ = km.vjp(K, X, G)
    assert dX.shape == X.shape and dX.dtype == K.dtype
    D = dense_reference(K.twiddle.astype(wide(K.dtype)), K.shape)
    want = D.conj().T @ G.astype(wide(K.dtype))
    eps = np.finfo(K.dtype).eps
    bound = 64 * eps * K.twiddle.shape[0] * K.twiddle.shape[1] * max(1.0, np.abs(D).sum(0).max())
    bound *= max(1.0, np.abs(G).max()) * G.shape[0]
    assert np.abs(dX - want).max() <= bound
    np.testing.assert_allclose(dX, K.H @ G, rtol=0, atol=bound)


def test_vjp_complex_convention_entrywise():
    """dtwiddle.real / .imag are dL/dRe t / dL/dIm t for a nonlinear real loss."""
    rng = np.random.default_rng(3)
    K = km.random((6, 5), width=1, expansion=2, dtype=np.complex128, rng=4, init="randn")
    X = rand(rng, (5, 2), np.complex128)
    Y0 = rand(rng, (6, 2), np.complex128)

    def loss(t):
        r = apply_reference(t, X, K.shape) - Y0
        return 0.5 * np.vdot(r, r).real

    G = K @ X - Y0  # d(0.5 |r|^2)/dRe r + i d/dIm r = r
    _, dtw = km.vjp(K, X, G)
    tw, h = K.twiddle, 1e-6
    for idx in [(0, 0, 0, 0, 0), (1, 2, 3, 1, 0), (0, 1, 2, 0, 1), (1, 0, 1, 1, 1)]:
        for unit, part in [(1.0, dtw.real), (1j, dtw.imag)]:
            tp, tm = tw.copy(), tw.copy()
            tp[idx] += h * unit
            tm[idx] -= h * unit
            fd = (loss(tp) - loss(tm)) / (2 * h)
            assert abs(part[idx] - fd) <= 1e-6 * max(1.0, abs(fd))


def test_vjp_two_factor_closed_form():
    """N = 2, width 1: K = T1 T0, so dL/dT1 = G (T0 x)^H and dL/dT0 = T1^H G x^H."""
    rng = np.random.default_rng(0)
    tw = rand(rng, (2, 1, 1, 2, 2), np.complex128)
    K = km.KMatrix(tw)
    x = rand(rng, 2, np.complex128)
    g = rand(rng, 2, np.complex128)
    T0, T1 = tw[0, 0, 0], tw[1, 0, 0]
    dX, dtw = km.vjp(K, x, g)
    np.testing.assert_allclose(dtw[1, 0, 0], np.outer(g, (T0 @ x).conj()), rtol=1e-13)
    np.testing.assert_allclose(dtw[0, 0, 0], np.outer(T1.conj().T @ g, x.conj()), rtol=1e-13)
    np.testing.assert_allclose(dX, (T1 @ T0).conj().T @ g, rtol=1e-13)


def test_vjp_real_operator_complex_data_gives_real_part():
    rng = np.random.default_rng(1)
    K = km.random(8, width=2, rng=2, init="randn")
    X, G = rand(rng, (8, 3), np.complex128), rand(rng, (8, 3), np.complex128)
    dX, dtw = km.vjp(K, X, G)
    _, dtw_c = km.vjp(K.astype(np.complex128), X, G)
    assert dtw.dtype == np.float64 and dX.dtype == np.complex128
    np.testing.assert_allclose(dtw, dtw_c.real, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vjp_threaded_equals_serial(monkeypatch, dtype):
    import kmatrix._threads as thr
    import kmatrix.backends.cpu.vjp as cpu_vjp

    rng = np.random.default_rng(5)
    K = km.random((30, 20), width=2, expansion=2, dtype=dtype, rng=6, init="randn")
    X, G = rand(rng, (20, 70), dtype), rand(rng, (30, 70), dtype)
    monkeypatch.setattr(cpu_vjp, "_PARALLEL_MIN_WORK", 1 << 60)
    serial = km.vjp(K, X, G)
    monkeypatch.setattr(cpu_vjp, "_PARALLEL_MIN_WORK", 0)
    monkeypatch.setattr(thr, "usable_cores", lambda: 3)
    monkeypatch.setattr(cpu_vjp, "_MAX_TILE", 8)
    threaded = km.vjp(K, X, G, workers=3)
    eps = np.finfo(dtype).eps
    np.testing.assert_array_equal(threaded[0], serial[0])
    atol = 1e3 * eps * np.abs(serial[1]).max()
    np.testing.assert_allclose(threaded[1], serial[1], rtol=0, atol=atol)


def test_vjp_bad_arguments():
    K = km.random((4, 6), rng=0, init="randn")
    with pytest.raises(TypeError, match="KMatrix"):
        km.vjp(np.eye(4), np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"X of shape \(6,\)"):
        km.vjp(K, np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        km.vjp(K, np.ones((6, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"shape of K @ X"):
        km.vjp(K, np.ones(6), np.ones((4, 1)))
    with pytest.raises(TypeError, match="numeric"):
        km.vjp(K, np.array(["a"] * 6), np.ones(4))
    if np.dtype(np.longdouble) != np.float64:
        with pytest.raises(TypeError, match="result type"):
            km.vjp(K, np.ones(6, np.longdouble), np.ones(4))


# ---------------------------------------------------------------------- gradients


@given(st.sampled_from(sorted(PARAMETRIZATIONS)), st.booleans(), st.integers(1, 2), seeds)
def test_parametrization_gradient_matches_central_differences(name, complex_, width, seed):
    rng = np.random.default_rng(seed)
    param = make_parametrization(name, 2 * width, 3, complex_)
    theta = param.initial("randn", rng)
    dtype = np.complex128 if complex_ else np.float64
    X, Y = rand(rng, (8, 4), dtype), rand(rng, (8, 4), dtype)
    obj = Objective(param, X, Y)
    loss, grad = obj(theta)
    V = rng.standard_normal(theta.size)
    h = 1e-6
    fd = (obj(theta + h * V)[0] - obj(theta - h * V)[0]) / (2 * h)
    assert abs(grad @ V - fd) <= 1e-6 * max(1.0, np.linalg.norm(grad) * np.linalg.norm(V))
    r = apply_reference(np.asarray(param.twiddle(theta), dtype), X) - Y
    assert abs(loss - 0.5 * np.vdot(r, r).real / np.vdot(Y, Y).real) <= 1e-12 * max(1.0, loss)


@given(st.booleans(), st.integers(1, 3), st.integers(1, 4), seeds)
def test_orthogonal_parametrization_is_orthogonal(complex_, width, m, seed):
    param = make_parametrization("orthogonal", 2 * width, m, complex_)
    theta = np.random.default_rng(seed).uniform(-10, 10, param.size)
    D = dense_reference(np.asarray(param.twiddle(theta)))
    np.testing.assert_allclose(D.conj().T @ D, np.eye(2**m), rtol=0, atol=1e-13 * width * m)


def _orthogonal_with_det(n, det, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    if np.sign(np.linalg.det(q)) != det:
        q[:, 0] *= -1
    return q


@given(st.integers(1, 3), st.integers(1, 3), seeds)
def test_orthogonal_parametrization_reaches_both_determinants(width, m, seed):
    param = make_parametrization("orthogonal", 2 * width, m, False)
    rng = np.random.default_rng(seed)
    theta = param.initial("ortho", rng)
    for sign in (1, -1):
        th = param.with_determinant(theta, sign)
        D = dense_reference(np.asarray(param.twiddle(th)))
        np.testing.assert_allclose(D.T @ D, np.eye(2**m), atol=1e-13 * width * m)
        assert np.sign(np.linalg.det(D)) == sign
    # The reflection flags are discrete: their gradient is zero, so optimizers keep them.
    g = param.pullback(theta, rng.standard_normal(param.tw_shape))
    assert np.all(g.reshape(param.param_shape)[..., 1] == 0)


@pytest.mark.parametrize("init", ["ortho", "randn", "identity"])
@pytest.mark.parametrize(
    "target",
    [np.diag([1.0, -1.0]), _orthogonal_with_det(2, -1, 0), _orthogonal_with_det(4, -1, 1),
     _orthogonal_with_det(4, -1, 2), _orthogonal_with_det(4, 1, 3)],
)
def test_orthogonal_fit_reaches_reflections(target, init):
    for seed in range(3):
        res = km.fit(target, parametrization="orthogonal", init=init, rng=seed, tol=1e-10,
                     max_iter=2000)
        assert res.converged, (seed, res.rel_error, res.message)
        np.testing.assert_allclose(res.kmatrix.toarray(), target, atol=1e-9)


# ------------------------------------------------------------------------- fit


def test_fit_recovers_random_teacher():
    teacher = km.random(32, init="ortho", rng=101)
    A = teacher.toarray()
    res = km.fit(A, width=1, init="ortho", rng=1, tol=1e-6, max_iter=3000)
    assert isinstance(res, FitResult)
    assert res.converged and res.rel_error <= 1e-6
    K = res.kmatrix
    assert isinstance(K, km.KMatrix) and K.shape == (32, 32)
    assert K.width == 1 and K.dtype == np.float64
    assert np.linalg.norm(K.toarray() - A) <= 1e-6 * np.linalg.norm(A) * (1 + 1e-9)
    assert res.history[0] > 0.1 and res.history.min() <= 1e-6
    assert 0 < res.n_iter <= 6000 and "tol" in res.message


def test_fit_hadamard_and_data_pairs():
    H = scipy.linalg.hadamard(16)
    res = km.fit(H, rng=0, tol=1e-9)
    assert res.converged and res.kmatrix.dtype == np.float64
    np.testing.assert_allclose(res.kmatrix.toarray(), H, rtol=0, atol=1e-8 * 16)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 40))
    res2 = km.fit(X=X, Y=H @ X, rng=0, tol=1e-9)
    assert res2.converged
    np.testing.assert_allclose(res2.kmatrix @ X, H @ X, rtol=0, atol=1e-8 * np.abs(H @ X).max())


@pytest.mark.parametrize("complex_", [False, True])
def test_orthogonal_fit_stays_orthogonal(complex_):
    dtype = np.complex128 if complex_ else np.float64
    target = km.random(16, init="ortho", dtype=dtype, rng=7).toarray()
    deviations = []

    def check(it, K, rel):
        D = K.toarray()
        deviations.append(np.abs(D.conj().T @ D - np.eye(16)).max())

    res = km.fit(target, parametrization="orthogonal", rng=0, max_iter=60, callback=check)
    assert len(deviations) == res.n_iter > 0
    assert max(deviations) <= 1e-12
    assert res.kmatrix.dtype == dtype and res.parametrization == "orthogonal"
    assert res.history[-1] < res.history[0]


def test_fit_adam_minibatch_and_float32():
    H = scipy.linalg.hadamard(8) / np.sqrt(8)
    res = km.fit(H, method="adam", lr=0.05, max_iter=400, rng=0, dtype=np.float32, relax=False)
    assert res.kmatrix.dtype == np.float32
    assert res.history[-1] < 0.5 * res.history[0]
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 64))
    res = km.fit(
        X=X, Y=H @ X, method="adam", batch_size=16, max_iter=300, lr=0.05, rng=1, relax=False
    )
    assert res.n_iter == 300 and not res.converged
    assert res.rel_error < 0.5 * res.history[0]
    # rel_error is the error of the returned operator on all the data
    direct = np.linalg.norm(res.kmatrix @ X - H @ X) / np.linalg.norm(H @ X)
    assert abs(res.rel_error - direct) < 1e-12


def test_fit_linear_operator_target_probes_and_shapes():
    A = km.random((5, 7), rng=3, init="randn").toarray()
    dense = km.fit(A, rng=0, max_iter=20)
    op = km.fit(aslinearoperator(A), rng=0, max_iter=20)
    np.testing.assert_array_equal(dense.history, op.history)
    assert op.kmatrix.shape == (5, 7)
    wide_fit = km.fit(A, expansion=2, rng=0, max_iter=5, probes=3)
    assert wide_fit.kmatrix.internal_size == 16 and wide_fit.kmatrix.shape == (5, 7)
    Ac = A + 1j * km.random((5, 7), rng=4, init="randn").toarray()
    assert km.fit(Ac, rng=0, max_iter=3).kmatrix.dtype == np.complex128


def test_fit_callback_stop_and_progress(capsys):
    stops = []

    def cb(it, K, rel):
        stops.append((it, K.shape, rel))
        return it >= 2

    res = km.fit(np.eye(8), init="randn", rng=0, callback=cb, relax=False, progress=True)
    assert res.n_iter == 2 and [s[0] for s in stops] == [1, 2] and "callback" in res.message
    assert "rel_error" in capsys.readouterr().err


def test_permutation_parametrization_and_rounding():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 8))
    p = np.array([1, 0, 2, 3, 5, 4, 6, 7])  # two swaps at stride 1: one soft-swap layer
    res = km.fit(X=X, Y=X[p], parametrization="permutation", init="identity", rng=0, max_iter=500)
    t = res.kmatrix.twiddle
    assert np.all((t >= 0) & (t <= 1)) and np.allclose(t.sum(-1), 1)  # soft swaps throughout
    P, q = round_permutation(res, return_indices=True)
    np.testing.assert_array_equal(q, p)
    np.testing.assert_array_equal(P @ X, X[p])


@given(st.integers(1, 5), seeds, st.floats(0.0, 0.45))
def test_round_permutation_recovers_blurred_rescaled_networks(m, seed, blur):
    """Soft swaps of a routing network, each block row rescaled, round back to it."""
    n = 2**m
    rng = np.random.default_rng(seed)
    p = rng.permutation(n)
    tw = km.permutation(p).twiddle.astype(np.float64)
    assert set(np.unique(tw)) <= {0.0, 1.0}
    soft = (1 - blur) * tw + blur * tw[..., ::-1, :]
    scale = rng.uniform(0.5, 2, tw.shape[:-1]) * rng.choice([-1, 1], tw.shape[:-1])
    P, q = round_permutation(km.KMatrix(soft * scale[..., None]), return_indices=True)
    np.testing.assert_array_equal(q, p)
    x = np.arange(n, dtype=float)
    np.testing.assert_array_equal(P @ x, x[p])


def test_round_permutation_rejects():
    with pytest.raises(TypeError, match="KMatrix or a FitResult"):
        round_permutation(np.eye(4))
    with pytest.raises(ValueError, match="square"):
        round_permutation(km.random((3, 4), rng=0, init="randn"))
    # a swap at stride 4 of an 8-point network moves coordinate 1 into the padding of n=5
    tw = km.identity(8).twiddle.copy()
    tw[0, 0, 1] = [[0, 1], [1, 0]]
    with pytest.raises(ValueError, match="padding"):
        round_permutation(km.KMatrix(tw, (5, 5)))


@given(st.integers(1, 4), st.integers(1, 2), seeds)
def test_realify_undoes_a_phase_gauge(m, width, seed):
    rng = np.random.default_rng(seed)
    n = 2**m
    real = km.random(n, width=width, rng=seed, init="randn").twiddle
    gauged = real.astype(np.complex128)
    nb = 2 * width
    seq = [(b, j) for b in range(nb) for j in range(m)]
    for f in range(len(seq) - 1):  # D_f between factor f and f + 1, D_{-1} = D_{L-1} = I
        d = np.exp(1j * rng.uniform(0, 2 * np.pi, n))
        p, q = pair_indices(n, stride(*seq[f], m))
        gauged[seq[f]][:, 0] *= d[p, None]
        gauged[seq[f]][:, 1] *= d[q, None]
        p, q = pair_indices(n, stride(*seq[f + 1], m))
        gauged[seq[f + 1]][:, :, 0] /= d[p, None]
        gauged[seq[f + 1]][:, :, 1] /= d[q, None]
    D = dense_reference(real)
    np.testing.assert_allclose(dense_reference(gauged), D, rtol=0, atol=1e-12 * np.abs(D).max() * n)
    back = realify(gauged)
    assert back.dtype == np.float64
    np.testing.assert_allclose(dense_reference(back), D, rtol=0, atol=1e-11 * np.abs(D).max() * n)


def test_fit_bad_arguments():
    A = np.eye(4)
    X = np.ones((4, 3))
    cases = [
        (dict(target=A, X=X, Y=X), ValueError, "either target"),
        (dict(), ValueError, "needs a target"),
        (dict(X=X), ValueError, "needs a target"),
        (dict(target=A, method="sgd"), ValueError, "method"),
        (dict(target=A, parametrization="unitary"), ValueError, "parametrization"),
        (dict(target=A, width=0), ValueError, "width"),
        (dict(target=A, width=1.5), TypeError, "width"),
        (dict(target=A, tol=-1), ValueError, "tol"),
        (dict(target=A, max_iter=-1), ValueError, "max_iter"),
        (dict(target=A, expansion=0.5), ValueError, "expansion"),
        (dict(target=A, lr=0), ValueError, "lr"),
        (dict(target=A, batch_size=2), ValueError, "Adam"),
        (dict(target=A, method="adam", batch_size=0), ValueError, "batch_size"),
        (dict(target=A, callback=3), TypeError, "callable"),
        (dict(target=A, dtype=np.int64), TypeError, "dtype"),
        (dict(target=A, init="zeros"), ValueError, "init"),
        (dict(target=A, init=np.zeros(3)), ValueError, "parameter shape"),
        (dict(target=A, init=km.random(8, rng=0, init="randn")), ValueError, "twiddle shape"),
        (dict(target=A, parametrization="orthogonal", init=km.random(4, rng=0, init="randn")), TypeError, "free"),
        (dict(target=A, relax="yes"), ValueError, "relax"),
        (dict(target=A, parametrization="orthogonal", relax=True), ValueError, "relax"),
        (dict(target=np.ones((2, 2, 2))), ValueError, "2-D"),
        (dict(target=np.array([[np.nan, 0], [0, 1]])), ValueError, "NaN"),
        (dict(target=np.zeros((4, 4))), ValueError, "zero"),
        (dict(target=np.array([["a"]])), TypeError, "numeric"),
        (dict(target=A, probes="random"), ValueError, "probes"),
        (dict(target=A, probes=0), ValueError, "probes"),
        (dict(X=X, Y=np.ones((4, 2))), ValueError, "same number of columns"),
        (dict(X=X, Y=np.ones(4)), ValueError, "1-D or both 2-D"),
        (dict(X=X, Y=X, probes=4), ValueError, "probes"),
        (dict(X=np.ones((3, 2)), Y=np.ones((4, 2)), parametrization="permutation"),
         ValueError, "square"),
    ]
    for kwargs, exc, match in cases:
        with pytest.raises(exc, match=match):
            km.fit(**kwargs)


# ---------------------------------------------------------------------- scale invariance
_FIT_TARGETS = {
    "hadamard": lambda: scipy.linalg.hadamard(8).astype(float),
    "dft": lambda: np.fft.fft(np.eye(4)),
    "kmatrix": lambda: km.random(8, init="ortho", rng=3).toarray(),
}


def _fit_case(name, single, pairs, k):
    A0 = _FIT_TARGETS[name]()
    dtype = {("f", False): np.float64, ("f", True): np.float32,
             ("c", False): np.complex128, ("c", True): np.complex64}[A0.dtype.kind, single]
    tol = 1e-5 if single else 1e-9
    c = 10.0**k
    if pairs:  # K X = Y with X scaled by 1/c: K is c * A0
        X = np.random.default_rng(1).standard_normal((A0.shape[1], 12))
        kw = dict(X=X / c, Y=A0 @ X)
    else:
        kw = dict(target=A0 * c)
    return A0, c, tol, km.fit(**kw, dtype=dtype, init="ortho", rng=0, tol=tol, max_iter=2000)


_unscaled_fit = functools.lru_cache(maxsize=None)(lambda *case: _fit_case(*case, 0)[-1])


@settings(max_examples=5)
@given(name=st.sampled_from(sorted(_FIT_TARGETS)), k=st.integers(-200, 200),
       single=st.booleans(), pairs=st.booleans())
def test_fit_is_scale_invariant(name, k, single, pairs):
    if single:
        k = k % 61 - 30  # c * A stays normal in single precision
    A0, c, tol, res = _fit_case(name, single, pairs, k)
    res0 = _unscaled_fit(name, single, pairs)
    assert res0.converged, res0.message  # the unscaled problem is recovered ...
    assert res.converged and res.rel_error <= tol, (res.rel_error, res.message)  # ... and so is this
    assert np.all(np.isfinite(res.kmatrix.twiddle)) and res.kmatrix.dtype == res0.kmatrix.dtype
    D = res.kmatrix.toarray().astype(np.complex128) / c
    assert np.linalg.norm(D - A0) <= 10 * tol * np.linalg.norm(A0)


@pytest.mark.parametrize("k", [-200, -160, 160, 200])
def test_fit_extreme_scales_do_not_leak_internal_errors(k):
    H = scipy.linalg.hadamard(8).astype(float) * 10.0**k
    for kw in (dict(), dict(method="adam", max_iter=50), dict(parametrization="orthogonal")):
        res = km.fit(H, rng=0, tol=1e-9, **kw)
        assert np.isfinite(res.rel_error), (kw, res.message)
        assert res.converged or res.rel_error > 1e-9


@pytest.mark.parametrize("lr", [1e3, 1e300])
def test_adam_divergence_ends_the_run_with_the_best_iterate(lr):
    H = scipy.linalg.hadamard(8).astype(float)
    # One optimizer run (permutation=None: no second attempt with a learned permutation).
    res = km.fit(H, method="adam", lr=lr, rng=0, max_iter=50, relax=False, permutation=None)
    assert not res.converged and np.isfinite(res.rel_error)
    assert res.rel_error <= res.history[0] * (1 + 1e-12)
    assert np.all(np.isfinite(res.kmatrix.twiddle))
    if lr > 1e100:
        assert "not finite" in res.message and "best iterate" in res.message
