package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// Summary is what a demo run showed.
type Summary struct {
	Users, UsersLinked int
	// Documents counts the demo client's stored documents by
	// data_structure.
	Documents map[string]int
	// Deliveries counts the receiver's requests (Notifications of them
	// lifecycle events); Verified those whose signatures held.
	Deliveries, Notifications, Verified int
	// UserDocuments counts each user's document deliveries, UserVerified
	// those of them whose signatures held.
	UserDocuments, UserVerified map[string]int
	// WhoopWebhooks counts the notifications the WHOOP simulator sent
	// wearlink, signed with the client secret; WhoopAccepted those
	// wearlink answered 2xx (a signature it could not verify is 401).
	WhoopWebhooks, WhoopAccepted int
	// WithingsNotifications counts the unsigned notifications the Withings
	// simulator sent to the callback URL wearlink subscribed its user to;
	// WithingsAccepted those wearlink answered 2xx.
	WithingsNotifications, WithingsAccepted int
	// NewDays is how many user-days the simulator synced after the
	// backfill; NewDaysDelivered those of which a document arrived.
	NewDays, NewDaysDelivered int
	// Latencies are, for each document delivered after a simulated sync,
	// the time from the sync to its verified arrival.
	Latencies []time.Duration
	// Syncs are the moments the simulated days passed, those the
	// latencies count from.
	Syncs []time.Time
	// Delivered counts the deliveries of document versions the store holds
	// for the demo client and the documents they are versions of: a
	// document delivered again for each collection that feeds it shows as
	// a ratio above one.
	Delivered DocumentCount
	// SyncDeliveries counts the same for each simulated sync, in order:
	// the deliveries made after it and before the next, and the documents
	// they are of (the backfill's left out).
	SyncDeliveries []DocumentCount
	// ExampleStatus is the HTTP status of ROOK's example request, the sleep
	// summary of demoUserId on ExampleDay.
	ExampleStatus int
	// Examples counts the curl commands printed, ExamplesOK those that
	// answered 200.
	Examples, ExamplesOK int
	// Pages is what the connections page and the dashboard showed.
	Pages   Pages
	Elapsed time.Duration
	// Failures are the checks that did not hold.
	Failures []string
	// users are the demo's users by provider, for byUser.
	users roster
}

// OK reports whether every check held.
func (s Summary) OK() bool { return len(s.Failures) == 0 }

// Percentile is the p-th percentile (0 to 100) of the latencies, nearest
// rank; 0 without any.
func (s Summary) Percentile(p float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.Latencies)
	slices.Sort(l)
	i := int(float64(len(l))*p/100+0.999999) - 1
	return l[min(max(i, 0), len(l)-1)]
}

// What `wearlink demo --once` holds the path from a provider's sync to the
// app to: under a second for 99 in 100 documents, and a document delivered
// about once (a later sync that changes it delivers it again).
const (
	DefaultMaxSyncP99               = time.Second
	DefaultMaxDeliveriesPerDocument = 1.1
)

// limits checks the latency and the deliveries per document against their
// bounds (zero: not checked).
func (s Summary) limits(maxP99 time.Duration, maxPerDoc float64) []string {
	var fails []string
	if p99 := s.Percentile(99); maxP99 > 0 && p99 > maxP99 {
		fails = append(fails, fmt.Sprintf("sync to delivery p99 %s, over %s", p99.Round(time.Millisecond), maxP99))
	}
	if r := s.Delivered.PerDocument(); maxPerDoc > 0 && r > maxPerDoc {
		fails = append(fails, fmt.Sprintf("%.2f deliveries per document, over %.2f", r, maxPerDoc))
	}
	return fails
}

// DocumentCount is a number of document deliveries and of the distinct
// documents they are of.
type DocumentCount struct{ Deliveries, Documents int }

// PerDocument is Deliveries over Documents.
func (c DocumentCount) PerDocument() float64 {
	if c.Documents == 0 {
		return 0
	}
	return float64(c.Deliveries) / float64(c.Documents)
}

