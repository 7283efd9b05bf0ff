-- Incidents that repeat an earlier one: same service or same alert fingerprint, detected
-- within 30 days after it. Same rows as the catalog's repeat_incidents view.
-- Reads: incidents, incident_services, incident_refs.
WITH keys AS (
    SELECT incident_id, 'service' AS reason, service AS shared FROM incident_services
    UNION ALL
    SELECT incident_id, 'alert' AS reason, ref AS shared FROM incident_refs WHERE ref LIKE 'alert:%'
), keyed AS (
    SELECT k.incident_id, k.reason, k.shared, i.detected
    FROM keys AS k JOIN incidents AS i ON i.incident_id = k.incident_id
)
SELECT later.incident_id, earlier.incident_id AS earlier_incident_id, later.reason, later.shared,
       later.detected, earlier.detected AS earlier_detected,
       (unix_micros(later.detected) - unix_micros(earlier.detected)) / 86400000000.0 AS days_apart
FROM keyed AS later JOIN keyed AS earlier
  ON later.reason = earlier.reason AND later.shared = earlier.shared
 AND later.incident_id <> earlier.incident_id
 AND earlier.detected < later.detected
 AND later.detected <= earlier.detected + INTERVAL '30' DAY
