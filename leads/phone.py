"""Phone numbers: E.164 normalisation and the timezones a number may be in.

Everything that dials, imports or displays a number goes through here, so there is one
definition of "a valid number" in the whole product.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as pn_timezone

# phonenumbers answers this when it cannot place a number.
_UNKNOWN_TZ = "Etc/Unknown"


class InvalidNumber(ValueError):
    """The text is not a valid, dialable telephone number."""


@dataclass(frozen=True)
class NumberInfo:
    e164: str
    region: str | None
    timezones: tuple[str, ...]


def to_e164(raw: str, default_region: str) -> str:
    """Normalise `raw` to E.164 or raise InvalidNumber with a reason a person understands."""
    return parse_number(raw, default_region).e164


def parse_number(raw: str, default_region: str) -> NumberInfo:
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("number is empty")
    if len(text) > 32:
        raise InvalidNumber("number is too long")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number ({exc._msg})") from None
    # One type lookup answers both "valid?" (UNKNOWN is exactly what is_valid_number refuses)
    # and "where does it ring?": a lead import reads a million numbers, and is_valid_number
    # plus time_zones_for_number would each repeat it (and number_timezones re-parses).
    number_type = phonenumbers.number_type(parsed)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        raise InvalidNumber("not a valid number for its country")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_number_type_geographical(number_type, parsed.country_code or 0):
        zones = pn_timezone.time_zones_for_geographical_number(parsed)
    else:
        zones = pn_timezone.time_zones_for_number(parsed)
    return NumberInfo(
        e164=e164,
        region=phonenumbers.region_code_for_number(parsed),
        timezones=tuple(sorted(z for z in zones if z != _UNKNOWN_TZ)),
    )


def parse_numbers(raws: list[str], default_region: str) -> list[NumberInfo | str]:
    """parse_number for a batch: each result, or the InvalidNumber reason as text.

    Plain data in and out, so a big import can hand batches to worker processes."""
    results: list[NumberInfo | str] = []
    for raw in raws:
        try:
            results.append(parse_number(raw, default_region))
        except InvalidNumber as exc:
            results.append(str(exc))
    return results


@lru_cache(maxsize=65536)
def number_timezones(e164: str) -> tuple[str, ...]:
    """Every IANA zone the number may ring in; empty when unknown."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z != _UNKNOWN_TZ)
    return tuple(sorted(zones))


def is_e164(value: str) -> bool:
    """True only for an already-normalised, valid E.164 string (what the dialer may dial)."""
    if not value.startswith("+") or not value[1:].isdigit() or not 8 <= len(value) <= 16:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False
