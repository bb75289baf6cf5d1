"""The main job, ``python -m kmatrix``: smoke test, JSON content, and that it cannot pass falsely."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kmatrix as km
import kmatrix.__main__ as main_mod

ROOT = Path(__file__).resolve().parent.parent


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _check_rows(result):
    names = [r["target"] for r in result["rows"]]
    assert [any(n.startswith(c) for n in names) for c in main_mod.CASES] == [True] * len(main_mod.CASES)
    for r in result["rows"]:
        assert r["status"] == "ok", r
        assert 0 <= r["error"] <= r["tolerance"], r
        assert r["width"] <= r["bound_width"] and r["expansion"] <= r["bound_expansion"] * (1 + 1e-12), r
        assert r["nparams"] == 4 * r["width"] * r["internal_size"] * int(np.log2(r["internal_size"])), r
        assert r["dense_params"] == r["size"] ** 2
        assert r["apply_s"] > 0 and r["baseline_s"] > 0
        assert r["ratio"] == pytest.approx(r["apply_s"] / r["baseline_s"])
        assert r["cls"] == f"(BB*)^{r['width']}_{r['expansion']:g}"
    perm = next(r for r in result["rows"] if r["target"] == "permutation")
    assert perm["tolerance"] == 0 and perm["error"] == 0 and perm["exact"] is True
    fit = next(r for r in result["rows"] if r["target"].startswith("learned"))
    assert fit["fit_converged"] is True and fit["fit_rel_error"] <= fit["tolerance"]


def test_quick_smoke_subprocess(tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "kmatrix", "--quick", "--json", str(out)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RESULT: all rows pass" in proc.stdout
    for word in ("DFT", "permutation", "sparse", "low rank", "Toeplitz", "FFT circuit", "learned",
                 "(BB*)^"):
        assert word in proc.stdout
    result = json.loads(out.read_text())
    assert result["ok"] is True and result["quick"] is True
    assert result["n"] == 256 and result["dtype"] == "float64"
    assert set(result["machine"]) >= {"platform", "cpus", "numpy", "scipy", "numba"}
    assert result["total_s"] >= result["first_call_s"] >= 0
    _check_rows(result)


@pytest.mark.parametrize("n, dtype", [(24, "complex64"), (16, "float32")])
def test_other_sizes_and_dtypes(n, dtype, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main_mod.main(["--quick", "--n", str(n), "--dtype", dtype, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["n"] == n
    _check_rows(result)
    dft = result["rows"][0]
    want = "complex64"
    assert dft["dtype"] == want
    if dtype == "complex64":  # every operator runs in the asked precision
        assert {r["dtype"] for r in result["rows"]} == {"complex64"}
    if n & (n - 1):  # Bluestein: expansion < 4 instead of 1
        assert 1 < dft["expansion"] < 4


def _run(argv, tmp_path):
    out = tmp_path / "r.json"
    status = main_mod.main(argv + ["--json", str(out)])
    return status, {r["target"].split(" (")[0]: r for r in json.loads(out.read_text())["rows"]}


def test_raising_constructor_is_reported_not_hidden(monkeypatch, tmp_path, capsys):
    def missing(*args, **kwargs):
        raise NotImplementedError("dft is not implemented yet")

    monkeypatch.setattr(km, "dft", missing)
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1
    assert rows["DFT"]["status"] == "error"
    assert rows["DFT"]["message"] == "NotImplementedError: dft is not implemented yet"
    assert "apply_s" not in rows["DFT"] and "error" not in rows["DFT"]
    assert "dft is not implemented yet" in capsys.readouterr().out


def test_wrong_operator_fails(monkeypatch, tmp_path):
    real = km.permutation
    monkeypatch.setattr(km, "permutation", lambda p: real(np.roll(p, 1)))
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1
    assert rows["permutation"]["status"] == "fail"
    assert rows["permutation"]["error"] > 0
    assert rows["DFT"]["status"] == "ok"


def test_tiny_error_above_tolerance_fails(monkeypatch, tmp_path):
    # A relative perturbation of 1e-9 is invisible to np.allclose but far above
    # 8 eps 2w log2 N: the self-check must catch it.
    real = km.toeplitz
    monkeypatch.setattr(km, "toeplitz", lambda c, r: (1 + 1e-9) * real(c, r))
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1
    assert rows["Toeplitz"]["status"] == "fail"
    assert rows["Toeplitz"]["tolerance"] < rows["Toeplitz"]["error"] < 1e-8


def test_certificate_violation_fails(monkeypatch, tmp_path):
    real = km.low_rank
    # H @ H = I for the normalized Hadamard matrix, but H is not diagonal or a
    # permutation, so the product does not fold: the width grows by 2.
    def padded(U, V):
        H = km.hadamard(U.shape[0], normalized=True)
        return H @ (H @ real(U, V))

    monkeypatch.setattr(km, "low_rank", padded)
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1
    row = rows["low rank"]
    assert row["status"] == "fail" and "certificate" in row["message"]
    assert row["error"] <= row["tolerance"]  # the operator is right; only its class is not


def test_circuit_row_checks_its_certificate(monkeypatch, tmp_path):
    # A wrong circuit (the conjugate FFT) must fail the error check.
    real = km.from_circuit

    def conjugated(n, gates, outputs):
        return real(n, [(i, np.conj(a), j, np.conj(b)) for i, a, j, b in gates], outputs)

    monkeypatch.setattr(km, "from_circuit", conjugated)
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1 and rows["FFT circuit"]["status"] == "fail"


def test_circuit_row_certificate(tmp_path):
    status, rows = _run(["--quick", "--n", "24"], tmp_path)
    row = rows["FFT circuit"]
    assert row["size"] == 16 and row["width"] == 8 and row["expansion"] == 2.0
    assert row["bound_width"] == 8 and row["status"] == "ok"


def test_constructor_exception_is_reported(monkeypatch, tmp_path):
    def broken(S):
        raise RuntimeError("boom")

    monkeypatch.setattr(km, "sparse", broken)
    status, rows = _run(["--quick", "--n", "16"], tmp_path)
    assert status == 1
    assert rows["sparse"]["status"] == "error" and "boom" in rows["sparse"]["message"]


@pytest.mark.parametrize("argv", [["--n", "1"], ["--n", "x"], ["--dtype", "int8"], ["--batch", "0"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main_mod.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_bench_runs_the_suite_with_arguments(monkeypatch, tmp_path):
    record = tmp_path / "args.txt"
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        f"open({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        "sys.exit(3)\n"
    )
    monkeypatch.setattr(main_mod, "_find_bench_script", lambda: script)
    assert main_mod.main(["bench", "--sizes", "64", "128"]) == 3
    assert record.read_text() == "--sizes 64 128"


def test_bench_without_suite_says_so(monkeypatch, capsys):
    monkeypatch.setattr(main_mod, "_find_bench_script", lambda: None)
    assert main_mod.main(["bench"]) == 2
    assert "benchmarks/run.py not found" in capsys.readouterr().err


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "r.png"
    assert main_mod.main(["--quick", "--n", "8", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("n", [2, 3])
def test_smallest_sizes_pass(n, tmp_path):
    # The learned row at these sizes is the 2x2 Hadamard matrix, a reflection (det -1):
    # the orthogonal parametrization must reach it.
    status, rows = _run(["--quick", "--n", str(n)], tmp_path)
    assert status == 0, rows
    assert rows["learned Hadamard"]["fit_converged"] is True


def test_batch_of_one_vector(tmp_path):
    status, rows = _run(["--quick", "--n", "16", "--batch", "1"], tmp_path)
    assert status == 0, rows


def test_plot_without_matplotlib_fails_before_the_run(monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(main_mod, "run_demo", lambda *a, **k: ran.append(1))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(SystemExit, match="--plot needs matplotlib"):
        main_mod.main(["--quick", "--n", "8", "--plot", str(tmp_path / "r.png")])
    assert ran == []


def test_plot_without_matplotlib_subprocess(tmp_path):
    script = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "import kmatrix.__main__ as m\n"
        "m.run_demo = lambda *a, **k: sys.exit('the run started')\n"
        f"sys.exit(m.main(['--quick', '--plot', {str(tmp_path / 'r.png')!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "--plot needs matplotlib" in proc.stderr, proc.stderr
    assert "the run started" not in proc.stderr
