import shutil
import zipfile

import pytest

from ingest.base import SourceSettings, Window
from ingest.errors import SourceError
from ingest.slack_export import SlackExportConnector
from tests.support import FIXTURES


def _records(path):
    conn = SlackExportConnector(SourceSettings("slack", "slack_export", {"path": str(path)}))
    try:
        return [r for p in conn.partitions() for r in conn.fetch(p, Window())]
    finally:
        conn.close()


def test_zip_and_folder_give_the_same_records(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "export"), "zip", FIXTURES / "slack-export")
    from_folder = _records(FIXTURES / "slack-export")
    from_zip = _records(archive)
    assert [(r.stream, r.native_id) for r in from_zip] == [(r.stream, r.native_id) for r in from_folder]
    assert sum(r.stream == "messages" for r in from_zip) == 16


@pytest.mark.parametrize("member", ["../evil.json", "/etc/passwd", "a/../../b.json", "C:/x.json"])
def test_unsafe_zip_members_are_refused(tmp_path, member):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("channels.json", "[]")
        zf.writestr(member, "[]")
    with pytest.raises(SourceError, match="unsafe member"):
        _records(path)


def test_window_is_half_open_on_message_ts():
    conn = SlackExportConnector(SourceSettings("slack", "slack_export", {"path": str(FIXTURES / "slack-export")}))
    from ingest.timefilter import epoch_time
    since = epoch_time("1792000000")      # 2026-10-14T17:46:40Z: after the demo
    got = [r for p in conn.partitions() for r in conn.fetch(p, Window(since=since)) if r.stream == "messages"]
    assert got == []
    until = epoch_time("1791986534.000200")  # exactly the first #alerts post: excluded
    early = [r for p in conn.partitions() for r in conn.fetch(p, Window(until=until)) if r.stream == "messages"]
    assert all(epoch_time(r.payload["ts"]) < until for r in early)
    assert "C05ALRT7Q2:1791986534.000200" not in {r.native_id for r in early}
