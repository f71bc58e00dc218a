"""leads.phone gives exactly phonenumbers' answers, whatever it remembers between numbers.

`reference` is the plain, uncached way: phonenumbers' public functions, each doing all of its
own work for every number. parse_number must agree with it on validity, E.164, region and
timezones for numbers of every country, including after its caches have filled. Timezones
differ from phonenumbers' in one deliberate way (a North American number that falls back to
an entry split between zones may be in any of them), applied here by scanning phonenumbers'
whole table.
"""

from __future__ import annotations

import gc

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from leads import phone
from leads.phone import InvalidNumber, NumberInfo, parse_number, parse_numbers


def reference(raw: str, region: str) -> NumberInfo | None:
    """What phonenumbers says without any shortcut; None for an invalid number."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    zones = set(pn_timezone.time_zones_for_number(parsed))
    geographical = phonenumbers.is_number_type_geographical(
        phonenumbers.number_type(parsed), parsed.country_code
    )
    if geographical and parsed.country_code == 1:
        zones |= zones_under_the_matched_entry(e164[1:])
    return NumberInfo(
        e164=e164,
        region=phonenumbers.region_code_for_number(parsed),
        timezones=tuple(sorted(z for z in zones if z != "Etc/Unknown")),
    )


def zones_under_the_matched_entry(digits: str) -> set[str]:
    """Every zone of the number's longest matching entry and of all entries under it."""
    for length in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        key = digits[:length]
        if key in TIMEZONE_DATA:
            return {z for k, zones in TIMEZONE_DATA.items() if k.startswith(key) for z in zones}
    return set()


def ours(raw: str, region: str) -> NumberInfo | None:
    try:
        return parse_number(raw, region)
    except InvalidNumber:
        return None


def assert_same(raw: str, region: str) -> None:
    assert ours(raw, region) == reference(raw, region), (raw, region)


@pytest.fixture
def cold_caches() -> None:
    phone._zones_by_prefix.clear()
    phone._zones_by_country.clear()
    phone._compiled.clear()


MULTI_ZONE_US = [
    "+1 208 320 1234",  # Idaho: Boise and Los Angeles
    "+1 208 201 1234",  # same area code, Denver only (longer prefix)
    "+1 208 215 1234",  # same area code, Los Angeles only
    "+1 541 213 1234",  # Oregon
    "+1 850 222 1234",  # Florida panhandle
    "+1 270 202 1234",  # Kentucky
    "+1 605 202 1234",  # South Dakota
    "+1 915 202 1234",  # West Texas
]
SAMPLES = [
    *MULTI_ZONE_US,
    "+12025550143",
    "(212) 555-0187",
    "212.555.0187",
    "1-212-555-0187",
    "+1 212 555 0187 ext. 12",
    "+1 800 234 5678",  # toll free: country-level zones
    "+1 888 234 5678",
    "+1 900 234 5678",  # premium rate
    "+1 514 555 0123",  # Canada: found by full validation after the US
    "+1 604 555 0123",
    "+1 268 464 1234",  # Antigua: found by leading digits
    "+1 787 234 5678",  # Puerto Rico
    "+1 876 234 5678",  # Jamaica
    "+1 671 234 5678",  # Guam
    "+1 907 234 5678",  # Alaska
    "+1 808 234 5678",  # Hawaii
    "+44 7911 123456",  # UK mobile: not geographical
    "+44 20 7946 0018",
    "+44 1624 123456",  # Isle of Man, shares +44
    "+33 6 12 34 56 78",
    "+49 30 901820",
    "+61 2 9374 4000",
    "+61 8 9374 4000",
    "+7 495 123 4567",  # Russia
    "+7 727 123 4567",  # Kazakhstan, shares +7
    "+39 06 6982 1234",  # Italian leading zero
    "+39 335 123 4567",
    "+52 55 1234 5678",  # Mexico: mobile is geographical
    "+52 1 55 1234 5678",
    "+55 11 91234 5678",  # Brazil
    "+55 92 3234 5678",
    "+54 9 11 2345 6789",  # Argentina
    "+86 10 1234 5678",
    "+86 138 0013 8000",
    "+91 98765 43210",
    "+80012345678",  # international freephone (non-geographical entity)
    "+882 345 678 90",
    "0044 20 7946 0018",
    # Invalid: too short, unknown area code, bad country code, no number at all.
    "+1 202 555 01",
    "+44 20 7946",
    "+1 999 123 4567",
    "+1 123 456 7890",
    "+999 1234 5678",
    "+0 1234",
    "12345",
    "1-2",
    "hello",
    "+",
    "  +1 (202) 555-0143  ",
]


