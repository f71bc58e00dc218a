"""The live seam between the lead selector and the pacing policy (impure adapter).

The selector calls ``predictive_calls_to_place`` every tick for each running Predictive
campaign. This first version dials progressive (one call per available agent not already
covered by a call in flight); the predictive adapter replaces its body, not its signature.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from campaigns.models import Campaign


class QueueLiveLike(Protocol):
    """What this module reads of ``dialer.livestate.QueueLive``."""

    @property
    def queue(self) -> str: ...
    @property
    def agents_available(self) -> int: ...
    @property
    def members_waiting(self) -> int: ...
    @property
    def calls_in_flight(self) -> int: ...
    @property
    def fresh(self) -> bool: ...


def predictive_calls_to_place(
    campaign: Campaign, *, live: QueueLiveLike, now: datetime.datetime
) -> tuple[int, str]:
    """How many new calls to place now for a Predictive campaign, and why."""
    if not live.fresh:
        return 0, "No dialer has reported in the last 10 s: dialing paused."
    if live.agents_available <= 0 and live.calls_in_flight <= 0:
        return 0, "No agent available: dialing paused."
    n = max(0, live.agents_available - live.calls_in_flight)
    return n, f"Progressive start: {n} call(s) for {live.agents_available} available agent(s)."
