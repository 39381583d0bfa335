#!/usr/bin/env python3
# Usage: chaos watch --kubernetes chaos/seed & (its tunnels open), then
#   python3 scripts/k8s/tunnel-eof.py 31090 seed-kafka-0 ~/.cache/chaos/k8s/bin/kubectl ~/.cache/chaos/k8s/kubeconfig
# A measurement, not a test (docs/kubernetes.md, README "Kubernetes").
# Does a connection through chaos's port-forward see the broker's death? Connects to
# 127.0.0.1:PORT (a tunnel of a running `chaos watch --kubernetes`), sends ApiVersions
# (Kafka's first request), waits for its answer, then kills the pod's JVM and reports when the
# socket sees EOF or a reset (harness clock), or that it did not within 40 s.
import socket, struct, subprocess, sys, time
port, pod, kubectl, kubeconfig = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def api_versions(corr):
    client = b'probe'
    body = struct.pack('>hhih', 18, 0, corr, len(client)) + client
    return struct.pack('>i', len(body)) + body
s = socket.create_connection(('127.0.0.1', port), timeout=5)
s.sendall(api_versions(1))
n = struct.unpack('>i', s.recv(4))[0]
got = 0
while got < n: got += len(s.recv(n - got))
print(f'answered through the tunnel ({n} bytes)')
s.settimeout(0.2)
t0 = time.monotonic()
subprocess.run([kubectl, '--kubeconfig', kubeconfig, 'exec', '-n', 'chaos', pod, '-c', 'kafka', '--', 'pkill', '-KILL', '-f', 'java'], check=True)
t_kill = time.monotonic() - t0
print(f'pkill answered after {t_kill:.3f} s')
while time.monotonic() - t0 < 40:
    try:
        data = s.recv(4096)
        if data == b'':
            print(f'EOF after {time.monotonic() - t0:.3f} s'); break
    except socket.timeout:
        continue
    except OSError as e:
        print(f'{e} after {time.monotonic() - t0:.3f} s'); break
else:
    print('no EOF or reset within 40 s: the connection hangs')
# Is the tunnel usable again (a request on the same socket)?
try:
    s.settimeout(5); s.sendall(api_versions(2)); print('after: recv', len(s.recv(4)))
except OSError as e:
    print('after: send/recv', e)
