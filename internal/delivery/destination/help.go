package destination

// Field is one setting of a destination kind, as the README's settings
// table and the CLI's help list it.
type Field struct {
	Kind string
	// Name is the JSON name; "sasl.password" for a nested one.
	Name     string
	Required bool
	// Secret: sealed at rest and never shown back.
	Secret bool
	Usage  string
}

// Fields lists every setting of every kind, in the order of Kinds.
// TestFieldsCoverSettings keeps it in step with the settings types.
func Fields() []Field {
	return []Field{
		{KindS3, "endpoint", true, false, `the store's URL ("https://s3.eu-west-1.amazonaws.com", "http://minio.internal:9000"); a bare host[:port] means https`},
		{KindS3, "region", false, false, "the bucket's region; empty asks the store"},
		{KindS3, "bucket", true, false, "the bucket, which must exist"},
		{KindS3, "prefix", false, false, "prepended to every object key: {prefix}/{client_uuid}/{data_structure}/{user_id}/{day}/{key}.v{document_version}.json"},
		{KindS3, "path_style", false, false, "address the bucket in the path rather than the host name (most self-hosted stores)"},
		{KindS3, "access_key_id", true, false, "access key id"},
		{KindS3, "secret_access_key", true, true, "secret access key"},
		{KindS3, "session_token", false, true, "session token of temporary credentials"},
		{KindKafka, "brokers", true, false, `seed brokers, ["host:port", ...]`},
		{KindKafka, "topic", true, false, "the topic, which must exist; records are keyed {client_uuid}/{user_id}/{data_structure}/{day}/{key} for compaction"},
		{KindKafka, "tls", false, false, "connect with TLS"},
		{KindKafka, "tls_ca_pem", false, false, "CA certificates (PEM) trusted besides the system's"},
		{KindKafka, "tls_server_name", false, false, "the name checked in the brokers' certificates"},
		{KindKafka, "sasl.mechanism", false, false, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (sasl is optional)"},
		{KindKafka, "sasl.username", false, false, "SASL user name"},
		{KindKafka, "sasl.password", false, true, "SASL password"},
		{KindPostgres, "dsn", true, true, "libpq connection string (URL or key=value) of the client's database, naming its host; shown without its password. Parameters naming files on the wearlink server (sslrootcert, sslcert, sslkey, passfile, service, ...) and Unix sockets are refused, and wearlink's own PGPASSWORD or password file is never used for it"},
		{KindPostgres, "schema", false, false, "schema of the wearlink_documents table and its views, created when missing; default the connection's current schema"},
	}
}
