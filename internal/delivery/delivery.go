// Package delivery posts wearlink's health documents and lifecycle events
// to the webhook endpoints of each client: signed (Standard Webhooks and
// ROOK's X-ROOK-HASH), durable (River jobs on the store's database),
// retried on a schedule, kept as dead letters when the retries run out,
// and replayable.
//
// The flow:
//
//	outbox ──FanOut──▶ message (a copy of the document version) ──▶ one delivery per endpoint
//	                                                                  │ webhook_deliver job
//	                                                                  ▼
//	                                              POST, record the attempt, then
//	                                              succeeded | pending (snoozed until the next try) | dead
//
// A pump job (queue delivery_fanout) turns outbox records into deliveries
// and queues a webhook_deliver job (queue delivery) for each, on a timer;
// records written by this process are fanned out at once (Wake, RunWoken
// in wake.go), and the timer picks up other processes' records; a
// maintenance job prunes old deliveries and re-queues any whose job was
// lost. Deliveries are at least once: a process killed between a POST and
// its record posts again, under the same webhook-id.
//
// See docs/webhooks.md for what a receiver sees.
package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/store"
)

// EnvAllowPrivate names the setting that lets webhooks reach private,
// loopback and link-local addresses (the demo and tests set it).
const EnvAllowPrivate = "WEARLINK_ALLOW_PRIVATE_WEBHOOKS"

// DefaultSchedule is the wait after each failed attempt: the first
// attempt is immediate, so a delivery gets ten attempts over about three
// days (Standard Webhooks' example schedule).
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// Config builds a Service. Store is required; zero values get the
// defaults noted.
type Config struct {
	Store store.DeliveryStore
	// SourceName gives a data source's name as ROOK spells it in events
	// (the slug's display name); the provider registry's Name. Default: the
	// data source as stored.
	SourceName func(dataSource string) string
	// Logger defaults to a discarding one.
	Logger *slog.Logger
	// Now is the clock of schedules and timestamps (default time.Now).
	Now func() time.Time
	// OnOutcome, when set, hears how each delivery job that ends (neither
	// failed nor due again) left its delivery: store.DeliverySucceeded,
	// store.DeliveryDead, OutcomeGone, OutcomePaused or OutcomeUnknown. It runs on the
	// job's goroutine and must not block.
	OnOutcome func(outcome string)

	// HTTPClient posts the webhooks. Default: NewHTTPClient with
	// AllowPrivate, Resolver and Timeout. A client given here must do its
	// own address checks.
	HTTPClient *http.Client
	// AllowPrivate lets endpoints resolve to private, loopback and
	// link-local addresses (WEARLINK_ALLOW_PRIVATE_WEBHOOKS).
	AllowPrivate bool
	// Resolver resolves endpoint host names (default net.DefaultResolver).
	Resolver Resolver
	// Timeout bounds one attempt, connection to last response byte
	// (default 15 s).
	Timeout time.Duration
	// UserAgent is sent with every request (default "wearlink").
	UserAgent string
	// NewWriter builds the writer of a destination and validates its
	// settings (default destination.New). Its connections go through the
	// address checks of webhooks (AllowPrivate, Resolver).
	NewWriter func(destination.Settings, destination.Options) (destination.Writer, error)

	// Schedule is the wait after each failed attempt (default
	// DefaultSchedule); a delivery dies after len(Schedule)+1 attempts.
	Schedule []time.Duration
	// Jitter spreads each wait by up to ± this fraction (default 0.2;
	// negative for none).
	Jitter float64
	// Rand returns numbers in [0, 1) for the jitter (default math/rand/v2).
	Rand func() float64
	// MaxRetryAfter caps how long a Retry-After header may push the next
	// attempt out (default 24 h).
	MaxRetryAfter time.Duration
	// DisableAfter disables an endpoint whose attempts have all failed for
	// this long (default 5 days).
	DisableAfter time.Duration
	// RotationGrace is how long a rotated-out secret still signs (default
	// 24 h).
	RotationGrace time.Duration
	// DeadLetterRetention keeps dead deliveries replayable this long
	// (default 10 days); SucceededRetention keeps succeeded ones and their
	// attempts for inspection (default 3 days).
	DeadLetterRetention time.Duration
	SucceededRetention  time.Duration

	// Workers is how many deliveries are posted at once per process
	// (default 32: posting waits on receivers, not on the CPU).
	Workers int
	// FanoutInterval is how often the pump looks at the outbox and how
	// often idle delivery queues look for jobs (default 500 ms). Records
	// committed by this process are fanned out at once (Wake); the
	// interval is the fallback for other processes' commits.
	// FanoutBatch is how many records it takes per transaction (default
	// 500).
	FanoutInterval time.Duration
	FanoutBatch    int
	// MaintainInterval spaces pruning and the search for lost jobs
	// (default 5 min); OverdueAfter is how late a pending delivery must be
	// before its job counts as lost (default 15 min).
	MaintainInterval time.Duration
	OverdueAfter     time.Duration
}

func (c *Config) fill() error {
	if c.Store == nil {
		return errors.New("delivery: Config.Store is required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SourceName == nil {
		c.SourceName = func(ds string) string { return ds }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 15*time.Second)
	def(&c.MaxRetryAfter, 24*time.Hour)
	def(&c.DisableAfter, 5*24*time.Hour)
	def(&c.RotationGrace, 24*time.Hour)
	def(&c.DeadLetterRetention, 10*24*time.Hour)
	def(&c.SucceededRetention, 3*24*time.Hour)
	def(&c.FanoutInterval, 500*time.Millisecond)
	def(&c.MaintainInterval, 5*time.Minute)
	def(&c.OverdueAfter, 15*time.Minute)
	if c.UserAgent == "" {
		c.UserAgent = "wearlink"
	}
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultSchedule
	}
	if c.Jitter == 0 {
		c.Jitter = 0.2
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.FanoutBatch <= 0 {
		c.FanoutBatch = 500
	}
	if c.Resolver == nil {
		c.Resolver = defaultResolver
	}
	if c.HTTPClient == nil {
		c.HTTPClient = NewHTTPClient(ClientOptions{AllowPrivate: c.AllowPrivate, Resolver: c.Resolver, Timeout: c.Timeout})
	}
	if c.NewWriter == nil {
		c.NewWriter = destination.New
	}
	return nil
}

// Inserter is the part of a River client the service queues jobs with.
// Every *river.Client satisfies it, whatever its driver.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Service delivers webhooks and manages endpoints. Build it with New,
// register its workers with Register, and give it the River client with
// Attach.
type Service struct {
	cfg  Config
	st   store.DeliveryStore
	log  *slog.Logger
	now  func() time.Time
	http *http.Client
	jobs Inserter
	rec  recorder
	// dests holds a writer per destination, with its connections.
	dests writers
	dial  func(ctx context.Context, network, addr string) (net.Conn, error)
	// wake holds a pending Wake; passMu serializes fan-out passes (see
	// wake.go).
	wake   chan struct{}
	passMu sync.Mutex
}

// New builds a Service.
func New(cfg Config) (*Service, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger, now: cfg.Now, http: cfg.HTTPClient,
		dial: GuardedDialer(cfg.AllowPrivate, cfg.Resolver), wake: make(chan struct{}, 1)}, nil
}

// Attach gives the service the River client it queues delivery jobs
// with. Without one (the CLI), deliveries wait for a running server's
// pump to queue them.
func (s *Service) Attach(jobs Inserter) { s.jobs = jobs }
