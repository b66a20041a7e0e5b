"""``python -m asyncdlms``: the same as the ``asyncdlms`` command."""

import sys

from .cli import main

sys.exit(main())
