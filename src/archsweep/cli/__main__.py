"""``python -m archsweep.cli`` runs the command line."""

from archsweep.cli.main import main

raise SystemExit(main())
