"""Determinism and time for the simulator: seeded random streams, the time window, and
time-of-day shapes.

Every generator draws from its own stream, keyed by the seed, its name and the day, so
adding a generator or lengthening the window never changes what another produced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from collections.abc import Callable, Iterable
from typing import Any

#: The first day of simulated activity (a Monday), and the days at scale 1.
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
BASE_DAYS = 2

#: Relative weight of each UTC hour for human activity in Western Europe (UTC+1):
#: quiet nights, a morning and an afternoon peak.
_OFFICE_HOURS = (
    1,
    1,
    1,
    1,
    1,
    2,
    4,
    10,
    16,
    18,
    17,
    12,
    13,
    16,
    17,
    15,
    10,
    6,
    4,
    3,
    2,
    2,
    1,
    1,
)


class SimContext:
    """What every generator gets: the seed, the window, and random streams.

    The scale factor lengthens the window (2 days at 1x, 20 at 10x), so every per-day
    distribution holds at any scale and volume grows linearly.
    """

    def __init__(self, seed: int = 0, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.seed = seed
        self.scale = scale
        self.start = START
        self.days = max(1, round(BASE_DAYS * scale))
        self.end = self.start + dt.timedelta(days=self.days)
        #: campaign -> the values its instance drew (see `telemetry.campaign`).
        self.instances: dict[str, dict[str, object]] = {}

    def rng(self, *stream: object) -> random.Random:
        """An independent random stream for *stream* (e.g. `("linux", "cron", day)`)."""
        key = "/".join(str(part) for part in (self.seed, *stream))
        return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))

    def day_range(self) -> range:
        return range(self.days)

    def day_start(self, day: int) -> dt.datetime:
        return self.start + dt.timedelta(days=day)

    def any_time(self, rng: random.Random, day: int) -> dt.datetime:
        """A uniformly random instant of *day*, to the microsecond."""
        return self.day_start(day) + dt.timedelta(microseconds=rng.randrange(86_400_000_000))

    def office_time(self, rng: random.Random, day: int) -> dt.datetime:
        """An instant of *day* weighted by office hours (weekends a fifth as busy)."""
        hour = rng.choices(range(24), weights=_OFFICE_HOURS)[0]
        return self.day_start(day) + dt.timedelta(
            hours=hour, microseconds=rng.randrange(3_600_000_000)
        )

    def is_weekend(self, day: int) -> bool:
        return self.day_start(day).weekday() >= 5


def guid(rng: random.Random) -> str:
    """A random (version 4) GUID from *rng*."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_string(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


def daily_rows(
    ctx: SimContext, generators: Iterable[Callable[[SimContext, int], list[dict[str, Any]]]]
) -> list[dict[str, Any]]:
    """Every generator's rows for every day, in time order. What starts just before the
    window closes may finish after it: those rows fall out."""
    rows = [row for day in ctx.day_range() for make in generators for row in make(ctx, day)]
    rows = [row for row in rows if row["TimeGenerated"] < ctx.end]
    rows.sort(key=lambda row: row["TimeGenerated"])
    return rows
