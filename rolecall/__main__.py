"""``python -m rolecall``: the command line, as the ``rolecall`` script runs it."""

import sys

from rolecall.cli import main

sys.exit(main())
