#!/usr/bin/env python3
"""The leader kill on Kubernetes with an ordinary long-lived producer of the same librdkafka
beside the tracked one (tests/witness/producer.py: Python's confluent-kafka 2.12.1), N times:
is the long-lived producer's slow recovery after a pod kill the library's or the harness's?

Each run: `chaos run experiments/leader-kill.yaml --kubernetes chaos/seed`; once its steps
begin (the topic exists), the witness writes 150 msg/s to orders/0 through the run's
port-forwards (127.0.0.1:31090-31092, what the brokers advertise); the run's end stops it.
Recovery = the first ack after orders/0 is usable again (the end of its last unavailable
interval, run clock mapped to the wall clock the witness stamps its acks with), for the
tracked producer (result.json), the witness and a fresh client.

Usage: scripts/k8s/witness-leader-kill.py [N] [--chaos target/debug/chaos] [--experiment FILE]
Needs the test Kubernetes up with the seed deployed (scripts/k8s.sh up && scripts/k8s.sh
deploy seed) and the witness's library (scripts/install-witness.sh).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def wait_for_steps(events: pathlib.Path, run: subprocess.Popen) -> bool:
    while run.poll() is None:
        if events.exists() and '"event":"phase","name":"steps"' in events.read_text():
            return True
        time.sleep(0.1)
    return False


def one_run(chaos: str, experiment: str, reports: pathlib.Path, kubeconfig: str, spread: bool) -> dict:
    reports.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    run = subprocess.Popen(
        [chaos, "run", experiment, "--kubernetes", "chaos/seed",
         "--reports", str(reports)],
        cwd=ROOT, env=env, stdout=open(reports / "chaos.out", "w"), stderr=subprocess.STDOUT,
    )
    # The run's own directory appears once it starts; its events say when the steps begin.
    events = None
    while run.poll() is None and events is None:
        found = [d for d in reports.iterdir() if (d / "events.jsonl").exists()]
        events = found[0] / "events.jsonl" if found else None
        time.sleep(0.1)
    if events is None or not wait_for_steps(events, run):
        run.wait()
        return {"error": "the run ended before its steps"}
    witness = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/witness/producer.py"),
         "--bootstrap", "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092",
         "--topic", "orders", "--delivery-timeout-ms", "30000",
         # --spread: every partition in turn at the tracked producer's 200 msg/s, as it writes.
         *(["--partition", "-1", "--rate", "200"] if spread else ["--rate", "150"]),
         "--debug", "broker,metadata", "--log", str(reports / "witness.log")],
        stdin=subprocess.PIPE, stdout=open(reports / "witness.jsonl", "w"),
    )
    code = run.wait()
    witness.stdin.close()
    witness.wait(timeout=60)
    run_dir = events.parent
    result = json.loads((run_dir / "result.json").read_text())
    part = result["partitions"][0]
    intervals = part.get("unavailable_intervals") or []
    first = json.loads(events.read_text().splitlines()[0])
    wall_of_run_ms = first["wall_ms"] - first["at_us"] / 1e3
    lines = [json.loads(l) for l in (reports / "witness.jsonl").read_text().splitlines()]
    out = {
        "exit": code,
        "librdkafka_witness": lines[0].get("librdkafka") if lines else None,
        "failover_ms": part.get("failover_ms"),
        "tracked_ms": part.get("recovery_ms"),
        "fresh_ms": part.get("fresh_client_ms"),
        "lost_brokers": result.get("workload", {}).get("lost_brokers"),
    }
    if intervals and intervals[-1].get("to_ms") is not None:
        usable_wall = wall_of_run_ms + intervals[-1]["to_ms"]
        acks = [l["ack_wall_ms"] for l in lines[1:] if l.get("ok") and l.get("partition", 0) == 0]
        after = [a for a in acks if a >= usable_wall]
        out["witness_ms"] = round(after[0] - usable_wall, 1) if after else None
        # The witness's own gap: its last ack before the kill's effect to its first after.
        before = [a for a in acks if a < usable_wall]
        if before and after:
            out["witness_gap_ms"] = round(after[0] - before[-1], 1)
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int, nargs="?", default=5)
    p.add_argument("--chaos", default=str(ROOT / "target/debug/chaos"))
    p.add_argument("--experiment", default="experiments/leader-kill.yaml")
    p.add_argument("--spread", action="store_true",
                   help="the witness writes every partition in turn (as the tracked producer), not orders/0 alone")
    p.add_argument("--reports", default=str(ROOT / "target/witness-k8s"))
    p.add_argument("--kubeconfig",
                   default=os.path.expanduser("~/.cache/chaos/k8s/chaos.kubeconfig"))
    args = p.parse_args()
    for i in range(1, args.n + 1):
        r = one_run(args.chaos, args.experiment, pathlib.Path(args.reports) / f"run-{i}",
                    args.kubeconfig, args.spread)
        print(json.dumps({"run": i, **r}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
