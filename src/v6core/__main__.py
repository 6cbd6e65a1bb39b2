import sys

from v6core.cli import main

sys.exit(main())
