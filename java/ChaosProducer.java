// The Java client's side of chaos's tracked producer: Apache Kafka's KafkaProducer driven over
// a line protocol, so the same sequence-numbered payloads, acks and outcomes feed the same
// ledger as the librdkafka producer's (src/kafka/java_client.rs is the other side).
//
// stdin, one command per line:
//   c <key>\t<value>      a producer setting (before `start`)
//   f <key>\t<path>       a setting whose value is that file's content (a PEM keystore's
//                         certificate chain and key, which span lines)
//   t <topic>             the topic (before `start`)
//   start                 create the producer; answers `ready <kafka-clients version>`
//   s <n> <partition> <key base64 or -> <value base64>
//                         send record n (n counts up from 0); its outcome comes later
//   (end of input)        flush, close, answer `closed`, exit 0
// stdout, one answer per line:
//   ready <version> | a <n> <offset> | e <n> <timeout|failed|unknown> <error> | closed
//   b <n> <ms>            send() of record n blocked this long (≥ 200 ms: waiting for the
//                         topic's metadata or for buffer space, up to max.block.ms)
//   x <error>             fatal: the producer could not be created or the input is wrong
// `--config-names` prints the producer setting names this kafka-clients knows and exits.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.AppInfoParser;

public final class ChaosProducer {
    private static final PrintStream OUT =
        new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);

    private static void answer(String line) {
        synchronized (OUT) {
            OUT.print(line);
            OUT.print('\n');
            OUT.flush();
        }
    }

    /// How a record that was not acked ended: `failed` only when the broker (or the client,
    /// before sending) refused it for sure — it is not in the log; `timeout` when it expired
    /// (the Java client does not say whether a request was in flight); anything else
    /// `unknown`. Both `timeout` and `unknown` are unknown outcomes until the re-read.
    static String classify(Exception e) {
        if (e instanceof TimeoutException) {
            return "timeout";
        }
        if (e instanceof NotEnoughReplicasException
            || e instanceof NotLeaderOrFollowerException
            || e instanceof UnknownTopicOrPartitionException
            || e instanceof RecordTooLargeException
            || e instanceof RecordBatchTooLargeException
            || e instanceof InvalidTopicException
            || e instanceof AuthorizationException
            || e instanceof SerializationException
            || e instanceof ProducerFencedException) {
            return "failed";
        }
        return "unknown";
    }

    /// A setting line (`c <key>\t<value>`, or `f <key>\t<path>`: the file's content), put into
    /// `props`; false for any other line. Both drivers read their settings with it.
    static boolean setting(Properties props, String line) {
        boolean file = line.startsWith("f ");
        if (!file && !line.startsWith("c ")) {
            return false;
        }
        int tab = line.indexOf('\t');
        if (tab < 0) {
            answer("x a setting without a tab: " + line);
            System.exit(1);
        }
        String value = line.substring(tab + 1);
        props.put(line.substring(2, tab), file ? fileContent(value) : value);
        return true;
    }

    static String fileContent(String path) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of(path));
        } catch (java.io.IOException e) {
            answer("x cannot read " + path + ": " + oneLine(e));
            System.exit(1);
            return null;
        }
    }

    static String oneLine(Exception e) {
        String text = e.getClass().getSimpleName() + ": " + e.getMessage();
        return text.replace('\n', ' ').replace('\r', ' ');
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--config-names")) {
            for (String name : new java.util.TreeSet<>(ProducerConfig.configNames())) {
                System.out.println(name);
            }
            return;
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        Properties props = new Properties();
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String topic = null;
        String line;
        while ((line = in.readLine()) != null && !line.equals("start")) {
            if (setting(props, line)) {
                continue;
            } else if (line.startsWith("t ")) {
                topic = line.substring(2);
            } else {
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
        KafkaProducer<byte[], byte[]> producer;
        try {
            producer = new KafkaProducer<>(props);
        } catch (Exception e) {
            answer("x " + oneLine(e));
            System.exit(1);
            return;
        }
        answer("ready " + AppInfoParser.getVersion());
        Base64.Decoder b64 = Base64.getDecoder();
        while ((line = in.readLine()) != null) {
            // s <n> <partition> <key> <value>
            String[] f = line.split(" ", 5);
            if (f.length != 5 || !f[0].equals("s")) {
                answer("x not a send command: " + line);
                continue;
            }
            final long n = Long.parseLong(f[1]);
            int partition = Integer.parseInt(f[2]);
            byte[] key = f[3].equals("-") ? null : b64.decode(f[3]);
            byte[] value = b64.decode(f[4]);
            final Thread sender = Thread.currentThread();
            long started = System.nanoTime();
            try {
                producer.send(new ProducerRecord<>(topic, partition, key, value), (meta, error) -> {
                    if (error == null) {
                        answer("a " + n + " " + meta.offset());
                    } else if (Thread.currentThread() == sender) {
                        // Called back inside send(), on this thread: refused before it was
                        // queued (e.g. no metadata within max.block.ms), so never written.
                        answer("e " + n + " failed " + oneLine(error));
                    } else {
                        answer("e " + n + " " + classify(error) + " " + oneLine(error));
                    }
                });
            } catch (Exception e) {
                // Refused before it was queued (e.g. metadata not available in max.block.ms).
                answer("e " + n + " " + (e instanceof TimeoutException ? "failed" : classify(e)) + " " + oneLine(e));
            }
            long blockedMs = (System.nanoTime() - started) / 1_000_000;
            if (blockedMs >= 200) {
                answer("b " + n + " " + blockedMs);
            }
        }
        producer.flush();
        producer.close();
        answer("closed");
    }
}
