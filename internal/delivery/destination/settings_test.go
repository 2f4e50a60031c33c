package destination

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
)

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		kind, json string
		err        string // "" for valid
	}{
		{KindS3, `{"endpoint":"https://s3.eu-west-1.amazonaws.com","region":"eu-west-1","bucket":"my-bucket","access_key_id":"AK","secret_access_key":"SK"}`, ""},
		{KindS3, `{"endpoint":"minio.local:9000","bucket":"b-1","prefix":"/x/y/","path_style":true,"access_key_id":"AK","secret_access_key":"SK"}`, ""},
		{KindS3, `{"endpoint":"ftp://x","bucket":"b-1","access_key_id":"AK","secret_access_key":"SK"}`, "endpoint: must be an http or https URL"},
		{KindS3, `{"endpoint":"https://x/path","bucket":"b-1","access_key_id":"AK","secret_access_key":"SK"}`, "without user, path or query"},
		{KindS3, `{"endpoint":"https://x","bucket":"B_","access_key_id":"AK","secret_access_key":"SK"}`, `bucket "B_"`},
		{KindS3, `{"endpoint":"https://x","bucket":"b-1","access_key_id":"AK"}`, "secret_access_key are required"},
		{KindS3, `{"endpoint":"https://x","bucket":"b-1","access_key_id":"AK","secret_access_key":"SK","acl":"public"}`, `unknown field "acl"`},
		{KindKafka, `{"brokers":["k1:9092","k2:9092"],"topic":"health.docs","tls":true,"sasl":{"mechanism":"SCRAM-SHA-512","username":"u","password":"p"}}`, ""},
		{KindKafka, `{"brokers":[],"topic":"t"}`, "brokers are required"},
		{KindKafka, `{"brokers":["k1"],"topic":"t"}`, `broker "k1" must be host:port`},
		{KindKafka, `{"brokers":["k1:9092"],"topic":"bad topic"}`, "topic"},
		{KindKafka, `{"brokers":["k1:9092"],"topic":"t","sasl":{"mechanism":"GSSAPI","username":"u","password":"p"}}`, "sasl mechanism"},
		{KindKafka, `{"brokers":["k1:9092"],"topic":"t","sasl":{"mechanism":"PLAIN","username":"u"}}`, "username and password are required"},
		{KindKafka, `{"brokers":["k1:9092"],"topic":"t","tls_ca_pem":"x"}`, "tls_ca_pem needs tls"},
		{KindKafka, `{"brokers":["k1:9092"],"topic":"t","tls":true,"tls_ca_pem":"not pem"}`, "no PEM certificate"},
		{KindPostgres, `{"dsn":"postgres://u:pw@db:5432/analytics?sslmode=require","schema":"wearlink"}`, ""},
		{KindPostgres, `{"dsn":"host=db user=u password=pw dbname=analytics"}`, ""},
		{KindPostgres, `{}`, "dsn is required"},
		{KindPostgres, `{"dsn":"postgres://u:pw@db:5432/x","schema":"Bad-Name"}`, "schema"},
		{KindPostgres, `{"dsn":"postgres://u:topsecret@db:notaport/x"}`, "dsn"},
		{KindPostgres, `{"dsn":"postgres:///analytics"}`, "dsn must name the host"},
		{KindPostgres, `{"dsn":"user=u dbname=analytics"}`, "dsn must name the host"},
		{KindPostgres, `{"dsn":"postgres://u@db/x?host=/var/run/postgresql"}`, "Unix socket"},
		{KindPostgres, `{"dsn":"host=/tmp user=u"}`, "Unix socket"},
		{KindPostgres, `{"dsn":"postgres://u@db/x?sslmode=verify-full&sslrootcert=/etc/ssl/private/ca.pem"}`, "sslrootcert names a file"},
		{KindPostgres, `{"dsn":"host=db user=u passfile=/root/.pgpass"}`, "passfile names a file"},
		{KindPostgres, `{"dsn":"host=db user=u sslkey=/etc/wearlink/client.key"}`, "sslkey names a file"},
		{"ftp", `{}`, `unknown destination kind "ftp"`},
		{KindS3, `{"endpoint":"https://x"} {}`, "trailing data"},
	} {
		s, err := ParseSettings(tc.kind, []byte(tc.json))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s %s: %v", tc.kind, tc.json, err)
		case tc.err != "" && err == nil:
			t.Errorf("%s %s: no error, want %q", tc.kind, tc.json, tc.err)
		case tc.err != "" && !strings.Contains(err.Error(), tc.err):
			t.Errorf("%s %s: error %q, want %q", tc.kind, tc.json, err, tc.err)
		case tc.err != "" && health.ErrorCode(err) != health.EINVALID:
			t.Errorf("%s: error code %s, want invalid", tc.json, health.ErrorCode(err))
		case tc.err != "" && strings.Contains(err.Error(), "topsecret"):
			t.Errorf("error %q shows the password", err)
		case err == nil && s.Kind() != tc.kind:
			t.Errorf("kind %s, want %s", s.Kind(), tc.kind)
		}
	}
}

