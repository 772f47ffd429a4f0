"""`python -m sharedcourt.cli`."""

import sys

from sharedcourt.cli.main import main

sys.exit(main())
