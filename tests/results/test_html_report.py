"""The interactive report.html: self-contained (no network), its data, and (slow) it renders in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from archsweep.results import store
from archsweep.results.html_report import report_data
from archsweep.results.report import write_report


def _report(tmp_path, collected_db):
    study, db = collected_db
    out = tmp_path / "report" / "report.md"
    written = write_report(study, db, out)
    return study, db, out.with_name("report.html"), written


def test_report_html_is_written_self_contained_with_the_front(tmp_path, collected_db) -> None:
    study, db, page, written = _report(tmp_path, collected_db)
    assert page in written and page.exists()
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched from the network
    data = json.loads(re.search(r'<script type="application/json" id="archsweep-data">(.*?)</script>', text, re.DOTALL)
                      .group(1).replace("<\\/", "</"))
    con = store.connect(db, read_only=True)
    fronts = con.execute("SELECT count(*) FROM pareto WHERE rank = 0").fetchone()[0]
    feasible = con.execute("SELECT count(*) FROM evaluations WHERE feasible").fetchone()[0]
    assert sum(data["rows"]["front"]) == fronts
    assert len(data["rows"]["candidate_id"]) == feasible  # fewer than the background cap: every feasible row
    assert data == report_data(study, con)
    assert "compute_time_s" in data["parts"] and data["objectives"][0]["column"] == study.objectives[0].column


@pytest.mark.slow
def test_report_html_renders_its_plots_in_headless_chromium_without_console_errors(tmp_path, collected_db) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (Debian package `chromium`: apt-get install chromium)")
    _, _, page, _ = _report(tmp_path, collected_db)
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    dom = run.stdout
    assert 'data-rendered="yes"' in dom
    assert dom.count("<circle") >= 10          # the Pareto scatter
    assert dom.count('class="pc-line"') >= 1   # parallel coordinates of the front
    assert dom.count('class="bar"') >= 1       # breakdown bars
