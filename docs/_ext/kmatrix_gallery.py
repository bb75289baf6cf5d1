"""Sphinx extension: run the gallery scripts at build time.

Every ``docs/gallery/plot_*.py`` runs once per build, in a fresh Python process, before
Sphinx reads the sources.  A script is called as ``python plot_x.py OUTDIR`` and must
write ``OUTDIR/plot_x.png``; its standard output is kept as ``OUTDIR/plot_x.txt`` so
that pages can show the numbers measured during this very build next to the figure.
A script that fails (a bug, or a feature that is still a ``NotImplementedError``
placeholder) fails the build with its traceback: the gallery shows only what ran.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

GENERATED = Path("_generated") / "gallery"


def scripts(srcdir):
    return sorted((Path(srcdir) / "gallery").glob("plot_*.py"))


def run_script(script, outdir, root, timeout):
    """Run one script; return (seconds, stdout).  Raises ExtensionError on failure."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in [env.get("PYTHONPATH")] if p])
    env["MPLBACKEND"] = "Agg"
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script), str(outdir)],
            cwd=str(outdir), env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtensionError(f"gallery script {script.name} did not finish in {timeout} s") from exc
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ExtensionError(
            f"gallery script {script.name} failed with exit status {proc.returncode}:\n{tail}"
        )
    png = outdir / f"{script.stem}.png"
    if not png.is_file():
        raise ExtensionError(f"gallery script {script.name} ran but did not write {png.name}")
    return seconds, proc.stdout


def run_gallery(app):
    srcdir = Path(app.srcdir)
    outdir = srcdir / GENERATED
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in list(outdir.glob("plot_*.png")) + list(outdir.glob("plot_*.txt")):
        stale.unlink()  # never let an old figure stand in for a script that no longer runs
    root = srcdir.parent
    for script in scripts(srcdir):
        seconds, stdout = run_script(script, outdir, root, app.config.kmatrix_gallery_timeout)
        (outdir / f"{script.stem}.txt").write_text(stdout or "(no output)\n")
        logger.info(f"[gallery] {script.name}: {seconds:.1f} s")


def setup(app):
    app.add_config_value("kmatrix_gallery_timeout", 240, "env")
    app.connect("builder-inited", run_gallery)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
