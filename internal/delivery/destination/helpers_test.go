package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/testutil"
)

// goldenDocs reads normalized documents made by internal/provider/oura/normalize from
// the simulator's and the real recorded Oura data, as version 1 with a
// webhook id each.
func goldenDocs(t testing.TB, names ...string) []Doc {
	t.Helper()
	var out []Doc
	for _, n := range names {
		for _, it := range testutil.OuraGolden(t, n) {
			d, err := health.Parse(it.Document)
			if err != nil {
				t.Fatal(err)
			}
			h := d.Envelope()
			out = append(out, Doc{
				ClientUUID: h.ClientUUID, UserID: h.UserID, Pillar: it.Pillar, DataStructure: it.DataStructure,
				Day: it.Day, Key: it.Key, Version: h.DocumentVersion,
				WebhookID: fmt.Sprintf("msg_%s_%d", n, len(out)), Body: it.Document,
			})
		}
	}
	if len(out) == 0 {
		t.Fatal("no golden documents")
	}
	return out
}

// bump returns d as version v: the body's document_version changes, and
// edit (when not nil) changes the typed document first.
func bump(t testing.TB, d Doc, v int, edit func(health.Doc)) Doc {
	t.Helper()
	hd, err := health.Parse(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	hd.Envelope().DocumentVersion = v
	if edit != nil {
		edit(hd)
	}
	body, err := json.Marshal(hd)
	if err != nil {
		t.Fatal(err)
	}
	d.Version, d.Body = v, body
	d.WebhookID = fmt.Sprintf("%s_v%d", d.WebhookID, v)
	return d
}

// docID names a document version in test messages and maps.
func docID(d Doc) string {
	return fmt.Sprintf("%s/%s/%s/%s v%d", d.UserID, d.Pillar, d.DataStructure, d.Key, d.Version)
}

// writeAll writes docs and returns those that failed.
func writeAll(t testing.TB, w Writer, docs []Doc) (failed []Doc, last error) {
	t.Helper()
	for _, d := range docs {
		if err := w.Write(context.Background(), d); err != nil {
			failed, last = append(failed, d), err
		}
	}
	return failed, last
}

// retryUntilWritten retries failed writes, as the delivery schedule
// would, until all are written or the time is up.
func retryUntilWritten(t testing.TB, w Writer, docs []Doc, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(docs) > 0 {
		var err error
		docs, err = writeAll(t, w, docs)
		if len(docs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d documents still not written: %v", len(docs), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wantClass checks that err is an *Error of class c whose message says
// want, and that no secret leaks into it.
func wantClass(t testing.TB, err error, c Class, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want class %s", c)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if e.Class != c {
		t.Fatalf("class %s, want %s: %v", e.Class, c, err)
	}
	if want != "" && !containsFold(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	for _, s := range secrets {
		if containsFold(err.Error(), s) {
			t.Fatalf("error %q shows a secret", err)
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newWriter builds the writer of s, closed when the test ends.
func newWriter(t testing.TB, s Settings, opts ...Options) Writer {
	t.Helper()
	opt := fastOptions()
	if len(opts) > 0 {
		opt = opts[0]
	}
	w, err := New(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// outage writes the first half of docs, stops the destination, checks
// that a few writes fail with a class the delivery schedule retries,
// starts it again and retries the rest as the schedule would. It returns
// the error seen while the destination was down.
func outage(t testing.TB, w Writer, docs []Doc, stop, start func()) error {
	t.Helper()
	half := len(docs) / 2
	if failed, err := writeAll(t, w, docs[:half]); len(failed) > 0 {
		t.Fatal(err)
	}
	stop()
	var downErr error
	for _, d := range docs[half : half+3] {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := w.Write(ctx, d)
		cancel()
		if err == nil {
			t.Fatalf("%s written while the destination was down", docID(d))
		}
		if !ClassOf(err).Retryable() {
			t.Fatalf("class %s is not retried: %v", ClassOf(err), err)
		}
		downErr = err
	}
	t.Logf("while down: %v", downErr)
	start()
	retryUntilWritten(t, w, docs[half:], 20*time.Second)
	return downErr
}

// fastOptions keep failing attempts short in tests.
func fastOptions() Options { return Options{Timeout: 5 * time.Second} }
