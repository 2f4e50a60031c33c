package normalize

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// inputSlot is where documents of one collection go in Input.
type inputSlot struct {
	field int // index of the Input field, a slice of model
	model reflect.Type
	key   oura.KeyField
}

// inputSlots finds each collection's field of Input by the model of its row
// in oura's collection table, so that the table stays the one list of
// collections: a new collection needs its slice in Input, no new case.
var inputSlots = func() map[string]inputSlot {
	t := reflect.TypeFor[Input]()
	fields := map[reflect.Type]int{}
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.Slice {
			fields[f.Type.Elem()] = i
		}
	}
	slots := map[string]inputSlot{}
	for _, c := range oura.Collections() {
		if i, ok := fields[c.Model]; ok {
			slots[c.Name] = inputSlot{field: i, model: c.Model, key: c.Key}
		}
	}
	return slots
}()

// Add decodes one raw document of an Oura collection into its slice of in
// and keeps its bytes in in.Raw under RawKey(collection, key), key being the
// document's id, or the timestamp of a time-series row.
func (in *Input) Add(collection string, raw json.RawMessage) error {
	s, ok := inputSlots[collection]
	if !ok {
		return fmt.Errorf("normalize: unknown collection %q", collection)
	}
	if err := s.decode(in, raw, nil); err != nil {
		return fmt.Errorf("normalize: decode %s document: %w", collection, err)
	}
	in.KeepRaw(collection, raw)
	return nil
}

// Decode decodes one raw document of an Oura collection into its slice of
// in without keeping its bytes, for callers that key them otherwise or not
// at all. check, when not nil, sees the decoded document (a pointer to the
// collection's model) first; its error leaves in unchanged.
func (in *Input) Decode(collection string, raw json.RawMessage, check func(doc any) error) error {
	s, ok := inputSlots[collection]
	if !ok {
		return fmt.Errorf("unknown collection %q", collection)
	}
	return s.decode(in, raw, check)
}

// decodeDocument is Decode of a provider's document, without a check,
// taking the model its reader already decoded (Decoded) when there is one.
func (in *Input) decodeDocument(d provider.Document) error {
	s, ok := inputSlots[d.Collection]
	if !ok {
		return fmt.Errorf("unknown collection %q", d.Collection)
	}
	if p := reflect.ValueOf(d.Decoded); p.IsValid() && p.Type() == reflect.PointerTo(s.model) && !p.IsNil() {
		s.add(in, p)
		return nil
	}
	return s.decode(in, d.Raw, nil)
}

func (s inputSlot) decode(in *Input, raw json.RawMessage, check func(any) error) error {
	p := reflect.New(s.model)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return err
	}
	if check != nil {
		if err := check(p.Interface()); err != nil {
			return err
		}
	}
	s.add(in, p)
	return nil
}

// add appends the model p points to to its slice of in.
func (s inputSlot) add(in *Input, p reflect.Value) {
	// Grow and SetLen work on the field in place; reflect.Append would
	// allocate a slice header per document.
	f := reflect.ValueOf(in).Elem().Field(s.field)
	n := f.Len()
	f.Grow(1)
	f.SetLen(n + 1)
	f.Index(n).Set(p.Elem())
}

// KeepRaw keeps the bytes of one raw document of an Oura collection in
// in.Raw under RawKey(collection, key), key being the document's id, or the
// timestamp of a time-series row. A document without that key is not kept.
func (in *Input) KeepRaw(collection string, raw json.RawMessage) {
	var key struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
	}
	_ = json.Unmarshal(raw, &key)
	k := key.ID
	if inputSlots[collection].key == oura.KeyTimestamp {
		k = key.Timestamp
	}
	if k == "" {
		return
	}
	if in.Raw == nil {
		in.Raw = map[string]json.RawMessage{}
	}
	in.Raw[RawKey(collection, k)] = raw
}