func TestRedactedAndKeepSecrets(t *testing.T) {
	for _, tc := range []struct {
		kind, json string
		secrets    []string
	}{
		{KindS3, `{"endpoint":"https://x","bucket":"b-1","access_key_id":"AK","secret_access_key":"s3-secret","session_token":"tok-secret"}`, []string{"s3-secret", "tok-secret"}},
		{KindKafka, `{"brokers":["k:9092"],"topic":"t","sasl":{"mechanism":"PLAIN","username":"u","password":"kafka-secret"}}`, []string{"kafka-secret"}},
		{KindPostgres, `{"dsn":"postgres://u:pg-secret@db:5432/x?sslpassword=key-secret&sslmode=verify-full"}`, []string{"pg-secret", "key-secret"}},
		{KindPostgres, `{"dsn":"host=db user=u password='pg secret' sslpassword=key-secret dbname=x"}`, []string{"pg secret", "key-secret"}},
	} {
		s, err := ParseSettings(tc.kind, []byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		red := s.Redacted()
		out, _ := json.Marshal(red)
		for _, sec := range tc.secrets {
			if strings.Contains(string(out), sec) {
				t.Errorf("redacted %s shows %q: %s", tc.kind, sec, out)
			}
		}
		if string(out) == "{}" || red.Kind() != tc.kind {
			t.Errorf("redacted %s lost everything: %s", tc.kind, out)
		}
		// An update without secrets keeps the stored ones.
		kept := red
		kept.KeepSecrets(s)
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(kept)
		if tc.kind != KindPostgres && string(a) != string(b) {
			t.Errorf("KeepSecrets %s: %s, want %s", tc.kind, b, a)
		}
		// Redacted did not touch the original.
		if orig, _ := json.Marshal(s); !strings.Contains(string(orig), tc.secrets[0]) {
			t.Errorf("Redacted changed the settings: %s", orig)
		}
	}
	if got := RedactDSN("postgres://u:pw@db:5432/x?sslmode=require&password=pw2"); got != "postgres://u@db:5432/x?sslmode=require" {
		t.Errorf("RedactDSN: %s", got)
	}
	// A postgres update without a DSN keeps the stored one.
	prev := &PostgresSettings{DSN: "postgres://u:pw@db/x"}
	upd := &PostgresSettings{Schema: "s"}
	upd.KeepSecrets(prev)
	if upd.DSN != prev.DSN {
		t.Errorf("KeepSecrets postgres: %q", upd.DSN)
	}
}

func TestStructureName(t *testing.T) {
	for _, tc := range []struct{ pillar, name, want string }{
		{health.PillarSleep, health.SleepSummary, "sleep_summary"},
		{health.PillarBody, health.HeartRateEvent, "body_heart_rate_event"},
		{health.PillarPhysical, health.HeartRateEvent, "physical_heart_rate_event"},
		{health.PillarPhysical, health.OxygenationEvent, "physical_oxygenation_event"},
		{health.PillarPhysical, health.ActivityEvent, "activity_event"},
		{health.PillarUser, health.UserInfo, "user_info"},
	} {
		if got := StructureName(tc.pillar, tc.name); got != tc.want {
			t.Errorf("%s/%s: %s, want %s", tc.pillar, tc.name, got, tc.want)
		}
	}
	seen := map[string]bool{}
	for _, v := range Views() {
		if seen[v.Name] {
			t.Errorf("two views named %s", v.Name)
		}
		seen[v.Name] = true
	}
}

// TestViewPathsExist checks every view column against the JSON the
// health types emit, so a misspelt path cannot make a column of nulls.
// Every nested object is made present first, so that each segment of a
// path is checked, not only those before the first null object.
func TestViewPathsExist(t *testing.T) {
	for _, v := range Views() {
		d := v.Structure.New()
		*d.Envelope() = health.Header{ClientUUID: "c", UserID: "u", DocumentVersion: 1, Day: "2024-01-01"}
		fillObjects(reflect.ValueOf(d))
		body, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var top map[string]any
		_ = json.Unmarshal(body, &top)
		var rec map[string]any
		switch v.Structure.Kind {
		case health.KindSummary:
			rec = top[v.Structure.Pillar].(map[string]any)["summary"].(map[string]any)[v.Structure.Name].(map[string]any)
		case health.KindEvent:
			// An empty event list: make one event to see its fields.
			rec = eventFields(t, v.Structure)
		default:
			rec = top["user_information"].(map[string]any)
		}
		for _, c := range v.Columns {
			var cur any = rec
			for _, p := range strings.Split(c.Path, ".") {
				m, ok := cur.(map[string]any)
				if !ok {
					t.Errorf("view %s column %s: %q of %s is below %v, not an object", v.Name, c.Name, p, c.Path, cur)
					break
				}
				var has bool
				cur, has = m[p]
				if !has {
					t.Errorf("view %s column %s: no %q in %s", v.Name, c.Name, p, c.Path)
					break
				}
			}
		}
	}
}

// eventFields marshals one event of s with every object present.
func eventFields(t *testing.T, s health.Structure) map[string]any {
	t.Helper()
	// The body's events array holds records; a document with one zero
	// record marshals each field as null, until fillObjects makes its
	// objects present.
	raw := `{"client_uuid":"c","user_id":"u","version":2,"document_version":1,"data_structure":"` + s.Name +
		`","` + s.Pillar + `":{"events":{"` + s.Name + `":[{}]}}}`
	d, err := health.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	fillObjects(reflect.ValueOf(d))
	body, _ := json.Marshal(d)
	var top map[string]any
	_ = json.Unmarshal(body, &top)
	evs := top[s.Pillar].(map[string]any)["events"].(map[string]any)[s.Name].([]any)
	return evs[0].(map[string]any)
}

// fillObjects points every nil pointer to a struct reachable from v at a
// zero struct, so that the JSON of a document has each of its objects,
// with null leaves.
func fillObjects(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			if v.Type().Elem().Kind() != reflect.Struct || !v.CanSet() {
				return
			}
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillObjects(v.Elem())
	case reflect.Interface:
		if !v.IsNil() {
			fillObjects(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillObjects(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			fillObjects(v.Index(i))
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			e := reflect.New(it.Value().Type()).Elem()
			e.Set(it.Value())
			fillObjects(e)
			v.SetMapIndex(it.Key(), e)
		}
	}
}

// TestPostgresIgnoresServerCredentials: a DSN without a password does not
// get the server's own from libpq's environment.
func TestPostgresIgnoresServerCredentials(t *testing.T) {
	t.Setenv("PGPASSWORD", "wearlinks-own-db-password")
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://lake@db.example/analytics", ""},
		{"host=db.example user=lake dbname=analytics", ""},
		{"postgres://lake:given@db.example/analytics", "given"},
		{"host=db.example user=lake password=given dbname=analytics", "given"},
	} {
		w, err := New(&PostgresSettings{DSN: tc.dsn}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := w.(*postgresWriter).pool.Config().ConnConfig.Password; got != tc.want {
			t.Errorf("%s: password %q, want %q", tc.dsn, got, tc.want)
		}
		w.Close()
	}
}

func TestDSNHas(t *testing.T) {
	for _, tc := range []struct {
		dsn, name string
		want      bool
	}{
		{"host=db sslrootcert=/etc/x", "sslrootcert", true},
		{"host=db SSLKEY = /k", "sslkey", true},
		{"host=db user=passfile", "passfile", false},
		{"host=db password=x", "password", true},
		{"host=db", "password", false},
		{"postgres://u:pw@db/x", "password", true},
		{"postgres://u@db/x?service=s", "service", true},
		{"postgres://u@db/x", "service", false},
		{"host=db application_name=a", "application_name", true}, // not precompiled
	} {
		if got := dsnHas(tc.dsn, tc.name); got != tc.want {
			t.Errorf("dsnHas(%q, %q) = %v, want %v", tc.dsn, tc.name, got, tc.want)
		}
	}
}
