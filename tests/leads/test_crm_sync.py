"""CRM API sync against a real HTTP server on 127.0.0.1 (no outside network)."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from campaigns.models import RunStatus
from campaigns.services import CampaignRunning
from leads.importing import lead_sync_crm, validate_crm_mapping
from leads.models import DoNotCall, Lead
from tests.factories import NOW, CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db

MAPPING = {
    "leads_array": "data.items",
    "first_name": "firstName",
    "number": "contact.phone",
    "last_name": "lastName",
    "priority": "prio",
    "ticket_id": "id",
    "dial_retries": "tries",
    "first_cooloff": "wait1",
    "cooloff": "wait",
    "notes": "comment",
    "skill": "team",
    "extension": "ext",
}


class CRM:
    """What the fake CRM answers, and what it was asked."""

    def __init__(self) -> None:
        self.status = 200
        self.body: bytes = b"{}"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []

    def answer(self, payload: Any, status: int = 200) -> None:
        self.body = json.dumps(payload).encode()
        self.status = status


@pytest.fixture
def crm() -> Iterator[tuple[CRM, str]]:
    state = CRM()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length),
                }
            )
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/leads"
    server.shutdown()
    server.server_close()


def crm_campaign(url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    values = {"lead_source": "crm", "crm_url": url, "crm_mapping": MAPPING, **kwargs}
    return CampaignFactory(**values)


def sync(campaign):  # type: ignore[no-untyped-def]
    return lead_sync_crm(campaign=campaign, now=NOW, actor="tester")


def item(first: str, phone: Any, **extra: Any) -> dict[str, Any]:
    return {"firstName": first, "contact": {"phone": phone}, **extra}


def test_sync_imports_every_mapped_field_and_keeps_the_crm_record(crm) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    record = item(
        "Ada",
        "+1 202 555 0143",
        lastName="Lovelace",
        prio=7,
        id=1001,
        tries=4,
        wait1=60,
        wait=600,
        comment="<b>vip</b>",
        team="sales",
        ext="1001",
    )
    state.answer({"data": {"items": [record]}})
    campaign = crm_campaign(url, crm_headers={"Authorization": "Bearer t"})
    report = sync(campaign)
    assert report.ok, report.summary()
    lead = Lead.objects.get(campaign=campaign)
    assert (lead.first_name, lead.last_name, lead.number) == ("Ada", "Lovelace", "+12025550143")
    assert (lead.priority, lead.ticket_id, lead.retries) == (7, "1001", 4)
    assert (lead.cool_off, lead.cool_off_2nd) == (60, 600)
    assert (lead.note, lead.skill, lead.extension) == ("<b>vip</b>", "sales", "1001")
    assert lead.crm_data == record
    assert lead.timezone == "America/New_York"
    assert state.requests[0]["method"] == "GET"
    assert state.requests[0]["headers"]["Authorization"] == "Bearer t"


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_post_and_put_send_the_body(crm, method: str) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    state.answer({"data": {"items": []}})
    campaign = crm_campaign(url, crm_method=method, crm_body='{"list": 5}')
    assert sync(campaign).ok
    assert state.requests[0]["method"] == method
    assert state.requests[0]["body"] == b'{"list": 5}'


def test_bad_items_are_reported_by_index_and_good_ones_import(crm) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    campaign = crm_campaign(url)
    LeadFactory(campaign=campaign, number="+12025550100")
    DoNotCall.objects.create(number="+12025550101")
    state.answer(
        {
            "data": {
                "items": [
                    item("Good", "2025550143"),  # 0
                    item("Bad", "12"),  # 1
                    item("", "2025550144"),  # 2
                    "not an object",  # 3
                    item("Old", "2025550100"),  # 4
                    item("Dnc", "2025550101"),  # 5
                    item("Twice", "2025550143"),  # 6
                    item("Nested", {"a": 1}),  # 7
                    item("Count", "2025550145", tries="many"),  # 8
                    item("Int", 2025550146),  # 9
                    {"firstName": "NoPhone"},  # 10
                ]
            }
        }
    )
    report = sync(campaign)
    got = {e.line: e.reason for e in report.rejected}
    assert report.error is None
    assert report.imported == 2
    assert set(got) == {1, 2, 3, 4, 5, 6, 7, 8, 10}
    assert "invalid number" in got[1]
    assert "first name is missing" in got[2]
    assert "not a JSON object" in got[3]
    assert "already a lead" in got[4]
    assert "Do-Not-Call" in got[5]
    assert "duplicate of item 0" in got[6]
    assert "contact.phone is not a single value" in got[7]
    assert "retries 'many'" in got[8]
    assert "number is missing" in got[10]
    assert "item 1: invalid number" in report.summary()
    assert report.as_dict()["rejected"][0] == {"item": 1, "reason": got[1]}


def test_priority_is_optional_for_crm(crm) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    mapping = {"leads_array": "$", "first_name": "firstName", "number": "contact.phone"}
    state.answer([item("Ada", "2025550143")])
    campaign = crm_campaign(url, crm_mapping=mapping)
    report = sync(campaign)
    assert report.ok, report.summary()
    assert Lead.objects.get(campaign=campaign).priority == 0


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, b'{"error": "boom"}', "HTTP 500"),
        (404, b"nope", "HTTP 404"),
        (200, b"<html>login</html>", "not JSON"),
        (200, b'{"data": {}}', "no 'data.items'"),
        (200, b'{"data": {"items": {"a": 1}}}', "not a list"),
    ],
)
def test_http_and_json_errors_import_nothing(crm, status: int, body: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    state.status, state.body = status, body
    campaign = crm_campaign(url)
    report = sync(campaign)
    assert report.error is not None
    assert message in report.error
    assert report.imported == 0
    assert not Lead.objects.exists()


def test_timeout_is_reported(crm, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CRM_SYNC_TIMEOUT = 0.2
    state, url = crm
    state.delay = 1.0
    state.answer({"data": {"items": [item("Ada", "2025550143")]}})
    report = sync(crm_campaign(url))
    assert report.error == "the CRM did not answer within 0.2 s"
    assert not Lead.objects.exists()


def test_unreachable_crm_is_reported() -> None:
    report = sync(crm_campaign("http://127.0.0.1:9/leads"))
    assert report.error is not None
    assert "could not be reached" in report.error


def test_over_limit_answer_is_refused(crm, settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEAD_IMPORT_MAX_BYTES = 1000
    state, url = crm
    state.answer({"data": {"items": [item("Ada", f"20255501{n:02d}") for n in range(50)]}})
    report = sync(crm_campaign(url))
    assert report.error is not None
    assert "larger than" in report.error


def test_a_failure_half_way_leaves_nothing_behind(crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from leads import importing

    state, url = crm
    state.answer({"data": {"items": [item(f"L{n}", f"20255501{n:02d}") for n in range(10)]}})
    real_check = importing._LeadRules.check
    calls = []

    def failing_check(self, values, line, crm_data=None, parsed=None):  # type: ignore[no-untyped-def]
        calls.append(line)
        if line == 5:
            raise RuntimeError("database went away")
        return real_check(self, values, line, crm_data, parsed)

    monkeypatch.setattr(importing._LeadRules, "check", failing_check)
    with pytest.raises(RuntimeError):
        sync(crm_campaign(url))
    assert calls == [0, 1, 2, 3, 4, 5]
    assert not Lead.objects.exists()


def test_sync_is_refused_while_running(crm) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    state.answer({"data": {"items": [item("Ada", "2025550143")]}})
    campaign = crm_campaign(url, run_status=RunStatus.RUNNING)
    with pytest.raises(CampaignRunning, match="before you sync"):
        sync(campaign)
    assert not state.requests
    assert not Lead.objects.exists()


def test_sync_is_refused_with_an_invalid_mapping(crm) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    campaign = crm_campaign(url, crm_mapping={"leads_array": "items"})
    report = sync(campaign)
    assert report.error is not None
    assert "mapping is invalid" in report.error
    assert "'first_name'" in report.error
    assert not state.requests


def test_headers_must_be_texts(crm) -> None:  # type: ignore[no-untyped-def]
    _state, url = crm
    report = sync(crm_campaign(url, crm_headers={"X-Count": 5}))
    assert report.error is not None
    assert "headers" in report.error


def test_a_header_the_http_client_cannot_send_is_refused_in_words(crm) -> None:  # type: ignore[no-untyped-def]
    _state, url = crm
    # Saved before headers were checked on save: a value that is not Latin-1.
    report = sync(crm_campaign(url, crm_headers={"X-Team": "☃"}))
    assert report.error is not None
    assert "cannot be sent" in report.error


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ([], "must be a JSON object"),
        ({"first_name": "a", "number": "b"}, "needs the key 'leads_array'"),
        ({"leads_array": "x", "number": "b"}, "needs the key 'first_name'"),
        ({**MAPPING, "colour": "c"}, "Unknown mapping key 'colour'"),
        ({**MAPPING, "number": 5}, "needs a field name"),
        ({**MAPPING, "number": ""}, "needs a field name"),
        ({**MAPPING, "leads_array": "data..items"}, "empty part"),
        ({**MAPPING, "first_name": "$"}, "not the whole object"),
    ],
)
def test_validate_crm_mapping_names_each_problem(mapping: Any, message: str) -> None:
    errors = validate_crm_mapping(mapping)
    assert any(message in e for e in errors), errors


def test_a_complete_mapping_is_valid() -> None:
    assert validate_crm_mapping(MAPPING) == []
    jsonpath_style = {"leads_array": "$.data.items", "first_name": "f", "number": "n"}
    assert validate_crm_mapping(jsonpath_style) == []


def test_requests_adapter_can_stand_in_for_the_server() -> None:
    """Callers may pass their own requests.Session (the builder's tests do)."""
    import requests
    from requests.adapters import BaseAdapter
    from requests.models import Response

    class Canned(BaseAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            response = Response()
            response.status_code = 200
            response.raw = io.BytesIO(json.dumps({"items": [item("Ada", "2025550143")]}).encode())
            response.request = request
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("https://", Canned())
    mapping = {**MAPPING, "leads_array": "items"}
    campaign = crm_campaign("https://crm.example.com/leads", crm_mapping=mapping)
    report = lead_sync_crm(campaign=campaign, now=NOW, actor="t", http=session)
    assert report.ok, report.summary()


def _two_items(first_extra: str) -> bytes:
    """A CRM answer whose first record carries `first_extra` (raw JSON) and a good second."""
    return (
        '{"data": {"items": ['
        '{"firstName": "Ann", "contact": {"phone": "2025550143"}, ' + first_extra + "}, "
        '{"firstName": "Bob", "contact": {"phone": "2025550144"}}]}}'
    ).encode()


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ('"score": NaN', "score is NaN"),
        ('"score": -Infinity', "score is -Infinity"),
        ('"prio": Infinity', "prio is Infinity"),
        ('"history": [{"memo": "a\\u0000b"}]', "history.0.memo contains a NUL character"),
        ('"comment": "bad \\ud83d"', "comment contains a broken character"),
        ('"tag": "\\udc00 unmapped"', "tag contains a broken character"),
        ('"a\\u0000": 1', "a field name in the record contains a NUL character"),
    ],
)
def test_a_record_the_database_cannot_keep_is_rejected_alone(crm, extra: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    # Python's JSON reader accepts these; PostgreSQL's jsonb and text refuse them.
    state, url = crm
    state.body = _two_items(extra)
    report = sync(crm_campaign(url))
    assert report.error is None, report.error
    assert report.imported == 1
    got = {e.line: e.reason for e in report.rejected}
    assert list(got) == [0]
    assert got[0].startswith("cannot be stored: ")
    assert reason in got[0]
    assert Lead.objects.get().first_name == "Bob"


def test_sync_by_the_api_rejects_an_unstorable_record_without_a_500(crm, admin_user) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    state, url = crm
    state.body = _two_items('"score": NaN')
    campaign = crm_campaign(url)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(admin_user)
    response = client.post(f"/api/campaigns/{campaign.pk}/leads/sync/")
    assert response.status_code == 200, response.content
    assert response.json()["imported"] == 1
    assert response.json()["rejected"][0]["item"] == 0
    assert Lead.objects.get().first_name == "Bob"


def test_a_value_the_database_refuses_anyway_is_a_clear_refusal(crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The last net: should a value slip past the checks, the database's refusal is reported
    in words, not a server error."""
    from leads import importing

    monkeypatch.setattr(importing, "_unstorable", lambda item: None)
    state, url = crm
    state.body = _two_items('"score": NaN')
    report = sync(crm_campaign(url))
    assert report.error is not None
    assert report.error.startswith("the database refused a value in the items")
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"data": {"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "nested too deeply"),
        (b'{"data": {"items": [{"prio": ' + b"9" * 5000 + b"}]}}", "more than 4300 digits"),
    ],
)
def test_answers_python_cannot_read_are_refused_in_words(crm, body: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    state, url = crm
    state.body = body
    report = sync(crm_campaign(url))
    assert report.error is not None
    assert message in report.error
    assert "set_int_max_str_digits" not in report.error
    assert not Lead.objects.exists()


@pytest.fixture
def raw_crm() -> Iterator[Any]:
    """A CRM that misbehaves in the middle of its answer's body."""
    import socket

    servers: list[socket.socket] = []
    body = b'{"data": {"items": [{"firstName": "Ann", "contact": {"phone": "2025550143"}}]}}'

    def start(mode: str) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        servers.append(server)

        def run() -> None:
            conn, _ = server.accept()
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            try:
                if mode == "stall":
                    conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body[:20])
                    time.sleep(1.5)
                elif mode == "truncated":
                    conn.sendall(head + b"Content-Length: %d\r\n\r\n" % (len(body) + 100) + body)
                elif mode == "trickle":
                    conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body))
                    for byte in body:
                        conn.sendall(bytes([byte]))
                        time.sleep(0.05)
            except OSError:
                pass  # the importer gave up and closed the connection
            finally:
                conn.close()

        threading.Thread(target=run, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}/leads"

    yield start
    for server in servers:
        server.close()


