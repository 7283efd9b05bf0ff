import json
import shutil
import stat
import struct
import zipfile

import pytest

from incident_timeline.ingest.base import SourceSettings, Window
from incident_timeline.ingest.slack_export import SlackExportConnector
from tests.ingest.lakeview import ingest, lake_table
from tests.support import FIXTURES, write_config


def _records(path, **options):
    conn = SlackExportConnector(SourceSettings("slack", "slack_export", {"path": str(path), **options}))
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


def _zip_of_fixture(path, extra=(), exclude=()):
    """The demo export zipped, plus `extra` members: (ZipInfo or name, bytes)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted((FIXTURES / "slack-export").rglob("*.json")):
            name = file.relative_to(FIXTURES / "slack-export").as_posix()
            if name not in exclude:
                zf.write(file, name)
        for info, data in extra:
            zf.writestr(info, data)
    return path


def _skipped(records):
    return {r.native_id: r.payload["error"] for r in records if r.stream == "unreadable"}


def _ingest(tmp_path, entry):
    tmp_path.mkdir(exist_ok=True)
    result = ingest(tmp_path, [entry])
    assert result.exit_code == 0, result.output
    return lake_table(tmp_path, "events"), lake_table(tmp_path, "rejects")


CLEAN = 16   # messages in the demo export


@pytest.mark.parametrize("member", ["../evil.json", "/etc/passwd", "a/../../b.json", "C:/x.json",
                                    "inc-4213-checkout/../../2026-10-15.json"])
def test_an_unsafe_member_is_skipped_and_rejected_and_the_rest_read(tmp_path, member):
    path = _zip_of_fixture(tmp_path / "export.zip", [(member, json.dumps([{"type": "message", "ts": "1.0"}]))])
    records = _records(path)
    assert _skipped(records) == {member: "unsafe path in the export zip (absolute or with ..): skipped, never read"}
    assert sum(r.stream == "messages" for r in records) == CLEAN
    events, rejects = _ingest(tmp_path / "run", {"name": "archive", "type": "slack_export", "path": str(path)})
    assert events.num_rows == CLEAN
    [reject] = rejects.to_pylist()
    assert (reject["source"], reject["native_id"], reject["field"]) == ("archive", member, "member")
    assert reject["reason"].startswith(f"{member}: unsafe path")
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "b.json").exists()


def test_a_symlink_member_is_not_followed(tmp_path):
    link = zipfile.ZipInfo("random/2026-10-15.json")
    link.create_system = 3                                  # unix: the mode lives in external_attr
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = _zip_of_fixture(tmp_path / "export.zip", [(link, "/etc/passwd")])
    records = _records(path)
    assert _skipped(records) == {"random/2026-10-15.json": "a symbolic link in the export zip: not followed"}
    assert sum(r.stream == "messages" for r in records) == CLEAN


def _day(n: int, size: int = 0) -> bytes:
    pad = "x" * size
    return json.dumps([{"type": "message", "user": "U01ANAOPS", "ts": f"17919{n:05d}.000100", "text": f"m{n} {pad}"}
                       ]).encode()


def test_a_member_over_the_size_cap_is_rejected_by_its_header(tmp_path):
    path = _zip_of_fixture(tmp_path / "export.zip", [("random/2026-10-15.json", _day(1, 40_000))])
    records = _records(path, max_member_mb=0.02)             # 20 KB; the demo's files are smaller
    [(member, why)] = _skipped(records).items()
    assert member == "random/2026-10-15.json"
    assert why.startswith("40") and "over the 0.02 MB cap (max_member_mb): not read" in why
    assert sum(r.stream == "messages" for r in records) == CLEAN


def test_a_member_whose_header_lies_about_its_size_is_rejected(tmp_path):
    big = _day(2, 300_000)                                   # compresses to ~1 KB
    path = _zip_of_fixture(tmp_path / "export.zip", [("random/2026-10-15.json", big)])
    _lie_about_size(path, "random/2026-10-15.json", 200)
    records = _records(path, max_member_mb=0.05)
    [(member, why)] = _skipped(records).items()
    # zipfile reads no further than the header says, then the CRC tells the member is damaged
    assert member == "random/2026-10-15.json" and why.startswith("damaged or unreadable: BadZipFile: Bad CRC-32"), why
    assert sum(r.stream == "messages" for r in records) == CLEAN


def _lie_about_size(path, member, size):
    """Rewrite the member's uncompressed size in its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)       # local header
    eocd = data.rfind(b"PK\x05\x06")
    count, _size, at = struct.unpack_from("<HII", data, eocd + 10)
    for _ in range(count):                                             # central directory
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        if data[at + 46:at + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, at + 24, size)
        at += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo(member).file_size == size


