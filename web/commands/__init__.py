"""Sub-commands of the ``seance`` CLI: each module has ``add_arguments(parser)`` and ``run(args) -> int``."""
