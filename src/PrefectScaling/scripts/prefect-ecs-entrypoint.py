#!/usr/bin/env python3
"""Container entrypoint for a Prefect worker or agent in an ECS task: keeps ECS scale-in away from the task while it
runs flows.

    prefect-ecs-entrypoint.py prefect worker start --pool my-pool --limit 4
    prefect-ecs-entrypoint.py prefect agent start --pool my-pool --work-queue default

It reads the task's id from the task metadata endpoint ($ECS_CONTAINER_METADATA_URI_V4/task), starts the command as
its child (a "worker start" without --name/-n gets --name ecs-<task id>, so that the publisher's -ProtectBusyTasks
can tie the worker's runs to this task), and passes every signal it gets on to it. Every few seconds it looks for
flow-run processes below it (a /proc/<pid>/environ with PREFECT__FLOW_RUN_ID, which Prefect 2 and 3 set for every
flow-run process) and, while there is one, protects its own task through the ECS agent
($ECS_AGENT_URI/task-protection/v1/state, PUT {"ProtectionEnabled": true, "ExpiresInMinutes": P}), renewing it
before it runs out; once none has run for the idle grace period, it clears the protection. It exits with the
command's exit code. Python 3 standard library only. Outside ECS (no metadata endpoint) it runs the command as it is.

Settings (environment): PREFECT_ECS_PROTECT_MINUTES (P, 1 to 2880, default 60), PREFECT_ECS_RENEW_SECONDS (how
often a protection is renewed while flows run; default 80 % of P), PREFECT_ECS_IDLE_GRACE_SECONDS (default 60),
PREFECT_ECS_POLL_SECONDS (default 3), PREFECT_ECS_WORKER_NAME_PREFIX (default "ecs-"; empty: never add --name). The task role needs ecs:UpdateTaskProtection (and ecs:GetTaskProtection to read it back)."""
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

FLOW_RUN_VARIABLE = b"PREFECT__FLOW_RUN_ID="
FORWARDED = [s for s in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2") if hasattr(signal, s)]


def log(message):
    sys.stderr.write("prefect-ecs-entrypoint: " + message + "\n")
    sys.stderr.flush()


def setting(name, default, low, high):
    text = os.environ.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        sys.exit("prefect-ecs-entrypoint: %s is not a number: %r" % (name, text))
    if value < low or value > high:
        sys.exit("prefect-ecs-entrypoint: %s must be %s to %s, not %s" % (name, low, high, text))
    return value


def task_id():
    """The last segment of the task's ARN, or None outside ECS. The endpoint can lag the container's start a moment."""
    base = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not base:
        return None
    for attempt in range(10):
        try:
            with urllib.request.urlopen(base.rstrip("/") + "/task", timeout=5) as answer:
                return json.load(answer)["TaskARN"].rsplit("/", 1)[-1]
        except (OSError, ValueError, KeyError) as error:
            if attempt == 9:
                log("the task metadata endpoint did not answer (%s); the worker keeps its own name" % error)
                return None
            time.sleep(0.5)


def with_worker_name(command, tid):
    """Adds --name <prefix><task id> to a "worker start" that names no worker; anything else is left as it is."""
    prefix = os.environ.get("PREFECT_ECS_WORKER_NAME_PREFIX", "ecs-")
    if not tid or not prefix:
        return command
    words = [c for c in command if not c.startswith("-")]
    is_worker = any(words[i] == "worker" and words[i + 1] == "start" for i in range(len(words) - 1))
    named = any(c in ("--name", "-n") or c.startswith("--name=") for c in command)
    return command + ["--name", prefix + tid] if is_worker and not named else command


def become_subreaper():
    """Flow-run processes whose parent exits are then re-parented to this process, not lost to init (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def descendants(root):
    """The pids below root, from /proc/<pid>/stat's parent ids."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as stat:
                text = stat.read()
            parents[int(entry)] = int(text[text.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    children = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def flow_runs():
    """How many processes below this one run a flow."""
    count = 0
    for pid in descendants(os.getpid()):
        try:
            with open("/proc/%d/environ" % pid, "rb") as environ:
                if any(v.startswith(FLOW_RUN_VARIABLE) for v in environ.read().split(b"\0")):
                    count += 1
        except OSError:
            continue
    return count


def set_protection(enabled, minutes):
    """PUT to the ECS agent's endpoint; True when it answered with the protection as asked."""
    agent = os.environ.get("ECS_AGENT_URI")
    if not agent:
        return False
    body = {"ProtectionEnabled": enabled}
    if enabled:
        body["ExpiresInMinutes"] = minutes
    request = urllib.request.Request(agent.rstrip("/") + "/task-protection/v1/state", data=json.dumps(body).encode("utf-8"),
                                     method="PUT", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:
            reply = json.load(answer)
    except urllib.error.HTTPError as error:
        log("task protection %s refused (%d): %s" % ("on" if enabled else "off", error.code, error.read()[:300].decode("utf-8", "replace")))
        return False
    except (OSError, ValueError) as error:
        log("task protection %s failed: %s" % ("on" if enabled else "off", error))
        return False
    protection = reply.get("protection") if isinstance(reply, dict) else None
    if not isinstance(protection, dict) or protection.get("ProtectionEnabled") is not enabled:
        log("task protection %s not confirmed: %s" % ("on" if enabled else "off", json.dumps(reply)[:300]))
        return False
    log("task protection " + ("on until " + str(protection.get("ExpirationDate")) if enabled else "off"))
    return True


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--":
        argv = argv[1:]
    minutes = int(setting("PREFECT_ECS_PROTECT_MINUTES", 60, 1, 2880))
    grace = setting("PREFECT_ECS_IDLE_GRACE_SECONDS", 60, 0, 86400)
    poll = setting("PREFECT_ECS_POLL_SECONDS", 3, 0.1, 300)
    # Renewed at 80 % of its length by default, so that one refused renewal still leaves time to retry.
    renew = setting("PREFECT_ECS_RENEW_SECONDS", minutes * 60 * 0.8, 1, minutes * 60)
    tid = task_id()
    command = with_worker_name(list(argv), tid)
    protect = tid is not None and bool(os.environ.get("ECS_AGENT_URI"))
    if tid and not protect:
        log("no ECS_AGENT_URI: running without task protection")
    become_subreaper()

    try:
        child = subprocess.Popen(command)
    except OSError as error:
        log("cannot start %s: %s" % (command[0], error))
        return 127
    for name in FORWARDED:
        signal.signal(getattr(signal, name), lambda number, _frame: child.send_signal(number))

    renew_at = None  # when the protection this script set is due for renewal (monotonic seconds)
    idle_since = None
    exit_code = None
    while exit_code is None:
        # Reap whatever ended below (as a subreaper, orphaned flow processes end up here); note the command's end.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if pid == 0:
                break
            if pid == child.pid:
                exit_code = os.waitstatus_to_exitcode(status)
        if exit_code is not None or not protect:
            if not protect and exit_code is None:
                time.sleep(poll)
            continue
        now = time.monotonic()
        if flow_runs() > 0:
            idle_since = None
            if renew_at is None or now >= renew_at:
                if set_protection(True, minutes):
                    renew_at = now + renew
        elif renew_at is not None:
            idle_since = idle_since or now
            if now - idle_since >= grace and set_protection(False, minutes):
                renew_at = None
        time.sleep(poll)

    if protect and renew_at is not None:
        set_protection(False, minutes)
    return exit_code if exit_code >= 0 else 128 - exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
