"""``python -m xfd.api.cli …`` is ``xfd …``."""
import sys

from xfd.api.cli import main

sys.exit(main())
