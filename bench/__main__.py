"""``python -m bench``: see :mod:`bench.cli`."""

import sys

from bench.cli import cli

sys.exit(cli())
