#!/usr/bin/env python3
"""An ordinary long-lived producer (confluent-kafka, i.e. librdkafka as applications use it),
run beside chaos's tracked producer as an independent witness of client recovery.

It writes to one partition at a fixed rate with the same settings as the tracked workload and
prints one JSON line per delivery report: {"ack_wall_ms": …, "ok": true|false, "err": "…",
"partition": …}.
It stops when its stdin closes or after --duration seconds. The first line says which
librdkafka it runs ({"librdkafka": "2.12.1"}), so a test can check the library is the same.
"""
import argparse
import json
import sys
import threading
import time

from confluent_kafka import Producer, libversion


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument(
        "--partition",
        type=int,
        default=0,
        help="the partition written; -1: every partition in turn, as an application spreading its writes",
    )
    p.add_argument("--partitions", type=int, default=3, help="how many, with --partition -1")
    p.add_argument("--rate", type=float, default=150.0)
    p.add_argument("--duration", type=float, default=600.0)
    p.add_argument("--delivery-timeout-ms", default="20000")
    p.add_argument(
        "--config",
        action="append",
        default=[],
        help="another librdkafka setting, KEY=VALUE (repeatable): the tracked producer's",
    )
    p.add_argument("--debug", default="", help="librdkafka debug contexts, logged to --log")
    p.add_argument("--log", default="", help="file for librdkafka's log lines")
    args = p.parse_args()

    out = sys.stdout
    lock = threading.Lock()

    def emit(obj):
        with lock:
            out.write(json.dumps(obj) + "\n")
            out.flush()

    emit({"librdkafka": libversion()[0]})
    config = {
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "delivery.timeout.ms": args.delivery_timeout_ms,
        "enable.idempotence": False,
    }
    for kv in args.config:
        key, _, value = kv.partition("=")
        config[key] = value
    if args.debug:
        config["debug"] = args.debug
    if args.log:
        import logging

        handler = logging.FileHandler(args.log)
        handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", "%H:%M:%S"))
        logger = logging.getLogger("witness")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        config["logger"] = logger
    producer = Producer(config)

    def on_delivery(err, msg):
        now = int(time.time() * 1000)
        if err is None:
            emit({"ack_wall_ms": now, "ok": True, "partition": msg.partition()})
        else:
            emit({"ack_wall_ms": now, "ok": False, "err": str(err), "partition": msg.partition()})

    stop = threading.Event()

    def stdin_watch():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=stdin_watch, daemon=True).start()
    interval = 1.0 / args.rate
    start = time.monotonic()
    n = 0
    while not stop.is_set() and time.monotonic() - start < args.duration:
        due = start + n * interval
        now = time.monotonic()
        if due > now:
            producer.poll(min(due - now, 0.05))
            continue
        try:
            partition = args.partition if args.partition >= 0 else n % args.partitions
            producer.produce(
                args.topic, value=b"witness-%d" % n, partition=partition, on_delivery=on_delivery
            )
            n += 1
        except BufferError:
            producer.poll(0.01)
        producer.poll(0)
    producer.flush(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
