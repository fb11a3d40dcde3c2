"""A wide acquisition reference point on a late share of the surrogate's trials (``surrogate_wide_share``; issue 14,
sessions s26-S / s26-T in ``docs/search-quality-history.md``).

The surrogate's acquisition scores a candidate against the found front's nadir plus 10 % of each range
(:func:`~archsweep.search.acquisition.best_candidate`), so a candidate beyond the found nadir in one objective (a
cheaper, slower design than the found front's slowest) gains nothing for any model: search-quality grid 1 seed 18
never reached the exhaustive front's cheap end that way. From ``start`` distinct finished grid points on, the
surrogate's own trials whose rank r among them has floor((r + 1) x) > floor(r x) (a share x, evenly spaced) score
against a reference ``WIDEN`` of the found front's ranges farther out; the objectives stay the surrogate's
predictions and its models are the same for every trial.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsweep.search.proposing import to_global

__all__ = ["WideReference", "WIDE_SHARE_START", "WIDEN"]

#: Fraction of the study's trials that must be distinct finished grid points before the first wide trial (the
#: midpoint; s26-S's choice, not tuned).
WIDE_SHARE_START = 0.5
#: The wide trials' reference point: the found front's nadir plus 10 % of each range, moved this many ranges farther
#: out (one range past the nadir in all; s26-S's choice, not tuned).
WIDEN = 0.9


@dataclass(frozen=True)
class WideReference:
    """Which of the surrogate's trials take the wide reference (module doc).

    Attributes:
        share: the share x in (0, 1] of the surrogate's own trials, by rank, that take it.
        start: distinct finished grid points before the first such trial (>= 0).
    """

    share: float
    start: int

    def __post_init__(self) -> None:
        if not 0.0 < self.share <= 1.0:
            raise ValueError(f"wide_share: got {self.share}; allowed: 0 < wide_share <= 1")
        if self.start < 0:
            raise ValueError(f"wide_start: got {self.start}; allowed: an integer >= 0")

    def widen(self, rank: int, distinct: int) -> float:
        """The found-front ranges to move the reference out by for the surrogate's trial of ``rank`` (0-based among
        its own trials) when ``distinct`` grid points are finished: ``WIDEN`` or 0."""
        return WIDEN if distinct >= self.start and to_global(rank, self.share) else 0.0
