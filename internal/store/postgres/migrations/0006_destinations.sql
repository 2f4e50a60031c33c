-- Destinations: besides URLs to post to, a client registers an S3 bucket,
-- a Kafka topic or a PostgreSQL database to write its documents to. A
-- destination is a data endpoint with a kind and settings instead of a
-- webhook's URL, so its deliveries are webhook_deliveries like any other:
-- the same outbox, filter, retries, dead letters and replay.
--
-- destination: '' for a webhook, else the kind (s3 | kafka | postgres);
--   url then holds a description without credentials, for listings.
-- settings: the destination's settings as JSON, sealed like the secret
--   (credentials included), NULL for a webhook.
-- paused: a paused endpoint keeps its deliveries pending, unattempted.
ALTER TABLE webhook_endpoints ADD COLUMN destination text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN settings bytea;
ALTER TABLE webhook_endpoints ADD COLUMN paused boolean NOT NULL DEFAULT false;