def test_a_member_that_is_not_json_is_rejected_and_the_rest_read(tmp_path):
    path = _zip_of_fixture(tmp_path / "export.zip", [("random/2026-10-15.json", b'[{"ts": "1791999999.0001", "te'),
                                                    ("alerts/2026-10-15.json", b'{"not": "a list"}')])
    records = _records(path)
    assert _skipped(records) == {"random/2026-10-15.json": "not valid JSON: Unterminated string starting at",
                                 "alerts/2026-10-15.json": "not a JSON array of messages"}
    assert sum(r.stream == "messages" for r in records) == CLEAN


def test_a_folder_export_never_follows_a_symlink_outside(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(FIXTURES / "slack-export", export)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2026-10-15.json").write_bytes(_day(3))
    (export / "random" / "2026-10-15.json").symlink_to(outside / "2026-10-15.json")
    (export / "alerts" / "more").symlink_to(outside, target_is_directory=True)
    (export / "inc-4213-checkout" / "2026-10-16.json").symlink_to(export / "random" / "2026-10-13.json")  # inside
    records = _records(export)
    assert _skipped(records) == {"random/2026-10-15.json": "a symbolic link to outside the export: not followed",
                                 "alerts/more": "a symbolic link to outside the export: not followed"}
    messages = [r for r in records if r.stream == "messages"]
    assert not any(r.payload.get("text", "").startswith("m3") for r in messages)
    random_day = json.loads((FIXTURES / "slack-export" / "random" / "2026-10-13.json").read_text())
    assert len(messages) == CLEAN + len(random_day)          # the link inside the export is read


def test_max_member_mb_is_checked_when_the_config_loads(tmp_path):
    from incident_timeline.config import ConfigInvalid, load_config
    with pytest.raises(ConfigInvalid, match="max_member_mb must be a positive number"):
        load_config(write_config(tmp_path, [{"name": "a", "type": "slack_export", "path": ".",
                                             "max_member_mb": "lots"}]))


def test_window_is_half_open_on_message_ts():
    conn = SlackExportConnector(SourceSettings("slack", "slack_export", {"path": str(FIXTURES / "slack-export")}))
    from incident_timeline.ingest.timefilter import epoch_time
    since = epoch_time("1792000000")      # 2026-10-14T17:46:40Z: after the demo
    got = [r for p in conn.partitions() for r in conn.fetch(p, Window(since=since)) if r.stream == "messages"]
    assert got == []
    until = epoch_time("1791986534.000200")  # exactly the first #alerts post: excluded
    early = [r for p in conn.partitions() for r in conn.fetch(p, Window(until=until)) if r.stream == "messages"]
    assert all(epoch_time(r.payload["ts"]) < until for r in early)
    assert "C05ALRT7Q2:1791986534.000200" not in {r.native_id for r in early}


def test_a_file_that_is_not_a_zip_fails_only_that_source(tmp_path):
    (tmp_path / "export.zip").write_bytes(b"<html>Sign in to Slack</html>")   # a login page saved as the export
    result = ingest(tmp_path, [{"name": "archive", "type": "slack_export", "path": str(tmp_path / "export.zip")}])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "source archive: export.zip is not a readable zip: File is not a zip file" in result.output
