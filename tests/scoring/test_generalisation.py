"""The unseen telemetries a run is scored on: derived from its seed, never the explored
one, the same on every run."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_ctirealm.scoring.generalisation import holdout_seeds


@given(st.integers(min_value=0, max_value=2**31), st.integers(min_value=0, max_value=10))
def test_holdout_seeds_are_distinct_reproducible_and_never_the_explored_seed(
    seed: int, count: int
) -> None:
    seeds = holdout_seeds(seed, count)
    assert len(seeds) == len(set(seeds)) == count
    assert seed not in seeds
    assert seeds == holdout_seeds(seed, count)
    assert holdout_seeds(seed, count + 1)[:count] == seeds  # more holdout adds, never swaps
