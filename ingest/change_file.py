"""A change log that a CI system without an API writes: CSV or JSON lines, one change a row.

    - name: deploys
      type: change_file
      path: ci/deploys.csv             # a file or a glob
      timezone: UTC                    # for naive times
      fields: {ts: finished_at, kind: event, service: app, version: tag, commit: sha,
               environment: env, author: user, id: run_id}
      kind: deployed                   # the kind of a row that names none (default: deployed)

Read exactly as a `file` source (rows verbatim, an unreadable line kept as an `unreadable`
record); normalize makes each row a change.* event (normalize/mappings/change_file.py).
"""
from __future__ import annotations

from .file import FileConnector

FIELD_NAMES = ("ts", "kind", "status", "service", "version", "commit", "environment", "author", "id",
               "title", "text", "url")


class ChangeFileConnector(FileConnector):
    type = "change_file"
    optional_keys = ("fields", "format", "time_format", "kind", "service", "environment")
    field_names = FIELD_NAMES
