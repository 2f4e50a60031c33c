package ingest

import (
	"encoding/json"

	"github.com/wearlink/wearlink/internal/provider/oura/normalize"
	"github.com/wearlink/wearlink/internal/store"
)

// addRaw decodes a stored raw document into in. A document that does not
// decode is reported and left out; the rest of the batch goes on.
func addRaw(in *normalize.Input, d store.RawDocument) error {
	if err := in.Decode(d.Collection, d.Body, nil); err != nil {
		return err
	}
	if in.Raw == nil {
		in.Raw = map[string]json.RawMessage{}
	}
	// The store keys documents as the normalizer does: the Oura id, or the
	// timestamp of a time-series row.
	in.Raw[normalize.RawKey(d.Collection, d.ExternalID)] = d.Body
	return nil
}
