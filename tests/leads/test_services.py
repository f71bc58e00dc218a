"""Lead services: delete, Do-Not-Call and record edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import RunStatus
from campaigns.services import CampaignRunning
from leads.models import DoNotCall, Lead, LeadEvent, LeadState
from leads.phone import InvalidNumber
from leads.services import dnc_add, lead_delete, lead_update_record, leads_delete_all
from tests.factories import NOW, CallFactory, CampaignFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_lead_delete_removes_the_lead_and_its_history() -> None:
    lead = LeadFactory()
    CallFactory(lead=lead)
    lead_delete(lead=lead, now=NOW, actor="ada")
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_lead_delete_is_refused_while_the_campaign_runs() -> None:
    lead = LeadFactory(campaign=CampaignFactory(run_status=RunStatus.RUNNING))
    with pytest.raises(CampaignRunning, match="stop it before you delete"):
        lead_delete(lead=lead, now=NOW, actor="ada")
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_delete_all_deletes_only_that_campaigns_leads_in_batches(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from leads import services

    monkeypatch.setattr(services, "_DELETE_BATCH", 2)
    campaign = CampaignFactory()
    for n in range(5):
        LeadFactory(campaign=campaign, number=f"+1202555{n:04d}")
    other = LeadFactory()
    assert leads_delete_all(campaign=campaign, now=NOW, actor="ada") == 5
    assert list(Lead.objects.all()) == [other]


def test_delete_all_is_refused_while_running() -> None:
    campaign = CampaignFactory(run_status=RunStatus.RUNNING)
    LeadFactory(campaign=campaign)
    with pytest.raises(CampaignRunning):
        leads_delete_all(campaign=campaign, now=NOW, actor="ada")
    assert Lead.objects.count() == 1


def test_dnc_account_wide_fails_dialable_leads_in_every_campaign() -> None:
    user = UserFactory(username="ada")
    new = LeadFactory(number="+12025550143")
    cooling = LeadFactory(number="+12025550143", state=LeadState.COOLOFF)
    dialing = LeadFactory(number="+12025550143", state=LeadState.DIALING)
    done = LeadFactory(number="+12025550143", state=LeadState.SUCCESS)
    other_number = LeadFactory(number="+12025550144")
    entry = dnc_add(
        number="(202) 555-0143", campaign=None, reason="asked", actor_user=user, now=NOW
    )
    assert (entry.number, entry.campaign, entry.added_by) == ("+12025550143", None, user)
    for lead, state in [
        (new, LeadState.FAILED),
        (cooling, LeadState.FAILED),
        (dialing, LeadState.DIALING),
        (done, LeadState.SUCCESS),
        (other_number, LeadState.NEW),
    ]:
        lead.refresh_from_db()
        assert lead.state == state
    event = LeadEvent.objects.get(lead=new)
    assert (event.reason, event.actor, event.to_state) == ("on Do-Not-Call", "ada", "failed")


def test_dnc_closes_a_dial_request_not_yet_dialed_and_leaves_a_placed_call_alone() -> None:
    from dialer.handoff import claim_request
    from dialer.models import CallResult

    waiting = LeadFactory(number="+12025550143", state=LeadState.DIALING)
    request = CallFactory(lead=waiting)  # on the stream, waiting for an agent
    talking = LeadFactory(number="+12025550143", state=LeadState.DIALING)
    placed = CallFactory(lead=talking, dialed_at=NOW)
    dnc_add(number="+12025550143", campaign=None, reason="asked", now=NOW)
    request.refresh_from_db()
    waiting.refresh_from_db()
    assert (request.result, request.hangup_cause) == (CallResult.FAILED, "DO_NOT_CALL")
    assert (waiting.state, waiting.last_result) == (LeadState.FAILED, "on Do-Not-Call")
    assert claim_request(str(request.uuid), now=NOW) is None  # the dialer will not dial it
    placed.refresh_from_db()
    talking.refresh_from_db()
    assert (placed.result, talking.state) == (CallResult.PENDING, LeadState.DIALING)


def test_dnc_for_one_campaign_leaves_other_campaigns_alone() -> None:
    mine = LeadFactory(number="+12025550143")
    theirs = LeadFactory(number="+12025550143")
    dnc_add(number="+12025550143", campaign=mine.campaign, reason="", now=NOW)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, theirs.state) == (LeadState.FAILED, LeadState.NEW)


def test_dnc_add_twice_keeps_one_entry_and_refuses_garbage() -> None:
    dnc_add(number="+12025550143", campaign=None, reason="", now=NOW)
    dnc_add(number="2025550143", campaign=None, reason="", now=NOW)
    assert DoNotCall.objects.count() == 1
    with pytest.raises(InvalidNumber):
        dnc_add(number="not a number", campaign=None, reason="", now=NOW)


def test_record_edit_validates_like_the_upload_and_keeps_history() -> None:
    lead = LeadFactory(first_name="Ada", number="+12025550143")
    updated = lead_update_record(
        lead=lead,
        changes={"first_name": " Grace ", "number": "+44 20 7946 0018", "priority": "7"},
        now=NOW,
        actor="ada",
    )
    assert (updated.first_name, updated.number, updated.priority) == ("Grace", "+442079460018", 7)
    assert (updated.timezone, updated.timezones) == ("Europe/London", ["Europe/London"])
    event = LeadEvent.objects.get(lead=lead)
    assert event.reason == "customer record edited"
    assert event.changes["first_name"] == ["Ada", "Grace"]
    assert event.from_state == event.to_state == LeadState.NEW


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"number": "123"}, "number", "Invalid number"),
        ({"first_name": ""}, "first_name", "first name is required"),
        ({"priority": "high"}, "priority", "not a whole number"),
        ({"retries": "0"}, "retries", "out of range"),
        ({"last_name": "x" * 101}, "last_name", "longer than 100"),
        ({"state": "success"}, "state", "cannot be edited"),
    ],
)
def test_record_edit_refuses_bad_values_and_changes_nothing(
    changes: dict[str, str], field: str, message: str
) -> None:
    lead = LeadFactory(first_name="Ada", last_name="L", number="+12025550143")
    with pytest.raises(ValidationError) as caught:
        lead_update_record(lead=lead, changes={**changes, "note": "x"}, now=NOW, actor="ada")
    assert message in " ".join(caught.value.message_dict[field])
    lead.refresh_from_db()
    assert (lead.first_name, lead.note, lead.state) == ("Ada", "", LeadState.NEW)
    assert not LeadEvent.objects.exists()


def test_record_edit_refuses_a_duplicate_or_dnc_number_and_a_number_change_mid_call() -> None:
    lead = LeadFactory(number="+12025550143")
    LeadFactory(campaign=lead.campaign, number="+12025550144")
    DoNotCall.objects.create(number="+12025550145")
    for number, message in [("+12025550144", "already a lead"), ("+12025550145", "Do-Not-Call")]:
        with pytest.raises(ValidationError, match=message):
            lead_update_record(lead=lead, changes={"number": number}, now=NOW, actor="a")
    dialing = LeadFactory(number="+12025550146", state=LeadState.DIALING)
    with pytest.raises(ValidationError, match="being dialed"):
        lead_update_record(lead=dialing, changes={"number": "+12025550147"}, now=NOW, actor="a")


def test_record_edit_without_a_change_writes_no_history_and_type_is_an_alias() -> None:
    lead = LeadFactory(first_name="Ada", lead_type="")
    lead_update_record(lead=lead, changes={"first_name": "Ada"}, now=NOW, actor="a")
    assert not LeadEvent.objects.exists()
    changes = {"type": "vip", "retries": ""}
    updated = lead_update_record(lead=lead, changes=changes, now=NOW, actor="a")
    assert updated.lead_type == "vip"
    assert updated.retries is None


@pytest.mark.parametrize("value", [["Bob"], {"x": 1}, True, 1.5, "Bob\u0000", "\ud800"])
def test_record_edit_refuses_values_that_are_not_one_text_or_number(value) -> None:  # type: ignore[no-untyped-def]
    lead = LeadFactory(first_name="Ada")
    with pytest.raises(ValidationError) as refused:
        lead_update_record(lead=lead, changes={"first_name": value}, now=NOW, actor="ada_admin")
    assert set(refused.value.message_dict) == {"first_name"}
    lead.refresh_from_db()
    assert lead.first_name == "Ada"
    assert not LeadEvent.objects.filter(lead=lead).exists()
