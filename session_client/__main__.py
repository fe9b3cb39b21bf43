"""``python -m session_client``: the ``session-client`` command."""

import sys

from .cli import main

sys.exit(main())
