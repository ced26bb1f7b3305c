"""A local stand-in for ECS UpdateTaskProtection and GetTaskProtection, which moto 5.2.1 does not implement, chained
in front of moto: those two operations are answered here, every other request goes to moto unchanged.

The two operations follow the ECS API reference: cluster is required; UpdateTaskProtection takes 1 to 10 tasks
(ids or ARNs), protectionEnabled (required) and expiresInMinutes (1 to 2880, default 120); GetTaskProtection takes
up to 100 tasks. A task moto does not know is a failure with reason MISSING, a task that belongs to no service
(its group is not service:<name>) one with TASK_NOT_VALID; an unknown cluster is ClusterNotFoundException, a bad
parameter InvalidParameterException. Answers are {"protectedTasks":[{taskArn, protectionEnabled, expirationDate}],
"failures":[{arn, reason, detail}]}, expirationDate in epoch seconds as ECS's JSON protocol sends timestamps.
A protection runs out at its expiry. Every request to the two operations must carry a SigV4 signature that botocore
recomputes to the same value with the credentials in STANDIN_ACCESS_KEY / STANDIN_SECRET_KEY (default testing).

For tests: GET /_protection answers the state and the calls so far; POST /_protection/faults with
{"operation": ..., "code": ..., "status": ..., "times": n} makes the next n calls of an operation fail, and with
{"operation": ..., "reason": "DEPLOYMENT_BLOCKED", "times": n} answer 200 with every task in failures instead;
DELETE /_protection/faults clears them. Prints its URL on the first line of stdout.

usage: task_protection.py UPSTREAM_URL [PARENT_PID]"""
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

UPSTREAM = sys.argv[1].rstrip("/")
PARENT = int(sys.argv[2]) if len(sys.argv) > 2 else 0
ACCESS_KEY = os.environ.get("STANDIN_ACCESS_KEY", "testing")
SECRET_KEY = os.environ.get("STANDIN_SECRET_KEY", "testing")
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
OPERATIONS = ("UpdateTaskProtection", "GetTaskProtection")
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")
DEFAULT_EXPIRY_MINUTES = 120

lock = threading.Lock()
protection = {}  # (cluster name, task arn) -> expiry (epoch seconds)
calls = []
faults = []


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def signature_ok(method, path, headers, body):
    lower = {k.lower(): v for k, v in headers.items()}
    match = AUTH.match(lower.get("authorization", ""))
    if not match:
        raise ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    key, date, region, service, signed, signature = match.groups()
    if key != ACCESS_KEY:
        raise ApiError(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
    names = signed.split(";")
    request = AWSRequest(method=method, url="http://" + lower["host"] + path, data=body,
                         headers={name: lower[name] for name in names if name in lower})
    request.context["timestamp"] = lower.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, lower.get("x-amz-security-token")), service, region)

    def only_signed(req, names=names):
        chosen = HTTPHeaders()
        for name in names:
            if name in req.headers:
                chosen[name] = req.headers[name]
        return chosen

    signer.headers_to_sign = only_signed
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != signature or service != "ecs" or date != lower.get("x-amz-date", "")[:8]:
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you provided.")
    return region


def moto(operation, payload, headers):
    """Asks moto (which does not check signatures) with the caller's credential scope, so it answers for its region."""
    request = urllib.request.Request(UPSTREAM + "/", data=json.dumps(payload).encode("utf-8"), method="POST")
    request.add_header("Content-Type", "application/x-amz-json-1.1")
    request.add_header("X-Amz-Target", TARGET_PREFIX + operation)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        if headers.get(name):
            request.add_header(name, headers[name])
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read() or b"{}")
        code = (answer.get("__type") or "ServerException").rsplit("#", 1)[-1]
        raise ApiError(error.code, code, answer.get("message") or answer.get("Message") or code)


def cluster_name(cluster, headers):
    found = moto("DescribeClusters", {"clusters": [cluster]}, headers)
    active = [c for c in found.get("clusters", []) if c.get("status") == "ACTIVE"]
    if not active:
        raise ApiError(400, "ClusterNotFoundException", "Cluster not found.")
    return active[0]["clusterName"]


def require_string(body, name):
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, "InvalidParameterException", name + " must be a non-empty string.")
    return value


def task_list(body, required, most):
    tasks = body.get("tasks")
    if tasks is None and not required:
        return None
    if not isinstance(tasks, list) or not all(isinstance(t, str) and t for t in tasks) or (required and not tasks):
        raise ApiError(400, "InvalidParameterException", "tasks must be a list of task ids or ARNs.")
    if len(tasks) > most:
        raise ApiError(400, "InvalidParameterException", "tasks can have at most %d items." % most)
    return tasks


