package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wearlink/wearlink/internal/store"
)

// handlerTransport serves requests in memory: inside a synctest bubble a
// real socket would keep the fake clock from moving.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// The retry schedule on the bubble's fake clock, driven the way the
// River job drives it (work, then snooze for the wait it returns): a
// receiver failing three times, once with a Retry-After, is reached at
// exactly the scheduled instants, and the run takes no real time.
func TestScheduleOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, newDB(t))
		setupClient(t, st)
		var mu sync.Mutex
		var at []time.Time
		var stamps []int64
		script := []reply{{status: 500}, {status: 429, header: map[string]string{"Retry-After": "3600"}}, {status: 503}, {status: 200}}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := len(at)
			at = append(at, time.Now())
			// In memory the header map arrives as written, lowercase.
			ts, _ := strconv.ParseInt(r.Header["webhook-timestamp"][0], 10, 64)
			stamps = append(stamps, ts)
			mu.Unlock()
			rep := script[min(n, len(script)-1)]
			for k, v := range rep.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(rep.status)
		})
		svc, err := New(Config{Store: st, Jitter: -1, AllowPrivate: true,
			HTTPClient: &http.Client{Transport: handlerTransport{h}, Timeout: 15 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		jobs := &fakeJobs{}
		svc.Attach(jobs)
		if _, err := svc.AddEndpoint(t.Context(), EndpointInput{ClientUUID: testClient, URL: "https://receiver.example/hook"}); err != nil {
			t.Fatal(err)
		}
		applyDocs(t, st, 0, 1)
		if err := svc.pump(t.Context()); err != nil {
			t.Fatal(err)
		}
		id := jobs.take()[0]
		start := time.Now()
		for {
			wait, again, err := svc.work(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !again {
				break
			}
			time.Sleep(wait) // River's snooze
		}
		// 5 s after the first failure; Retry-After's hour rather than
		// 5 min after the second; 30 min after the third.
		want := []time.Duration{0, 5 * time.Second, 5*time.Second + time.Hour, 5*time.Second + time.Hour + 30*time.Minute}
		if len(at) != len(want) {
			t.Fatalf("%d requests, want %d", len(at), len(want))
		}
		for i, w := range want {
			if got := at[i].Sub(start); got != w {
				t.Errorf("request %d at +%v, want +%v", i+1, got, w)
			}
			if stamps[i] != at[i].Unix() {
				t.Errorf("request %d: webhook-timestamp %d, clock %d", i+1, stamps[i], at[i].Unix())
			}
		}
		d, err := st.GetDelivery(t.Context(), id)
		if err != nil || d.Status != store.DeliverySucceeded || d.Attempts != 4 {
			t.Fatalf("delivery %+v %v", d, err)
		}
	})
}
