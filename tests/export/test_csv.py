"""timeline.csv read back as a spreadsheet reads it: one record per timeline row whatever
line breaks a cell holds, and no cell that would run as a formula."""
from __future__ import annotations

import csv
import io

from incident_timeline.export.filters import FORMULA_START
from incident_timeline.export.render import render_csv

NASTY = ["\r=HYPERLINK(\"http://evil.example\",\"x\")", "\n=1+1", "\t=1+1", "  =1+1", "\r\n@SUM(A1)",
         "\rplain text after a CR", "a\rb", "line one\nline two", "\u00a0-2+3", "ok"]


def spreadsheet_records(text: str) -> list[list[str]]:
    """Records as Excel and LibreOffice split them: a CR, an LF or a CRLF outside quotes
    ends the record (Python's csv reader is kinder to a bare CR than they are)."""
    records, record, cell, quoted, i = [], [], "", False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                cell, i = cell + '"', i + 1
            elif ch == '"':
                quoted = False
            else:
                cell += ch
        elif ch == '"' and cell == "":
            quoted = True
        elif ch == ",":
            record, cell = record + [cell], ""
        elif ch in "\r\n":
            if ch == "\r" and text[i + 1:i + 2] == "\n":
                i += 1
            records.append(record + [cell])
            record, cell = [], ""
        else:
            cell += ch
        i += 1
    if cell or record:
        records.append(record + [cell])
    return records


def _nasty_report(report):
    rows = report["timeline"]
    nasty = [{**rows[i % len(rows)], "title": text, "body": text, "actor": text}
             for i, text in enumerate(NASTY)]
    return {**report, "timeline": nasty}


def test_cells_with_line_breaks_stay_in_their_row(demo_build):
    text = render_csv(_nasty_report(demo_build["report"]))
    records = spreadsheet_records(text)
    assert len(records) == 1 + len(NASTY)
    assert {len(r) for r in records} == {len(records[0])}
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(parsed) == len(NASTY)
    assert [r["title"].removeprefix("'") for r in parsed] == NASTY   # the text itself survives


def test_no_cell_runs_as_a_formula_even_behind_a_line_break_or_space(demo_build):
    records = spreadsheet_records(render_csv(_nasty_report(demo_build["report"]), display_tz="Europe/Berlin"))
    for record in records[1:]:
        for cell in record:
            # a spreadsheet skips leading blanks and breaks before it looks for a formula
            assert cell.startswith("'") or not cell.lstrip()[:1] in FORMULA_START, repr(cell)
    guarded = {r[records[0].index("title")] for r in records[1:]}
    assert "'\t=1+1" in guarded and "'  =1+1" in guarded and "'\n=1+1" in guarded
    assert "ok" in guarded and "a\rb" in guarded       # ordinary text is left alone
