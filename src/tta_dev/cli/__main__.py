"""``python -m tta_dev.cli``: the same as the ``tta-dev`` console script."""

import sys

from tta_dev.cli import main

sys.exit(main())
