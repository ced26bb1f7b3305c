"""A stand-in for `prefect worker start`: writes its arguments to $FAKE_ARGS_FILE, starts one flow-run process after
$FAKE_FLOW_AFTER seconds (a child whose environment carries PREFECT__FLOW_RUN_ID, as a worker's flow-run processes
do) that lives $FAKE_FLOW_SECONDS, then waits. Each signal it gets is appended to $FAKE_SIGNALS_FILE; on SIGTERM
it exits with code 7."""
import json
import os
import signal
import subprocess
import sys
import time

with open(os.environ["FAKE_ARGS_FILE"], "w") as out:
    json.dump(sys.argv[1:], out)


def note(number, _frame):
    with open(os.environ["FAKE_SIGNALS_FILE"], "a") as out:
        out.write(signal.Signals(number).name + "\n")
    if number == signal.SIGTERM:
        sys.exit(7)


for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1"):
    signal.signal(getattr(signal, name), note)

time.sleep(float(os.environ.get("FAKE_FLOW_AFTER", "1")))
env = dict(os.environ, PREFECT__FLOW_RUN_ID="5d7e3c1a-0000-4000-8000-000000000001")
flow = subprocess.Popen([sys.executable, "-c", "import time,sys; time.sleep(float(sys.argv[1]))", os.environ.get("FAKE_FLOW_SECONDS", "5")], env=env)
while True:
    time.sleep(0.2)
    flow.poll()
