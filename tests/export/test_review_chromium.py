"""The HTML review in headless Chromium with JavaScript turned off: the charts and the numbers
beside them are on the page, nothing is fetched from anywhere, hostile titles stay text. A
screenshot is saved for a person to look at (EXPORT_SCREENSHOT_DIR=DIR keeps it)."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.export import review_expect as expect
from tests.export.review_cases import AS_OF, Q3, SPECS
from tests.export.review_lakes import build_lake, write_config_file
from tests.export.test_chromium import BROWSER
from tests.support import cli

pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed (apt-get install -y chromium); "
                                                       ".ci/run installs it")
NO_SCRIPT = {"profile": {"default_content_setting_values": {"javascript": 2}}}   # 2: blocked


def chromium(tmp_path: Path, page: Path, *action: str, net_log: Path | None = None) -> str:
    """Headless Chromium with JavaScript blocked for every page (its profile's content setting)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(NO_SCRIPT), encoding="utf-8")
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--hide-scrollbars", *action]
    if net_log is not None:
        cmd.append(f"--log-net-log={net_log}")
    done = subprocess.run([*cmd, page.resolve().as_uri()], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def page_requests(net_log: Path) -> list[str]:
    """URLs the page itself asked for (the browser's own background calls are not the page's:
    they are keyed to no file:// document)."""
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and "file://" in e["params"].get("network_isolation_key", "")]


@pytest.fixture(scope="module")
def review_page(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("review-html")
    config = write_config_file(build_lake(tmp, SPECS), tmp)
    out = tmp / "out"
    result = cli(config, "review", "--period", "2026-Q3", "--as-of", AS_OF.isoformat(), "--format", "html,json",
                 "--out", str(out))
    assert result.exit_code == 0, result.output
    return out / "review.html"


def test_this_profile_blocks_scripts_and_the_net_log_sees_fetches(tmp_path):
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><title>before</title><link rel=stylesheet href='http://fetch.invalid/x.css'>"
                       "<body><script>document.title='RAN'</script></body>", encoding="utf-8")
    log = tmp_path / "control-net.json"
    out = chromium(tmp_path, control, "--dump-dom", net_log=log)
    assert "<title>before</title>" in out                     # the script did not run
    assert page_requests(log) == ["http://fetch.invalid/x.css"]


def test_the_review_reads_without_script_and_fetches_nothing(review_page, tmp_path):
    log = tmp_path / "net.json"
    dom = chromium(tmp_path, review_page, "--dump-dom", net_log=log)
    assert page_requests(log) == []
    assert "<title>Incident review 2026-Q3</title>" in dom
    pairs = re.findall(r'<div class="pair">(.*?)</table>', dom, flags=re.S)
    assert len(pairs) >= 9
    for pair in pairs:
        assert "<svg" in pair and "<rect" in pair or "Nothing to show" in pair or "No alert fired" in pair
        assert '<table class="numbers"' in pair
    # the numbers beside the first picture: incidents per month by severity, as the lake holds them
    table = re.search(r'<table class="numbers" id="by-severity">(.*?)</table>', dom, flags=re.S).group(1)
    rows = {m: [int(n) for n in re.findall(r"<td>(\d+)</td>", row)]
            for m, row in re.findall(r"<tr><th>(2026-\d\d)</th>(.*?)</tr>", table)}
    counts = expect.by_month_severity(SPECS, *Q3)
    severities = ["SEV1", "SEV2", "SEV3", "SEV4"]
    assert rows == {m: [counts[(m, s)] for s in severities] + [sum(counts[(m, s)] for s in severities)]
                    for m in ("2026-07", "2026-08", "2026-09")}
    # hostile title and service: shown as text, never as markup
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert "PWNED" not in re.search(r"<title>(.*?)</title>", dom).group(1)
    assert "<svg onload" not in dom and "&lt;svg onload=alert(1)&gt;" in dom


def test_screenshot_of_the_review(review_page, tmp_path):
    shot = Path(os.environ.get("EXPORT_SCREENSHOT_DIR", tmp_path)) / "review.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    chromium(tmp_path, review_page, "--window-size=1200,2600", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 40_000
    print(f"screenshot: {shot}")
