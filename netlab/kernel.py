"""``python -m netlab.kernel``: kept so kernelspecs installed by netlab 0.1 still start.

New kernelspecs run :mod:`netlab.app.kernelspec`.
"""

from __future__ import annotations

if __name__ == "__main__":
    import runpy

    runpy.run_module("netlab.app.kernelspec", run_name="__main__")
