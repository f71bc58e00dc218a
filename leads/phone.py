"""Phone numbers: E.164 normalisation and the timezones a number may be in.

Everything that dials, imports or displays a number goes through here, so there is one
definition of "a valid number" in the whole product.

A lead import reads a million numbers, so the work phonenumbers repeats for every number is
done once here, and only where the answer provably cannot differ:

- `phonenumbers.parse` runs for every number, unchanged.
- Type and region: phonenumbers' own algorithm (`region_code_for_number`, then
  `number_type`'s `_number_type_helper`) run once per number instead of three times, against
  each region's metadata with its patterns compiled and its possible lengths made sets once
  (`_Region`). Same metadata, same patterns, same order of checks.
- Timezones: phonenumbers looks them up by the longest prefix, at most
  `TIMEZONE_LONGEST_PREFIX` digits, of the E.164 number (geographical numbers), or by the
  country calling code alone (others); nothing else of the number is read, so the answer is
  kept per prefix (`_geographical_zones`) or per country code (`_country_zones`).

One deliberate difference from phonenumbers, for North American numbers (+1): a number whose
longest matching entry has more specific entries under it in other zones (an area code split
between zones — 850, 270, 812, 541 … — and the number's exchange is not listed) gets every
zone of that entry and of the entries under it, not only the entry's fallback zone. Its zone
is uncertain, and the product dials an uncertain number only when every zone it may be in is
inside the window (the most restrictive answer). The table is built once per process
(`_uncertain_zones`).

tests/leads/test_phone.py checks every answer against phonenumbers' public functions (with
that rule applied to them the plain way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType, phonenumberutil
from phonenumbers import timezone as pn_timezone
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

# phonenumbers answers this when it cannot place a number.
_UNKNOWN_TZ = "Etc/Unknown"
# The North American Numbering Plan's calling code: where split area codes are widened.
_NANP = "1"
# Distinct 9-digit prefixes a process remembers (a million-lead file has some tens of
# thousands); past this, lookups still work, uncached.
_MAX_CACHED_PREFIXES = 200_000


class InvalidNumber(ValueError):
    """The text is not a valid, dialable telephone number."""


class NumberInfo(NamedTuple):
    e164: str
    region: str | None
    timezones: tuple[str, ...]


# NumberInfo as a plain tuple: what number workers send back (see parse_numbers).
NumberRead = tuple[str, str | None, tuple[str, ...]]


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
    country_code = parsed.country_code or 0
    nsn = phonenumbers.national_significant_number(parsed)
    region, number_type = _region_and_type(country_code, nsn)
    # UNKNOWN is exactly what is_valid_number refuses.
    if number_type == PhoneNumberType.UNKNOWN:
        raise InvalidNumber("not a valid number for its country")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_number_type_geographical(number_type, country_code):
        zones = _geographical_zones(parsed, e164)
    else:
        zones = _country_zones(parsed)
    return NumberInfo(e164=e164, region=region, timezones=zones)


def parse_numbers(raws: list[str], default_region: str) -> list[NumberRead | str]:
    """parse_number for a batch: each result as a plain tuple (e164, region, timezones), or
    the InvalidNumber reason as text.

    Plain data in and out, so a big import can hand batches to worker processes. Plain
    tuples of text, not NumberInfo: they pickle small, and while a batch waits to be used the
    garbage collector stops tracking them (it does so only for exact tuples)."""
    results: list[NumberRead | str] = []
    for raw in raws:
        try:
            info = parse_number(raw, default_region)
        except InvalidNumber as exc:
            results.append(str(exc))
        else:
            results.append((info.e164, info.region, info.timezones))
    return results


# --- Digits of ASCII text, for processes that read many numbers --------------------------------

# str.translate table: every ASCII character that is not 0-9 is dropped.
_NOT_ASCII_DIGITS = {code: None for code in range(128) if not 0x30 <= code <= 0x39}


def _ascii_digits_first(
    original: Callable[..., str],
) -> Callable[..., str]:
    def normalize_digits_only(number: str, keep_non_digits: bool = False) -> str:
        # Of the 128 ASCII characters, Unicode gives a digit value to 0-9 only, each its own
        # (tests/leads/test_phone.py checks all 128): phonenumbers' per-character loop then
        # keeps exactly the ASCII digits, or returns ASCII text unchanged with keep_non_digits.
        if type(number) is str and number.isascii():
            return number if keep_non_digits else number.translate(_NOT_ASCII_DIGITS)
        return original(number, keep_non_digits)

    normalize_digits_only.ascii_digits_first = True  # type: ignore[attr-defined]
    normalize_digits_only.original = original  # type: ignore[attr-defined]
    return normalize_digits_only


def read_many_numbers() -> None:
    """Make phonenumbers.parse cheaper in this process, with the same answers.

    parse spends a third of its time in normalize_digits_only, which asks Unicode for the
    digit value of every character, one Python call each. For ASCII text (every number a
    CSV file holds, nearly) the answer is known without asking; other text goes to
    phonenumbers' own function. Meant for the lead import's number workers: processes that
    only read numbers, started by leads.importing."""
    current = phonenumberutil.normalize_digits_only
    if not getattr(current, "ascii_digits_first", False):
        phonenumberutil.normalize_digits_only = _ascii_digits_first(current)


# --- Type and region, as phonenumbers decides them --------------------------------------------

_Matcher = Callable[[str], bool]


def _never(_nsn: str) -> bool:
    return False


def _matcher(desc: phonenumbers.PhoneNumberDesc | None) -> _Matcher:
    """phonenumbers' _is_number_matching_desc(nsn, desc) with the desc read once."""
    if desc is None or not desc.national_number_pattern:
        return _never
    # `pattern.match(n) and fullmatch(pattern, n)` in phonenumbers: a full match is a match.
    fullmatch = re.compile(desc.national_number_pattern).fullmatch
    lengths = frozenset(desc.possible_length)
    if not lengths:
        return lambda nsn: fullmatch(nsn) is not None
    return lambda nsn: len(nsn) in lengths and fullmatch(nsn) is not None