def resolve(cluster, name, tasks, headers):
    """(known tasks by the id or ARN given, failures) as ECS reports them."""
    described = moto("DescribeTasks", {"cluster": cluster, "tasks": tasks}, headers) if tasks else {"tasks": []}
    by_id = {}
    for task in described.get("tasks", []):
        by_id[task["taskArn"]] = task
        by_id[task["taskArn"].rsplit("/", 1)[-1]] = task
    known, failures = [], []
    for given in tasks:
        task = by_id.get(given)
        if task is None or task.get("lastStatus") == "STOPPED":
            failures.append({"arn": given, "reason": "MISSING", "detail": "The specified task was not found."})
        elif not str(task.get("group", "")).startswith("service:"):
            failures.append({"arn": task["taskArn"], "reason": "TASK_NOT_VALID",
                             "detail": "The task is not part of a service."})
        else:
            known.append(task["taskArn"])
    return known, failures


def state_of(name, arn, now):
    expiry = protection.get((name, arn))
    if expiry is not None and expiry <= now:
        del protection[(name, arn)]
        expiry = None
    entry = {"taskArn": arn, "protectionEnabled": expiry is not None}
    if expiry is not None:
        entry["expirationDate"] = expiry
    return entry


def update(body, headers):
    cluster = require_string(body, "cluster")
    tasks = task_list(body, True, 10)
    enabled = body.get("protectionEnabled")
    if not isinstance(enabled, bool):
        raise ApiError(400, "InvalidParameterException", "protectionEnabled is required and must be a boolean.")
    minutes = body.get("expiresInMinutes", DEFAULT_EXPIRY_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1 or minutes > 2880:
        raise ApiError(400, "InvalidParameterException", "expiresInMinutes must be between 1 and 2880.")
    name = cluster_name(cluster, headers)
    known, failures = resolve(cluster, name, tasks, headers)
    now = time.time()
    with lock:
        for arn in known:
            if enabled:
                protection[(name, arn)] = round(now + minutes * 60, 3)
            else:
                protection.pop((name, arn), None)
        answered = [state_of(name, arn, now) for arn in known]
    return {"protectedTasks": answered, "failures": failures}


def get(body, headers):
    cluster = require_string(body, "cluster")
    tasks = task_list(body, False, 100)
    name = cluster_name(cluster, headers)
    if tasks is None:
        tasks = moto("ListTasks", {"cluster": cluster}, headers).get("taskArns", [])[:100]
    known, failures = resolve(cluster, name, tasks, headers)
    now = time.time()
    with lock:
        return {"protectedTasks": [state_of(name, arn, now) for arn in known], "failures": failures}


def take_fault(operation):
    with lock:
        for fault in faults:
            if fault["operation"] == operation and fault.get("times", 1) > 0:
                fault["times"] = fault.get("times", 1) - 1
                return fault
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, payload, headers=(), content_type="application/x-amz-json-1.1"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date", "content-type"):
                self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self, body):
        if self.command == "GET":
            with lock:
                now = time.time()
                state = [{"cluster": c, "taskArn": a, "expirationDate": e} for (c, a), e in protection.items() if e > now]
                return self._send(200, {"protected": state, "calls": calls}, content_type="application/json")
        if self.command == "POST" and self.path == "/_protection/faults":
            with lock:
                faults.append(json.loads(body or b"{}"))
            return self._send(200, {}, content_type="application/json")
        if self.command == "DELETE" and self.path == "/_protection/faults":
            with lock:
                faults.clear()
            return self._send(200, {}, content_type="application/json")
        return self._send(404, {"message": "unknown control path"}, content_type="application/json")

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/_protection"):
            return self._control(body)
        target = self.headers.get("X-Amz-Target") or ""
        operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else ""
        if operation in OPERATIONS:
            return self._protection(operation, body)
        self._relay(body)

    def _protection(self, operation, body):
        headers = {k: v for k, v in self.headers.items()}
        try:
            signature_ok(self.command, self.path, headers, body)
            request = json.loads(body or b"{}")
            with lock:
                calls.append({"operation": operation, "request": request})
            fault = take_fault(operation)
            if fault and fault.get("reason"):
                failures = [{"arn": t, "reason": fault["reason"], "detail": fault.get("message", "")} for t in request.get("tasks") or []]
                return self._send(200, {"protectedTasks": [], "failures": failures})
            if fault:
                raise ApiError(fault.get("status", 500), fault.get("code", "ServerException"), fault.get("message", "Injected failure."))
            answer = update(request, headers) if operation == "UpdateTaskProtection" else get(request, headers)
            self._send(200, answer)
        except ApiError as error:
            self._send(error.status, {"__type": error.code, "message": error.message})
        except (ValueError, KeyError) as error:
            self._send(400, {"__type": "InvalidParameterException", "message": str(error)})

    def _relay(self, body):
        request = urllib.request.Request(UPSTREAM + self.path, data=body if body else None, method=self.command)
        for key, value in self.headers.items():
            if key.lower() not in ("host", "content-length", "connection", "expect"):
                request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, headers, payload = response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            status, headers, payload = error.code, error.headers.items(), error.read()
        content_type = dict((k.lower(), v) for k, v in headers).get("content-type", "application/octet-stream")
        self._send(status, payload, headers, content_type)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


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
    print("task protection stand-in listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()
