"""The documentation's examples run, its API reference is complete, its gallery is wired up,
and the figures the theory page quotes follow from the parameter formula."""

import doctest
import math
import re
from pathlib import Path

import pytest

import kmatrix as km

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(
    p for p in DOCS.rglob("*.rst") if not {"_build", "_generated"} & set(p.relative_to(DOCS).parts)
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


def test_gallery_scripts_and_pages_match():
    gallery = DOCS / "gallery"
    scripts = {p.stem[len("plot_"):] for p in gallery.glob("plot_*.py")}
    pages = {p.stem for p in gallery.glob("*.rst")} - {"index"}
    assert scripts - {"selfcheck"} == pages  # selfcheck's output is shown on selfcheck.rst
    index = (gallery / "index.rst").read_text()
    for page in pages:
        assert re.search(rf"^\s+{page}$", index, re.M), f"{page} missing from the gallery toctree"
        text = (gallery / f"{page}.rst").read_text()
        assert f"/_generated/gallery/plot_{page}.png" in text
        assert f"plot_{page}.py" in text
    assert "/_generated/gallery/plot_selfcheck.png" in (DOCS / "selfcheck.rst").read_text()
    for required in ("apply_time", "learning_curve", "permutation_recovery", "factor_patterns"):
        assert required in scripts


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