class _Region:
    """One region's metadata, ready for phonenumbers' _number_type_helper."""

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.leading_digits = (
            re.compile(metadata.leading_digits).match
            if metadata.leading_digits is not None
            else None
        )
        self.general = _matcher(metadata.general_desc)
        # _number_type_helper's order: the first that matches wins.
        self.special = tuple(
            (number_type, _matcher(desc))
            for number_type, desc in (
                (PhoneNumberType.PREMIUM_RATE, metadata.premium_rate),
                (PhoneNumberType.TOLL_FREE, metadata.toll_free),
                (PhoneNumberType.SHARED_COST, metadata.shared_cost),
                (PhoneNumberType.VOIP, metadata.voip),
                (PhoneNumberType.PERSONAL_NUMBER, metadata.personal_number),
                (PhoneNumberType.PAGER, metadata.pager),
                (PhoneNumberType.UAN, metadata.uan),
                (PhoneNumberType.VOICEMAIL, metadata.voicemail),
            )
        )
        self.fixed_line = _matcher(metadata.fixed_line)
        self.mobile = _matcher(metadata.mobile)
        self.same_mobile_and_fixed_line = bool(metadata.same_mobile_and_fixed_line_pattern)

    def number_type(self, nsn: str) -> int:
        if not self.general(nsn):
            return PhoneNumberType.UNKNOWN
        for number_type, matches in self.special:
            if matches(nsn):
                return number_type
        if self.fixed_line(nsn):
            if self.same_mobile_and_fixed_line or self.mobile(nsn):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_mobile_and_fixed_line and self.mobile(nsn):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


# id(metadata) → (metadata, its _Region); the metadata is kept so its id stays its own.
_compiled: dict[int, tuple[PhoneMetadata, _Region]] = {}


def _region_for(metadata: PhoneMetadata | None) -> _Region | None:
    if metadata is None:
        return None
    entry = _compiled.get(id(metadata))
    if entry is None or entry[0] is not metadata:
        entry = _compiled[id(metadata)] = (metadata, _Region(metadata))
    return entry[1]


