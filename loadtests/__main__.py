"""``python -m loadtests``: the same as the `sentiment-lab` command (loadtests/cli.py)."""

import sys

from loadtests.cli import main

sys.exit(main())
