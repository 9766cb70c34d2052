"""The Dagster UI on a work directory's target, dumps and history, started in the background and recorded
in `workdir/ui.json` so that `pgmerge stop` finds it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from pgmerge_assets.assets.resources import (
    DUMP1_ENV,
    DUMP2_ENV,
    SPEC_ENV,
    TARGET_DSN_ENV,
    WORKDIR_ENV,
    embedded_target,
)
from pgmerge_assets.instance import dagster_home, password_env

RECORD = "ui.json"
LOG = "ui.log"
# the demo's files: the Launchpad's defaults for dump #1 and dump #2 when the environment names none
DEMO_DUMPS = {DUMP1_ENV: "dump1.dump", DUMP2_ENV: "dump2.sql"}


class UiError(RuntimeError):
    """The UI did not start; the message says why and where its log is."""


@dataclass
class RunningUi:
    pid: int
    url: str
    log: Path


def running_ui(workdir: str | os.PathLike) -> RunningUi | None:
    """The UI recorded under `workdir`, if its process still runs (a stale record is ignored)."""
    record = Path(workdir).resolve() / RECORD
    if not record.exists():
        return None
    data = json.loads(record.read_text())
    try:
        cmdline = Path(f"/proc/{data['pid']}/cmdline").read_bytes()
    except OSError:
        return None
    if b"dagster" not in cmdline:  # the pid was reused by something else since
        return None
    return RunningUi(data["pid"], data["url"], Path(data["log"]))


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def ui_environment(workdir: Path, target_dsn: str | None, spec: str | None) -> dict[str, str]:
    """The UI's environment: this workdir's target (its embedded server unless a DSN is given) and Dagster
    home (unless $DAGSTER_HOME names one), and the demo's dumps as the Launchpad's defaults."""
    server = target_dsn or embedded_target(str(workdir))
    env = dict(os.environ, **{WORKDIR_ENV: str(workdir)}, **password_env(server))
    env["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME") or str(dagster_home(workdir, server))
    if target_dsn:
        env[TARGET_DSN_ENV] = target_dsn
    for name, file in DEMO_DUMPS.items():
        if not env.get(name) and (workdir / file).is_file():
            env[name] = str(workdir / file)
    if spec:
        env[SPEC_ENV] = str(Path(spec).resolve())
    return env


def start_ui(workdir: str | os.PathLike, port: int, target_dsn: str | None = None, spec: str | None = None,
             timeout: float = 180) -> RunningUi:
    """`dagster dev` in its own session (so stop ends the webserver, daemon and code server together);
    returns once the webserver answers."""
    workdir = Path(workdir).resolve()
    env = ui_environment(workdir, target_dsn, spec)
    workspace = workdir / "workspace.yaml"  # the location named as in the checkout's workspace.yaml
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": {
        "module_name": "pgmerge_assets.definitions", "location_name": "pgmerge_assets"}}]}))
    log = workdir / LOG
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "dagster", "dev", "-w", str(workspace),
                                    "-h", "127.0.0.1", "-p", str(port)],
                                   env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    (workdir / RECORD).write_text(json.dumps({"pid": process.pid, "url": url, "log": str(log)}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UiError(f"the UI exited with code {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return RunningUi(process.pid, url, log)
        except OSError:
            time.sleep(0.5)
    stop_ui(workdir)
    raise UiError(f"the UI did not answer at {url} within {timeout:g} s; see {log}")


def stop_ui(workdir: str | os.PathLike) -> bool:
    """Stop the recorded UI's whole process group: SIGTERM, then SIGKILL after 30 s. False if none ran."""
    record = Path(workdir).resolve() / RECORD
    ui = running_ui(workdir)
    record.unlink(missing_ok=True)
    if ui is None:
        return False
    os.killpg(ui.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(ui.pid, 0)
        except ProcessLookupError:
            return True
        try:
            os.waitpid(ui.pid, os.WNOHANG)  # our own child (tests): reap it so the group can vanish
        except ChildProcessError:
            pass
        time.sleep(0.2)
    os.killpg(ui.pid, signal.SIGKILL)
    return True
