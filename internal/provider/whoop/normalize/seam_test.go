package normalize

import (
	"errors"
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

// TestSeam: the provider hands its documents to the injected normalizer;
// a document that does not decode is named as an input error and the rest
// is still normalized.
func TestSeam(t *testing.T) {
	c, err := whoop.New(whoop.ClientConfig{BaseURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := whoop.NewProvider(whoop.Config{Client: c, OAuthBaseURL: "http://127.0.0.1:9", Normalizer: Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	docs, opt := loadInput(t, "synthetic-dst-week")
	docs = append(docs,
		provider.Document{Collection: whoop.CollSleep, ID: "broken", Raw: []byte(`{"id": 5}`)},
		provider.Document{Collection: "heartrate", ID: "x", Raw: []byte(`{}`)})
	out, err := p.Normalize(docs, provider.NormalizeOptions{ClientUUID: opt.ClientUUID, UserID: opt.UserID, AsOf: opt.AsOf})
	var ie *provider.InputError
	if !errors.As(err, &ie) || len(out) != 10 {
		t.Errorf("%d documents, err %v; want 10 and input errors", len(out), err)
	}
	if _, err := Normalize(nil, Options{AsOf: "2024-13-01"}); err == nil {
		t.Error("a bad as-of day: no error")
	}
}
