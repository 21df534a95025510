"""netlab's version: the one place it is written (``netlab.__version__``, pyproject.toml and reports read it)."""

__version__ = "0.3.0"
