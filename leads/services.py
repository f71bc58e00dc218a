"""Lead services: delete, Do-Not-Call, customer-record edits.

Upload and CRM sync live in leads/importing.py, export in leads/exporting.py.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from campaigns.models import Campaign, unstorable_text_problem
from campaigns.services import assert_leads_editable

from . import lifecycle
from .importing import _COUNTS, _TEXT_LIMITS, _count
from .models import DoNotCall, Lead, LeadState
from .phone import InvalidNumber, parse_number

log = logging.getLogger(__name__)

_DELETE_BATCH = 5_000
# A lead on Do-Not-Call must not be dialed again: every state the selector or an agent's card
# could still dial from. A call already in progress finishes on its own.
_STOPPABLE_STATES = (
    LeadState.NEW,
    LeadState.RETRY,
    LeadState.COOLOFF,
    LeadState.CALLBACK,
    LeadState.VOICEMAIL,
    LeadState.RESERVED,
)
DNC_REASON = "on Do-Not-Call"


def lead_delete(*, lead: Lead, now: datetime, actor: str) -> None:
    """Delete one lead (and its history). Raises CampaignRunning while its campaign runs."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=lead.campaign_id)
        assert_leads_editable(campaign, action="delete")
        Lead.objects.filter(pk=lead.pk).delete()
    log.info("%s deleted lead %s (%s) of campaign %s", actor, lead.pk, lead.number, campaign.pk)


def leads_delete_all(*, campaign: Campaign, now: datetime, actor: str) -> int:
    """Delete every lead of the campaign; returns how many. Refused while it runs."""
    deleted = 0
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        assert_leads_editable(locked, action="delete")
        leads = Lead.objects.filter(campaign=locked).order_by("pk").values_list("pk", flat=True)
        # In batches: Django collects each lead's history and calls, so one delete of a
        # million leads would hold them all in memory.
        while batch := list(leads[:_DELETE_BATCH]):
            Lead.objects.filter(pk__in=batch).delete()
            deleted += len(batch)
    log.info("%s deleted all %d leads of campaign %s", actor, deleted, campaign.pk)
    return deleted


def dnc_add(
    *,
    number: str,
    campaign: Campaign | None,
    reason: str,
    actor_user: AbstractBaseUser | None = None,
    now: datetime,
) -> DoNotCall:
    """Put a number on Do-Not-Call (the account's when `campaign` is None).

    Its leads that could still be dialed (in that campaign, or in every campaign) end Failed
    with the reason "on Do-Not-Call", and so do those whose dial request is still waiting
    for the dialer (not dialed yet): the request is closed, so the dialer's claim refuses it.
    A call already placed finishes on its own. Raises InvalidNumber for text that is not a
    number."""
    e164 = parse_number(number, settings.ACCOUNT_DEFAULT_REGION).e164
    actor = actor_user.get_username() if actor_user is not None else "system"
    with transaction.atomic():
        entry, _created = DoNotCall.objects.get_or_create(
            number=e164,
            campaign=campaign,
            defaults={"reason": reason[:200], "added_by": actor_user},
        )
        _close_undialed_requests(e164, campaign, now=now)
        leads = Lead.objects.select_related("campaign").filter(
            number=e164, state__in=_STOPPABLE_STATES
        )
        if campaign is not None:
            leads = leads.filter(campaign=campaign)
        for lead in leads.select_for_update(of=("self",)):
            lifecycle.lead_mark_failed(lead, now=now, reason=DNC_REASON, actor=actor)
    log.info("%s put %s on Do-Not-Call (%s)", actor, e164, campaign or "account")
    return entry


def _close_undialed_requests(number: str, campaign: Campaign | None, *, now: datetime) -> None:
    """Dial requests for the number that no dialer has claimed yet are closed (their leads go
    back to the list, where dnc_add ends them). A Preview call whose agent leg already rings
    is left to the dialer, as a stop leaves it."""
    from dialer.calls import call_lost
    from dialer.models import Call, CallResult

    undialed = (
        Call.objects.select_for_update(skip_locked=True)
        .filter(number=number, result=CallResult.PENDING, dialed_at=None)
        .exclude(node__gt="")
    )
    if campaign is not None:
        undialed = undialed.filter(campaign=campaign)
    for call_uuid in undialed.values_list("uuid", flat=True):
        call_lost(call_uuid=str(call_uuid), now=now, reason="DO_NOT_CALL")


