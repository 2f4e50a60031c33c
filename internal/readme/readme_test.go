package readme_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery/destination"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the settings table in README.md")

const readmePath = "../../README.md"

// block is one fenced block of the README and the run marker
// (<!-- run: MODE -->) on the line before its fence.
type block struct {
	mode, lang, text string
	line             int
}

// modes says how each kind of block is run.
var modes = map[string]string{
	"ci":            ".ci/run runs these commands",
	"sim":           "run as a shell script against the simulator",
	"oura":          "run as a shell script with a simulator standing in for Oura",
	"pg":            "run as a shell script on a throwaway PostgreSQL database",
	"go-verify":     "compiled and run against signatures made by the Standard Webhooks library",
	"python-verify": "run with python3 against signatures made by the Standard Webhooks library",
}

func readBlocks(t *testing.T) []block {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`^<!-- run: ([a-z-]+) -->$`)
	var out []block
	var cur *block
	mode := ""
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(line, "```"):
			cur = &block{mode: mode, lang: strings.TrimPrefix(line, "```"), line: i + 1}
			mode = ""
		default:
			if m := marker.FindStringSubmatch(line); m != nil {
				mode = m[1]
			} else {
				mode = ""
			}
		}
	}
	if cur != nil {
		t.Fatalf("README.md: the block at line %d is not closed", cur.line)
	}
	return out
}

// commandLine matches a line that runs something a reader would type.
var commandLine = regexp.MustCompile(`^\s*(wearlink|\./wearlink|go run|go build|make|curl|export|[A-Z_]+=\S+ wearlink)\b`)

// TestEveryCommandBlockRuns: a block with a command in it carries a run
// marker, so the tests below (or .ci/run) run it.
func TestEveryCommandBlockRuns(t *testing.T) {
	for _, b := range readBlocks(t) {
		if b.mode != "" {
			if _, ok := modes[b.mode]; !ok {
				t.Errorf("README.md:%d: unknown run mode %q", b.line, b.mode)
			}
			continue
		}
		for _, l := range strings.Split(b.text, "\n") {
			if commandLine.MatchString(l) {
				t.Errorf("README.md:%d: %q is in a block without a run marker; add <!-- run: MODE --> before it (%v)", b.line, l, modeNames())
				break
			}
		}
	}
}

func modeNames() []string {
	var out []string
	for m := range modes {
		out = append(out, m)
	}
	return out
}

// TestCIBlocks: .ci/run runs the first block: the tests the README names
// and the demo (its long-running form is run by internal/demo's tests).
func TestCIBlocks(t *testing.T) {
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, b := range readBlocks(t) {
		if b.mode != "ci" {
			continue
		}
		seen++
		for _, l := range strings.Split(b.text, "\n") {
			cmd := strings.TrimSpace(strings.SplitN(l, "#", 2)[0])
			switch {
			case cmd == "":
			case strings.HasPrefix(cmd, "go test "):
				// Verbatim, on a line of its own: a stricter variant
				// (-race) passing says nothing about the command a user
				// types.
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(cmd) + `$`).Match(ci) {
					t.Errorf(".ci/run does not run the README's test command %q as written", cmd)
				}
			case cmd == "go run ./cmd/wearlink demo":
				if !bytes.Contains(ci, []byte("demo --once")) {
					t.Errorf(".ci/run does not run the demo")
				}
			default:
				t.Errorf("README.md:%d: %q: no check that .ci/run runs it", b.line, cmd)
			}
		}
	}
	if seen == 0 {
		t.Fatal("README.md has no block that .ci/run runs")
	}
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// wearlinkBin builds the command once per test binary.
func wearlinkBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "wearlink-readme-bin")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "wearlink"), "../../cmd/wearlink").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// script is a README block made runnable: the addresses and paths it names
// replaced by free ports and temporary directories, `go run ./cmd/wearlink`
// by the built binary, and its background processes stopped at the end.
type script struct {
	t    *testing.T
	text string
	dir  string
	env  []string
	out  syncWriter
	cmd  *exec.Cmd
	done chan error
}

func newScript(t *testing.T, b block, repl map[string]string) *script {
	t.Helper()
	text := strings.ReplaceAll(b.text, "go run ./cmd/wearlink", "wearlink")
	for from, to := range repl {
		text = strings.ReplaceAll(text, from, to)
	}
	s := &script{t: t, text: text, dir: t.TempDir()}
	s.env = append(os.Environ(), "PATH="+wearlinkBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"WEARLINK_LOG_LEVEL=warn")
	return s
}

func (s *script) start() {
	s.t.Helper()
	wrapped := "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n" + s.text
	s.cmd = exec.Command("bash", "-c", wrapped)
	s.cmd.Dir, s.cmd.Env = s.dir, s.env
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	s.t.Cleanup(func() { _ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) })
}

