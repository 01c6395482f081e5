#!/usr/bin/env python3
"""Two attacks from issue 12 against a hub binary, for before/after figures:
  python3 bench/attacks.py target/debug/countertop-hub flood   # ping flood from a client that never reads
  python3 bench/attacks.py target/debug/countertop-hub idle    # 1,100 idle sockets, then another client
The hub runs under prlimit --nofile=1024:1024 on 127.0.0.1 with a fresh data folder."""
import socket, subprocess, sys, time, tempfile, os, resource
binary = sys.argv[1]
data = tempfile.mkdtemp()
hub = subprocess.Popen(["prlimit", "--nofile=1024:1024", binary, "serve", "--listen", "127.0.0.1:0", "--data", data],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="error"))
addr = hub.stdout.readline().decode().split()[-1]
host, port = addr.split(":"); port = int(port)
def rss():
    for l in open(f"/proc/{hub.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1]) // 1024
mode = sys.argv[2]
if mode == "flood":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.connect((host, port))
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head: head += s.recv(1)
    chunk = bytes([0x89, 0x80, 1, 2, 3, 4]) * 10000
    start = time.time(); sent = 0; before = rss(); peak = before; closed = False
    s.settimeout(5)
    while time.time() - start < 10:
        try: s.sendall(chunk); sent += 10000
        except Exception as e: closed = True; break
        peak = max(peak, rss())
    print(f"{os.path.basename(binary)}: {sent} pings in {time.time()-start:.1f} s, hub RSS {before} -> {peak} MiB, closed by hub: {closed}")
else:
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    socks = []
    for i in range(1100):
        c = socket.socket(); c.connect((host, port)); socks.append(c)
    c = socket.socket(); c.settimeout(3); c.bind(("127.0.0.2", 0))
    t = time.time()
    try:
        c.connect((host, port)); c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = c.recv(100).split(b"\r\n")[0].decode(); print(f"{os.path.basename(binary)}: 1,100 idle sockets open; another client: {reply!r} in {(time.time()-t)*1000:.0f} ms")
    except Exception as e:
        print(f"{os.path.basename(binary)}: 1,100 idle sockets open; another client: no answer in 3 s ({e})")
hub.kill()
