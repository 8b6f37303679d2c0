"""``python -m graphviz_app`` does what the ``graphviz-app`` command does."""

from graphviz_app.cli import entry

if __name__ == "__main__":
    entry()