// wait waits for the script to end by itself.
func (s *script) wait(timeout time.Duration) error {
	select {
	case err := <-s.done:
		return err
	case <-time.After(timeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return fmt.Errorf("still running after %s", timeout)
	}
}

// stop ends a script whose last command serves until stopped, as a
// person would with Ctrl-C.
func (s *script) stop() error {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT)
	return s.wait(30 * time.Second)
}

func (s *script) output() string { return s.out.String() }

// syncWriter collects the script's output, which its processes write while
// the test reads it.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func blocksOf(t *testing.T, mode string) []block {
	t.Helper()
	var out []block
	for _, b := range readBlocks(t) {
		if b.mode == mode {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README.md has no %q block", mode)
	}
	return out
}

// ports gives the README's example addresses free ports of their own.
func ports(t *testing.T) map[string]string {
	return map[string]string{
		"127.0.0.1:8080": freeAddr(t),
		"127.0.0.1:8081": freeAddr(t),
		"127.0.0.1:8082": freeAddr(t),
	}
}

// TestSimBlocks runs each simulator walkthrough as it is written.
func TestSimBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	for _, b := range blocksOf(t, "sim") {
		t.Run("line"+strconv.Itoa(b.line), func(t *testing.T) {
			t.Parallel()
			s := newScript(t, b, ports(t))
			s.start()
			if err := s.wait(4 * time.Minute); err != nil {
				t.Fatalf("README.md:%d: %v\n%s", b.line, err, s.output())
			}
			t.Logf("README.md:%d:\n%s", b.line, s.output())
		})
	}
}

// waitReady polls a server's /readyz until it answers 200.
func waitReady(t *testing.T, s *script, addr string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("the script ended before %s was ready: %v\n%s", addr, err, s.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 90 s\n%s", addr, s.output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestOuraBlock runs the production setup with a simulator standing in for
// Oura (its URLs in the environment, its application's credentials for the
// placeholders): the server starts, creates the Oura webhook subscriptions
// (answering their verification challenge) and stops cleanly.
func TestOuraBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	sim, err := ourasim.New(ourasim.Config{Seed: 3, Users: 1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(sim)
	t.Cleanup(func() { hs.Close(); sim.Close() })
	for _, b := range blocksOf(t, "oura") {
		addr := freeAddr(t)
		data := filepath.Join(t.TempDir(), "data")
		s := newScript(t, b, map[string]string{
			"your-oura-client-id":          sim.ClientID(),
			"your-oura-client-secret":      sim.ClientSecret(),
			"https://wearlink.example.com": "http://" + addr,
			"/var/lib/wearlink":            data,
		})
		s.env = append(s.env, "WEARLINK_LISTEN="+addr, "WEARLINK_OURA_API_URL="+hs.URL,
			"WEARLINK_OURA_AUTH_URL="+hs.URL+"/oauth/authorize", "WEARLINK_OURA_TOKEN_URL="+hs.URL+"/oauth/token",
			"WEARLINK_OURA_REVOKE_URL="+hs.URL+"/oauth/revoke")
		s.start()
		waitReady(t, s, addr)
		deadline := time.Now().Add(60 * time.Second)
		for len(sim.Subscriptions()) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("README.md:%d: no Oura webhook subscription created\n%s", b.line, s.output())
			}
			time.Sleep(200 * time.Millisecond)
		}
		if !strings.Contains(s.output(), "client_uuid") {
			t.Errorf("README.md:%d: clients create printed no client_uuid\n%s", b.line, s.output())
		}
		if err := s.stop(); err != nil {
			t.Fatalf("README.md:%d: serve did not stop cleanly: %v\n%s", b.line, err, s.output())
		}
		t.Logf("README.md:%d: ready, %d Oura subscriptions created\n%s", b.line, len(sim.Subscriptions()), s.output())
	}
}

// TestPostgresBlock runs the several-process setup on a database of its
// own in the PostgreSQL that CI starts.
func TestPostgresBlock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	dbURL := testutil.PostgresSchemaURL(t, "readme")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, b := range blocksOf(t, "pg") {
		p := ports(t)
		s := newScript(t, b, p)
		s.env = append(s.env, "DATABASE_URL="+dbURL)
		s.start()
		waitReady(t, s, p["127.0.0.1:8080"])
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM river_job").Scan(&n); err != nil {
			t.Fatalf("README.md:%d: River's tables not in the database: %v", b.line, err)
		}
		if err := s.stop(); err != nil {
			t.Fatalf("README.md:%d: %v\n%s", b.line, err, s.output())
		}
		t.Logf("README.md:%d: migrated, worker and api started and stopped\n%s", b.line, s.output())
	}
}

// signed is one request signed with the Standard Webhooks library.
type signed struct {
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Want    bool              `json:"want"`
}

