"""The documentation's examples run, its API reference is complete, its sphinx-gallery
examples are well-formed, and the figures the theory page quotes follow from the parameter
formula."""

import doctest
import math
import re
from pathlib import Path

import pytest

import kmatrix as km

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(
    p for p in DOCS.rglob("*.rst")
    if not {"_build", "auto_examples", "gallery"} & set(p.relative_to(DOCS).parts)
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_pages_found():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.rst", "quickstart.rst", "theory.rst", "api.rst", "benchmarks.rst"} <= names


@pytest.mark.parametrize("page", [p for p in PAGES if ">>>" in p.read_text()],
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page):
    result = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS, verbose=False,
                              report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} example(s) failed in {page.name} (see output)"


def test_every_public_name_is_in_the_api_reference():
    api = (DOCS / "api.rst").read_text()
    found = re.findall(r"^\.\. auto(?:function|class):: ([\w.]+)", api, re.M)
    documented = {n if n.startswith("kmatrix.") else f"kmatrix.{n}" for n in found}
    assert {f"kmatrix.{n}" for n in km.__all__} - documented == set()
    import kmatrix.testing
    import kmatrix.testing.strategies as strategies

    for name in kmatrix.testing.__all__:
        assert f"kmatrix.testing.{name}" in documented
    for name in strategies.__all__:
        if callable(getattr(strategies, name)):
            assert f"kmatrix.testing.strategies.{name}" in documented


def test_gallery_examples_are_sphinx_gallery_scripts():
    """Every example has the title block sphinx-gallery needs, uses only public API and
    no command-line arguments, and the pages link to the generated gallery."""
    import ast

    scripts = sorted((DOCS / "gallery").glob("plot_*.py"))
    assert {p.stem for p in scripts} >= {
        "plot_apply_time", "plot_learning_curve", "plot_permutation_recovery",
        "plot_factor_patterns", "plot_selfcheck"}
    for script in scripts:
        source = script.read_text()
        doc = ast.get_docstring(ast.parse(source), clean=False)
        assert doc is not None, f"{script.name} has no module docstring"
        title, underline = doc.strip("\n").splitlines()[:2]
        assert set(underline) == {"="} and len(underline) >= len(title), script.name
        assert "sys.argv" not in source and "savefig" not in source, script.name
        # public API only: no kmatrix._private module (kmatrix.__main__ is the CLI's)
        assert not re.search(r"kmatrix(?:\.\w+)*\._(?!_)", source), script.name
    assert (DOCS / "gallery" / "GALLERY_HEADER.rst").is_file()
    assert not (DOCS / "_ext").exists()
    conf = (DOCS / "conf.py").read_text()
    assert "sphinx_gallery.gen_gallery" in conf and '"gallery_dirs": "auto_examples"' in conf
    assert re.search(r"^\s+auto_examples/index$", (DOCS / "index.rst").read_text(), re.M)
    assert "docs/auto_examples/" in (DOCS.parent / ".gitignore").read_text()
    assert "sphx_glr_auto_examples_plot_selfcheck.py" in (DOCS / "selfcheck.rst").read_text()


def _params(width, n_internal):
    return 4 * width * n_internal * int(math.log2(n_internal))


@pytest.mark.parametrize(
    "width, internal",
    [(4, 1024), (4, 4096), (16, 4096), (4, 16384), (64, 4096), (1, 8192)],
)
def test_theory_parameter_figures(width, internal):
    # Every parameter count the theory page quotes is 4 w N log2 N of its class.
    assert f"{_params(width, internal):,}" in (DOCS / "theory.rst").read_text()


def test_theory_low_rank_figure_matches_the_library():
    import numpy as np

    L = km.low_rank(np.ones((1024, 8)), np.ones((1024, 8)))
    assert (L.width, L.expansion) == (1, 8.0)
    assert f"{L.nparams:,}" in (DOCS / "theory.rst").read_text()
