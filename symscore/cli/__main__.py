"""``python -m symscore.cli``."""

import sys

from . import main

sys.exit(main())
