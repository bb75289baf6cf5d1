"""Sphinx configuration for the kmatrix documentation.

Build (warnings are errors; the gallery examples run during the build):

    python -m sphinx -W -b html docs docs/_build/html
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # document the checkout, not whatever kmatrix is installed

import kmatrix  # noqa: E402

project = "kmatrix"
author = "kmatrix developers"
copyright = "kmatrix developers"  # noqa: A001
version = release = kmatrix.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
# gallery/ holds the example sources; sphinx-gallery turns them into auto_examples/.
exclude_patterns = ["_build", "gallery", "Thumbs.db", ".DS_Store"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Kaleidoscope matrices as SciPy operators", "page_width": "1100px"}
html_title = f"kmatrix {release}"

# The API page lists every public name explicitly; numpydoc must not add a second,
# autosummary-generated member table for KMatrix (it would need stub pages).
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True  # show "np.float64", not "<class 'numpy.float64'>"

# No intersphinx: the build must work without network access (CI has none).
nitpicky = False

# sphinx-gallery: every docs/gallery/plot_*.py runs at build time (Agg backend) and
# becomes a page of docs/auto_examples/ with its output and figures; an example that
# raises stops the build.
sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "write_computation_times": False,
    "min_reported_time": 1,
    "show_signature": False,
}
