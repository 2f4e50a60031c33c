-- Health documents are keyed by data source as well: a user linked to two
-- providers has a summary of one day from each, and the data source keeps
-- them apart. Every document written before this migration is Oura's, the
-- one provider earlier releases served; its key gains the prefix, so that
-- the next normalization of its day updates it instead of writing a twin.
-- The messages already sent keep their bodies; their document keys follow.
UPDATE health_documents SET key = 'oura:' || key;
UPDATE webhook_messages SET doc_key = 'oura:' || doc_key WHERE doc_key <> '';
