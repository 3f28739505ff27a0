"""``python -m rrm_theory``: the same as the ``rrm-theory`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
