"""Sphinx configuration for the kmatrix documentation.

Build (warnings are errors; the gallery scripts run during the build):

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # document the checkout, not whatever kmatrix is installed
sys.path.insert(0, os.path.join(HERE, "_ext"))

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
    "kmatrix_gallery",
]

root_doc = "index"
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
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

# kmatrix_gallery: scripts in docs/gallery/plot_*.py run at build time; a failing script
# fails the build (a placeholder feature raises NotImplementedError: nothing is faked).
kmatrix_gallery_timeout = 240
