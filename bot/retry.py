"""One backoff rule for everything that retries: mailbox reconnects, the daemon loop, the outbox."""

from __future__ import annotations

import random
from typing import Callable


def backoff_delay(attempt: int, *, base: float = 1.0, cap: float = 60.0,
                  rng: Callable[[], float] | None = random.random) -> float:
    """base, 2 base, 4 base ... up to `cap` seconds. With `rng`, each delay is +-25 % so that many
    clients do not retry in lockstep; `rng=None` gives the exact doubling (stored schedules)."""
    delay = min(cap, base * 2.0 ** min(attempt, 32))
    return delay if rng is None else min(cap, delay * (0.75 + 0.5 * rng()))
