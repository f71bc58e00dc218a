"""Hostile lead fields and caller IDs never change the originate FreeSWITCH receives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from campaigns.models import CallerId
from dialer.daemon import Dialer
from dialer.esl.dialstring import parse_originate
from dialer.models import Call, CallResult
from freeswitch.simulator import Simulator
from leads.models import Lead, LeadState
from leads.phone import is_e164
from tests.dialer.dialer_harness import MemoryRequests, callcenter_config, wait_until
from tests.dialer.test_dialstring import HOSTILE
from tests.factories import CampaignFactory, LeadFactory, QueueFactory

pytestmark = pytest.mark.django_db(transaction=True)

TEXT_FIELDS = ("first_name", "last_name", "ticket_id", "note", "lead_type", "skill", "extension")
EXPECTED_VARS = {
    "origination_uuid",
    "ignore_early_media",
    "originate_timeout",
    "origination_caller_id_number",
    "origination_caller_id_name",
    "effective_caller_id_number",
    "effective_caller_id_name",
    "dialer_call_uuid",
    "dialer_call_id",
    "dialer_lead_id",
    "dialer_campaign_id",
    "dialer_attempt",
    "dialer_node",
    "dialer_kind",
    "hangup_after_bridge",
}


def dialing_call(lead) -> Call:
    return Call.objects.create(
        uuid=uuid.uuid4(),
        campaign=lead.campaign,
        lead=lead,
        attempt=1,
        number=lead.number,
        requested_at=datetime.now(UTC),
    )


def test_hostile_values_in_every_lead_field_and_caller_id():
    assert len(HOSTILE) >= 20
    queue = QueueFactory(name="sales@default", phone_number="+12025550100")
    campaign = CampaignFactory(queue=queue, run_status="running")
    for i, value in enumerate(v.replace("\x00", "") for v in HOSTILE):
        # A name to sanitise on a valid number, and a number that must never be used.
        CallerId.objects.create(
            campaign=campaign, name=value[:60], number="+12025550111", position=i
        )
        CallerId.objects.create(campaign=campaign, name="x", number=value[:20], position=i)
    requests = MemoryRequests()
    good, bad = [], []
    # PostgreSQL text cannot hold NUL; the pure dial-string tests cover it.
    for i, value in enumerate(v.replace("\x00", "") for v in HOSTILE):
        fields = {
            name: value[: Lead._meta.get_field(name).max_length or 1000] for name in TEXT_FIELDS
        }
        good.append(
            LeadFactory(
                campaign=campaign,
                number=f"+120255501{i:02d}",
                crm_data={"k": value, value[:50]: "v"},
                state=LeadState.DIALING,
                **fields,
            )
        )
        bad.append(
            LeadFactory(
                campaign=campaign,
                number=value[:17] + f"{i:03d}",
                state=LeadState.DIALING,
                **fields,
            )
        )
    calls = [dialing_call(lead) for lead in good + bad]
    with Simulator(
        scenario={"default": {"action": "busy", "ring": 0.2}},
        callcenter_config=callcenter_config("sales@default", 1),
        time_scale=50,
    ) as sim:
        dialer = Dialer(
            host="127.0.0.1",
            port=sim.port,
            password="ClueCon",
            node="fs1",
            gateway="carrier",
            requests=requests,
            calls_per_second=500,
            max_concurrent=500,
            publish=lambda snap: None,
            gate_on_free_agents=False,
        )
        dialer.start()
        try:
            assert dialer.conn.wait_connected(5)
            for call in calls:
                requests.push(str(call.uuid))
            assert wait_until(
                lambda: not Call.objects.filter(result=CallResult.PENDING).exists(), timeout=30
            )
            log = list(sim.core.originate_log)
            parsed = [sim.core.parse_originate(line) for line in log]
        finally:
            dialer.stop()
    good_numbers = {lead.number for lead in good}
    assert len(log) == len(good)
    for line, (legs, target, extra, gvars) in zip(log, parsed, strict=True):
        # Our own parser and the simulator's (FreeSWITCH's rules) see the same structure.
        variables, endpoint, app = parse_originate("originate " + line)
        assert app == "&park()"
        assert set(variables) == EXPECTED_VARS, line
        assert set(gvars) == EXPECTED_VARS, line
        assert len(legs) == 1
        assert not legs[0].variables
        assert target == "&park()"
        assert not extra
        assert endpoint.startswith("sofia/gateway/carrier/+120255501")
        assert endpoint.rsplit("/", 1)[1] in good_numbers
        assert is_e164(variables["origination_caller_id_number"])
        assert all(c.isalnum() or c in " .-" for c in variables["origination_caller_id_name"])
        for bad_text in ("${", "\n", "&bridge", "sofia/gateway/evil"):
            assert bad_text not in line
    for lead in bad:
        lead.refresh_from_db()
        assert lead.state == LeadState.FAILED
        assert lead.calls.get().result == CallResult.INVALID
    for lead in good:
        assert lead.calls.get().result == CallResult.BUSY
