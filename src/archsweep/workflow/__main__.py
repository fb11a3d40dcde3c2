"""``python -m archsweep.workflow <stage> --study FILE ...``: one stage of the workflow, what each
rule of ``rules/*.smk`` runs (a shell job, so no job re-reads the Snakefile).

Stages: ``space``, ``evaluate``, ``collect``, ``pareto``, ``report``
(:mod:`archsweep.workflow.stages`) and ``search-create``, ``search-worker``, ``search-export``
(:mod:`archsweep.workflow.search_rules`). Only the chosen stage's module and dependencies are
imported: an evaluate job never loads matplotlib or Optuna. ``<stage> --help`` lists its options.
Input errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["STAGES", "SEARCH_STAGES", "main"]

STAGES: tuple[str, ...] = ("space", "evaluate", "collect", "pareto", "report")
SEARCH_STAGES: tuple[str, ...] = ("search-create", "search-worker", "search-export")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stage; returns the exit status (0, 2 for input errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in STAGES + SEARCH_STAGES:
        usage = f"usage: python -m archsweep.workflow {{{','.join(STAGES + SEARCH_STAGES)}}} --study FILE ...\n"
        if args and args[0] in ("-h", "--help"):
            print(usage + "\n" + (__doc__ or ""))
            return 0
        given = f": unknown stage {args[0]!r}" if args else ": no stage given"
        print(usage + f"python -m archsweep.workflow: error{given}", file=sys.stderr)
        return 2
    if args[0] in SEARCH_STAGES:
        from archsweep.workflow import search_rules

        return search_rules.main([args[0].removeprefix("search-"), *args[1:]])
    from archsweep.workflow import stages

    return stages.main(args)


if __name__ == "__main__":
    raise SystemExit(main())