# Fields of the customer record a person may edit; "type" is the upload's name of lead_type.
EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "number",
    "priority",
    "retries",
    "ticket_id",
    "cool_off",
    "cool_off_2nd",
    "cool_off_3rd",
    "note",
    "lead_type",
    "skill",
    "extension",
)


def lead_record_problems(*, lead: Lead, changes: dict[str, Any]) -> dict[str, list[str]]:
    """What lead_update_record would refuse in these changes, per field; saves nothing (a form
    shows them as its own errors)."""
    return _record_values(lead, changes)[1]


def _record_values(
    lead: Lead, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values to store for the edited fields, and the problems found, per field."""
    changes = {("lead_type" if k == "type" else k): v for k, v in changes.items()}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(changes) - set(EDITABLE_FIELDS)):
        errors[name] = [f"{name} cannot be edited here."]
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name in errors:
            continue
        if problem := _edit_value_problem(value):
            errors[name] = [problem]
            continue
        problems: list[str] = []
        checked = _checked(lead, name, "" if value is None else str(value).strip(), problems)
        if problems:
            errors[name] = problems
        else:
            values[name] = checked
    return values, errors


def lead_update_record(*, lead: Lead, changes: dict[str, Any], now: datetime, actor: str) -> Lead:
    """Edit the customer's record with the upload's rules; the edit goes into the history.

    Raises ValidationError (per field) and changes nothing when a value is refused."""
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        values, errors = _record_values(current, changes)
        if errors:
            raise ValidationError(errors)
        diff = {
            name: (getattr(current, name), value)
            for name, value in values.items()
            if getattr(current, name) != value
        }
        if not diff:
            return current
        update = {name: new for name, (_old, new) in diff.items()}
        if "number" in diff:
            info = parse_number(update["number"], settings.ACCOUNT_DEFAULT_REGION)
            update["timezone"] = info.timezones[0] if info.timezones else settings.ACCOUNT_TIMEZONE
            update["timezones"] = list(info.timezones) or [settings.ACCOUNT_TIMEZONE]
        Lead.objects.filter(pk=current.pk).update(updated_at=now, **update)
        lifecycle.lead_record_edit(current, now=now, actor=actor, changes=diff)
    current.refresh_from_db()
    return current


def _edit_value_problem(value: object) -> str | None:
    """A field's edit is one text or number (a list would be stored as its Python text)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        return "Give one text or number."
    if isinstance(value, str) and unstorable_text_problem(value):
        return "The text holds a NUL character or an unpaired surrogate."
    return None


def _checked(lead: Lead, name: str, text: str, problems: list[str]) -> Any:
    """The value to store for one edited field, or problems in words."""
    if name == "number":
        if not text:
            problems.append("The number is required.")
            return None
        try:
            e164 = parse_number(text, settings.ACCOUNT_DEFAULT_REGION).e164
        except InvalidNumber as exc:
            problems.append(f"Invalid number: {exc}.")
            return None
        if e164 == lead.number:
            return e164
        if lead.state in (LeadState.DIALING, LeadState.RESERVED):
            problems.append("The lead is being dialed; change its number afterwards.")
        elif Lead.objects.filter(campaign_id=lead.campaign_id, number=e164).exists():
            problems.append(f"{e164} is already a lead of this campaign.")
        elif DoNotCall.objects.filter(
            Q(campaign__isnull=True) | Q(campaign_id=lead.campaign_id), number=e164
        ).exists():
            problems.append(f"{e164} is on the Do-Not-Call list.")
        return e164
    if name == "first_name" and not text:
        problems.append("The first name is required.")
        return None
    key = "type" if name == "lead_type" else name
    if key in _TEXT_LIMITS:
        label, limit = _TEXT_LIMITS[key]
        if len(text) > limit:
            problems.append(f"The {label} is longer than {limit} characters.")
        return text
    if key in _COUNTS:
        if key == "priority" and not text:
            problems.append("The priority is required.")
            return None
        reasons: list[str] = []
        value = _count({key: text}, key, reasons)
        problems.extend(r[0].upper() + r[1:] + "." for r in reasons)
        return value
    return text
