"""Command line: `python -m sharedcourt.cli` (make targets) and the process launcher."""
