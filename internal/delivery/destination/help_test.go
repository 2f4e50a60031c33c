package destination

import (
	"reflect"
	"strings"
	"testing"
)

// jsonNames lists the JSON names of a settings struct's fields, nested
// structs as "parent.child".
func jsonNames(t reflect.Type, prefix string) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, jsonNames(ft, prefix+name+".")...)
			continue
		}
		out = append(out, prefix+name)
	}
	return out
}

// TestFieldsCoverSettings: Fields names every setting of every kind,
// and only those.
func TestFieldsCoverSettings(t *testing.T) {
	listed := map[string]map[string]bool{}
	for _, o := range Fields() {
		if listed[o.Kind] == nil {
			listed[o.Kind] = map[string]bool{}
		}
		if o.Usage == "" || listed[o.Kind][o.Name] {
			t.Errorf("%s %s: no usage or listed twice", o.Kind, o.Name)
		}
		listed[o.Kind][o.Name] = true
	}
	for kind, v := range map[string]any{KindS3: S3Settings{}, KindKafka: KafkaSettings{}, KindPostgres: PostgresSettings{}} {
		names := jsonNames(reflect.TypeOf(v), "")
		for _, n := range names {
			if !listed[kind][n] {
				t.Errorf("%s setting %s is not in Fields", kind, n)
			}
			delete(listed[kind], n)
		}
		for n := range listed[kind] {
			t.Errorf("Fields lists %s %s, which is no setting", kind, n)
		}
	}
}