// documentDeliveries counts the deliveries of documents to the demo
// client's endpoints and the distinct documents among them, from the
// store (a receiver sees a version, not which document it is of): all of
// them, and for each of syncs (in order) those made after it and before
// the next.
func (d *demo) documentDeliveries(ctx context.Context, syncs []time.Time) (all DocumentCount, perSync []DocumentCount, err error) {
	seen := map[string]bool{}
	perSync = make([]DocumentCount, len(syncs))
	syncSeen := make([]map[string]bool, len(syncs))
	q := store.DeliveryQuery{ClientUUID: ClientUUID, Limit: 1000}
	for {
		page, err := d.app.Store().Store.ListDeliveries(ctx, q)
		if err != nil {
			return all, nil, err
		}
		for _, dv := range page {
			if dv.Kind != store.MessageData {
				continue
			}
			key := dv.EndpointID + " " + dv.UserID + " " + dv.EventType + " " + dv.Pillar + " " + dv.Key
			all.Deliveries++
			seen[key] = true
			i := len(syncs) - 1
			for i >= 0 && dv.CreatedAt.Before(syncs[i]) {
				i--
			}
			if i < 0 {
				continue
			}
			perSync[i].Deliveries++
			if syncSeen[i] == nil {
				syncSeen[i] = map[string]bool{}
			}
			syncSeen[i][key] = true
		}
		if len(page) < q.Limit {
			all.Documents = len(seen)
			for i, m := range syncSeen {
				perSync[i].Documents = len(m)
			}
			return all, perSync, nil
		}
		q.AfterID = page[len(page)-1].ID
	}
}

// summary gathers the numbers and checks them.
func (d *demo) summary(ctx context.Context, linked int) (Summary, error) {
	s := Summary{Users: len(d.users.all), UsersLinked: linked, Elapsed: time.Since(d.started), users: d.users}
	docs, err := d.app.Store().Store.CountHealthDocuments(ctx, ClientUUID)
	if err != nil {
		return s, err
	}
	s.Documents = docs
	fail := func(format string, args ...any) { s.Failures = append(s.Failures, fmt.Sprintf(format, args...)) }
	for i, p := range d.examples {
		status, body, err := d.get(ctx, p)
		if err != nil {
			return s, err
		}
		s.Examples++
		if status == http.StatusOK {
			s.ExamplesOK++
		}
		if i == 0 {
			s.ExampleStatus = status
		} else if status != http.StatusOK {
			fail("GET %s answered %d: %s", p, status, strings.TrimSpace(string(body)))
		}
	}

	var pageFails []string
	s.Pages, pageFails = d.checkPages(ctx)
	s.Failures = append(s.Failures, pageFails...)

	got := d.rcv.Deliveries()
	s.Deliveries = len(got)
	s.UserDocuments, s.UserVerified = map[string]int{}, map[string]int{}
	for _, dv := range got {
		if dv.Endpoint == NotificationPath {
			s.Notifications++
		}
		if dv.Endpoint == DataPath {
			s.UserDocuments[dv.UserID]++
		}
		if !dv.Verified {
			continue
		}
		s.Verified++
		if dv.Endpoint != DataPath {
			continue
		}
		s.UserVerified[dv.UserID]++
		// The latest sync of the user before the document arrived is the
		// one that brought it.
		var from time.Time
		for _, nd := range d.days {
			if nd.user == dv.UserID && !nd.at.After(dv.ReceivedAt) && nd.at.After(from) {
				from = nd.at
			}
		}
		if !from.IsZero() {
			s.Latencies = append(s.Latencies, dv.ReceivedAt.Sub(from))
		}
	}
	for _, nd := range d.days {
		if !slices.Contains(s.Syncs, nd.at) {
			s.Syncs = append(s.Syncs, nd.at)
		}
	}
	all, perSync, err := d.documentDeliveries(ctx, s.Syncs)
	if err != nil {
		return s, err
	}
	s.Delivered, s.SyncDeliveries = all, perSync
	s.NewDays = len(d.days)
	s.NewDaysDelivered = s.NewDays - len(d.undelivered(d.days))
	d.whoop.WaitWebhooks()
	ws := d.whoop.WebhookStats()
	s.WhoopWebhooks, s.WhoopAccepted = ws.Queued, ws.Delivered
	d.withings.WaitNotifications()
	for _, n := range d.withings.Notifications() {
		s.WithingsNotifications++
		if n.Delivered {
			s.WithingsAccepted++
		}
	}

	if s.UsersLinked != s.Users {
		fail("%d of %d users linked", s.UsersLinked, s.Users)
	}
	if s.ExampleStatus != http.StatusOK {
		fail("the sleep summary of %s on %s answered %d, not 200", UserID, ExampleDay, s.ExampleStatus)
	}
	if s.Verified != s.Deliveries {
		fail("%d of %d deliveries not verified", s.Deliveries-s.Verified, s.Deliveries)
	}
	if s.Deliveries == 0 {
		fail("no delivery received")
	}
	if s.UsersLinked == s.Users {
		for _, u := range d.users.all {
			if s.UserVerified[u] == 0 {
				fail("no verified document delivered for %s", u)
			}
		}
	}
	if s.WhoopAccepted != s.WhoopWebhooks {
		fail("wearlink refused %d of WHOOP's %d webhooks", s.WhoopWebhooks-s.WhoopAccepted, s.WhoopWebhooks)
	}
	if s.WithingsAccepted != s.WithingsNotifications {
		fail("wearlink refused %d of Withings' %d notifications", s.WithingsNotifications-s.WithingsAccepted, s.WithingsNotifications)
	}
	if d.cfg.Once {
		if s.NewDays == 0 {
			fail("the simulators synced no new day")
		}
		if s.WhoopWebhooks == 0 {
			fail("WHOOP sent wearlink no webhook")
		}
		if s.WithingsNotifications == 0 {
			fail("Withings sent wearlink no notification")
		}
		if s.NewDaysDelivered != s.NewDays {
			fail("%d of %d new days synced without a delivery", s.NewDays-s.NewDaysDelivered, s.NewDays)
		}
		s.Failures = append(s.Failures, s.limits(d.cfg.MaxSyncP99, d.cfg.MaxDeliveriesPerDocument)...)
	}
	return s, nil
}

