"""``python -m funnel_xl.cli ...``: the same as the ``funnel-xl`` console script."""

import sys

from funnel_xl.cli import main

sys.exit(main())
