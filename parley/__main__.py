"""`python -m parley ...`: Parley's command line (services/cli.py). This folder has no
__init__.py on purpose: it shares the `parley` namespace with the generated stubs."""

from services.cli import main

main()
