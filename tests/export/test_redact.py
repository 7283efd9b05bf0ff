"""Each secret shape people paste into chat and tickets, and ordinary text that must survive."""
from __future__ import annotations

import pytest

from incident_timeline.contract.secrets import redact, redact_value

# (text as pasted, the secret that must disappear, the label that must appear)
SECRETS = [
    ("bot token xoxb-2233445566-7788990011223-AbCdEfGhIjKlMnOpQrStUvWx ok",
     "xoxb-2233445566-7788990011223-AbCdEfGhIjKlMnOpQrStUvWx", "slack-token"),
    ("user token xoxp-2233445566-7788990011-1122334455-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
     "xoxp-2233445566-7788990011-1122334455-0a1b2c3d4e5f60718293a4b5c6d7e8f9", "slack-token"),
    ("refresh xoxe.xoxp-1-Mi0yLTIyMzM0NDU1NjYtNzc4ODk5MDAxMS0xMTIy",
     "Mi0yLTIyMzM0NDU1NjYtNzc4ODk5MDAxMS0xMTIy", "slack-token"),
    ("socket mode xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
     "A0123456789-1234567890123", "slack-app-token"),
    ("posting to https://hooks.slack.com/services/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 now",
     "q3Zr8XyA1bC2dE3fG4hI5jK6", "slack-webhook"),
    ("GITHUB_TOKEN is ghp_R2d2C3p0Luke5kyw4lkerHan50loCh3wbacca", "ghp_R2d2C3p0Luke5kyw4lkerHan50loCh3wbacca",
     "github-token"),
    ("fine-grained github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXy",
     "github_pat_11ABCDEFG0aBcDeFgHiJkL", "github-token"),
    ("AWS_ACCESS_KEY_ID: AKIAIOSFODNN7QWERTYU", "AKIAIOSFODNN7QWERTYU", "aws-access-key"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY", "aws-secret"),
    ("curl -H 'Authorization: Token token=y_NbAkKc66ryYTWUXYEu' https://api.pagerduty.com/incidents",
     "y_NbAkKc66ryYTWUXYEu", "pagerduty-token"),
    ('"routing_key": "a1b2c3d4e5f60718293a4b5c6d7e8f90"', "a1b2c3d4e5f60718293a4b5c6d7e8f90", "pagerduty-key"),
    ("jira token ATATT3xFfGF0T7Q2aLm9X_k1pZ8rVbN4wE6yH2jU5iO0sD3fG7hJ9kL1zX4cV6bN8mQ2wE5rT7yU9iO1=AB12CD34",
     "ATATT3xFfGF0T7Q2aLm9X_k1pZ8rVbN4wE6yH2jU5iO0", "jira-token"),
    ("Authorization: Bearer 8f2a9c7e1b4d6f3a0c5e7b9d2f4a6c8e", "8f2a9c7e1b4d6f3a0c5e7b9d2f4a6c8e", "bearer"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
     "eyJzdWIiOiJib2IifQ", "jwt"),
    ("Authorization: Basic YWxpY2U6czNjcjN0LXBhc3N3b3Jk", "YWxpY2U6czNjcjN0LXBhc3N3b3Jk", "basic-auth"),
    ("DATABASE_URL=postgres://checkout:Sup3rS3cret@db.internal:5432/checkout", "Sup3rS3cret", "url-password"),
    ("try with password=hunter2 on the replica", "hunter2", "password"),
    ("PGPASSWORD='c0rrect-h0rse' psql -h db", "c0rrect-h0rse", "password"),
    ("the admin password: Tr0ub4dor&3", "Tr0ub4dor&3", "password"),
    ("api_key=4f9d8c7b6a5e4d3c2b1a", "4f9d8c7b6a5e4d3c2b1a", "password"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA7x",
     "private-key"),
    ("cut short by the normaliser: key AKIAIOSFODNN7QWE…", "AKIAIOSFODNN7QWE", "truncated-secret"),
]

ORDINARY = [
    "Rollback complete, 5xx back under 0.5%. Mitigated.",
    "Token: the deploy token expired at 14:00, rotating",
    "password: reset it via the self-service portal",
    "the max_tokens=5 setting limits retries",
    "basic auth is disabled on the ingress",
    "Investigating #4213 (https://acme.pagerduty.com/incidents/Q2W3E4R): checkout-api 5xx at ~12%.",
    "see https://acme.atlassian.net/browse/OPS-1234?focusedCommentId=20517 for details",
    "bearer of bad news: the rollback failed",
    "secret sauce: caching",
    "event 8eee39b5ffd905bc2dbe12a657e73447 and AKIA in a sentence",
    "Deploy v2.31.0 at 13:55 UTC by deploy-bot (run 1791986534.000200)",
]


@pytest.mark.parametrize("text,secret,label", SECRETS, ids=[s[2] + f"-{i}" for i, s in enumerate(SECRETS)])
def test_each_secret_shape_is_redacted_and_named(text, secret, label):
    out = redact(text)
    assert secret not in out
    assert f"[REDACTED {label}]" in out


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_the_label_of_a_pair_is_kept_so_the_reader_knows_what_was_there():
    assert redact("password=hunter2") == "password=[REDACTED password]"
    assert redact("Authorization: Token token=y_NbAkKc66ryYTWUXYEu") == \
        "Authorization: Token token=[REDACTED pagerduty-token]"


def test_nested_values_are_walked_and_non_text_is_kept():
    value = {"title": "x password=hunter2", "n": 3, "refs": ["ok", "ghp_R2d2C3p0Luke5kyw4lkerHan50loCh3wbacca"],
             "visible": [{"text": "AKIAIOSFODNN7QWERTYU"}]}
    assert redact_value(value) == {"title": "x password=[REDACTED password]", "n": 3,
                                   "refs": ["ok", "[REDACTED github-token]"],
                                   "visible": [{"text": "[REDACTED aws-access-key]"}]}


def test_empty_and_missing_text():
    assert redact(None) is None
    assert redact("") == ""
