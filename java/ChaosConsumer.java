// The Java client's side of chaos's consumers: Apache Kafka's KafkaConsumer as one member of
// the consumer group (`workload.group`, one JVM per member, so a member crash is a real
// SIGKILL of its process) or as the live consumer (`workload.consumer`, every partition
// assigned). The harness keeps the history and every analysis; this only reads and says what
// the client did (src/kafka/consumer_driver.rs is the other side).
//
// stdin, one command per line:
//   c <key>\t<value>      a consumer setting (before `start`)
//   f <key>\t<path>       a setting whose value is that file's content (a PEM keystore's
//                         certificate chain and key, which span lines)
//   t <topic>             the topic (before `start`)
//   mode group|assign     a group member (subscribe) or every partition from the beginning
//   commit auto|sync|async  who commits a member's offsets (before `start`, group mode)
//   commit-interval <ms>  how often an explicit commit runs (before `start`)
//   processing <ms>       simulated work per message (before `start`)
//   start                 create the consumer; answers `ready <kafka-clients version>`
//   pause | run           stop polling (the client leaves at max.poll.interval.ms) / poll again
//   leave                 close the consumer (LeaveGroup), answer `closed`, exit 0
//   stop                  commit what was processed (explicit modes), close, `closed`, exit 0
//   (end of input)        as `stop`
//   A crashed member is this process killed (SIGKILL): no LeaveGroup, no final commit.
// stdout, one answer per line:
//   ready <version>
//   r assigned|revoked|lost <p,p,...|->   a rebalance callback, as it runs (inside poll)
//   m <partition> <offset> <first 70 bytes of the value, base64>   a record processed
//   k <partition> <offset>                a commit the cluster confirmed (every mode: the
//                                         interceptor's onCommit sees auto commits too)
//   kf <error>                            an explicit commit that failed
//   l <partition> <lag>                   once a second per held partition (client's cache)
//   w <error>                             an error the consumer survived
//   x <error>                             fatal: not created, or the input is wrong
//   closed
// `--config-names` prints the consumer setting names this kafka-clients knows and exits.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class ChaosConsumer {
    private static final PrintStream OUT =
        new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
    /// The identity header's length (src/kafka/payload.rs HEADER_LEN).
    private static final int HEADER_LEN = 70;

    private static void answer(String line) {
        synchronized (OUT) {
            OUT.print(line);
            OUT.print('\n');
            OUT.flush();
        }
    }

    static String oneLine(Exception e) {
        String text = e.getClass().getSimpleName() + ": " + e.getMessage();
        return text.replace('\n', ' ').replace('\r', ' ');
    }

    static String partitions(Collection<TopicPartition> tps) {
        if (tps.isEmpty()) {
            return "-";
        }
        return tps.stream().map(tp -> Integer.toString(tp.partition())).sorted().collect(Collectors.joining(","));
    }

    /// Sees every commit the cluster confirmed, auto commits included (they have no callback).
    public static final class CommitWitness implements ConsumerInterceptor<byte[], byte[]> {
        @Override
        public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
            return records;
        }

        @Override
        public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
            for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
                answer("k " + e.getKey().partition() + " " + e.getValue().offset());
            }
        }

        @Override
        public void close() {}

        @Override
        public void configure(Map<String, ?> configs) {}
    }

    enum Command { RUN, PAUSE, LEAVE, STOP }

    /// Commits what was processed and not yet committed; its confirmation is the interceptor's.
    static void commit(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, OffsetAndMetadata> stored, boolean sync) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(stored);
        stored.clear();
        if (sync) {
            try {
                consumer.commitSync(offsets);
            } catch (Exception e) {
                answer("kf " + oneLine(e));
            }
        } else {
            consumer.commitAsync(offsets, (done, error) -> {
                if (error != null) {
                    answer("kf " + oneLine(error));
                }
            });
        }
    }

    private static volatile Command command = Command.RUN;

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--config-names")) {
            for (String name : new java.util.TreeSet<>(ConsumerConfig.configNames())) {
                System.out.println(name);
            }
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Properties props = new Properties();
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        String topic = null;
        boolean group = true;
        String commit = "auto";
        long commitIntervalMs = 1000;
        long processingMs = 0;
        String line;
        while ((line = in.readLine()) != null && !line.equals("start")) {
            if (ChaosProducer.setting(props, line)) {
                continue;
            }
            String[] f = line.split(" ", 2);
            String value = f.length == 2 ? f[1] : "";
            switch (f[0]) {
                case "t": topic = value; break;
                case "mode": group = value.equals("group"); break;
                case "commit": commit = value; break;
                case "commit-interval": commitIntervalMs = Long.parseLong(value); break;
                case "processing": processingMs = Long.parseLong(value); break;
                default:
                    answer("x unknown command before start: " + line);
                    System.exit(1);
            }
        }
        if (line == null) {
            return;
        }
        if (topic == null) {
            answer("x no topic (`t <topic>`) before start");
            System.exit(1);
        }
        if (group) {
            props.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, CommitWitness.class.getName());
        }
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(props);
        } catch (Exception e) {
            answer("x " + oneLine(e));
            System.exit(1);
            return;
        }
        final boolean explicit = group && !commit.equals("auto");
        final boolean sync = commit.equals("sync");
        // Offsets processed and not yet committed (partition → next offset); a revoked
        // partition's are dropped, as librdkafka drops its stored offsets.
        final Map<TopicPartition, OffsetAndMetadata> stored = new HashMap<>();
        if (group) {
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                    stored.keySet().removeAll(tps);
                    answer("r revoked " + partitions(tps));
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                    answer("r assigned " + partitions(tps));
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> tps) {
                    stored.keySet().removeAll(tps);
                    answer("r lost " + partitions(tps));
                }
            });
        } else {
            List<TopicPartition> all = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic)) {
                all.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
        }
        answer("ready " + AppInfoParser.getVersion());
        Thread commands = new Thread(() -> {
            try {
                String c;
                while ((c = in.readLine()) != null) {
                    switch (c) {
                        case "pause": command = Command.PAUSE; break;
                        case "run": command = Command.RUN; break;
                        case "leave": command = Command.LEAVE; break;
                        case "stop": command = Command.STOP; break;
                        default: answer("w unknown command: " + c);
                    }
                }
            } catch (Exception e) {
                answer("w stdin: " + oneLine(e));
            }
            command = Command.STOP;
        }, "chaos-commands");
        commands.setDaemon(true);
        commands.start();

        Base64.Encoder b64 = Base64.getEncoder();
        long lastCommit = System.nanoTime();
        long lastLag = System.nanoTime();
        boolean dirty = false;
        while (true) {
            Command now = command;
            if (now == Command.PAUSE) {
                Thread.sleep(20);
                continue;
            }
            if (now == Command.LEAVE || now == Command.STOP) {
                if (now == Command.STOP && explicit && dirty) {
                    try {
                        consumer.commitSync(new HashMap<>(stored));
                    } catch (Exception e) {
                        answer("kf " + oneLine(e));
                    }
                }
                try {
                    consumer.close();
                } catch (Exception e) {
                    answer("w close: " + oneLine(e));
                }
                answer("closed");
                System.exit(0);
            }
            ConsumerRecords<byte[], byte[]> records;
            try {
                records = consumer.poll(Duration.ofMillis(100));
            } catch (Exception e) {
                answer("w poll: " + oneLine(e));
                continue;
            }
            List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
            records.forEach(batch::add);
            for (int i = 0; i < batch.size(); i++) {
                if (command != Command.RUN) {
                    // Told to pause or close mid-batch: the rest is fetched again later (as the
                    // librdkafka member, which polls one message at a time, never took it).
                    Map<TopicPartition, Long> rest = new HashMap<>();
                    for (ConsumerRecord<byte[], byte[]> left : batch.subList(i, batch.size())) {
                        rest.putIfAbsent(new TopicPartition(left.topic(), left.partition()), left.offset());
                    }
                    rest.forEach(consumer::seek);
                    break;
                }
                ConsumerRecord<byte[], byte[]> r = batch.get(i);
                byte[] v = r.value();
                String header = v == null ? "-" : b64.encodeToString(Arrays.copyOf(v, Math.min(v.length, HEADER_LEN)));
                answer("m " + r.partition() + " " + r.offset() + " " + header);
                if (processingMs > 0) {
                    Thread.sleep(processingMs);
                }
                if (explicit) {
                    stored.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    dirty = true;
                }
                // After every record, as the librdkafka member does: a commit interval of 0
                // commits each message, not each poll's batch (up to max.poll.records).
                if (explicit && dirty && System.nanoTime() - lastCommit >= commitIntervalMs * 1_000_000L) {
                    commit(consumer, stored, sync);
                    dirty = false;
                    lastCommit = System.nanoTime();
                }
            }
            if (group && System.nanoTime() - lastLag >= 1_000_000_000L) {
                for (TopicPartition tp : consumer.assignment()) {
                    OptionalLong lag = consumer.currentLag(tp);
                    if (lag.isPresent()) {
                        answer("l " + tp.partition() + " " + lag.getAsLong());
                    }
                }
                lastLag = System.nanoTime();
            }
        }
    }
}
