"""``python -m asyncdlms.cli``: the same as ``asyncdlms``."""

import sys

from . import main

sys.exit(main())
