"""A recording reverse proxy for tests: forwards every request to an upstream AWS endpoint (moto) unchanged and
appends what was sent (method, path, headers, body) as a JSON line to a log, so tests can count calls and
recompute their SigV4 signatures independently. Prints its URL on the first line of stdout.

With GATE_DIR and ACTION it can also hold one request until the test lets it go (race tests): a test arms it by
creating GATE_DIR/arm; the next request whose X-Amz-Target or query Action is ACTION takes the arm, creates
GATE_DIR/held and waits (at most 120 s) for GATE_DIR/release, then goes on. So a test can run a second command to
completion between a command's plan and its first write.

usage: capture_proxy.py UPSTREAM_URL LOG_FILE [PARENT_PID [GATE_DIR ACTION]]"""
import base64
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[1].rstrip("/")
LOG = sys.argv[2]
PARENT = int(sys.argv[3]) if len(sys.argv) > 3 else 0
GATE = sys.argv[4] if len(sys.argv) > 5 else None
ACTION = sys.argv[5] if len(sys.argv) > 5 else None
lock = threading.Lock()


def action_of(headers, body):
    target = headers.get("X-Amz-Target") or ""
    if target:
        return target.rsplit(".", 1)[-1]
    try:
        return urllib.parse.parse_qs(body.decode("utf-8")).get("Action", [""])[0]
    except UnicodeDecodeError:
        return ""


def take_arm():
    with lock:
        arm = os.path.join(GATE, "arm")
        if not os.path.exists(arm):
            return False
        os.remove(arm)
        return True


def hold():
    open(os.path.join(GATE, "held"), "w").close()
    release = os.path.join(GATE, "release")
    deadline = time.time() + 120
    while not os.path.exists(release) and time.time() < deadline:
        time.sleep(0.05)
    for name in ("held", "release"):
        try:
            os.remove(os.path.join(GATE, name))
        except FileNotFoundError:
            pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _relay(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock, open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": base64.b64encode(body).decode("ascii"),
            }) + "\n")
        if GATE and action_of(self.headers, body) == ACTION and take_arm():
            hold()
        request = urllib.request.Request(UPSTREAM + self.path, data=body if body else None, method=self.command)
        for key, value in self.headers.items():
            if key.lower() not in ("host", "content-length", "connection", "expect"):
                request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, headers, payload = response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            status, headers, payload = error.code, error.headers.items(), error.read()
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _relay


def watch_parent():
    while True:
        time.sleep(1)
        try:
            os.kill(PARENT, 0)
        except OSError:
            os._exit(0)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if PARENT:
        threading.Thread(target=watch_parent, daemon=True).start()
    print("capture proxy listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()
