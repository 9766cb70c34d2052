"""The README's UI path in a real browser: `pgmerge demo`, `pgmerge ui`, "Materialize all", and what a user then
sees; the history survives a restart of the UI. Times the UI run against the CLI's (printed, see README)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from pgmerge_assets.instance import workdir_instance
from pgmerge_assets.pg.embedded import EMBEDDED_DBNAME, embedded_server_uri, with_dbname

PGMERGE = [sys.executable, "-m", "pgmerge_assets.cli"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# as the machine notes say: without the networking flags Chromium keeps trying hosts a closed network refuses
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (uv sync installs the dev group)"),
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium; .ci/run does)"),
]


def pgmerge(*args: str, timeout: float = 600) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    done = subprocess.run([*PGMERGE, *args], capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, f"pgmerge {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def browser_page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        # Dagster greets a new instance with a "Join the community" dialog over whatever page is open
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda button: button.click())
        try:
            yield page
        finally:
            browser.close()


def run_seconds(workdir: Path, target: str) -> dict[str, float]:
    """Each recorded run's duration by job name, from the workdir's Dagster home."""
    with workdir_instance(workdir, target) as instance:
        records = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
        return {r.dagster_run.job_name: r.end_time - r.start_time for r in records}


@pytest.fixture
def workdir():
    """Outside pytest's temporary tree: a pytest session starting meanwhile makes that tree private again
    (mode 0700), and the embedded server, run as its own user when root, would lose its data directory."""
    path = Path(tempfile.mkdtemp(prefix="pgmerge-ui-test-"))
    path.chmod(0o755)
    yield path / "demo"
    shutil.rmtree(path, ignore_errors=True)


def test_materialize_all_in_the_ui(workdir, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    shots = tmp_path / "shots"
    started = time.monotonic()
    pgmerge("demo", "--workdir", str(workdir))
    cli_wall = time.monotonic() - started
    target = with_dbname(embedded_server_uri(workdir), EMBEDDED_DBNAME)
    pgmerge("undo", "--target-dsn", target)  # so that the UI's run publishes the demo's rows again
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        pgmerge("ui", "--workdir", str(workdir), "--port", str(port))
        with browser_page() as page:
            page.goto(f"{url}/asset-groups")
            page.get_by_role("button", name="Materialize all").click(timeout=120_000)
            clicked = time.monotonic()
            expect(page.get_by_text("Launched run")).to_be_visible(timeout=60_000)
            page.get_by_role("link", name="View").or_(page.get_by_role("button", name="View")).first.click()
            page.wait_for_url("**/runs/*")
            run_id = page.url.rsplit("/", 1)[-1]
            expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=900_000)
            ui_wall = time.monotonic() - clicked
            page.screenshot(path=str(shots / "run.png"))

            page.goto(f"{url}/assets/integrity_report")
            page.get_by_text("[Show Markdown]").first.click(timeout=60_000)
            expect(page.get_by_text("pgmerge integrity report: LOSSLESS")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(shots / "report.png"))

            page.goto(f"{url}/assets/merged/datasource_event")
            expect(page.get_by_text("Upstream assets")).to_be_visible(timeout=60_000)
            for upstream in ("id_map/datasource", "id_map/datasource_event"):  # its maps, listed as lineage
                expect(page.locator(f'a[href="/assets/{upstream}"]').first).to_contain_text(upstream.replace("/", " / "))
            page.screenshot(path=str(shots / "datasource_event.png"), full_page=True)

        pgmerge("stop", "--workdir", str(workdir))
        pgmerge("ui", "--workdir", str(workdir), "--port", str(port))
        with browser_page() as page:  # a new UI process: the run and the materializations are still there
            page.goto(f"{url}/runs")
            expect(page.get_by_role("link", name=run_id[:8]).first).to_be_visible(timeout=120_000)
            page.goto(f"{url}/assets/published")
            expect(page.get_by_text("Latest materialization")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("Never materialized")).to_have_count(0)
            page.screenshot(path=str(shots / "after_restart.png"), full_page=True)
        runs = run_seconds(workdir, target)
    finally:
        subprocess.run([*PGMERGE, "stop", "--workdir", str(workdir)], capture_output=True)
    print(f"\npgmerge demo (generate, dump, merge): {cli_wall:.1f} s wall, its run {runs['merge']:.1f} s;"
          f" UI Materialize all: {ui_wall:.1f} s from the click to Success, its run {runs['__ASSET_JOB']:.1f} s;"
          f" screenshots in {shots}")
