package oura

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignMatchesPublishedAlgorithm(t *testing.T) {
	// HMAC-SHA256("secret", "1700000000" + body), computed independently
	// with: printf '1700000000{"a":1}' | openssl dgst -sha256 -hmac secret
	got := Sign("secret", "1700000000", []byte(`{"a":1}`))
	const want = "F3A15680551495E7D27302C4D19E4CBEDC650F19FA5B40373C00CBEA52A64406"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerifier(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"event_type":"create","data_type":"sleep","object_id":"x","event_time":"2023-11-14T22:13:20+00:00","user_id":"u"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := Sign("s3cret", ts, body)
	v := Verifier{ClientSecret: "s3cret", Tolerance: 5 * time.Minute, Now: func() time.Time { return now }}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = 'X'
	staleTS := strconv.FormatInt(now.Add(-10*time.Minute).Unix(), 10)
	futureTS := strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)

	cases := []struct {
		name    string
		sig, ts string
		body    []byte
		want    error
	}{
		{"good", good, ts, body, nil},
		{"lower-case hex", strings.ToLower(good), ts, body, nil},
		{"tampered body", good, ts, tampered, ErrSignatureInvalid},
		{"wrong secret", Sign("other", ts, body), ts, body, ErrSignatureInvalid},
		{"timestamp not signed with", good, strconv.FormatInt(now.Unix()+1, 10), body, ErrSignatureInvalid},
		{"stale", Sign("s3cret", staleTS, body), staleTS, body, ErrSignatureStale},
		{"from the future", Sign("s3cret", futureTS, body), futureTS, body, ErrSignatureStale},
		{"missing signature", "", ts, body, ErrSignatureMissing},
		{"missing timestamp", good, "", body, ErrSignatureMissing},
		{"garbage timestamp", Sign("s3cret", "abc", body), "abc", body, ErrSignatureStale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := v.Verify(c.sig, c.ts, c.body)
			if c.want == nil && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("want %v, got %v", c.want, err)
			}
		})
	}
}