@pytest.mark.parametrize("region", ["US", "GB", "DE", "IT", "BR", "CA", "AU"])
def test_same_answer_as_phonenumbers_for_numbers_of_several_countries(
    region: str, cold_caches: None
) -> None:
    for raw in SAMPLES:
        assert_same(raw, region)
    # Warm caches: asking again (and in another order) changes nothing.
    for raw in reversed(SAMPLES):
        assert_same(raw, region)


def test_multi_timezone_us_numbers_keep_every_zone(cold_caches: None) -> None:
    boise = parse_number("+1 208 320 1234", "US")
    assert boise.timezones == ("America/Boise", "America/Los_Angeles")
    # Same area code, longer prefixes with one zone each: a cache per area code would be wrong.
    assert parse_number("+1 208 201 1234", "US").timezones == ("America/Denver",)
    assert parse_number("+1 208 215 1234", "US").timezones == ("America/Los_Angeles",)
    assert parse_number("+1 208 320 9999", "US").timezones == boise.timezones
    toll_free = parse_number("+1 800 234 5678", "US")
    assert len(toll_free.timezones) > 10
    assert "America/New_York" in toll_free.timezones
    assert "Pacific/Honolulu" in toll_free.timezones


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        # Exchanges phonenumbers does not list in an area code split between two zones: the
        # area code's fallback alone (e.g. New York for all of 850) would ring the Central
        # part of the Florida panhandle at 7 a.m. its time.
        ("+1 850 555 1234", ("America/Chicago", "America/New_York")),
        ("+1 270 555 1234", ("America/Chicago", "America/New_York")),
        ("+1 812 555 1234", ("America/Chicago", "America/New_York")),
        ("+1 541 555 1234", ("America/Denver", "America/Los_Angeles")),
        ("+1 308 555 1234", ("America/Chicago", "America/Denver")),
        ("+1 928 555 1234", ("America/Denver", "America/Phoenix")),
        ("+1 807 555 1234", ("America/Toronto", "America/Winnipeg")),
        # A listed exchange keeps its own zone; an area code in one zone keeps that zone.
        ("+1 850 200 1234", ("America/Chicago",)),
        ("+1 541 372 1234", ("America/Denver",)),
        ("+1 202 555 0143", ("America/New_York",)),
    ],
)
def test_a_number_in_a_split_area_code_may_be_in_every_zone_of_it(
    number: str, zones: tuple[str, ...], cold_caches: None
) -> None:
    info = parse_number(number, "US")
    assert info.timezones == zones
    # The import's batches (worker processes) read the same.
    assert parse_numbers([number], "US") == [(info.e164, info.region, zones)]


def test_a_split_area_code_lead_waits_for_the_window_to_open_in_every_zone(
    cold_caches: None,
) -> None:
    from datetime import UTC, datetime, time

    from dialer import eligibility

    zones = parse_number("+1 850 555 1234", "US").timezones
    rules = eligibility.DialRules(account_zone="America/New_York", legal=(time(8), time(21)))
    at = datetime(2026, 11, 18, 13, 30, tzinfo=UTC)  # 08:30 New York, 07:30 Chicago
    answer = eligibility.window_answer(rules, zones, None, at)
    assert not answer.open
    assert answer.next_open == datetime(2026, 11, 18, 14, 0, tzinfo=UTC)  # 08:00 Chicago


def test_invalid_numbers_give_the_same_reasons_as_before(cold_caches: None) -> None:
    cases = {
        "": "number is empty",
        "x" * 33: "number is too long",
        "hello": "not a phone number (The string supplied did not seem to be a phone number.)",
        "+1 999 123 4567": "not a valid number for its country",
        "+1 202 555 01": "not a valid number for its country",
        "+999 1234 5678": "not a phone number (Could not interpret numbers after plus-sign.)",
    }
    for raw, reason in cases.items():
        with pytest.raises(InvalidNumber) as info:
            parse_number(raw, "US")
        assert str(info.value) == reason, raw
    batch = parse_numbers(["+1 999 123 4567", "+12025550143"], "US")
    assert batch == [
        "not a valid number for its country",
        NumberInfo("+12025550143", "US", ("America/New_York",)),
    ]
    # Exact tuples: pickled small, and untracked by the garbage collector while they wait.
    assert type(batch[1]) is tuple
    # A collection may look at the outer tuple before the zones tuple inside it (when a young
    # collection ran between their creations): the second one untracks it then.
    gc.collect()
    gc.collect()
    assert not gc.is_tracked(batch[1])


