"""Sphinx settings of the book, the same for both languages (``book/build.py`` passes the language).

The sources are generated per language by ``book/pages.py``; ``netlab_book`` (next to this file)
reads their ``book.json``: the title, the versions of the recorded run, the downloads, the switch.
Everything the pages need ships in the installed packages (sphinx-book-theme vendors its fonts,
icons and scripts): nothing is fetched while building, nor when a reader opens a page.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

project = "netlab"
author = "netlab"
copyright = "netlab contributors, MIT License"
extensions = ["myst_nb", "netlab_book"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["netlab-book.css"]
exclude_patterns = ["_extra", "book.json", "**.ipynb_checkpoints"]

# The notebooks arrive already run (book/execute.py, in a sandbox): render their outputs as recorded.
nb_execution_mode = "off"
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # no widget scripts from a CDN: a static page shows the text form
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_heading_anchors = 3  # README-style links to a heading: page.md#a-heading
myst_enable_extensions = ["colon_fence"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "article_header_end": ["netlab-language-switch.html", "article-header-buttons.html"],
}
html_last_updated_fmt = None
html_show_sphinx = False
