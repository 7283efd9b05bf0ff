from normalize.text import adf_to_text, first_line, slack_to_text


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
