"""``python -m linkedthreads.cli``: the same as the ``linkedthreads`` command."""

from linkedthreads.cli import main

main()
