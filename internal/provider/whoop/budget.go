package whoop

// WHOOP's request budget under wearlink's polling (internal/ingest, poll.go).
//
// WHOOP allows an application 100 requests a minute and 10,000 a day, so
// requests per user per day decide how many users one application serves.
// Per user per day (TestBenchWhoopFleet, BENCHMARKS.md):
//
//	cycle: read every 6 h (WHOOP sends no cycle webhooks)          4.00
//	sleep: one read per sleep.updated, and one per recovery read   ~2.1
//	  (a recovery is filed on its sleep's day, so its read lists
//	  the sleeps of the same range)
//	recovery: one read per recovery.updated                         ~1.0
//	workout: one read per workout.updated                           ~0.8
//	body measurement, weekly, read through Identify with the        0.14
//	  profile                                                       0.14
//	total                                                           ~8.2
//
// 10,000 / 8.2 is about 1,200 users per application. Token refreshes go to
// the token endpoint and are not counted above (about 5.6 a day: tokens
// last an hour). Lost webhooks cost nothing extra: gap reads replace the
// fetches they would have started.
