#!/usr/bin/env python3
"""The Python side of chaos's tracked producer on another librdkafka: confluent-kafka's
Producer (whose wheel carries the librdkafka of the same version) driven over the line
protocol of java/ChaosProducer.java, so the same sequence-numbered payloads, acks and outcomes
feed the same ledger as the bundled librdkafka's (src/kafka/client_driver.rs is the other side).

stdin, one command per line:
  c <key>\\t<value>     a librdkafka setting (before `start`)
  t <topic>            the topic (before `start`)
  start                create the producer; answers `ready <librdkafka version>`
  s <n> <partition> <key base64 or -> <value base64>
  (end of input)       flush, answer `closed`, exit 0
stdout, one answer per line:
  ready <version> | a <n> <offset> | e <n> <timeout|failed|unknown> <error> | closed
  b <n> <ms>           produce() of record n waited this long for queue space (>= 200 ms)
  lost-brokers         librdkafka's statistics show no broker it could reach (issue #5301)
  x <error>            fatal: the producer could not be created or the input is wrong
"""
import base64
import json
import sys
import threading
import time

from confluent_kafka import KafkaError, KafkaException, Producer, libversion

OUT_LOCK = threading.Lock()


def answer(line):
    with OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# Refused for sure, never written; every other error leaves the outcome open.
DEFINITE = {
    getattr(KafkaError, name)
    for name in (
        "MSG_SIZE_TOO_LARGE",
        "TOPIC_AUTHORIZATION_FAILED",
        "INVALID_TOPIC_EXCEPTION",
        "_UNKNOWN_PARTITION",
        "_UNKNOWN_TOPIC",
        "RECORD_LIST_TOO_LARGE",
    )
    # Not every version names every code.
    if hasattr(KafkaError, name)
}


def classify(err):
    # librdkafka knows whether a timed-out message was ever sent; confluent-kafka does not
    # say, so every timeout is unknown until the re-read.
    if err.code() == KafkaError._MSG_TIMED_OUT:
        return "timeout"
    if err.code() in DEFINITE:
        return "failed"
    return "unknown"


def one_line(err):
    return str(err).replace("\n", " ").replace("\r", " ")


def knows_no_broker(stats_json):
    try:
        brokers = json.loads(stats_json).get("brokers", {})
    except ValueError:
        return False
    return not any(b.get("source") in ("learned", "configured") for b in brokers.values())


def main():
    config = {}
    topic = None
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line == "start":
            break
        if line.startswith("c ") and "\t" in line:
            key, value = line[2:].split("\t", 1)
            config[key] = value
        elif line.startswith("t "):
            topic = line[2:]
        else:
            answer("x unknown command before start: " + line)
            return 1
    else:
        return 0
    if topic is None:
        answer("x no topic (`t <topic>`) before start")
        return 1
    lost = [False]

    def on_stats(stats_json):
        now_lost = knows_no_broker(stats_json)
        if now_lost and not lost[0]:
            answer("lost-brokers")
        lost[0] = now_lost

    config["stats_cb"] = on_stats
    try:
        producer = Producer(config)
    except (KafkaException, ValueError, TypeError) as e:
        answer("x " + one_line(e))
        return 1
    answer("ready " + libversion()[0])

    stop = threading.Event()

    def poll():
        # Delivery reports and statistics are served here, as an application's poll loop.
        while not stop.is_set():
            producer.poll(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    for line in sys.stdin:
        fields = line.rstrip("\n").split(" ", 4)
        if len(fields) != 5 or fields[0] != "s":
            answer("x not a send command: " + line.strip())
            continue
        n = int(fields[1])
        partition = int(fields[2])
        key = None if fields[3] == "-" else base64.b64decode(fields[3])
        value = base64.b64decode(fields[4])

        def report(err, msg, n=n):
            if err is None:
                answer("a %d %d" % (n, msg.offset()))
            else:
                answer("e %d %s %s" % (n, classify(err), one_line(err)))

        started = time.monotonic()
        while True:
            try:
                producer.produce(topic, value=value, key=key, partition=partition, on_delivery=report)
                break
            except BufferError:
                # The queue is full (an outage): wait for room, as an application would.
                time.sleep(0.01)
            except KafkaException as e:
                answer("e %d failed %s" % (n, one_line(e)))
                break
        blocked_ms = int((time.monotonic() - started) * 1000)
        if blocked_ms >= 200:
            answer("b %d %d" % (n, blocked_ms))
    producer.flush()
    stop.set()
    poller.join()
    answer("closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
