import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incident_timeline.normalize.text import adf_to_text, first_line, html_to_text, servicenow_to_text, slack_to_text


def test_slack_mrkdwn_to_plain_text():
    names = {"U1": "Alice Chen"}.get
    text = ("<@U1> <@U2|bob> in <#C0INC4213|inc-4213>: <https://x.example/d|dashboard> "
            "<mailto:a@b.example|a@b.example> <!here> 5xx &gt; 5% &amp; rising &lt;3")
    assert slack_to_text(text, names) == ("@Alice Chen @bob in #inc-4213: dashboard (https://x.example/d) "
                                          "a@b.example (mailto:a@b.example) @here 5xx > 5% & rising <3")
    assert slack_to_text("<@U9>", names) == "@U9"      # unknown user: the id, never dropped
    assert slack_to_text(None) == ""


def test_jira_adf_to_text():
    doc = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "content": [{"type": "text", "text": "Root cause"}]},
        {"type": "paragraph", "content": [
            {"type": "mention", "attrs": {"id": "5b10", "text": "@Bob Martin"}},
            {"type": "text", "text": " see "},
            {"type": "text", "text": "runbook", "marks": [{"type": "link", "attrs": {"href": "https://w.example/r"}}]},
            {"type": "hardBreak"}, {"type": "text", "text": "second line"}]},
        {"type": "bulletList", "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}]},
        {"type": "codeBlock", "content": [{"type": "text", "text": "kubectl rollout undo"}]}]}
    text = adf_to_text(doc)
    assert text.startswith("Root cause\n@Bob Martin see runbook (https://w.example/r)\nsecond line\n")
    assert "- one" in text and "- two" in text and text.endswith("kubectl rollout undo")
    assert adf_to_text("v2 plain body") == "v2 plain body"
    assert adf_to_text(None) == ""


def test_first_line_is_cut_with_an_ellipsis():
    assert first_line("  first \nsecond") == "first"
    assert first_line("x" * 200) == "x" * 139 + "…"


@pytest.mark.parametrize("value, text", [
    ("[code]<p>one</p><p>two<br>three</p>[/code]", "one\n\ntwo\nthree"),
    ("[code]a &amp;lt;b&amp;gt; &#8594; &eacute;[/code]", "a &lt;b&gt; → é"),      # unescaped once, not twice
    ("[code]<a href='https://x.example/a?b=1&amp;c=2'>docs</a>[/code]", "docs (https://x.example/a?b=1&c=2)"),
    ("[code]<a href=\"https://x.example\">https://x.example</a>[/code]", "https://x.example"),
    ("[code]<img src=x onerror=alert(1)><script>steal()</script><style>p{}</style>ok[/code]", "ok"),
    ("Called the DBA [code]<b>restored</b> from backup[/code] at 10:40",
     "Called the DBA restored from backup at 10:40"),
    ("[CODE]<i>upper case tag</i>[/CODE]", "upper case tag"),
    ("[code]<p>never closed", "never closed"),
    ("no code here: <b>kept</b> &amp; as written", "no code here: <b>kept</b> &amp; as written"),
])
def test_servicenow_code_blocks_are_html_made_text(value, text):
    assert servicenow_to_text(value) == text


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(list("<>/&;#'\"= abp[]code\n") + ["<br>", "<a href=", "</a>", "&amp;"]),
                max_size=30).map("".join))
def test_html_to_text_takes_any_markup(markup):
    out = html_to_text(markup)
    assert isinstance(out, str) and out == out.strip()
