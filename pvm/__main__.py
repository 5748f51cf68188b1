"""``python -m pvm`` is the ``pvm`` command."""

import sys

from pvm.cli import console

sys.exit(console())
