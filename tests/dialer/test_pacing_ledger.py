"""Compliance ledger arithmetic: the window a regulator would count, ending at ``now``."""

import pytest

from dialer.pacing.ledger import (
    DAY,
    UK_WINDOW,
    US_WINDOW,
    LedgerEntry,
    Outcome,
    RollingLedger,
    WindowRate,
    window_rate,
)

LIVE, DROP = Outcome.LIVE_ANSWER, Outcome.ABANDON


def _entries(spec: list[tuple[float, Outcome]]) -> list[LedgerEntry]:
    return [LedgerEntry(at, outcome) for at, outcome in spec]


def test_thirty_day_window_drops_calls_older_than_thirty_days():
    now = 40 * DAY
    entries = _entries(
        [(5 * DAY, DROP), (5 * DAY, DROP)]  # 35 days old: outside the US window
        + [(20 * DAY, LIVE)] * 97
        + [(39 * DAY, DROP)] * 3
    )
    w = window_rate(entries, now, US_WINDOW)
    assert (w.live_answers, w.abandons) == (100, 3)
    assert w.rate == pytest.approx(0.03)


def test_uk_24_hour_window_only_counts_the_last_day():
    now = 10 * DAY
    entries = _entries([(now - 2 * DAY, DROP)] * 10 + [(now - 3600, LIVE)] * 49 + [(now, DROP)])
    assert window_rate(entries, now, UK_WINDOW).rate == pytest.approx(1 / 50)
    # The same calls over 30 days: the old drops are still in.
    assert window_rate(entries, now, US_WINDOW).rate == pytest.approx(11 / 60)


def test_window_boundary_is_open_at_the_old_end_and_closed_at_now():
    now = 31 * DAY
    entries = _entries([(now - US_WINDOW, DROP), (now, LIVE), (now + 1, DROP)])
    w = window_rate(entries, now)
    assert (w.live_answers, w.abandons) == (1, 0)


def test_empty_window_rate_is_zero_not_an_error():
    assert window_rate([], 0.0).rate == 0.0


def test_projected_rate_counts_future_abandons_as_answers_too():
    w = WindowRate(live_answers=97, abandons=2, window_start=0.0, window_end=1.0)
    assert w.projected(1) == pytest.approx(3 / 98)
    assert w.projected(0.5, 10) == pytest.approx(2.5 / 107)
    with pytest.raises(ValueError, match="include"):
        w.projected(2, 1)


def test_abandons_left_under_the_cap():
    w = WindowRate(live_answers=1000, abandons=20, window_start=0.0, window_end=1.0)
    k = w.abandons_left(0.03)
    # (20 + k) / (1000 + k) <= 3%: k = 10 fits, 11 does not.
    assert k == 10
    assert w.projected(k) <= 0.03 < w.projected(k + 1)
    over = WindowRate(live_answers=100, abandons=4, window_start=0.0, window_end=1.0)
    assert over.abandons_left(0.03) == -1
    exact = WindowRate(live_answers=100, abandons=3, window_start=0.0, window_end=1.0)
    assert exact.abandons_left(0.03) == 0


def test_rolling_ledger_matches_the_plain_window_sum():
    spec = [(t * 3600.0, DROP if t % 7 == 0 else LIVE) for t in range(24 * 40)]
    ledger = RollingLedger()
    for at, outcome in spec:
        ledger.record(at, outcome)
    entries = _entries(spec)
    for now in (0.0, 12 * 3600.0, 30 * DAY, 30 * DAY + 1, 39 * DAY + 7):
        for window in (US_WINDOW, UK_WINDOW):
            assert ledger.rate(now, window) == window_rate(entries, now, window)


def test_rolling_ledger_forgets_only_what_no_window_needs():
    ledger = RollingLedger(window=UK_WINDOW)
    for h in range(48):
        ledger.record(h * 3600.0, DROP if h < 24 else LIVE)
    now = 47 * 3600.0
    before = ledger.rate(now)
    ledger.forget_before(now - UK_WINDOW)
    assert ledger.rate(now) == before
    assert before.abandons == 0  # the day of drops has left the 24 h window


def test_rolling_ledger_refuses_out_of_order_entries():
    ledger = RollingLedger()
    ledger.record(10.0, LIVE)
    with pytest.raises(ValueError, match="time order"):
        ledger.record(9.0, LIVE)
