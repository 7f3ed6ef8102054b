-- The recent refusals the overview lists are read newest first, as on SQLite (its schema step
-- 2 has had this index from the start; the schema comparison test found PostgreSQL without it).
CREATE INDEX rejections_by_time ON rejections(at);
