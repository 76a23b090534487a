"""``python -m stepauth.cli``: the same as the ``stepauth`` command."""

import sys

from stepauth.cli import main

sys.exit(main())