// Write prints the summary.
func (s Summary) Write(w io.Writer) {
	total := 0
	var names []string
	for n, c := range s.Documents {
		total += c
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\nsummary (%s)\n", s.Elapsed.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  users linked         %d of %d\n", s.UsersLinked, s.Users)
	fmt.Fprintf(w, "  documents stored     %d\n", total)
	for _, n := range names {
		fmt.Fprintf(w, "    %-20s %6d\n", n, s.Documents[n])
	}
	fmt.Fprintf(w, "  deliveries received  %d (%d documents, %d notifications), %d verified\n",
		s.Deliveries, s.Deliveries-s.Notifications, s.Notifications, s.Verified)
	fmt.Fprintf(w, "  documents by user    %s\n", s.byUser())
	fmt.Fprintf(w, "  WHOOP webhooks       %d signed notifications to wearlink, %d accepted\n", s.WhoopWebhooks, s.WhoopAccepted)
	fmt.Fprintf(w, "  Withings             %d unsigned notifications to the subscribed callback URL, %d accepted\n", s.WithingsNotifications, s.WithingsAccepted)
	fmt.Fprintf(w, "  new days synced      %d, %d of them delivered\n", s.NewDays, s.NewDaysDelivered)
	if len(s.Latencies) > 0 {
		fmt.Fprintf(w, "  sync to delivery     p50 %s, p99 %s (%d documents)\n",
			s.Percentile(50).Round(time.Millisecond), s.Percentile(99).Round(time.Millisecond), len(s.Latencies))
	}
	fmt.Fprintf(w, "  deliveries/document  %.2f (%d deliveries of %d distinct documents)\n",
		s.Delivered.PerDocument(), s.Delivered.Deliveries, s.Delivered.Documents)
	fmt.Fprintf(w, "  %s sleep summary of %s: HTTP %d; %d of %d example requests answered 200\n",
		ExampleDay, UserID, s.ExampleStatus, s.ExamplesOK, s.Examples)
	p := s.Pages
	fmt.Fprintf(w, "  connections page     HTTP %d through the signed link; Oura %s for %s\n",
		p.Connections, yesNo(p.OuraConnected, "connected", "NOT shown connected"), UserID)
	fmt.Fprintf(w, "  dashboard            sign-in form HTTP %d, sign-in HTTP %d, %s's page HTTP %d %s\n",
		p.LoginForm, p.SignIn, UserID, p.UserPage, yesNo(p.Hypnogram, "with its hypnogram", "WITHOUT a hypnogram"))
	fmt.Fprintf(w, "                       %s's page HTTP %d %s\n",
		WhoopUserID, p.WhoopUserPage, yesNo(p.WhoopNight, "with its WHOOP connection and night", "WITHOUT its WHOOP connection and night"))
	if s.OK() {
		fmt.Fprintln(w, "all checks held")
		return
	}
	for _, f := range s.Failures {
		fmt.Fprintln(w, "FAILED:", f)
	}
}

// byUser shows each user's documents delivered and, where not all, how
// many were verified.
func (s Summary) byUser() string {
	var parts []string
	users := s.users.orDefault()
	for _, u := range users.all {
		part := fmt.Sprintf("%s (%s) %d", u, users.providerName(u), s.UserDocuments[u])
		if v := s.UserVerified[u]; v != s.UserDocuments[u] {
			part += fmt.Sprintf(", %d verified", v)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, ", ")
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
