"""The wide acquisition reference of ``surrogate_wide_share`` (issue 14, s26-S / s26-T): which of the surrogate's
trials take it, that it credits a design beyond the found nadir that the usual reference does not, and the argument
checks. Its use inside the sampler: ``test_search_surrogate_pool.py``."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.search.acquisition import best_candidate
from archsweep.search.widereference import WIDEN, WideReference


def test_wide_trials_are_the_share_of_the_surrogates_own_by_rank_once_started() -> None:
    reference = WideReference(share=0.25, start=8)
    assert [r for r in range(16) if reference.widen(r, distinct=8) > 0] == [3, 7, 11, 15]
    assert all(reference.widen(r, distinct=7) == 0.0 for r in range(16))
    assert WideReference(share=1.0, start=0).widen(0, distinct=0) == WIDEN


def test_the_wide_reference_credits_a_design_beyond_the_found_nadir() -> None:
    """A candidate cheaper than every found point but slower than the found front's slowest, by more than 10 % of
    its range, is outside the usual reference (nothing proposed) and inside the wide one (proposed)."""
    found = np.array([[-10.0, 5.0], [-8.0, 4.0], [-6.0, 3.0]])  # (-tokens/s, price), minimised
    cheap = np.array([[-4.0, 1.0]])  # 2.0 slower than the slowest found; the wide reference lies 0.4 + 0.9 x 4.0 past it
    args = (found, found, cheap, np.ones(1), np.ones(1, dtype=bool), 0.0)
    assert best_candidate(*args) is None
    assert best_candidate(*args, WIDEN) == 0


@pytest.mark.parametrize(("share", "start", "match"), [
    (0.0, 8, "wide_share: got 0.0; allowed: 0 < wide_share <= 1"),
    (1.5, 8, "wide_share: got 1.5"),
    (0.25, -1, "wide_start: got -1; allowed: an integer >= 0"),
])
def test_arguments_are_checked(share: float, start: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WideReference(share=share, start=start)
