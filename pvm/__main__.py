"""``python -m pvm`` is the ``pvm`` command."""

import sys

from pvm.cli import main

sys.exit(main())
