"""Campaign admin: list and change pages with their rows, start/stop actions, delete lock."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, RunStatus
from leads.models import Lead
from tests.factories import CampaignFactory, LeadFactory, ScheduleRowFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/campaigns/campaign/"


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in response.context["messages"]]


def test_list_and_change_page_render_with_rows(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals")
    ScheduleRowFactory(campaign=campaign)
    campaign.caller_ids.create(kind="custom", name="Sales", number="+12025550142")
    campaign.tz_slots.create(day_offset=0, start_time="10:00")
    assert "Renewals" in admin_client.get(CHANGELIST).content.decode()
    body = admin_client.get(f"{CHANGELIST}{campaign.pk}/change/").content.decode()
    assert 'name="schedule_rows-0-weekdays"' in body
    assert 'value="+12025550142"' in body
    assert 'name="tz_slots-0-day_offset"' in body


def test_start_and_stop_actions_report_each_campaign(admin_client, queue):  # type: ignore[no-untyped-def]
    a = CampaignFactory(queue=queue, name="Alpha")
    b = CampaignFactory(queue=queue, name="Bravo")
    response = admin_client.post(
        CHANGELIST, {"action": "start_campaigns", "_selected_action": [a.pk, b.pk]}, follow=True
    )
    texts = messages_of(response)
    assert "Campaign “Alpha” started." in texts
    assert "Campaign “Bravo” started." in texts
    assert set(Campaign.objects.values_list("run_status", flat=True)) == {RunStatus.RUNNING}
    response = admin_client.post(
        CHANGELIST, {"action": "stop_campaigns", "_selected_action": [a.pk]}, follow=True
    )
    assert messages_of(response) == ["Campaign “Alpha” stopped."]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.run_status, b.run_status) == (RunStatus.STOPPED, RunStatus.RUNNING)


def test_running_campaign_cannot_be_deleted_with_its_leads(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Live", run_status=RunStatus.RUNNING)
    LeadFactory(campaign=campaign)
    response = admin_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [campaign.pk], "post": "yes"},
        follow=True,
    )
    assert any("is running: stop it before you delete" in m for m in messages_of(response))
    page = admin_client.get(f"{CHANGELIST}{campaign.pk}/delete/", follow=True)
    assert any("is running" in m for m in messages_of(page))
    assert Campaign.objects.filter(pk=campaign.pk).exists()
    assert Lead.objects.filter(campaign=campaign).count() == 1


def test_stopped_campaign_can_be_deleted(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Old")
    LeadFactory(campaign=campaign)
    response = admin_client.post(f"{CHANGELIST}{campaign.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


# --- Sounds: nothing an admin types runs a FreeSWITCH application ----------------------------

INJECTED = {
    "greeting_media": "bridge::sofia/gateway/carrier/+19005550100",
    "safe_harbor_media": "/s/sh.wav,bridge:sofia/gateway/carrier/+19005550100",
}


def change_page_post(admin_client, campaign: Campaign, **changes: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The admin change page's own form data, as a browser would send it back, with changes."""
    page = admin_client.get(f"{CHANGELIST}{campaign.pk}/change/")
    data: dict[str, object] = {}
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()  # already prepared for the page
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    data.update(changes)
    return data


@pytest.mark.parametrize("field", sorted(INJECTED))
def test_admin_refuses_a_sound_that_would_run_an_application(admin_client, queue, field):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals", type="predictive")
    url = f"{CHANGELIST}{campaign.pk}/change/"
    response = admin_client.post(url, change_page_post(admin_client, campaign, **INJECTED))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Enter a sound file path such as" in errors[field][0]
    campaign.refresh_from_db()
    assert (campaign.greeting_media, campaign.safe_harbor_media) == ("", "")
    # The same page with real sound files saves.
    fine = {"greeting_media": "/sounds/please_hold.wav", "safe_harbor_media": "optout.wav"}
    response = admin_client.post(url, change_page_post(admin_client, campaign, **fine))
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert (campaign.greeting_media, campaign.safe_harbor_media) == (
        "/sounds/please_hold.wav",
        "optout.wav",
    )


def builder_data(campaign: Campaign, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": campaign.name,
        "type": campaign.type,
        "retries": 3,
        "cool_off": 3600,
        "dial_cycles": 0,
        "queue": campaign.queue_id,
        "customer_wait_sla": 3,
        "agent_dial_timeout": 30,
        "preview_timeout": 30,
        "abandon_cap": "3",
        "abandon_window": "30d",
        "drop_seconds": 2,
        "drop_rule": "retry",
        "drop_retry_minutes": 60,
        "max_lines_per_agent": "3",
        "tz_schedule_window_hours": "1",
        "lead_source": "csv",
        "crm_method": "GET",
        "crm_headers": "{}",
        "crm_mapping": "{}",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("kind", "field"),
    [("progressive", "greeting_media"), ("predictive", "safe_harbor_media")],
)
def test_builder_form_refuses_a_sound_that_would_run_an_application(queue, kind, field):  # type: ignore[no-untyped-def]
    from campaigns.forms import CampaignForm

    campaign = CampaignFactory(queue=queue, name="Renewals", type=kind)
    form = CampaignForm(builder_data(campaign, **{field: INJECTED[field]}), instance=campaign)
    assert not form.is_valid()
    assert "Enter a sound file path such as" in form.errors[field][0]
    form = CampaignForm(builder_data(campaign, **{field: "/sounds/x.wav"}), instance=campaign)
    assert form.is_valid(), form.errors
    # A message must end: hold music streams belong to the queue.
    form = CampaignForm(builder_data(campaign, **{field: "local_stream://moh"}), instance=campaign)
    assert field in form.errors


