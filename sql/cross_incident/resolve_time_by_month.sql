-- Time to resolve (and to acknowledge) per month of detection and per service.
-- Portable: Spark SQL as is; DuckDB after duckdb_compat.sql. Same rows as the catalog's
-- resolve_time_by_month view. Reads: incidents, incident_services (tables/ in the lake).
SELECT CAST(date_trunc('MONTH', i.detected) AS DATE) AS month,
       s.service AS service,
       count(*) AS incidents,
       count(i.time_to_resolve_s) AS resolved,
       avg(i.time_to_resolve_s) AS mean_time_to_resolve_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY i.time_to_resolve_s) AS median_time_to_resolve_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY i.time_to_resolve_s) AS p90_time_to_resolve_s,
       avg(i.time_to_acknowledge_s) AS mean_time_to_acknowledge_s
FROM incidents AS i
LEFT JOIN incident_services AS s ON s.incident_id = i.incident_id
WHERE i.detected IS NOT NULL
GROUP BY CAST(date_trunc('MONTH', i.detected) AS DATE), s.service
