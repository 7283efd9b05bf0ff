-- Events per source and month, one row per event_id (the newest ingest wins), read straight
-- from the lake's hive-partitioned events/ Parquet. Reads: events (files as published).
SELECT source, CAST(date_trunc('MONTH', ts) AS DATE) AS month, category,
       count(*) AS events, count(DISTINCT actor) AS actors
FROM (
    SELECT e.*, row_number() OVER (PARTITION BY event_id ORDER BY ingested_at DESC) AS newest
    FROM events AS e
) AS deduplicated
WHERE newest = 1
GROUP BY source, CAST(date_trunc('MONTH', ts) AS DATE), category
