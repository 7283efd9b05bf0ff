"""A body that is not the API's (a proxy's HTML page answering 200, or 403) may echo the
request, token included: the error line quotes at most a short snippet of it, redacted, and
neither stderr, the JSON logs nor the catalog's `runs` ever hold the token."""
from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner
from werkzeug import Request, Response

from incident_timeline.cli import main
from tests.ingest.fakes import load_fake
from tests.ingest.test_conformance import COUNT, SPACING, START, WHOLE
from tests.support import write_config

OTHER_SECRET = "AKIAIOSFODNN7QWERTYU"     # an AWS key the proxy's page happens to show too


def proxy_page(status: int, pages: list[str]):
    """A corporate proxy's answer, echoing the request's credentials near the top."""
    def answer(request: Request) -> Response:
        echoed = request.headers.get("Authorization", "")
        basic = request.authorization
        user = f"{basic.username}:{basic.password}" if basic and basic.type == "basic" else ""
        html = (f"<html><head><title>Proxy</title></head><body>\n<p>Denied: {echoed} {user}</p>\n"
                f"<p>upstream AWS_ACCESS_KEY_ID={OTHER_SECRET}</p>\n" + "<p>help desk x1234</p>\n" * 40
                + "</body></html>")
        pages.append(html)
        return Response(html, status=status, content_type="text/html; charset=utf-8")
    return answer


def _ingest(config, *extra):
    return CliRunner().invoke(main, ["--config", str(config), "--log-format", "json", "--log-level", "info",
                                     *extra, "ingest", "--since", WHOLE.since.isoformat(),
                                     "--until", WHOLE.until.isoformat()])


@pytest.mark.parametrize("status", [200, 403])
@pytest.mark.parametrize("label", ["slack", "pagerduty", "opsgenie", "servicenow"])
def test_a_proxy_page_echoing_the_token_never_reaches_stderr_logs_or_runs(label, status, httpserver, monkeypatch,
                                                                          sleeps, tmp_path):
    fake = load_fake(label, httpserver)
    for var, value in fake.environment().items():
        monkeypatch.setenv(var, value)
    fake.populate(START, COUNT, SPACING)
    pages: list[str] = []
    fake.fail_next(status, body=proxy_page(status, pages))
    config = write_config(tmp_path, [fake.source_entry()])
    result = _ingest(config)

    assert result.exit_code == 1, result.output
    secrets = fake.secrets() + [OTHER_SECRET]
    # the page really held them (else this test proves nothing)
    assert all(secret in pages[0] for secret in secrets)
    stderr = result.stderr
    runs = duckdb.connect(str(tmp_path / "lake" / "catalog.duckdb"), read_only=True).execute(
        "SELECT status, summary FROM runs").fetchall()
    for secret in secrets:
        assert secret not in result.output and secret not in stderr
        assert not any(secret in summary for _status, summary in runs)
    # the error is one short line naming the source, in the summary, the JSON log and runs
    failed = [line for line in stderr.splitlines() if "FAILED" in line and not line.startswith("{")]
    assert len(failed) == 1 and fake.name in failed[0] and len(failed[0]) < 400, stderr
    logged = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    errors = [entry for entry in logged if entry["level"] == "error"]
    assert errors and all(fake.name in e["message"] and "\n" not in e["message"] for e in errors)
    assert [status for status, _ in runs] == ["failed"]
    (summary,) = [json.loads(s) for _, s in runs]
    assert fake.name in summary[fake.name]["error"]
