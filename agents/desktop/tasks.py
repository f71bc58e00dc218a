"""Periodic work for desks whose browser is closed: countdowns still end on the server.

Register in Celery beat (every few seconds), e.g. in config/celery.py:
    app.autodiscover_tasks(["agents.desktop"])
    app.conf.beat_schedule["desk-tick"] = {"task": "agents.desktop.tick_all", "schedule": 2.0}
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .services import desk_tick_all


@shared_task(name="agents.desktop.tick_all", ignore_result=True)
def tick_all() -> int:
    """Expire Push Preview cards, end wrap-ups, complete authorized logouts."""
    return desk_tick_all(now=timezone.now())
