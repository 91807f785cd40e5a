"""``python -m shapetree`` runs the command line."""

from .cli import main

main()
