"""Sensor `new_dump2`: launch `merge` for each new dump #2 dropped into a watched folder. Stopped until a user
switches it on; the run key is the file's content hash, so a dump (renamed or copied too) is merged once."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

WATCH_DIR_ENV = "PGMERGE_WATCH_DIR"
SETTLE_SECONDS = 10  # a file modified more recently may still be being written


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def dump_sensor(name: str, job_name: str, folder: Path, run_config: Callable[[str], dict]) -> dg.SensorDefinition:
    """`run_config(path)`: the job's config with `path` as dump #2 (each merge graph names its own resources)."""

    @dg.sensor(name=name, job_name=job_name, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.STOPPED,
               description=f"Merges each new file in {folder} as dump #2; one run per distinct content. "
                           "Write dumps elsewhere and move them in.")
    def new_dump2(context: dg.SensorEvaluationContext):
        if not folder.is_dir():
            return dg.SkipReason(f"{folder} does not exist")
        known = json.loads(context.cursor or "{}")  # path → [mtime_ns, size, sha256]: unchanged files are not re-read
        seen, requests = {}, []
        for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
            stat = path.stat()
            if time.time() - stat.st_mtime < SETTLE_SECONDS:
                continue
            stamp = [stat.st_mtime_ns, stat.st_size]
            entry = known.get(str(path))
            digest = entry[2] if entry and entry[:2] == stamp else content_hash(path)
            seen[str(path)] = [*stamp, digest]
            requests.append(dg.RunRequest(
                run_key=digest, tags={"pgmerge/dump2": path.name},
                run_config=run_config(str(path.resolve()))))
        context.update_cursor(json.dumps(seen))
        return requests or dg.SkipReason(f"no settled file in {folder}")

    return new_dump2
