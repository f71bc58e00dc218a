"""Predictive pacing: the policy, the compliance-ledger arithmetic and online estimators.

Pure and typed: no Django, no clock (``now`` is passed in, float seconds), stdlib only.
"""

from dialer.pacing.ledger import (
    DEFAULT_CAP,
    UK_WINDOW,
    US_WINDOW,
    LedgerEntry,
    Outcome,
    RollingLedger,
    WindowRate,
    window_rate,
)
from dialer.pacing.policy import (
    AgentSnapshot,
    AgentState,
    CallSnapshot,
    CallState,
    PacingConfig,
    PacingDecision,
    PacingMode,
    PacingSnapshot,
    abandon_aim,
    decide,
    drop_risk_limit,
    guard_rate,
)
from dialer.pacing.stats import DialOutcomeStats, RingModel, TalkTimeModel, TalkTimeStats

__all__ = [
    "DEFAULT_CAP",
    "UK_WINDOW",
    "US_WINDOW",
    "AgentSnapshot",
    "AgentState",
    "CallSnapshot",
    "CallState",
    "DialOutcomeStats",
    "LedgerEntry",
    "Outcome",
    "PacingConfig",
    "PacingDecision",
    "PacingMode",
    "PacingSnapshot",
    "RingModel",
    "RollingLedger",
    "TalkTimeModel",
    "TalkTimeStats",
    "WindowRate",
    "abandon_aim",
    "decide",
    "drop_risk_limit",
    "guard_rate",
    "window_rate",
]
