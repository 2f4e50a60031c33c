package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/delivery/destination/desttest"
	"github.com/wearlink/wearlink/internal/health"
)

var destIDRe = regexp.MustCompile(`(?m)^id:\s+(ds_\w+)$`)

func TestDestinationsCommands(t *testing.T) {
	e := newWebhooksEnv(t)
	s3 := desttest.StartS3(t)
	settings := func(secret string) string {
		path := filepath.Join(t.TempDir(), "s3.json")
		b, _ := json.Marshal(map[string]any{"endpoint": "http://" + s3.Addr, "region": "us-east-1", "bucket": s3.Bucket,
			"path_style": true, "access_key_id": s3.Key, "secret_access_key": secret})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return "@" + path
	}

	// Mistakes are refused with what is wrong.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "s3", "--settings", "{}"}, "--client-uuid, --kind and --settings are required"},
		{[]string{"--client-uuid", cliClient, "--kind", "ftp", "--settings", "{}"}, `unknown destination kind "ftp"`},
		{[]string{"--client-uuid", cliClient, "--kind", "s3", "--settings", "{nope"}, "not JSON"},
		{[]string{"--client-uuid", cliClient, "--kind", "s3", "--settings", `{"bucket":"b"}`}, "endpoint"},
		{[]string{"--client-uuid", "nobody", "--kind", "s3", "--settings", settings(s3.Secret)}, "not found"},
	} {
		_, _, err := runCLI(t, append([]string{"destinations", "add", "--data", e.dir}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("add %v: %v, want an error saying %q", tc.args, err, tc.want)
		}
	}

	// Loopback needs the same permission as a webhook.
	out := e.run(t, "destinations", "add", "--client-uuid", cliClient, "--kind", "s3", "--settings", settings(s3.Secret),
		"--data-structure", "sleep_summary")
	m := destIDRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "status: active") {
		t.Fatalf("add printed:\n%s", out)
	}
	id := m[1]
	_, _, err := runCLI(t, "destinations", "test", id, "--data", e.dir)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("test of a loopback destination without --allow-private-webhooks: %v", err)
	}
	out = e.run(t, "destinations", "test", id, "--allow-private-webhooks")
	if !strings.Contains(out, "result:   ok") {
		t.Fatalf("test printed:\n%s", out)
	}

	out = e.run(t, "destinations", "list", "--client-uuid", cliClient)
	if !strings.Contains(out, id) || !strings.Contains(out, "sleep_summary") || !strings.Contains(out, "active") || strings.Contains(out, s3.Secret) {
		t.Fatalf("list printed:\n%s", out)
	}
	var listed []delivery.Destination
	if err := json.Unmarshal([]byte(e.run(t, "destinations", "list", "--json")), &listed); err != nil || len(listed) != 1 {
		t.Fatalf("list --json: %v %+v", err, listed)
	}
	if out := e.run(t, "webhooks", "list"); strings.Contains(out, id) {
		t.Fatalf("a destination listed as a webhook:\n%s", out)
	}

	if out := e.run(t, "destinations", "pause", id); !strings.Contains(out, id+" paused") {
		t.Fatalf("pause printed %q", out)
	}
	if out := e.run(t, "destinations", "resume", id); !strings.Contains(out, id+" active") {
		t.Fatalf("resume printed %q", out)
	}

	// Wrong credentials: the store's own words, and a failing exit;
	// corrected, the test passes.
	out = e.run(t, "destinations", "add", "--client-uuid", cliClient, "--kind", "s3", "--settings", settings("not-the-secret"))
	bad := destIDRe.FindStringSubmatch(out)[1]
	out, _, err = runCLI(t, "destinations", "test", bad, "--data", e.dir, "--allow-private-webhooks")
	if err == nil || !strings.Contains(out, "SignatureDoesNotMatch") || !strings.Contains(out, "(auth)") || strings.Contains(out, "not-the-secret") {
		t.Fatalf("test with a wrong secret: %v\n%s", err, out)
	}
	if out := e.run(t, "destinations", "update", bad, "--settings", settings(s3.Secret), "--data-structure", ""); !strings.Contains(out, bad+" updated") {
		t.Fatalf("update printed %q", out)
	}
	if out := e.run(t, "destinations", "test", bad, "--allow-private-webhooks"); !strings.Contains(out, "result:   ok") {
		t.Fatalf("test after the update printed:\n%s", out)
	}
	if _, _, err := runCLI(t, "destinations", "update", bad, "--data", e.dir); err == nil || !strings.Contains(err.Error(), "nothing to change") {
		t.Fatalf("update without changes: %v", err)
	}

	if out := e.run(t, "destinations", "remove", id); !strings.Contains(out, id+" removed") {
		t.Fatalf("remove printed %q", out)
	}
	_, _, err = runCLI(t, "destinations", "remove", id, "--data", e.dir)
	if health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("second remove: %v", err)
	}
}
