"""A FreeSWITCH simulator speaking the real Event Socket protocol (inbound mode).

Channels, originate, mod_callcenter and scripted far ends, for tests, demos and
load tests of the dialer. See docs/simulator.md.
"""

from .clock import Clock
from .scenario import Outcome, Scenario
from .simulator import Simulator

__all__ = ["Clock", "Outcome", "Scenario", "Simulator"]
