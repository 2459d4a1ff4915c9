"""``python -m clinnlp``: the command line, as the ``clinnlp`` script."""

from clinnlp.cli import main

main()
