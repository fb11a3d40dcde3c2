"""``python -m archsweep.cli`` runs the command line."""

from archsweep.cli.app import main

raise SystemExit(main())
