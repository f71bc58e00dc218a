"""Load test of the FreeSWITCH simulator: concurrent channels and originates per second.

One subscribed client (`event plain ALL`) reads every event while another connection
fires `bgapi originate` at a target rate; calls answer after 1 s and talk 5 s
(simulated, time scale 1), so at 200 originates/s about 1200 channels are up at once.

    .venv/bin/python bench/simulator_load.py --rate 200 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time

from freeswitch.simulator import Simulator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    scenario = {"default": {"action": "answer", "ring": 0.5, "answer_after": 0.5, "talk": 5}}
    sim = Simulator(scenario=scenario, sps=100_000, max_sessions=100_000, time_scale=1.0)
    sim.start()
    # Counted on the subscriber's stream: every event, and the originate results
    # (BACKGROUND_JOB bodies) so "handled" means answered +OK, not merely received.
    patterns = {
        "events": b"Content-Type: text/event-plain",
        "ok": b"\n\n+OK ",
        "err": b"\n\n-ERR ",
    }
    counts = dict.fromkeys(patterns, 0)
    stop = threading.Event()

    def reader() -> None:
        s = socket.create_connection(("127.0.0.1", sim.port))
        s.sendall(b"auth ClueCon\n\nevent plain ALL\n\n")
        s.settimeout(0.5)
        tail = b""
        while not stop.is_set():
            try:
                data = s.recv(1 << 20)
            except TimeoutError:
                continue
            # Keep a short tail so a pattern split across two reads is counted once.
            buf = tail + data
            for key, pat in patterns.items():
                counts[key] += buf.count(pat)
            tail = buf[-(max(map(len, patterns.values())) - 1) :]
        s.close()

    load_before = os.getloadavg()
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.2)
    tx = socket.create_connection(("127.0.0.1", sim.port))
    tx.sendall(b"auth ClueCon\n\n")
    sent = 0
    peak = 0
    t0 = time.monotonic()
    while (now := time.monotonic()) - t0 < args.seconds:
        due = int((now - t0) * args.rate)
        batch = b"".join(
            b"bgapi originate {ignore_early_media=true}sofia/gateway/gw/+1555%07d &park()\n\n"
            % (sent + i)
            for i in range(due - sent)
        )
        if batch:
            tx.sendall(batch)
            sent = due
        time.sleep(0.01)
        if int(now * 4) % 4 == 0:
            peak = max(peak, sim.stats()["channels"])
    elapsed = time.monotonic() - t0
    ok_in_run = counts["ok"]
    st = sim.stats()
    peak = max(peak, st["peak_channels"])
    time.sleep(1.5)  # the last originates answer 1 s after they were sent
    listeners = sim.stats()["listeners"]
    stop.set()
    t.join(2)
    events = counts["events"]
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print(f"originates sent: {sent} in {elapsed:.1f}s = {sent / elapsed:.0f}/s")
    print(f"originates received by the simulator: {st['originates']}")
    print(f"originate jobs +OK: {ok_in_run} during the run, {counts['ok']} after 1.5 s more")
    print(f"originate jobs -ERR: {counts['err']}")
    print(f"peak concurrent channels: {peak}")
    print(f"connections still up at the end (subscriber + sender): {listeners}")
    print(f"events delivered to the subscriber: {events} ({events / elapsed:.0f}/s)")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    sim.stop()


if __name__ == "__main__":
    main()
