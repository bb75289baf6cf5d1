"""Compile time is user-visible: import compiles nothing; a warm cache is not recompiled."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, env):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _env(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_import_compiles_nothing(tmp_path):
    out = _run(
        """
        import numba.core.registry as reg
        import kmatrix, kmatrix.kernels.cpu as cpu, kmatrix.testing
        from numba.core.dispatcher import Dispatcher
        compiled = [name for name, f in vars(cpu).items()
                    if isinstance(f, Dispatcher) and f.signatures]
        print("compiled:", compiled)
        """,
        _env(tmp_path),
    )
    assert "compiled: []" in out


def test_warm_cache_is_not_recompiled(tmp_path):
    code = """
        import numpy as np, kmatrix as km
        from kmatrix.kernels import cpu, cpu_vector
        K = km.random(512, rng=0)
        K @ np.ones((512, 4)); K @ np.ones(512)
        (K.astype(np.complex128)) @ np.ones((512, 4), dtype=complex)
        misses = sum(sum(f.stats.cache_misses.values()) for f in
                     (cpu.apply_real, cpu_vector.run_real, cpu.apply_complex))
        hits = sum(sum(f.stats.cache_hits.values()) for f in
                   (cpu.apply_real, cpu_vector.run_real, cpu.apply_complex))
        print("misses", misses, "hits", hits)
        """
    env = _env(tmp_path)
    first = _run(code, env)
    assert "misses 3" in first
    second = _run(code, env)
    assert "misses 0 hits 3" in second


def test_read_only_install_falls_back_to_the_user_cache(tmp_path):
    # A system-wide install cannot write kmatrix/kernels/__pycache__. Tests often run as
    # root, which a read-only file mode does not stop, so the in-tree location is refused
    # the way Numba sees a read-only directory: its write probe raises.
    code = """
        import numpy as np
        import numba.core.caching as caching

        def read_only(self):
            raise PermissionError("read-only install")

        caching.InTreeCacheLocator.ensure_cache_path = read_only
        import kmatrix as km
        from kmatrix.kernels import cpu
        K = km.random(512, rng=0)
        K @ np.ones((512, 4))
        print("misses", sum(cpu.apply_real.stats.cache_misses.values()),
              "hits", sum(cpu.apply_real.stats.cache_hits.values()))
        """
    env = _env(tmp_path)
    del env["NUMBA_CACHE_DIR"]
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")
    assert "misses 1 hits 0" in _run(code, env)
    written = list((tmp_path / "user-cache" / "numba").rglob("cpu.apply_real*.nbi"))
    assert written, "no cache index in the user cache directory"
    assert "misses 0 hits 1" in _run(code, env)
