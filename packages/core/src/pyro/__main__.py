"""``python -m pyro``: the ``pyro`` command line."""
import sys

from .cli import main

sys.exit(main())
