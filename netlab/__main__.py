"""``python -m netlab``: the same as the ``netlab`` command."""

from netlab.app.cli import main

raise SystemExit(main())
