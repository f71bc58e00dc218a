"""Celery tasks of the dialer: thin callers of dialer.selector (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from dialer import preview, selector


@shared_task(name="dialer.selector_tick", ignore_result=True)
def selector_tick() -> int:
    """Dial what every running campaign may dial now; returns how many calls and cards."""
    return sum(r.placed for r in selector.run_tick(now=timezone.now()))


@shared_task(name="dialer.reap", ignore_result=True)
def reap() -> int:
    """Give back leads whose dial request no dialer took, and lead cards past their time."""
    now = timezone.now()
    return selector.reap_stuck_requests(now=now) + preview.preview_expire(now=now)
