package sim

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStartPrintsUsableBanner(t *testing.T) {
	srv, err := New(Config{Users: 2, Seed: 3, ScanInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Start("0.0.0.0:0"); err == nil {
		t.Fatal("listened on a non-loopback address")
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	srv.PrintBanner(&out)
	in := srv.Info()
	for _, want := range []string{in.BaseURL + "/developer", in.BaseURL + "/oauth/oauth2/auth", in.BaseURL + "/oauth/oauth2/token", DefaultClientID, DefaultClientSecret, in.Users[1].AccessToken, "curl -H 'Authorization: Bearer " + in.Users[0].AccessToken} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	req, _ := http.NewRequest("GET", in.APIBaseURL+"/v2/user/profile/basic", nil)
	req.Header.Set("Authorization", "Bearer "+in.Users[1].AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ready token: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- Run(ctx, "127.0.0.1:0", Config{Users: 1, ScanInterval: -1}, &out) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "curl") {
		select {
		case <-deadline:
			t.Fatal("no banner")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
