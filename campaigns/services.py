"""Campaign services: start, stop, and the running-campaign lock on its leads."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from agents.models import Agent

from .models import Campaign, CampaignType, RunStatus


class CampaignRunning(Exception):
    """Refused because the campaign is running (upload, sync and delete of its leads)."""

    def __init__(self, campaign: Campaign, action: str) -> None:
        super().__init__(
            f"Campaign “{campaign.name}” is running: stop it before you {action} its leads."
        )
        self.campaign = campaign


def assert_leads_editable(campaign: Campaign, *, action: str) -> None:
    """Raise CampaignRunning when the campaign runs. Reads the row fresh: a stale instance
    must not let an upload through a campaign someone else just started."""
    status = Campaign.objects.filter(pk=campaign.pk).values_list("run_status", flat=True).first()
    if status == RunStatus.RUNNING:
        raise CampaignRunning(campaign, action)


def campaign_start(campaign: Campaign, *, now: datetime, actor: str) -> Campaign:
    """Running (shown as Scheduled while outside its schedule): the selector dials its leads."""
    from dialer.selector import campaign_started

    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            run_status=RunStatus.RUNNING, started_at=now, updated_at=now
        )
        campaign.refresh_from_db()
        campaign_started(campaign, now=now)
    # Each logged-in agent of the campaign's queue gets a message on the desktop.
    from agents.desktop.services import notify_campaign_started

    transaction.on_commit(lambda: notify_campaign_started(campaign, now))
    return campaign


def campaign_settings_saved(campaign: Campaign, *, now: datetime) -> int:
    """An admin saved the campaign (builder, admin or API): leads held for a dial window under
    the old schedule are looked at again, so a widened window dials them now and a narrowed
    one holds them anew. Returns how many leads were released."""
    from leads.lifecycle import leads_release_window_holds

    return leads_release_window_holds(campaign, now=now)


def agents_ringing_first(campaign: Campaign) -> list[Agent]:
    """Agents of a Progressive or Predictive campaign's queue whose phones ring before they
    answer: the customer is already on the line, so their ring time counts towards the 2 s
    abandon rule. (Preview agents answer before the customer is dialed.)"""
    if campaign.type not in (CampaignType.PROGRESSIVE, CampaignType.PREDICTIVE):
        return []
    agents = Agent.objects.filter(tiers__queue_id=campaign.queue_id).order_by("name")
    return [a for a in agents if not a.auto_answers]


def ringing_first_warning(campaign: Campaign) -> str | None:
    """What to tell whoever starts the campaign about agents not on auto-answer, if any."""
    ringing = agents_ringing_first(campaign)
    if not ringing:
        return None
    names = ", ".join(a.name for a in ringing[:5]) + (" …" if len(ringing) > 5 else "")
    return (
        f"{len(ringing)} agent(s) of this queue are not on auto-answer ({names}): their phones "
        "ring while the customer waits, and a customer who waits more than "
        f"{campaign.drop_seconds} s counts as abandoned. Set their contact to "
        "[sip_auto_answer=true]user/<extension>."
    )


def campaign_stop(campaign: Campaign, *, now: datetime, actor: str) -> Campaign:
    """Stopped: dials still ringing are hung up and their leads retry; a customer who answered
    and waits for an agent hears the safe-harbor message (a drop); cool-offs keep running."""
    from dialer.selector import campaign_stopped

    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            run_status=RunStatus.STOPPED, stopped_at=now, updated_at=now
        )
        campaign.refresh_from_db()
        campaign_stopped(campaign, now=now)
    return campaign


def campaign_display_status(campaign: Campaign, *, now: datetime) -> str:
    """Running, Scheduled (running but outside its schedule) or Stopped."""
    if not campaign.is_running:
        return "Stopped"
    from dialer.selector import build_rules, schedule_answer

    return "Running" if schedule_answer(build_rules(campaign), now).open else "Scheduled"
