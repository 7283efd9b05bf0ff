"""The one redactor: snippets of response bodies, known credentials, and redaction that can
be applied twice (correlate redacts the catalog, export redacts again)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.contract.secrets import SNIPPET_CHARS, redact, redact_json, redact_value, scrub, snippet

TOKEN = "xoxb-1111-2222-FAKEslackTOKEN"


def test_a_snippet_is_one_short_line_without_the_secrets():
    page = ("<html>\n<head><title>Proxy login</title></head>\r\n<body>session for "
            f"Authorization: Bearer {TOKEN}; key AKIAIOSFODNN7QWERTYU\n" + "x" * 500 + "</body></html>")
    text = snippet(page)
    assert "\n" not in text and "\r" not in text and len(text) <= SNIPPET_CHARS
    assert TOKEN not in text and "AKIAIOSFODNN7QWERTYU" not in text
    assert text.startswith("<html> <head><title>Proxy login</title>")


def test_a_known_credential_is_replaced_whatever_its_shape():
    # an Opsgenie key has no recognisable shape: only knowing it finds it
    key = "3b1f0d2e-9c8a-4b7d-a6e5-f4c3b2a10987"
    assert scrub(f"GenieKey {key} is not valid", [key]) == "GenieKey [REDACTED secret] is not valid"
    assert key not in snippet(f"bad key {key}", [key])


def test_the_cut_comes_after_redaction():
    # the token straddles the limit: cut first, its first half would survive
    body = "a" * (SNIPPET_CHARS - 10) + " " + TOKEN
    assert "xoxb-1111" not in snippet(body, [TOKEN])
    assert "xoxb-1111" not in snippet(body)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["password=", "token: ", "xoxb-", "Bearer ", "AKIA", " ", "a1", "Zz9_",
                                 "-----BEGIN RSA PRIVATE KEY-----", "…", "https://u:", "@h"]), max_size=12))
def test_redacting_twice_changes_nothing_more(parts):
    once = redact("".join(parts))
    assert redact(once) == once


_json = st.recursive(st.none() | st.integers() | st.text(max_size=8)
                     | st.sampled_from(["password=hunter2", "xoxb-1111-2222-FAKEslackTOKEN", 'say "hi" \\ ok']),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abxyz", max_size=5), inner, max_size=3),
                     max_leaves=12)


@settings(max_examples=50, deadline=None)
@given(_json)
def test_redact_json_redacts_every_string_and_stays_json(value):
    out = json.loads(redact_json(json.dumps(value, ensure_ascii=False)))
    assert out == redact_value(value)
    assert "hunter2" not in json.dumps(out) and TOKEN not in json.dumps(out)


def test_redact_json_takes_any_depth():
    deep = "[" * 5000 + f'"{TOKEN}"' + "]" * 5000
    assert redact_json(deep) == "[" * 5000 + '"[REDACTED slack-token]"' + "]" * 5000
