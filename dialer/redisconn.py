"""One Redis client per process for the dialer's live state, locks and streams."""

from __future__ import annotations

from typing import Any

from django.conf import settings

_client: Any = None


def redis_client() -> Any:
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    return _client