def test_a_crm_stalling_mid_answer_is_reported_as_such(raw_crm, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CRM_SYNC_TIMEOUT = 0.5
    report = sync(crm_campaign(raw_crm("stall")))
    assert report.error is not None
    assert report.error.startswith("the CRM stopped sending its answer after ")
    assert "could not be reached" not in report.error
    assert not Lead.objects.exists()


def test_a_truncated_answer_is_reported_as_broken_off(raw_crm) -> None:  # type: ignore[no-untyped-def]
    report = sync(crm_campaign(raw_crm("truncated")))
    assert report.error is not None
    assert report.error.startswith("the CRM's answer broke off after 79 bytes")
    assert "Chunked" not in report.error
    assert not Lead.objects.exists()


def test_a_trickling_crm_cannot_hold_the_worker_past_the_timeout(raw_crm, settings) -> None:  # type: ignore[no-untyped-def]
    # One byte every 0.05 s never trips the per-read timeout; the whole answer would take 4 s.
    settings.CRM_SYNC_TIMEOUT = 0.5
    started = time.monotonic()
    report = sync(crm_campaign(raw_crm("trickle")))
    assert time.monotonic() - started < 1.5
    assert report.error is not None
    assert report.error.startswith("the CRM did not send its whole answer within 0.5 s")
    assert not Lead.objects.exists()