def _region_and_type(country_code: int, nsn: str) -> tuple[str | None, int]:
    """phonenumbers' region_code_for_number and number_type for one number, each step as
    phonenumbers takes it, with the region's type computed once instead of twice."""
    codes = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    region: str | None = None
    if codes is not None and len(codes) == 1:
        region = codes[0]
    elif codes is not None:
        # _region_code_for_number_from_list: leading digits when the region has them,
        # otherwise the first region the number is valid in.
        for code in codes:
            candidate = _region_for(PhoneMetadata.metadata_for_region(code.upper(), None))
            if candidate is None:
                continue
            if candidate.leading_digits is not None:
                if candidate.leading_digits(nsn):
                    region = code
                    break
            else:
                number_type = candidate.number_type(nsn)
                if number_type != PhoneNumberType.UNKNOWN:
                    region = code
                    if code == code.upper():
                        # number_type would read the same metadata again: same answer.
                        return region, number_type
                    break
    # number_type: the metadata of that region (or of the calling code, non-geographical).
    # (No region: phonenumbers looks up metadata for None and finds none.)
    metadata = (
        None
        if region is None
        else PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    )
    compiled = _region_for(metadata)
    if compiled is None:
        return region, PhoneNumberType.UNKNOWN
    return region, compiled.number_type(nsn)


# --- Timezones --------------------------------------------------------------------------------


def _clean_zones(zones: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(sorted(z for z in zones if z != _UNKNOWN_TZ))


# Answers of phonenumbers' timezone lookups, keyed by all that the lookup reads.
_zones_by_prefix: dict[str, tuple[str, ...]] = {}
_zones_by_country: dict[int, tuple[str, ...]] = {}


@cache
def _uncertain_zones() -> dict[str, tuple[str, ...]]:
    """{+1 entry of phonenumbers' timezone table: every zone of it and of the entries under
    it}, for the entries whose own zones leave some of those out (a number that falls back to
    such an entry may be in any of them). About fifty entries; built once."""
    under: dict[str, set[str]] = {}
    for key, zones in TIMEZONE_DATA.items():
        if not key.startswith(_NANP):
            continue
        for length in range(1, len(key)):
            if key[:length] in TIMEZONE_DATA:
                under.setdefault(key[:length], set()).update(zones)
    table: dict[str, tuple[str, ...]] = {}
    for key, beneath in under.items():
        own = set(TIMEZONE_DATA[key])
        if not beneath <= own:
            table[key] = _clean_zones(tuple(own | beneath))
    return table


def _zones_for_prefix(digits: str) -> tuple[str, ...]:
    """time_zones_for_geographical_number's longest-prefix lookup on the E.164 digits, with
    an uncertain fallback widened to every zone it may be (see the module docstring)."""
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        key = digits[:length]
        zones = TIMEZONE_DATA.get(key)
        if zones is not None:
            return _uncertain_zones().get(key) or _clean_zones(zones)
    return ()


def _geographical_zones(parsed: phonenumbers.PhoneNumber, e164: str) -> tuple[str, ...]:
    """The zones of a geographical number, which depend only on the first
    TIMEZONE_LONGEST_PREFIX digits of the E.164 number (a longest-prefix lookup)."""
    prefix = e164[1 : 1 + TIMEZONE_LONGEST_PREFIX]
    zones = _zones_by_prefix.get(prefix)
    if zones is None:
        zones = _zones_for_prefix(prefix)
        if len(_zones_by_prefix) < _MAX_CACHED_PREFIXES:
            _zones_by_prefix[prefix] = zones
    return zones


def _country_zones(parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    """time_zones_for_number of a valid number that is not geographical: the zones of its
    country calling code (_country_level_time_zones_for_number reads nothing else)."""
    country_code = parsed.country_code or 0
    zones = _zones_by_country.get(country_code)
    if zones is None:
        zones = _zones_by_country[country_code] = _clean_zones(
            pn_timezone.time_zones_for_number(parsed)
        )
    return zones


@lru_cache(maxsize=65536)
def number_timezones(e164: str) -> tuple[str, ...]:
    """Every IANA zone the number may ring in (as parse_number says); empty when unknown."""
    try:
        return parse_number(e164, "ZZ").timezones
    except InvalidNumber:
        return ()


def is_e164(value: str) -> bool:
    """True only for an already-normalised, valid E.164 string (what the dialer may dial)."""
    if not value.startswith("+") or not value[1:].isdigit() or not 8 <= len(value) <= 16:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False
