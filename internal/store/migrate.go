package store

// MigrationResult says what a migration run applied. Both implementations
// return it from their RunMigrations method; Migrate discards it.
type MigrationResult struct {
	// Applied names wearlink's schema migrations applied by this run, in
	// order ("0001_init" ...). Empty when the schema was up to date.
	Applied []string
	// Current is wearlink's schema version after the run.
	Current int
	// RiverApplied lists River's migration versions applied by this run.
	RiverApplied []int
	// RiverCurrent is River's schema version after the run.
	RiverCurrent int
}
