"""`python -m freeswitch.simulator --port 8021 --password ClueCon ...`"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .simulator import Simulator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m freeswitch.simulator", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8021)
    ap.add_argument("--password", default="ClueCon")
    ap.add_argument("--scenario", help="scenario file (JSON, or YAML with PyYAML)")
    ap.add_argument("--callcenter-config", help="callcenter.conf.xml or JSON queues/agents/tiers")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--sps", type=int, default=30, help="sessions-per-second limit")
    ap.add_argument("--max-sessions", type=int, default=1000)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    sim = Simulator(
        password=args.password,
        host=args.host,
        port=args.port,
        scenario=args.scenario,
        callcenter_config=args.callcenter_config,
        time_scale=args.time_scale,
        seed=args.seed,
        sps=args.sps,
        max_sessions=args.max_sessions,
    )
    sim.start()
    logging.info("FreeSWITCH simulator listening on %s:%d", args.host, sim.port)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
