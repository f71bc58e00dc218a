"""Who answers: the far ends of simulated calls.

A scenario maps a dialed destination to an `Outcome` (answer after N s, busy,
no answer, invalid, answering machine, ...). Rules are tried in order; the first
whose regular expression matches the destination wins. Without a matching rule
the `statistical` section (seeded) or the `default` rule decides. Agent legs
placed by mod_callcenter use the separate `agents` section so a whole campaign
can run without people. See docs/simulator.md for the file format.
"""

from __future__ import annotations

import json
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Action -> (hangup cause when it fails, SIP status mod_sofia would have seen).
FAIL_ACTIONS: dict[str, tuple[str, int]] = {
    "busy": ("USER_BUSY", 486),
    "reject": ("CALL_REJECTED", 603),
    "invalid": ("UNALLOCATED_NUMBER", 404),
    "unallocated": ("UNALLOCATED_NUMBER", 404),
    "no_route": ("NO_ROUTE_DESTINATION", 404),
    "congestion": ("NORMAL_TEMPORARY_FAILURE", 503),
    "temporary_failure": ("NORMAL_TEMPORARY_FAILURE", 503),
    "unregistered": ("USER_NOT_REGISTERED", 404),
}
ACTIONS = {"answer", "machine", "no_answer", "early_media", "fail", *FAIL_ACTIONS}

Q850 = {
    "UNALLOCATED_NUMBER": 1,
    "NO_ROUTE_DESTINATION": 3,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "CALL_REJECTED": 21,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "CHAN_NOT_IMPLEMENTED": 66,
    "RECOVERY_ON_TIMER_EXPIRE": 102,
    "ORIGINATOR_CANCEL": 487,
    "USER_NOT_REGISTERED": 606,
    "MANAGER_REQUEST": 503,
    "SYSTEM_SHUTDOWN": 503,
    "ALLOTTED_TIMEOUT": 602,
    "LOSE_RACE": 502,
    "UNWANTED": 606,
    "GATEWAY_DOWN": 609,
    "INVALID_GATEWAY": 608,
    "SUBSCRIBER_ABSENT": 20,
    "NORMAL_UNSPECIFIED": 31,
    "INCOMPATIBLE_DESTINATION": 88,
    "PROGRESS_TIMEOUT": 607,
}

SIP_FOR_CAUSE = {
    "USER_BUSY": 486,
    "CALL_REJECTED": 603,
    "UNALLOCATED_NUMBER": 404,
    "NO_ROUTE_DESTINATION": 404,
    "NORMAL_TEMPORARY_FAILURE": 503,
    "USER_NOT_REGISTERED": 404,
    "INVALID_NUMBER_FORMAT": 484,
    "NO_USER_RESPONSE": 480,
}


@dataclass
class Outcome:
    """What the far end of one leg does, in simulated seconds."""

    action: str = "answer"
    ring: float = 1.0  # until 180 Ringing (or 183 for early media) / failure reply
    answer_after: float = 2.0  # after ringing starts
    talk: float | None = 30.0  # far end hangs up after this; None: never
    cause: str = "NORMAL_CLEARING"
    variables: dict[str, str] = field(default_factory=dict)
    dialplan: list[tuple[str, str]] | None = None  # explicit loopback b-leg apps

    @property
    def answers(self) -> bool:
        return self.action in ("answer", "machine")

    @property
    def fail_cause(self) -> str | None:
        if self.action in FAIL_ACTIONS:
            return FAIL_ACTIONS[self.action][0]
        if self.action == "fail":
            return self.cause
        return None


def _dist(spec: Any, rng: random.Random) -> float:
    """A number, or {"dist": uniform|normal|lognormal|exponential|fixed, ...}."""
    if spec is None:
        return 0.0
    if isinstance(spec, (int, float)):
        return float(spec)
    kind = spec.get("dist", "fixed")
    if kind == "uniform":
        val = rng.uniform(float(spec["min"]), float(spec["max"]))
    elif kind == "normal":
        val = rng.gauss(float(spec["mean"]), float(spec.get("sd", 1.0)))
    elif kind == "lognormal":
        mean = float(spec["mean"])
        sigma = float(spec.get("sigma", 0.5))
        # Parameterised by the arithmetic mean, which is what people know.
        val = rng.lognormvariate(math.log(max(mean, 1e-9)) - sigma * sigma / 2, sigma)
    elif kind == "exponential":
        val = rng.expovariate(1.0 / float(spec["mean"]))
    else:
        val = float(spec.get("value", 0.0))
    lo = float(spec.get("min", 0.0))
    hi = float(spec.get("max", math.inf))
    return min(max(val, lo), hi)


@dataclass
class Rule:
    pattern: re.Pattern[str]
    spec: dict[str, Any]


