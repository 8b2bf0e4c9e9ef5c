"""``python -m waku``: the ``waku`` command line."""

from waku.cli import main

main()
