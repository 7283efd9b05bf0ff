-- Spark SQL function names the portable queries use, for DuckDB. Run once per session
-- (with the session's TimeZone set to UTC, as Spark's spark.sql.session.timeZone is).
CREATE OR REPLACE MACRO unix_micros(ts) AS epoch_us(ts);