def _outcome_from(spec: dict[str, Any], rng: random.Random) -> Outcome:
    action = str(spec.get("action", "answer"))
    if action not in ACTIONS:
        raise ValueError(f"unknown scenario action {action!r}")
    talk_spec = spec.get("talk", 30.0)
    out = Outcome(
        action=action,
        ring=_dist(spec.get("ring", spec.get("after", 1.0)), rng),
        answer_after=_dist(spec.get("answer_after", spec.get("answer", 2.0)), rng),
        talk=None if talk_spec is None else _dist(talk_spec, rng),
        cause=str(spec.get("cause", "NORMAL_CLEARING")),
        variables={str(k): str(v) for k, v in (spec.get("variables") or {}).items()},
    )
    if action == "machine":
        out.variables.setdefault("amd_result", "MACHINE")
        out.variables.setdefault("amd_cause", "LONGGREETING")
    elif action == "answer" and spec.get("amd", True):
        out.variables.setdefault("amd_result", "HUMAN")
        out.variables.setdefault("amd_cause", "HUMAN")
    return out


class Scenario:
    """Rules for lead far ends and for agent phones; deterministic given the seed."""

    def __init__(self, data: dict[str, Any] | None = None, seed: int | None = None) -> None:
        data = data or {}
        self.data = data
        self.rng = random.Random(seed)
        self.rules = [Rule(re.compile(r["match"]), r) for r in data.get("rules", [])]
        self.default: dict[str, Any] = data.get(
            "default", {"action": "answer", "ring": 1, "answer_after": 2, "talk": 30}
        )
        self.statistical: dict[str, Any] | None = data.get("statistical")
        agents = data.get("agents", {})
        self.agent_rules = [Rule(re.compile(r["match"]), r) for r in agents.get("rules", [])]
        self.agent_default: dict[str, Any] = agents.get(
            "default", {"action": "answer", "ring": 0.5, "answer_after": 1, "talk": 20}
        )
        self.dialplan: dict[str, list[tuple[str, str]]] = {
            ext: [(str(a[0]), str(a[1]) if len(a) > 1 else "") for a in apps]
            for ext, apps in data.get("dialplan", {}).items()
        }

    @classmethod
    def load(cls, path: str | Path, seed: int | None = None) -> Scenario:
        text = Path(path).read_text(encoding="utf-8")
        if str(path).endswith((".yaml", ".yml")):
            import yaml  # optional: the simulator itself needs only the stdlib

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        return cls(data, seed)

    def for_lead(self, destination: str) -> Outcome:
        for rule in self.rules:
            if rule.pattern.search(destination):
                return _outcome_from(rule.spec, self.rng)
        if self.statistical:
            return self._statistical()
        return _outcome_from(self.default, self.rng)

    def for_agent(self, destination: str) -> Outcome:
        for rule in self.agent_rules:
            if rule.pattern.search(destination):
                return _outcome_from(rule.spec, self.rng)
        return _outcome_from(self.agent_default, self.rng)

    def dialplan_for(self, extension: str) -> list[tuple[str, str]] | None:
        return self.dialplan.get(extension)

    def routes(self, extension: str) -> bool:
        """Whether a loopback/transfer extension exists: with a `dialplan` section,
        only its extensions and rule matches do (others get NO_ROUTE_DESTINATION)."""
        if not self.dialplan or extension in self.dialplan:
            return True
        return any(r.pattern.search(extension) for r in self.rules)

    def _statistical(self) -> Outcome:
        st = self.statistical or {}
        rng = self.rng
        ring = st.get("ring_time", {"dist": "lognormal", "mean": 8, "sigma": 0.5, "max": 55})
        talk = st.get("talk_time", {"dist": "lognormal", "mean": 60, "sigma": 0.8, "max": 900})
        r = rng.random()
        for key, action in (
            ("invalid_probability", "invalid"),
            ("busy_probability", "busy"),
            ("reject_probability", "reject"),
            ("congestion_probability", "congestion"),
        ):
            p = float(st.get(key, 0.0))
            if r < p:
                return _outcome_from(
                    {"action": action, "ring": _dist(st.get("fail_time", 1.0), rng)}, rng
                )
            r -= p
        if rng.random() >= float(st.get("answer_probability", 0.6)):
            early = rng.random() < float(st.get("early_media_share", 0.0))
            return Outcome(action="early_media" if early else "no_answer", ring=_dist(1.0, rng))
        machine = rng.random() < float(st.get("voicemail_share", st.get("machine_share", 0.0)))
        spec = {
            "action": "machine" if machine else "answer",
            "ring": 1.0,
            "answer_after": _dist(ring, rng),
            "talk": _dist(st.get("machine_time", 20.0) if machine else talk, rng),
        }
        return _outcome_from(spec, rng)
