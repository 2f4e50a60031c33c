-- The store names no provider: a connection knows the provider's id of
-- its account as external_user_id (Oura's personal_info id, WHOOP's
-- user_id, Withings' userid), a raw document its provider id as
-- external_id. Renaming keeps every row and the unique constraint, which
-- follows the column.
ALTER TABLE connections RENAME COLUMN oura_user_id TO external_user_id;
ALTER TABLE raw_documents RENAME COLUMN oura_id TO external_id;

-- Notifications name an account within one provider: the lookup is by
-- both.
DROP INDEX connections_oura_user_id;
CREATE INDEX connections_external_user ON connections (data_source, external_user_id) WHERE external_user_id <> '';
