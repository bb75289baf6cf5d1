"""Theorem 1: from_circuit against direct evaluation, its certificate, the FFT and DCT circuits, bad input."""

import numpy as np
import pytest
import scipy.fft
from hypothesis import given

import kmatrix as km
from kmatrix.testing import assert_adjoint, assert_certificate, assert_matches_dense
from kmatrix.testing.circuits import dct_circuit, evaluate_circuit, fft_circuit
from kmatrix.testing.strategies import circuits


@given(circuits())
def test_from_circuit_matches_evaluation_and_certificate(c):
    K = km.from_circuit(c.n, c.gates, c.outputs)
    assert K.shape == (len(c.outputs), c.n)
    complex_ = any(isinstance(w, complex) for _, a, _, b in c.gates for w in (a, b))
    assert K.dtype == (np.complex128 if complex_ else np.float64)
    assert_matches_dense(K, c.dense, atol=1e-12 * max(1.0, float(np.abs(c.dense).max(initial=0))))
    assert_certificate(K, width=c.width, expansion=c.expansion)


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32, 128])
def test_fft_circuit_compiles_to_width_2_log_n(n):
    m = n.bit_length() - 1
    circuit = fft_circuit(n)
    assert len(circuit[1]) == n * m
    K = km.from_circuit(*circuit)
    F = np.fft.fft(np.eye(n), axis=0)
    assert np.allclose(evaluate_circuit(*circuit, np.eye(n)), F)
    assert_matches_dense(K, F)
    # Every layer has 2n nonzeros: internal size 2n; two BB* per layer.
    assert_certificate(K, width=max(1, 2 * m), expansion=2.0)
    assert K.width == max(1, 2 * m) and K.expansion == 2.0
    inverse = km.from_circuit(*fft_circuit(n, inverse=True))
    assert_matches_dense(inverse, n * np.fft.ifft(np.eye(n), axis=0))


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32])
def test_dct_circuit_compiles_to_a_real_operator(n):
    circuit = dct_circuit(n)
    K = km.from_circuit(*circuit)
    D = scipy.fft.dct(np.eye(n), type=2, axis=0)
    assert K.dtype == np.float64
    assert_matches_dense(K, D, rtol=1e-13)
    depth = max(1, 2 * (n.bit_length() - 1) - 1)
    assert K.width <= 2 * depth + 2 and K.expansion <= 2.0
    assert_adjoint(K, rng=n)


def test_from_circuit_zero_gates_unused_inputs_and_repeats():
    # Wire 3 = 0 (weights cancel on one input), wire 4 reads it; input 2 is unused.
    gates = [(0, 1.0, 0, -1.0), (3, 5.0, 1, 2.0), (4, 1.0, 4, 1.0)]
    K = km.from_circuit(3, gates, outputs=[5, 3, 0, 5])
    x = np.array([1.0, 10.0, 100.0])
    assert np.array_equal(K @ x, [40.0, 0.0, 1.0, 40.0])
    assert_matches_dense(K, evaluate_circuit(3, gates, [5, 3, 0, 5], np.eye(3)))
    # Only inputs as outputs: a selection (depth 0).
    S = km.from_circuit(4, [], outputs=[3, 3, 1])
    assert np.array_equal(S.toarray(), np.eye(4)[[3, 3, 1]]) and S.width <= 4
    assert km.from_circuit(2, [(0, 1.0, 1, 1.0)], [2], dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("gates, outputs, exc, match", [
    ([(0, 1.0, 2, 1.0)], [2], ValueError, r"gates\[0\] refers to wire 2, which does not exist yet"),
    ([(0, 1.0, 1, 1.0), (3, 1.0, 0, 1.0)], [3], ValueError, r"gates\[1\] refers to wire 3"),
    ([(0, 1.0, -1, 1.0)], [2], ValueError, r"gates\[0\] refers to wire -1"),
    ([(0, np.inf, 1, 1.0)], [2], ValueError, r"gates\[0\]: weight a must be finite"),
    ([(0, 1.0, 1, np.nan)], [2], ValueError, r"gates\[0\]: weight b must be finite"),
    ([(0, 1.0, 1)], [2], ValueError, r"gates\[0\] must be a tuple \(i, a, j, b\)"),
    ([(0.5, 1.0, 1, 1.0)], [2], TypeError, r"gates\[0\]: i must be an integer"),
    ([(0, "1", 1, 1.0)], [2], TypeError, r"gates\[0\]: weight a must be a real or complex"),
    ([(0, 1.0, 1, 1.0)], [3], ValueError, r"outputs\[0\] = 3 is not a wire"),
    ([(0, 1.0, 1, 1.0)], [-1], ValueError, r"outputs\[0\] = -1 is not a wire"),
    ([(0, 1.0, 1, 1.0)], [], ValueError, "outputs must list at least one wire"),
    ([(0, 1.0, 1, 1.0)], [True], TypeError, r"outputs\[0\] must be an integer"),
    (3, [0], TypeError, "gates must be a sequence"),
    ([(0, 1.0, 1, 1.0)], 2, TypeError, "outputs must be a sequence"),
])
def test_from_circuit_rejects_bad_input(gates, outputs, exc, match):
    with pytest.raises(exc, match=match):
        km.from_circuit(2, gates, outputs)


def test_from_circuit_rejects_bad_n_and_dtype():
    with pytest.raises(ValueError, match="n must be >= 1"):
        km.from_circuit(0, [], [0])
    with pytest.raises(ValueError, match="imaginary"):
        km.from_circuit(2, [(0, 1j, 1, 1.0)], [2], dtype=np.float64)
    with pytest.raises(ValueError, match="power of two"):
        fft_circuit(6)
