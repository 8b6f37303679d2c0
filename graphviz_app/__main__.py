"""``python -m graphviz_app`` does what the ``graphviz-app`` command does."""

import sys

from graphviz_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
