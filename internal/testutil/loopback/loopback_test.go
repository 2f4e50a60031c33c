package loopback

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// A live provider host is refused before any packet leaves; loopback, by
// address or by name, still answers.
func TestOnlyLoopbackResolves(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, host := range []string{"api.ouraring.com", "api.prod.whoop.com", "wbsapi.withings.net", "account.withings.com"} {
		_, err := http.DefaultClient.Do(mustRequest(t, ctx, "https://"+host+"/"))
		// The resolver keeps only the refusal's text.
		if err == nil || !strings.Contains(err.Error(), ErrRefused.Error()) {
			t.Errorf("GET https://%s/: err = %v, want the refusal", host, err)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer srv.Close()
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		resp, err := http.DefaultClient.Do(mustRequest(t, ctx, u))
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		resp.Body.Close()
	}
}

func mustRequest(t *testing.T, ctx context.Context, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