def test_a_bad_sound_saved_before_the_check_does_not_block_another_type(queue):  # type: ignore[no-untyped-def]
    from campaigns.forms import CampaignForm

    # Saved before sounds were checked; the builder hides the greeting for a Preview campaign.
    campaign = CampaignFactory(queue=queue, name="Renewals", type="preview")
    Campaign.objects.filter(pk=campaign.pk).update(greeting_media=INJECTED["greeting_media"])
    campaign.refresh_from_db()
    form = CampaignForm(builder_data(campaign, retries=5), instance=campaign)
    assert form.is_valid(), form.errors
    # Shown again (Progressive), it must be corrected before the campaign saves.
    data = builder_data(campaign, type="progressive", greeting_media=campaign.greeting_media)
    form = CampaignForm(data, instance=campaign)
    assert "greeting_media" in form.errors


def test_every_demo_and_default_sound_is_valid(queue):  # type: ignore[no-untyped-def]
    import io

    from django.core.management import call_command

    from agents.models import Queue

    call_command("load_demo_data", "--password", "demo-pass-123", stdout=io.StringIO())
    assert Queue.objects.filter(moh_sound="local_stream://moh").exists()
    for row in [*Queue.objects.all(), *Campaign.objects.all()]:
        row.full_clean()


def test_saving_a_campaign_in_the_admin_releases_its_window_holds(admin_client, queue):  # type: ignore[no-untyped-def]
    from leads.models import Lead
    from tests.factories import LeadFactory

    campaign = CampaignFactory(queue=queue, name="Renewals", run_status="running")
    held = LeadFactory(campaign=campaign, window_held=True, not_dialable_reason="outside 11:00")
    url = f"{CHANGELIST}{campaign.pk}/change/"
    response = admin_client.post(url, change_page_post(admin_client, campaign))
    assert response.status_code == 302
    assert Lead.objects.get(pk=held.pk).window_held is False


# --- CRM headers and mapping: the builder's checks --------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("crm_headers", "5", "Headers are a JSON object"),
        ("crm_headers", "true", "Headers are a JSON object"),
        ("crm_headers", '{"X-Key": "a\\u0000"}', "NUL"),
        ("crm_headers", '{"X-Key": "\\ud800"}', "surrogate"),
        ("crm_headers", '{"X-Key": "\u2603"}', "Latin-1"),
        ("crm_mapping", "5", "JSON object"),
        ("crm_mapping", '{"leads_array": "\\u0000"}', "NUL"),
    ],
)
def test_admin_refuses_crm_json_the_builder_refuses(admin_client, queue, field, text, words):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals")
    url = f"{CHANGELIST}{campaign.pk}/change/"
    response = admin_client.post(url, change_page_post(admin_client, campaign, **{field: text}))
    assert response.status_code == 200
    assert words in response.context["adminform"].form.errors[field][0]
    campaign.refresh_from_db()
    assert (campaign.crm_headers, campaign.crm_mapping) == ({}, {})


def test_admin_checks_the_crm_mapping_when_the_source_is_crm(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals")
    url = f"{CHANGELIST}{campaign.pk}/change/"
    crm = {"lead_source": "crm", "crm_url": "https://crm.example.test/leads"}
    draft = '{"leads_array": "data"}'
    response = admin_client.post(
        url, change_page_post(admin_client, campaign, **crm, crm_mapping=draft)
    )
    assert "first_name" in response.context["adminform"].form.errors["crm_mapping"][0]
    # A draft on a CSV campaign is kept, as the builder keeps it.
    response = admin_client.post(url, change_page_post(admin_client, campaign, crm_mapping=draft))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.crm_mapping == {"leads_array": "data"}


def test_clearing_the_crm_boxes_in_the_admin_saves_empty_objects(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(
        queue=queue, name="Renewals", crm_headers={"X-Key": "k"}, crm_mapping={"leads_array": "d"}
    )
    url = f"{CHANGELIST}{campaign.pk}/change/"
    cleared = change_page_post(admin_client, campaign, crm_headers="", crm_mapping="")
    response = admin_client.post(url, cleared)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.crm_headers, campaign.crm_mapping) == ({}, {})


def test_admin_schedule_by_timezone_needs_a_window(admin_client, queue):  # type: ignore[no-untyped-def]
    campaign = CampaignFactory(queue=queue, name="Renewals")
    url = f"{CHANGELIST}{campaign.pk}/change/"
    data = change_page_post(admin_client, campaign, tz_schedule_enabled="on")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Add at least one day and start time" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.tz_schedule_enabled is False
    data.update(
        {
            "tz_slots-TOTAL_FORMS": "1",
            "tz_slots-0-day_offset": "0",
            "tz_slots-0-start_time": "10:00",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.tz_schedule_enabled is True
