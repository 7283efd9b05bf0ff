import pytest

from incident_timeline.normalize.severity import to_sev


@pytest.mark.parametrize("value, sev", [
    ("P1", "SEV1"), ("P3", "SEV3"), ("P5", "SEV4"),                 # PagerDuty, Opsgenie
    ("Highest", "SEV1"), ("High", "SEV2"), ("Medium", "SEV3"), ("Lowest", "SEV4"),   # Jira
    ("critical", "SEV1"), ("warning", "SEV3"), ("info", "SEV4"),     # Alertmanager labels
    ("1 - Critical", "SEV1"), ("2 - High", "SEV2"), ("4 - Low", "SEV4"),  # ServiceNow
    ("SEV-2", "SEV2"), ("sev 3", "SEV3"), ("Sev1", "SEV1"),
])
def test_each_scale_maps_to_sev(value, sev):
    assert to_sev(value) == sev


@pytest.mark.parametrize("value", [None, "", "urgent-ish", "P9"])
def test_unknown_severity_is_none_not_a_guess(value):
    assert to_sev(value) is None