def _example_numbers() -> list[tuple[str, str]]:
    """phonenumbers' own example number of every type of every region and non-geographical
    entity, and neighbours of each (one digit more, one less, the last digit changed)."""
    types = [
        t
        for t in vars(PhoneNumberType).values()
        if isinstance(t, int) and t != PhoneNumberType.UNKNOWN
    ]
    found: list[tuple[str, str]] = []
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in types:
            example = phonenumbers.example_number_for_type(region, number_type)
            if example is not None:
                examples.append((region, example))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            examples.append(("US", example))
    for region, example in examples:
        e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
        last = str((int(e164[-1]) + 3) % 10)
        for raw in (e164, e164 + "5", e164[:-1], e164[:-1] + last):
            found.append((raw, "US"))
        found.append((national, region))
    return found


def test_every_region_and_number_type_of_the_metadata(cold_caches: None) -> None:
    numbers = _example_numbers()
    assert len(numbers) > 5000
    mismatches = [
        (raw, region) for raw, region in numbers if ours(raw, region) != reference(raw, region)
    ]
    assert mismatches == []
    assert sum(ours(raw, region) is not None for raw, region in numbers) > 1500


def test_type_and_region_are_phonenumbers_own(cold_caches: None) -> None:
    """The type itself (not only what it decides) and the region, for every example number."""
    for raw, region in _example_numbers():
        try:
            parsed = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        nsn = phonenumbers.national_significant_number(parsed)
        expected = (phonenumbers.region_code_for_number(parsed), phonenumbers.number_type(parsed))
        assert phone._region_and_type(parsed.country_code or 0, nsn) == expected, raw


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.sampled_from(["", "+", "+1", "+44", "+7", "+39", "+52", "+55", "00", "0", "1"]),
    digits=st.text(alphabet="0123456789", min_size=0, max_size=15),
    region=st.sampled_from(["US", "GB", "IT", "MX", "BR", "RU", "JM", "ZZ"]),
)
def test_random_digits_agree_with_phonenumbers(prefix: str, digits: str, region: str) -> None:
    assert_same(prefix + digits, region)


# --- read_many_numbers: the number workers' cheaper digit normalisation ------------------------


@pytest.fixture
def fast_digits():  # type: ignore[no-untyped-def]
    from phonenumbers import phonenumberutil

    original = phonenumberutil.normalize_digits_only
    phone.read_many_numbers()
    yield original
    phonenumberutil.normalize_digits_only = original


def test_only_0_to_9_have_a_digit_value_among_the_ascii_characters() -> None:
    import unicodedata

    for code in range(128):
        expected = code - 0x30 if 0x30 <= code <= 0x39 else -1
        assert unicodedata.digit(chr(code), -1) == expected, code


def test_fast_digits_give_phonenumbers_answers_for_every_ascii_character(fast_digits) -> None:  # type: ignore[no-untyped-def]
    from phonenumbers import phonenumberutil

    fast = phonenumberutil.normalize_digits_only
    assert fast is not fast_digits
    for code in range(128):
        for keep in (False, True):
            assert fast(chr(code), keep) == fast_digits(chr(code), keep), code
    text = "".join(chr(code) for code in range(128))
    assert fast(text) == "0123456789" == fast_digits(text)
    # Not ASCII: phonenumbers' own function (full-width and Arabic-Indic digits).
    wide = "+\uff11 \uff12\uff10\uff12 \u0665\u0665\u0665 0143"
    assert fast(wide) == fast_digits(wide) == "12025550143"
    phone.read_many_numbers()  # a second call does not wrap it again
    assert phonenumberutil.normalize_digits_only is fast


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40), keep=st.booleans())
def test_fast_digits_agree_on_any_text(text: str, keep: bool) -> None:
    from phonenumbers import phonenumberutil

    original = phonenumberutil.normalize_digits_only
    fast = phone._ascii_digits_first(original)
    assert fast(text, keep) == original(text, keep)


def test_numbers_read_with_fast_digits_are_read_the_same(fast_digits) -> None:  # type: ignore[no-untyped-def]
    from phonenumbers import phonenumberutil

    numbers = [*((raw, "US") for raw in SAMPLES), *_example_numbers()]
    fast = phonenumberutil.normalize_digits_only
    with_fast = [ours(raw, region) for raw, region in numbers]
    phonenumberutil.normalize_digits_only = fast_digits
    assert [ours(raw, region) for raw, region in numbers] == with_fast
    phonenumberutil.normalize_digits_only = fast
