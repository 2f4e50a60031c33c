package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// bannerWriter collects output and closes ready once the banner's example
// line is complete.
type bannerWriter struct {
	mu    sync.Mutex
	b     bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if s := w.b.String(); strings.Contains(s, "curl -H") && strings.HasSuffix(s, "\n") {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

func (w *bannerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestWithingssimCommand runs the command, then the example it prints.
func TestWithingssimCommand(t *testing.T) {
	out := &bannerWriter{ready: make(chan struct{})}
	var errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"withingssim", "--addr", "127.0.0.1:0", "--users", "2", "--seed", "5", "--log-level", "error"}, out, &errOut)
	}()
	select {
	case <-out.ready:
	case code := <-done:
		cancel()
		t.Fatalf("exited %d before serving: %s", code, errOut.String())
	}
	banner := out.String()
	for _, want := range []string{"client id      withingssim-client", "client secret  withingssim-secret", "/oauth2_user/authorize2", "/v2/oauth2"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	m := regexp.MustCompile(`curl -H 'Authorization: Bearer ([0-9a-f]{40})' --data '([^']+)' '([^']+)'`).FindStringSubmatch(banner)
	if m == nil || strings.Count(banner, "Europe/Paris") != 1 || !strings.Contains(banner, "America/New_York") {
		t.Fatalf("banner without an example or a row per user:\n%s", banner)
	}
	req, _ := http.NewRequest("POST", m[3], strings.NewReader(m[2]))
	req.Header.Set("Authorization", "Bearer "+m[1])
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var env struct {
		Status int `json:"status"`
		Body   struct {
			Groups []any `json:"measuregrps"`
		} `json:"body"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.Status != 0 || len(env.Body.Groups) == 0 {
		t.Errorf("the example answers %s", b)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