func signedCases(t *testing.T) []signed {
	t.Helper()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"data_structure":"sleep_summary","user_id":"alice","document_version":1}`
	now := time.Now()
	sig := func(id string, ts time.Time, b string) string {
		s, err := wh.Sign(id, ts, []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	h := func(id string, ts time.Time, s string) map[string]string {
		return map[string]string{"webhook-id": id, "webhook-timestamp": strconv.FormatInt(ts.Unix(), 10), "webhook-signature": s}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=")
	otherSig, _ := other.Sign("msg_1", now, []byte(body))
	old := now.Add(-10 * time.Minute)
	return []signed{
		{secret, h("msg_1", now, sig("msg_1", now, body)), body, true},
		// During a rotation two signatures arrive; one valid is enough.
		{secret, h("msg_1", now, otherSig+" "+sig("msg_1", now, body)), body, true},
		{secret, h("msg_1", now, sig("msg_1", now, body)), body + " ", false},
		{secret, h("msg_2", now, sig("msg_1", now, body)), body, false},
		{secret, h("msg_1", now, otherSig), body, false},
		{secret, h("msg_1", old, sig("msg_1", old, body)), body, false},
	}
}

// TestGoVerifySnippet compiles the README's Go function into a small
// program and checks its verdict on signed and tampered requests.
func TestGoVerifySnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	b := blocksOf(t, "go-verify")[0]
	dir := t.TempDir()
	prog := `package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

` + b.text + `
func main() {
	var cases []struct {
		Secret  string            ` + "`json:\"secret\"`" + `
		Headers map[string]string ` + "`json:\"headers\"`" + `
		Body    string            ` + "`json:\"body\"`" + `
	}
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		fmt.Println(verify(c.Secret, h, []byte(c.Body)))
	}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module verify\n\ngo 1.26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkVerdicts(t, b, exec.Command("go", "run", "."), dir)
}

// TestPythonVerifySnippet runs the README's Python function the same way.
func TestPythonVerifySnippet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands")
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	b := blocksOf(t, "python-verify")[0]
	dir := t.TempDir()
	prog := b.text + `
import json, sys
for c in json.load(sys.stdin):
    print("true" if verify(c["secret"], c["headers"], c["body"].encode()) else "false")
`
	if err := os.WriteFile(filepath.Join(dir, "verify.py"), []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	checkVerdicts(t, b, exec.Command(py, "verify.py"), dir)
}

func checkVerdicts(t *testing.T, b block, cmd *exec.Cmd, dir string) {
	t.Helper()
	cases := signedCases(t)
	in, _ := json.Marshal(cases)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("README.md:%d: %v\n%s", b.line, err, stderr.String())
	}
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		got = append(got, strings.TrimSpace(sc.Text()))
	}
	if len(got) != len(cases) {
		t.Fatalf("README.md:%d: %d verdicts for %d cases: %q", b.line, len(got), len(cases), out)
	}
	for i, c := range cases {
		if got[i] != strconv.FormatBool(c.Want) {
			t.Errorf("README.md:%d: case %d: verify said %s, want %v", b.line, i, got[i], c.Want)
		}
	}
}

// settingsTable is the README's table of every setting.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| environment variable | flag | default | what it sets |\n| --- | --- | --- | --- |\n")
	row := func(env, flag, def, usage string) {
		if flag != "" {
			flag = "`--" + flag + "`"
		}
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", env, flag, def, strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(usage))
	}
	for _, s := range config.Settings() {
		flag := s.Flag
		switch s.Env {
		case "WEARLINK_DATA":
			flag = "data"
		case "WEARLINK_DATABASE_URL":
			flag = "database-url"
		}
		def := s.Default
		if s.Secret {
			def = ""
		}
		row(s.Env, flag, def, s.Usage)
	}
	row("WEARLINK_SECRET_KEY", "secret-key", "", "base64 key sealing OAuth tokens, webhook secrets and destination credentials at rest; comma-separated, newest first, to rotate (default: a key file in the data directory)")
	b.WriteString("\nA destination's settings are given when it is added (`settings` of `POST /api/v1/client/destinations`,\n" +
		"`wearlink destinations add --settings`), per client; secrets are sealed at rest and never shown back:\n\n")
	b.WriteString("| destination | setting | required | what it sets |\n| --- | --- | --- | --- |\n")
	for _, f := range destination.Fields() {
		req := ""
		if f.Required {
			req = "yes"
		}
		usage := f.Usage
		if f.Secret {
			usage += " (secret)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", f.Kind, f.Name, req, strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(usage))
	}
	return b.String()
}

// TestSettingsTable: the README's settings table lists every setting with
// its current default; -update rewrites it.
func TestSettingsTable(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- settings -->\n", "<!-- /settings -->"
	i, j := bytes.Index(b, []byte(begin)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", begin, end)
	}
	want := settingsTable()
	got := string(b[i+len(begin) : j])
	if got == want {
		return
	}
	if *update {
		out := append(append(append([]byte{}, b[:i+len(begin)]...), want...), b[j:]...)
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's settings table is out of date; run go test ./internal/readme -run TestSettingsTable -update\ngot:\n%s\nwant:\n%s", got, want)
}
