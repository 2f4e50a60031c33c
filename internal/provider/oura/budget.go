package oura

// Oura's request budget under wearlink's polling (internal/ingest, poll.go).
//
// The rate limit is per application, so requests per user per day decide
// how many users a deployment serves. The target is at most 12 in steady
// state with webhooks working. Per user per day (figures from the
// simulator, which models a ring that syncs every morning):
//
//	webhook reads: one range read per collection with news       ~10.4
//	  (9 collections have a document every day: sleep, daily_sleep,
//	  daily_readiness, daily_activity, daily_spo2, daily_stress,
//	  daily_resilience, daily_cardiovascular_age, sleep_time; workouts,
//	  sessions, vO2_max and tags add 1 to 2; the notifications of one sync
//	  coalesce into one read per collection, see internal/ingest/fetch.go)
//	heart rate: one read a day of the newest complete day       1 to 1.3
//	  (600 to 1,300 rows: one page, two on days with long workouts;
//	  Oura sends no webhooks for it)
//	ring_battery_level: one read a week (~230 rows, one page)     0.14
//	interbeat_interval: one read every 14 days of the days since  ~0.5
//	  (300 to 700 rows a night in the simulator, 1,000 to a page:
//	  the pages, not the reads, cost; a ring that records every
//	  beat would send ~30,000 a night, ~30 pages a day at that
//	  page size, and Oura's page size for it is undocumented)
//	personal_info: one read every 14 days                          0.07
//	reconciliation while healthy: each collection not read for     ~0.3
//	  ReconcileHealthy (14 days) is read once: in practice the
//	  rare ones (tag, rest_mode_period, enhanced_tag,
//	  ring_configuration), ~4 reads per 14 days
//	total without interbeat_interval                       ~11.9 to 12.2
//	total with it                                          ~12.4 to 12.7
//
// Measured (TestRequestBudget, 3 simulated users, one week): 9.3, 10.1 and
// 12.0 per day, mean 10.5; the heaviest user had a workout every day. The
// week ends before the first interbeat read after the backfill, so the
// test does not count it; the fleet benchmark over 15 days (BENCHMARKS.md)
// measured 0.58 for interbeat_interval and 12.08 in all. Hourly polling of
// every collection instead costs 20 x 24 = 480.
//
// A lost notification costs at most one read; see internal/ingest for how.
