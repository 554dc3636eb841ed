"""`python server.py [flags]` is `ivr serve [flags]` (for process managers that want a script)."""

import sys

from ivr.cli import main

if __name__ == "__main__":
    sys.argv[1:1] = ["serve"]
    main()
