-- Action items per month of the incident's detection: how many, how many done, the rate.
-- Same rows as the catalog's action_item_closure view. Reads: action_items, incidents.
SELECT CAST(date_trunc('MONTH', i.detected) AS DATE) AS month,
       count(DISTINCT a.incident_id) AS incidents,
       count(*) AS items,
       count(CASE WHEN a.status = 'done' THEN 1 END) AS done,
       count(CASE WHEN a.status <> 'done' THEN 1 END) AS not_done,
       round(CAST(count(CASE WHEN a.status = 'done' THEN 1 END) AS DOUBLE) / count(*), 3) AS closure_rate
FROM action_items AS a JOIN incidents AS i ON i.incident_id = a.incident_id
GROUP BY CAST(date_trunc('MONTH', i.detected) AS DATE)
