package normalize

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wearlink/wearlink/internal/provider"
)

// Normalizer is Oura's normalization behind the provider seam.
type Normalizer struct{}

var _ provider.Normalizer = Normalizer{}

// Normalize implements provider.Normalizer. Each document is keyed as the
// store keys it (its id, or the timestamp of a time-series row), so that
// the raw documents attached to the output are the stored ones. A document
// that does not decode is reported as an *InputError and left out.
func (Normalizer) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	in := &Input{Raw: make(map[string]json.RawMessage, len(docs))}
	var errs []error
	for _, d := range docs {
		if err := in.decodeDocument(d); err != nil {
			errs = append(errs, &InputError{Collection: d.Collection, ID: d.ID, Reason: fmt.Sprintf("does not decode: %v", err)})
			continue
		}
		in.Raw[RawKey(d.Collection, d.ID)] = d.Raw
	}
	results, err := Normalize(in, Options{ClientUUID: opt.ClientUUID, UserID: opt.UserID, Location: opt.Location, AsOf: opt.AsOf})
	if err != nil {
		errs = append(errs, err)
	}
	out := make([]provider.Normalized, len(results))
	for i, r := range results {
		out[i] = provider.Normalized{Key: r.Key, Doc: r.Doc}
	}
	return out, errors.Join(errs...)
}
