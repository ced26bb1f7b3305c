"""A local stand-in for what the ECS agent serves a container: the task metadata endpoint v4
(GET /v4/<container>/task: TaskARN, Cluster) and the task scale-in protection endpoint
(GET and PUT /api/<container>/task-protection/v1/state). A PUT takes {"ProtectionEnabled": bool (required),
"ExpiresInMinutes": 1 to 2880 (default 120)} and answers {"protection": {"ExpirationDate", "ProtectionEnabled",
"TaskArn"}}; a bad body answers 400 {"requestID", "error": {"Arn", "Code": "InvalidParameterException", "Message"}},
as the ECS developer guide shows. GET /_calls lists the PUT bodies received, with the time each came.
Prints its URL on the first line of stdout.

usage: ecs_agent_standin.py TASK_ID [PARENT_PID]"""
import json
import os
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TASK_ID = sys.argv[1]
PARENT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/prod/" + TASK_ID
lock = threading.Lock()
state = {"enabled": False, "expires": None}
calls = []


def protection():
    if state["enabled"] and state["expires"] <= datetime.now(timezone.utc):
        state["enabled"], state["expires"] = False, None
    answer = {"ProtectionEnabled": state["enabled"], "TaskArn": TASK_ARN}
    if state["enabled"]:
        answer["ExpirationDate"] = state["expires"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return answer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, payload):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_calls":
            with lock:
                return self._send(200, calls)
        if self.path.startswith("/v4/") and self.path.endswith("/task"):
            return self._send(200, {"Cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "TaskARN": TASK_ARN, "Family": "worker"})
        if self.path.startswith("/api/") and self.path.endswith("/task-protection/v1/state"):
            with lock:
                return self._send(200, {"protection": protection()})
        self._send(404, {"message": "not found"})

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not (self.path.startswith("/api/") and self.path.endswith("/task-protection/v1/state")):
            return self._send(404, {"message": "not found"})

        def refuse(message):
            self._send(400, {"requestID": str(uuid.uuid4()), "error": {"Arn": TASK_ARN, "Code": "InvalidParameterException", "Message": message}})

        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return refuse("The request body is not JSON.")
        enabled = body.get("ProtectionEnabled") if isinstance(body, dict) else None
        if not isinstance(enabled, bool):
            return refuse("ProtectionEnabled is required.")
        minutes = body.get("ExpiresInMinutes", 120)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 2880:
            return refuse("ExpiresInMinutes must be between 1 and 2880.")
        with lock:
            calls.append({"at": time.time(), "body": body})
            state["enabled"] = enabled
            state["expires"] = datetime.now(timezone.utc) + timedelta(minutes=minutes) if enabled else None
            self._send(200, {"protection": protection()})


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
    print("ecs agent stand-in listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()
