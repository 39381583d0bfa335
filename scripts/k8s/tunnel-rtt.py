#!/usr/bin/env python3
"""Round trips of Kafka ApiVersions (v0) requests on one connection to HOST:PORT: the first
one with the connect, then COUNT more (p50/p90/p99/max). Used to measure what the
port-forward tunnels cost (docs/kubernetes.md, "Reaching the brokers"):

  chaos watch --kubernetes chaos/seed &            # holds the tunnels 127.0.0.1:31090+id open
  scripts/k8s/tunnel-rtt.py 127.0.0.1 31090 500    # through the tunnel
  ip route add 10.244.1.0/24 via 10.251.0.11       # the pod network of node 1, from this host
  scripts/k8s/tunnel-rtt.py <pod IP> 9094 500      # the same broker directly
  ip route del 10.244.1.0/24 via 10.251.0.11
"""
import socket, struct, sys, time, statistics
def apiversions(sock, corr):
    client=b"rtt"
    body=struct.pack(">hhih", 18, 0, corr, len(client))+client
    sock.sendall(struct.pack(">i", len(body))+body)
    n=struct.unpack(">i", recvn(sock,4))[0]; recvn(sock,n)
def recvn(s,n):
    b=b""
    while len(b)<n:
        c=s.recv(n-len(b))
        if not c: raise EOFError
        b+=c
    return b
host,port,count=sys.argv[1],int(sys.argv[2]),int(sys.argv[3])
t0=time.perf_counter(); s=socket.create_connection((host,port)); apiversions(s,0); connect=(time.perf_counter()-t0)*1e3
rtts=[]
for i in range(count):
    t=time.perf_counter(); apiversions(s,i+1); rtts.append((time.perf_counter()-t)*1e3)
rtts.sort()
print(f"{host}:{port} first request incl. connect {connect:.2f} ms; {count} requests: p50 {statistics.median(rtts):.2f} ms p90 {rtts[int(0.9*count)]:.2f} ms p99 {rtts[int(0.99*count)]:.2f} ms max {rtts[-1]:.2f}")
