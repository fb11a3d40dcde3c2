"""The ``archsweep`` command line: ``run``, ``query``, ``eval``, ``validate`` (see :func:`main`)."""

from archsweep.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
