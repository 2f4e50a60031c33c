package app

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// metrics are one process's Prometheus metrics. Each App has its own
// registry: two apps in one test binary must not share counters.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	ouraCalls  *prometheus.CounterVec
	ouraTime   *prometheus.HistogramVec
	jobs       *prometheus.CounterVec
	jobTime    *prometheus.HistogramVec
	deliveries *prometheus.CounterVec
	faults     *prometheus.CounterVec
	ignored    *prometheus.CounterVec
	limited    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wearlink_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		ouraCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_oura_requests_total",
			Help: "Requests to the Oura API, by collection and status (\"error\" when no response came).",
		}, []string{"collection", "status"}),
		ouraTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wearlink_oura_request_duration_seconds",
			Help:    "Time to the Oura API's response headers, by collection.",
			Buckets: prometheus.DefBuckets,
		}, []string{"collection"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_jobs_total",
			Help: "Job runs this process finished, by kind and outcome (completed, snoozed, retryable, discarded, cancelled).",
		}, []string{"kind", "outcome"}),
		jobTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wearlink_job_duration_seconds",
			Help:    "Time a job ran, by kind.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_deliveries_total",
			Help: "Webhook and destination delivery job runs, by outcome: succeeded, dead, retry (an attempt failed or is not due yet), error (the job itself failed), gone (delivery pruned or endpoint deleted), paused (left waiting for its paused destination).",
		}, []string{"outcome"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_upstream_faults_total",
			Help: "Retryable faults of a provider's API (429, 5xx, dropped connection, truncated body), by provider, collection and kind, whether retried or given up on.",
		}, []string{"provider", "collection", "kind"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_notifications_ignored_total",
			Help: "Verified provider notifications of a type wearlink reads nothing for (Oura's daily_cycle_phases, pregnancy, blood_glucose, ...), by provider and type; accepted with 200 and changing nothing.",
		}, []string{"provider", "type"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wearlink_provider_rate_limited_total",
			Help: "Rate-limit answers of a provider's API (Oura's 429s, Withings' status 601), by data source and the layer of the provider's limits that refused: token (one user's access token: only that user's syncs wait), application (every user's wait), unknown (not named).",
		}, []string{"data_source", "tier"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.ouraCalls, m.ouraTime, m.jobs, m.jobTime, m.deliveries, m.faults, m.ignored, m.limited,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ouraFault counts an Oura client's upstream fault.
func (m *metrics) ouraFault(f oura.Fault) {
	m.faults.WithLabelValues("oura", f.Collection, f.Kind.String()).Inc()
}

// ignoredNotification counts a notification of a type nothing is read for.
func (m *metrics) ignoredNotification(dataSource, typ string) {
	m.ignored.WithLabelValues(dataSource, typ).Inc()
}

// rateLimited counts a provider's rate-limit answer by the layer that
// sent it.
func (m *metrics) rateLimited(dataSource, tier string) {
	m.limited.WithLabelValues(dataSource, tier).Inc()
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusWriter remembers the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routeFunc names the route pattern that serves r; "" for none.
type routeFunc func(r *http.Request) string

// instrument counts and times every request by its route pattern, never
// by its path: paths carry user ids and would make unbounded series.
func (m *metrics) instrument(next http.Handler, route routeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		rt := route(r)
		if rt == "" {
			rt = "unmatched"
		}
		method := r.Method
		switch method {
		case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		default:
			method = "other"
		}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			m.requests.WithLabelValues(method, rt, strconv.Itoa(code)).Inc()
			m.latency.WithLabelValues(method, rt).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeNamer returns the pattern of outer's route for r, or, for requests
// outer hands to the REST API at "/", the API route's own pattern. It
// matches against a mux of the API's patterns because the API serves a
// copy of the request, whose Pattern the caller never sees.
func routeNamer(outer *http.ServeMux, api []string) routeFunc {
	inner := http.NewServeMux()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range api {
		inner.Handle(p, nop)
	}
	return func(r *http.Request) string {
		_, p := outer.Handler(r)
		if p != "/" || len(api) == 0 {
			return p
		}
		_, p = inner.Handler(r)
		return p
	}
}

// ouraTransport counts the Oura client's requests by collection and status.
type ouraTransport struct {
	next http.RoundTripper
	m    *metrics
}

func (t ouraTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	c := oura.CollectionOf(req.URL.Path)
	t.m.ouraTime.WithLabelValues(c).Observe(time.Since(start).Seconds())
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	t.m.ouraCalls.WithLabelValues(c, status).Inc()
	return resp, err
}

// subscriber is the part of a River client that reports job events; both
// drivers' clients have it.
type subscriber interface {
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// watchJobs hands River's job events to handle until the subscription
// ends or ctx does.
func watchJobs(ctx context.Context, events <-chan *river.Event, handle func(*river.Event)) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			handle(ev)
		}
	}
}

func (m *metrics) job(ev *river.Event) {
	if ev == nil || ev.Job == nil {
		return
	}
	var outcome string
	switch ev.Kind {
	case river.EventKindJobCompleted:
		outcome = "completed"
	case river.EventKindJobSnoozed:
		outcome = "snoozed"
	case river.EventKindJobCancelled:
		outcome = "cancelled"
	case river.EventKindJobFailed:
		outcome = "retryable"
		if ev.Job.State == rivertype.JobStateDiscarded {
			outcome = "discarded"
		}
	default:
		return
	}
	kind := ev.Job.Kind
	m.jobs.WithLabelValues(kind, outcome).Inc()
	if ev.JobStats != nil {
		m.jobTime.WithLabelValues(kind).Observe(ev.JobStats.RunDuration.Seconds())
	}
	if kind != (delivery.DeliverArgs{}).Kind() {
		return
	}
	switch outcome {
	case "snoozed":
		m.deliveries.WithLabelValues("retry").Inc()
	case "completed":
		// Counted by delivered, which the job itself calls.
	default:
		m.deliveries.WithLabelValues("error").Inc()
	}
}

// delivered counts a delivery job that ended, by what it left of its
// delivery (delivery.Config.OnOutcome): the service knows it, so nothing
// is read back.
func (m *metrics) delivered(outcome string) {
	switch outcome {
	case store.DeliverySucceeded, store.DeliveryDead, delivery.OutcomeGone, delivery.OutcomePaused:
	default:
		outcome = delivery.OutcomeUnknown
	}
	m.deliveries.WithLabelValues(outcome).Inc()
}
