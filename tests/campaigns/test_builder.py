"""Campaign builder pages: list with status and Play/Stop, the editor's sections and rows,
validation next to the fields, and the Leads section (upload, sync, export, sample, list)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from campaigns.models import Campaign, RunStatus
from campaigns.services import agents_ringing_first
from leads import lifecycle
from leads.models import Lead, LeadState
from tests.factories import NOW, AgentFactory, CampaignFactory, LeadFactory, ScheduleRowFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def campaign(queue):  # type: ignore[no-untyped-def]
    return CampaignFactory(queue=queue, name="Renewals")


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial}


def payload(queue, **overrides: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "name": "Spring renewals",
        "note": "Contracts ending in spring",
        "type": "progressive",
        "retries": 4,
        "cool_off": 1800,
        "cool_off_2nd": "",
        "cool_off_3rd": "",
        "dial_cycles": 0,
        "dial_cycles_time": "",
        "queue": queue.pk,
        "customer_wait_sla": 5,
        "greeting_media": "sounds/please_hold.wav",
        "agent_dial_timeout": 25,
        "preview_timeout": 30,
        "tz_window_from": "",
        "tz_window_to": "",
        "tz_schedule_window_hours": "1",
        "lead_source": "csv",
        "crm_method": "GET",
        "crm_url": "",
        "crm_headers": "{}",
        "crm_body": "",
        "crm_mapping": "{}",
        **management("schedule", 1),
        "schedule-0-weekdays": ["0", "1", "2", "3", "4"],
        "schedule-0-start_time": "09:00",
        "schedule-0-end_time": "17:30",
        "schedule-0-month_day_start": "",
        "schedule-0-month_day_finish": "",
        **management("caller_ids", 1),
        "caller_ids-0-enabled": "on",
        "caller_ids-0-kind": "custom",
        "caller_ids-0-name": "Sales",
        "caller_ids-0-number": "+12025550142",
        **management("tz_slots", 0),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- List and Play/Stop ----------------------------------------------------------------------


def test_list_shows_status_counts_and_play_stop(admin_client, campaign, queue):  # type: ignore[no-untyped-def]
    running = CampaignFactory(queue=queue, name="Live one", run_status=RunStatus.RUNNING)
    LeadFactory(campaign=campaign)
    lifecycle.lead_mark_failed(LeadFactory(campaign=campaign), now=NOW, reason="x", actor="t")
    body = admin_client.get("/campaigns/").content.decode()
    assert "Renewals" in body
    assert "sales@default" in body
    assert "Stopped" in body
    assert "Running" in body
    assert f'action="/campaigns/{campaign.pk}/start/"' in body
    assert f'action="/campaigns/{running.pk}/stop/"' in body
    assert 'class="num st-active">1<' in body
    assert 'class="num st-failed">1<' in body
    assert "csrfmiddlewaretoken" in body


@pytest.mark.parametrize(
    ("campaign_type", "warned"),
    [("progressive", True), ("predictive", True), ("preview", False)],
)
def test_starting_warns_of_agents_whose_phones_ring_first(
    admin_client, queue, agent, campaign_type, warned
):  # type: ignore[no-untyped-def]
    on_headset = AgentFactory(contact="[sip_auto_answer=true]user/1200")
    on_headset.tiers.create(queue=queue)
    campaign = CampaignFactory(queue=queue, name="Renewals", type=campaign_type)
    response = admin_client.post(f"/campaigns/{campaign.pk}/start/", follow=True)
    warnings = [m for m in messages_of(response) if "auto-answer" in m]
    assert any("“Renewals” started" in m for m in messages_of(response))
    assert len(warnings) == int(warned)
    if warned:  # alice (user/1001) rings first; the headset agent does not
        assert warnings[0].startswith("1 agent(s) of this queue are not on auto-answer (1001@")


@pytest.mark.parametrize(
    ("contact", "rings_first"),
    [
        ("user/1001", True),
        ("[sip_auto_answer=true]user/1001", False),
        ("[leg_timeout=10,sip_auto_answer=TRUE]sofia/internal/1001@pbx", False),
        ("[sip_auto_answer=false]user/1001", True),
        ("[leg_timeout=10]user/1001", True),
    ],
)
def test_auto_answer_is_read_from_the_contact(queue, contact, rings_first):  # type: ignore[no-untyped-def]
    AgentFactory(contact=contact).tiers.create(queue=queue)
    campaign = CampaignFactory(queue=queue, type="predictive")
    assert len(agents_ringing_first(campaign)) == int(rings_first)


def test_play_and_stop_buttons(admin_client, campaign):  # type: ignore[no-untyped-def]
    response = admin_client.post(f"/campaigns/{campaign.pk}/start/", follow=True)
    assert response.redirect_chain[-1][0] == "/campaigns/"
    assert any("“Renewals” started" in m for m in messages_of(response))
    campaign.refresh_from_db()
    assert campaign.run_status == RunStatus.RUNNING
    response = admin_client.post(
        f"/campaigns/{campaign.pk}/stop/", {"next": f"/campaigns/{campaign.pk}/edit/"}
    )
    assert response["Location"] == f"/campaigns/{campaign.pk}/edit/"
    campaign.refresh_from_db()
    assert campaign.run_status == RunStatus.STOPPED
    # Play/Stop change state: GET is not allowed, and `next` cannot leave the site.
    assert admin_client.get(f"/campaigns/{campaign.pk}/start/").status_code == 405
    away = admin_client.post(f"/campaigns/{campaign.pk}/stop/", {"next": "https://evil.test/"})
    assert away["Location"] == "/campaigns/"


# --- Editor ----------------------------------------------------------------------------------


def test_new_page_has_the_sections_and_labels(admin_client, queue):  # type: ignore[no-untyped-def]
    body = admin_client.get("/campaigns/new/").content.decode()
    for section in (
        "General Configuration",
        "Select Queue",
        "Schedule",
        "Caller ID",
        "Dial By Timezone",
        "Dial by Schedule by Timezone",
        "Leads",
    ):
        assert section in body, section
    assert body.count("<details") == 5
    assert 'data-show-for="progressive"' in body
    assert 'id="schedule-empty"' in body
    assert 'data-add-row="caller_ids"' in body
    assert 'name="schedule-__prefix__-weekdays"' in body
    assert '<label for="id_name">' in body
    assert "Save the campaign first" in body


def test_create_with_rows(admin_client, queue):  # type: ignore[no-untyped-def]
    data = payload(
        queue,
        **management("tz_slots", 0),
        **{"schedule-0-months": ["1", "12"]},
    )
    response = admin_client.post("/campaigns/new/", data)
    campaign = Campaign.objects.get(name="Spring renewals")
    assert response["Location"] == f"/campaigns/{campaign.pk}/edit/"
    assert (campaign.type, campaign.retries, campaign.cool_off) == ("progressive", 4, 1800)
    assert (campaign.customer_wait_sla, campaign.agent_dial_timeout) == (5, 25)
    row = campaign.schedule_rows.get()
    assert (row.weekdays, row.months) == ([0, 1, 2, 3, 4], [1, 12])
    assert f"{row.start_time:%H:%M}-{row.end_time:%H:%M}" == "09:00-17:30"
    assert campaign.caller_ids.get().number == "+12025550142"


def test_edit_adds_and_removes_rows(admin_client, campaign):  # type: ignore[no-untyped-def]
    row = ScheduleRowFactory(campaign=campaign)
    caller = campaign.caller_ids.create(kind="custom", name="Old", number="+12025550142")
    data = payload(
        campaign.queue,
        name="Renewals",
        **management("schedule", 2, initial=1),
        **{
            "schedule-0-id": row.pk,
            "schedule-0-campaign": campaign.pk,
            "schedule-0-DELETE": "on",
            "schedule-1-weekdays": ["5", "6"],
            "schedule-1-start_time": "10:00",
            "schedule-1-end_time": "14:00",
        },
        **management("caller_ids", 1, initial=1),
        **{
            "caller_ids-0-id": caller.pk,
            "caller_ids-0-campaign": campaign.pk,
            "caller_ids-0-name": "New name",
        },
        **management("tz_slots", 2),
        **{
            "tz_schedule_enabled": "on",
            "tz_schedule_window_hours": "2",
            "tz_slots-0-day_offset": 0,
            "tz_slots-0-start_time": "10:00",
            "tz_slots-1-day_offset": 2,
            "tz_slots-1-start_time": "16:00",
        },
    )
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert [r.weekdays for r in campaign.schedule_rows.all()] == [[5, 6]]
    assert campaign.caller_ids.get().name == "New name"
    assert [(s.day_offset, f"{s.start_time:%H:%M}") for s in campaign.tz_slots.all()] == [
        (0, "10:00"),
        (2, "16:00"),
    ]
    page = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="New name"' in page
    assert 'name="schedule-0-weekdays" value="5"' in page


def errors_near(body: str, field_id: str) -> str:
    """The HTML of the field block holding `field_id` (its label, control and errors)."""
    start = body.index(f'id="{field_id}"')
    block_start = body.rfind('<div class="field', 0, start)
    fieldset_start = body.rfind('<fieldset class="field', 0, start)
    begin = max(block_start, fieldset_start)
    end = body.find("</div>\n", start)
    end = body.find("</fieldset>", start) if begin == fieldset_start else end
    return body[begin : end + 400]


def test_validation_errors_are_shown_next_to_their_fields(admin_client, queue):  # type: ignore[no-untyped-def]
    data = payload(
        queue,
        name="",
        retries="many",
        tz_window_enabled="on",
        tz_window_from="09:00",
        tz_window_to="18:00",
        tz_schedule_enabled="on",
        **{
            "schedule-0-weekdays": [],
            "schedule-0-month_day_start": "3",
            "caller_ids-0-number": "12345",
        },
    )
    response = admin_client.post("/campaigns/new/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert not Campaign.objects.exists()
    assert "The campaign was not saved" in body
    assert "This field is required." in errors_near(body, "id_name")
    assert "Enter a whole number." in errors_near(body, "id_retries")
    # The model's own rules (clean()) land next to their fields too.
    assert "cannot both be on" in errors_near(body, "id_tz_schedule_enabled")
    assert "Pick at least one weekday." in errors_near(body, "id_schedule-0-weekdays_0")
    assert "Give both Month Day Start and Finish" in errors_near(
        body, "id_schedule-0-month_day_finish"
    )
    assert "&#x27;12345&#x27;: " in errors_near(body, "id_caller_ids-0-number")
    assert 'class="field invalid' in body


def test_widening_a_running_campaigns_window_releases_its_held_leads(admin_client, queue):  # type: ignore[no-untyped-def]
    from campaigns.services import campaign_start
    from dialer import selector

    def window(start: str, end: str) -> dict[str, Any]:
        return payload(queue, tz_window_enabled="on", tz_window_from=start, tz_window_to=end)

    assert admin_client.post("/campaigns/new/", window("11:00", "12:00")).status_code == 302
    campaign = Campaign.objects.get()
    lead = LeadFactory(campaign=campaign)
    campaign_start(campaign, now=NOW, actor="ada")
    # 10:00 in New York: the lead waits for its 11:00 window.
    assert selector.select_for_dialing(campaign, now=NOW, limit=5) == []
    lead.refresh_from_db()
    assert lead.window_held
    edit = window("09:00", "20:00")
    edit.update(
        {
            **management("schedule", 1, initial=1),
            "schedule-0-id": campaign.schedule_rows.get().pk,
            **management("caller_ids", 1, initial=1),
            "caller_ids-0-id": campaign.caller_ids.get().pk,
        }
    )
    assert admin_client.post(f"/campaigns/{campaign.pk}/edit/", edit).status_code == 302
    lead.refresh_from_db()
    # Looked at again under the new window, not left waiting for the old one to open.
    assert (lead.window_held, lead.not_dialable_reason) == (False, "")


def test_refused_edit_keeps_the_saved_campaign_in_the_page(admin_client, campaign):  # type: ignore[no-untyped-def]
    response = admin_client.post(
        f"/campaigns/{campaign.pk}/edit/", payload(campaign.queue, name="", retries="")
    )
    body = response.content.decode()
    assert "<h1>Renewals</h1>" in body
    assert "This field is required." in errors_near(body, "id_retries")
    campaign.refresh_from_db()
    assert (campaign.name, campaign.retries) == ("Renewals", 3)


def test_schedule_by_timezone_needs_a_window(admin_client, queue):  # type: ignore[no-untyped-def]
    response = admin_client.post("/campaigns/new/", payload(queue, tz_schedule_enabled="on"))
    assert response.status_code == 200
    assert "Add at least one day and start time" in errors_near(
        response.content.decode(), "id_tz_schedule_enabled"
    )


def test_account_caller_id_must_be_an_account_number(admin_client, queue):  # type: ignore[no-untyped-def]
    data = payload(queue, **{"caller_ids-0-kind": "account", "caller_ids-0-number": "+12025550142"})
    response = admin_client.post("/campaigns/new/", data)
    assert "Pick one of the account" in errors_near(
        response.content.decode(), "id_caller_ids-0-number"
    )


def test_progressive_only_fields_are_ignored_for_other_types(admin_client, campaign):  # type: ignore[no-untyped-def]
    data = payload(
        campaign.queue,
        name="Renewals",
        type="preview",
        customer_wait_sla="not a number",
        agent_dial_timeout=99,
        greeting_media="hacked.wav",
    )
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    campaign.refresh_from_db()
    assert campaign.type == "preview"
    assert (campaign.customer_wait_sla, campaign.agent_dial_timeout) == (3, 30)
    assert campaign.greeting_media == ""
    # As Progressive they are taken (and checked).
    data.update(type="progressive")
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert "Enter a whole number." in errors_near(response.content.decode(), "id_customer_wait_sla")
    data.update(customer_wait_sla=7)
    admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    campaign.refresh_from_db()
    assert (campaign.customer_wait_sla, campaign.agent_dial_timeout) == (7, 99)


def test_crm_mapping_is_checked_when_the_source_is_crm(admin_client, queue):  # type: ignore[no-untyped-def]
    data = payload(
        queue,
        lead_source="crm",
        crm_url="https://crm.example.test/leads",
        crm_mapping=json.dumps({"leads_array": "data"}),
        crm_headers='["not", "an object"]',
    )
    body = admin_client.post("/campaigns/new/", data).content.decode()
    assert "needs the key &#x27;first_name&#x27;" in errors_near(body, "id_crm_mapping")
    assert "Headers are a JSON object" in errors_near(body, "id_crm_headers")


# --- Leads section ---------------------------------------------------------------------------

CSV = (
    "number,priority,first_name,last_name\n"
    "2025550143,5,Ada,Lovelace\n"
    "not-a-number,1,Bad,Row\n"
    "2025550144,x,Grace,Hopper\n"
    "2025550145,2,,NoFirst\n"
    "(202) 555-0146,1,Alan,Turing\n"
)


def upload(client, campaign, content: str = CSV, name: str = "leads.csv"):  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile(name, content.encode(), content_type="text/csv")
    return client.post(f"/campaigns/{campaign.pk}/leads/upload/", {"file": file}, follow=True)


def test_upload_shows_the_import_report(admin_client, campaign):  # type: ignore[no-untyped-def]
    response = upload(admin_client, campaign)
    assert response.redirect_chain[-1][0] == f"/campaigns/{campaign.pk}/edit/#leads"
    body = response.content.decode()
    assert sorted(Lead.objects.values_list("number", flat=True)) == [
        "+12025550143",
        "+12025550146",
    ]
    assert "<strong>2</strong> leads imported" in body
    assert "<strong>3</strong> rows rejected" in body
    for line in (3, 4, 5):
        assert f'<td class="num">{line}</td>' in body
    assert "Ada Lovelace" in body  # the lead list
    # The report is shown once.
    assert (
        "leads imported" not in admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    )


def test_upload_of_a_file_missing_columns_imports_nothing(admin_client, campaign):  # type: ignore[no-untyped-def]
    response = upload(admin_client, campaign, "phone,name\n2025550143,Ada\n")
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert Lead.objects.count() == 0
    no_file = admin_client.post(f"/campaigns/{campaign.pk}/leads/upload/", follow=True)
    assert "Choose a CSV file to upload." in messages_of(no_file)


def test_running_campaign_refuses_upload_sync_and_delete(admin_client, campaign):  # type: ignore[no-untyped-def]
    lead = LeadFactory(campaign=campaign)
    campaign.run_status = RunStatus.RUNNING
    campaign.save()
    page = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "is running: stop it before you upload, sync or delete its leads." in page
    assert page.count(" disabled") >= 4
    message = "Campaign “Renewals” is running: stop it before you {} its leads."
    response = upload(admin_client, campaign)
    assert message.format("upload") in messages_of(response)
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/sync/", follow=True)
    assert message.format("sync") in messages_of(response)
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/delete-all/", follow=True)
    assert message.format("delete") in messages_of(response)
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/{lead.pk}/delete/", follow=True)
    assert message.format("delete") in messages_of(response)
    assert list(Lead.objects.all()) == [lead]


def test_delete_leads_when_stopped(admin_client, campaign):  # type: ignore[no-untyped-def]
    one, _two, _three = (LeadFactory(campaign=campaign) for _ in range(3))
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/{one.pk}/delete/", follow=True)
    assert any(m.startswith("Deleted lead") for m in messages_of(response))
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/delete-all/", follow=True)
    assert "Deleted 2 leads." in messages_of(response)
    assert not Lead.objects.exists()


@pytest.fixture
def crm() -> Iterator[dict[str, Any]]:
    """A CRM on 127.0.0.1 answering with `state["body"]`."""
    state: dict[str, Any] = {"body": b"{}"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state["body"])))
            self.end_headers()
            self.wfile.write(state["body"])

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/leads"
    yield state
    server.shutdown()
    server.server_close()


def test_crm_sync_button(admin_client, campaign, crm):  # type: ignore[no-untyped-def]
    page = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "Set the CRM API URL and mapping" in page
    assert 'disabled aria-describedby="sync-why"' in page
    campaign.lead_source = "crm"
    campaign.crm_url = crm["url"]
    campaign.crm_mapping = {"leads_array": "items"}
    campaign.save()
    page = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "The CRM mapping is invalid" in page
    campaign.crm_mapping = {"leads_array": "items", "first_name": "name", "number": "phone"}
    campaign.save()
    page = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'disabled aria-describedby="sync-why"' not in page
    crm["body"] = json.dumps(
        {"items": [{"name": "Ada", "phone": "+12025550143"}, {"name": "Bad", "phone": "12"}]}
    ).encode()
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/sync/", follow=True)
    body = response.content.decode()
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Ada"]
    assert "CRM sync" in body
    assert '<th scope="col">Item</th>' in body


def test_export_and_sample_downloads(admin_client, campaign):  # type: ignore[no-untyped-def]
    LeadFactory(campaign=campaign, first_name="=HYPERLINK(1)", number="+12025550143")
    LeadFactory(campaign=campaign, first_name="Grace", number="+12025550144")
    response = admin_client.get(f"/campaigns/{campaign.pk}/leads/export.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="renewals-leads-')
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("number,priority,first_name")
    assert "'=HYPERLINK(1)" in text
    filtered = admin_client.get(f"/campaigns/{campaign.pk}/leads/export.csv?name=grace")
    assert "=HYPERLINK" not in b"".join(filtered.streaming_content).decode()
    sample = admin_client.get("/campaigns/leads/sample.csv")
    assert sample.status_code == 200
    assert "attachment" in sample["Content-Disposition"]
    assert sample.content.decode().startswith("number,priority,first_name")


def test_lead_list_filters_and_pages(admin_client, campaign):  # type: ignore[no-untyped-def]
    for i in range(55):
        LeadFactory(campaign=campaign, first_name=f"Lead{i:02d}", number=f"+1202555{i:04d}")
    gone = lifecycle.lead_mark_failed(
        Lead.objects.get(first_name="Lead07"), now=NOW, reason="busy", actor="t"
    )
    url = f"/campaigns/{campaign.pk}/edit/"
    first = admin_client.get(url).content.decode()
    assert "Page 1 of 2" in first
    assert "Lead00" in first
    assert "Lead54" not in first
    assert "Lead54" in admin_client.get(url + "?page=2").content.decode()
    failed = admin_client.get(url + "?status=failed").content.decode()
    assert "Lead07" in failed
    assert "Lead08" not in failed
    assert gone.state == LeadState.FAILED
    by_number = admin_client.get(url + "?number=(202) 555-0012").content.decode()
    assert "Lead12" in by_number
    assert "Lead13" not in by_number
    by_name = admin_client.get(url + "?name=lead33").content.decode()
    assert "Lead33" in by_name
    assert "Lead34" not in by_name


def test_hostile_lead_text_is_escaped_in_the_lead_list(admin_client, campaign):  # type: ignore[no-untyped-def]
    LeadFactory(
        campaign=campaign,
        first_name=HOSTILE,
        last_name="<img src=x onerror=alert(1)>",
        ticket_id='"><script>1</script>',
        not_dialable_reason=HOSTILE,
    )
    campaign.note = HOSTILE
    campaign.name = "<b>bold</b>"
    campaign.save()
    for url in (f"/campaigns/{campaign.pk}/edit/", "/campaigns/"):
        body = admin_client.get(url).content.decode()
        assert "<script>alert" not in body, url
        assert "<script>1" not in body, url
        assert "<img src=x" not in body, url
        assert "<b>bold</b>" not in body, url
    body = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_predictive_options_are_set_in_the_builder(admin_client, campaign):  # type: ignore[no-untyped-def]
    body = admin_client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'data-show-for="predictive"' in body
    assert 'name="safe_harbor_media"' in body
    predictive = {
        "abandon_cap": "2.50",
        "abandon_window": "24h",
        "drop_seconds": 2,
        "safe_harbor_media": "/sounds/acme-optout.wav",
        "drop_rule": "no_repeat_72h",
        "drop_retry_minutes": 90,
        "max_lines_per_agent": "2.5",
    }
    # Ignored for another type (hidden there): the saved values stay.
    data = payload(campaign.queue, name="Renewals", **predictive)
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    campaign.refresh_from_db()
    assert (campaign.safe_harbor_media, campaign.abandon_window) == ("", "30d")
    data.update(type="predictive")
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    campaign.refresh_from_db()
    assert campaign.type == "predictive"
    assert campaign.safe_harbor_media == "/sounds/acme-optout.wav"
    assert (campaign.abandon_window, campaign.drop_rule) == ("24h", "no_repeat_72h")
    assert float(campaign.abandon_cap) == 2.5


def test_every_rejected_row_of_the_last_import_can_be_downloaded(admin_client, campaign):  # type: ignore[no-untyped-def]
    import csv
    import io

    bad = "".join(f"bad{n},1,Row{n}\n" for n in range(500))
    response = upload(admin_client, campaign, "number,priority,first_name\n" + bad)
    body = response.content.decode()
    assert "The first 20 of 500 rejected rows are listed." in body
    link = f"/campaigns/{campaign.pk}/leads/rejected.csv"
    assert f'href="{link}"' in body
    assert "Download all 500 rejected rows (CSV: line, reason)" in body
    download = admin_client.get(link)
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="renewals-rejected-lines.csv"'
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["line", "reason"]
    assert len(rows) == 501
    assert rows[1][0] == "2"
    assert "invalid number 'bad0'" in rows[1][1]
    assert rows[-1][0] == "501"
    assert "invalid number 'bad499'" in rows[-1][1]
    # Still there after the page showed the report once; the next import replaces it.
    assert admin_client.get(link).content == download.content
    upload(admin_client, campaign, "number,priority,first_name\n2025550143,1,Ada\n")
    after = admin_client.get(link, follow=True)
    assert "There are no rejected rows of a last import to download." in messages_of(after)


def test_rejected_rows_download_is_for_admins_only(client, campaign):  # type: ignore[no-untyped-def]
    response = client.get(f"/campaigns/{campaign.pk}/leads/rejected.csv")
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def test_crm_sync_with_a_record_the_database_cannot_keep_imports_the_rest(  # type: ignore[no-untyped-def]
    admin_client, campaign, crm
):
    campaign.lead_source = "crm"
    campaign.crm_url = crm["url"]
    campaign.crm_mapping = {"leads_array": "items", "first_name": "name", "number": "phone"}
    campaign.save()
    crm["body"] = (
        b'{"items": [{"name": "Ann", "phone": "2025550143", "score": NaN},'
        b' {"name": "Bob", "phone": "2025550144"}]}'
    )
    response = admin_client.post(f"/campaigns/{campaign.pk}/leads/sync/", follow=True)
    assert response.status_code == 200
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["Bob"]
    assert "cannot be stored: score is NaN" in response.content.decode()
    download = admin_client.get(f"/campaigns/{campaign.pk}/leads/rejected.csv")
    assert download.content.decode().splitlines()[0] == "item,reason"


# --- CRM headers and mapping: the same checks as the API and the Django admin -----------------


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("crm_headers", '{"X-Key": "a\\u0000"}', "NUL"),
        ("crm_headers", '{"X-Key\\u0000": "a"}', "NUL"),
        ("crm_headers", '{"X-Key": "\\ud800"}', "surrogate"),
        ("crm_headers", '{"X-Key": "\u2603"}', "Latin-1"),
        ("crm_mapping", '{"leads_array": "d\\u0000", "first_name": "f", "number": "n"}', "NUL"),
        ("crm_mapping", '{"\\udfff": "x"}', "surrogate"),
        ("crm_mapping", "5", "JSON object"),
    ],
)
def test_crm_text_the_database_or_http_cannot_take_is_a_form_error(  # type: ignore[no-untyped-def]
    admin_client, campaign, field, text, words
):
    data = payload(campaign.queue, name="Renewals", **{field: text})
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 200
    assert words in errors_near(response.content.decode(), f"id_{field}")
    campaign.refresh_from_db()
    assert (campaign.crm_headers, campaign.crm_mapping) == ({}, {})


def test_a_draft_mapping_saved_by_the_builder_does_not_block_the_api(  # type: ignore[no-untyped-def]
    admin_client, admin_user, campaign
):
    from rest_framework.test import APIClient

    draft = json.dumps({"leads_array": "data"})
    data = payload(campaign.queue, name="Renewals", crm_mapping=draft)
    response = admin_client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.crm_mapping == {"leads_array": "data"}
    api = APIClient()
    api.force_authenticate(admin_user)
    response = api.patch(f"/api/campaigns/{campaign.pk}/", {"retries": 5}, format="json")
    assert response.status_code == 200, response.json()
