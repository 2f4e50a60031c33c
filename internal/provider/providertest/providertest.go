// Package providertest is a provider written only for tests: FakeBand, a
// band with two collections (naps, read by day and notified, and the
// account's profile), a standard OAuth 2.0 flow and signed notifications.
// Its cloud is Server, a small fake on loopback. It exists to show that a
// provider is one folder: registered in a test, it is linked, backfilled,
// notified, normalized, delivered and served with nothing outside this
// folder changed for it.
package providertest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
)

// DataSource is FakeBand's slug.
const DataSource = "fakeband"

// Collections.
const (
	CollNaps    = "naps"
	CollProfile = "profile"
)

// Nap is one document of the naps collection.
type Nap struct {
	ID      string `json:"id"`
	Day     string `json:"day"`
	Minutes int    `json:"minutes"`
}

// Server is FakeBand's cloud: /authorize, /token, /v1/profile, /v1/naps
// and /v1/naps/{id}. One account, whose consent is always given.
type Server struct {
	ClientID, ClientSecret string
	UserID                 string

	mu     sync.Mutex
	srv    *httptest.Server
	codes  map[string]bool
	access map[string]bool
	n      int
	naps   map[string]Nap
	reads  int
}

// NewServer starts the cloud on loopback; Close stops it.
func NewServer() *Server {
	s := &Server{ClientID: "fb-app", ClientSecret: "fb-secret", UserID: "fb-user-1",
		codes: map[string]bool{}, access: map[string]bool{}, naps: map[string]Nap{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /v1/profile", s.auth(s.profile))
	mux.HandleFunc("GET /v1/naps", s.auth(s.listNaps))
	mux.HandleFunc("GET /v1/naps/{id}", s.auth(s.getNap))
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the cloud's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the cloud.
func (s *Server) Close() { s.srv.Close() }

// AddNap stores a nap, as the band's app would after a sync.
func (s *Server) AddNap(n Nap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.naps[n.ID] = n
}

// Reads counts the data requests served.
func (s *Server) Reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

// Notify posts a signed notification of a nap to callbackURL and returns
// the status it got.
func (s *Server) Notify(ctx context.Context, callbackURL, napID string) (int, error) {
	body, _ := json.Marshal(map[string]string{"user_id": s.UserID, "type": "nap.updated", "id": napID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callbackURL, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-FakeBand-Signature", sign(s.ClientSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID || q.Get("redirect_uri") == "" {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.n++
	code := fmt.Sprintf("code-%d", s.n)
	s.codes[code] = true
	s.mu.Unlock()
	to, _ := url.Parse(q.Get("redirect_uri"))
	back := to.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	to.RawQuery = back.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.ClientID || secret != s.ClientSecret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PostForm.Get("grant_type") == "authorization_code" {
		if !s.codes[r.PostForm.Get("code")] {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		delete(s.codes, r.PostForm.Get("code"))
	}
	s.n++
	tok := fmt.Sprintf("access-%d", s.n)
	s.access[tok] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "refresh_token": fmt.Sprintf("refresh-%d", s.n),
		"expires_in": 3600, "token_type": "bearer", "scope": "naps profile"})
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		ok := s.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		s.reads++
		s.mu.Unlock()
		if !ok {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

func (s *Server) profile(w http.ResponseWriter, _ *http.Request) {
	_ = json.NewEncoder(w).Encode(map[string]string{"user_id": s.UserID, "name": "A. Sleeper"})
}

func (s *Server) listNaps(w http.ResponseWriter, r *http.Request) {
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	s.mu.Lock()
	var out []Nap
	for _, n := range s.naps {
		if n.Day >= from && n.Day <= to {
			out = append(out, n)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	_ = json.NewEncoder(w).Encode(map[string]any{"records": out})
}

func (s *Server) getNap(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n, ok := s.naps[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(n)
}

// Provider is FakeBand behind the seam.
type Provider struct {
	base, secret string
	http         *http.Client
}

var (
	_ provider.Provider           = (*Provider)(nil)
	_ provider.DocumentFetcher    = (*Provider)(nil)
	_ provider.NotificationReader = (*Provider)(nil)
	_ provider.Normalizer         = (*Provider)(nil)
)

// NewProvider reads the cloud at base; secret verifies notifications.
func NewProvider(base, secret string) *Provider {
	return &Provider{base: base, secret: secret, http: &http.Client{Timeout: 10 * time.Second}}
}

// Info implements provider.Provider.
func (p *Provider) Info() provider.Info {
	return provider.Info{DataSource: DataSource, Name: "FakeBand", Description: "A band that exists only in tests.",
		OAuth: provider.OAuth{AuthURL: p.base + "/authorize", TokenURL: p.base + "/token", Scopes: []string{"naps", "profile"},
			ScopeSeparator: " ", AuthStyle: provider.AuthInHeader, RotatesRefreshToken: true, RequiredScopes: []string{"naps"}}}
}

// Collections implements provider.Provider.
func (p *Provider) Collections() []provider.Collection {
	return []provider.Collection{
		{Name: CollNaps, Range: provider.RangeDays, ByID: true, Notified: true},
		{Name: CollProfile, Range: provider.RangeSingleton},
	}
}

func (p *Provider) get(ctx context.Context, a provider.Auth, path string, out any) error {
	tok, err := a.AccessToken(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := p.http.Do(req)
	if err != nil {
		return &provider.Error{Kind: provider.KindNetwork, Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return &provider.Error{Kind: provider.KindInvalidToken, Err: errors.New(resp.Status)}
	case resp.StatusCode == http.StatusNotFound:
		return &provider.Error{Kind: provider.KindNotFound, Err: errors.New(resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return &provider.Error{Kind: provider.KindServer, Err: errors.New(resp.Status)}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Fetch implements provider.Provider.
func (p *Provider) Fetch(ctx context.Context, a provider.Auth, coll string, w provider.Window) ([]provider.Document, error) {
	if coll != CollNaps {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: fmt.Errorf("fakeband: %s is not read by day", coll)}
	}
	var page struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := p.get(ctx, a, "/v1/naps?"+url.Values{"from": {w.From}, "to": {w.To}}.Encode(), &page); err != nil {
		return nil, err
	}
	out := make([]provider.Document, 0, len(page.Records))
	for _, raw := range page.Records {
		var n Nap
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, &provider.Error{Kind: provider.KindServer, Err: err}
		}
		out = append(out, provider.Document{Collection: CollNaps, ID: n.ID, Day: n.Day, Raw: raw})
	}
	return out, nil
}

// FetchDocument implements provider.DocumentFetcher.
func (p *Provider) FetchDocument(ctx context.Context, a provider.Auth, coll, id string) (provider.Document, error) {
	var raw json.RawMessage
	if err := p.get(ctx, a, "/v1/naps/"+url.PathEscape(id), &raw); err != nil {
		return provider.Document{}, err
	}
	var n Nap
	_ = json.Unmarshal(raw, &n)
	return provider.Document{Collection: coll, ID: n.ID, Day: n.Day, Raw: raw}, nil
}

// Identify implements provider.Provider.
func (p *Provider) Identify(ctx context.Context, a provider.Auth) (provider.Account, error) {
	var raw json.RawMessage
	if err := p.get(ctx, a, "/v1/profile", &raw); err != nil {
		return provider.Account{}, err
	}
	var v struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.UserID == "" {
		return provider.Account{}, &provider.Error{Kind: provider.KindServer, Err: fmt.Errorf("fakeband: profile without user_id")}
	}
	return provider.Account{ExternalUserID: v.UserID, Documents: []provider.Document{{Collection: CollProfile, ID: v.UserID, Raw: raw}}}, nil
}

// ReadNotification implements provider.NotificationReader.
func (p *Provider) ReadNotification(r *http.Request, body []byte) ([]provider.Notification, error) {
	if !hmac.Equal([]byte(r.Header.Get("X-FakeBand-Signature")), []byte(sign(p.secret, body))) {
		return nil, &provider.Error{Kind: provider.KindUnauthorized, Err: errors.New("fakeband: bad signature")}
	}
	var n struct {
		UserID string `json:"user_id"`
		Type   string `json:"type"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal(body, &n); err != nil || n.UserID == "" || !strings.HasPrefix(n.Type, "nap.") {
		return nil, &provider.Error{Kind: provider.KindInvalidRequest, Err: errors.New("fakeband: not a notification")}
	}
	return []provider.Notification{{ExternalUserID: n.UserID, Collection: CollNaps, Event: "update", ID: n.ID}}, nil
}

// Normalize implements provider.Normalizer: each nap is a sleep summary of
// its day; the profile feeds nothing.
func (p *Provider) Normalize(docs []provider.Document, opt provider.NormalizeOptions) ([]provider.Normalized, error) {
	var out []provider.Normalized
	var errs []error
	for _, d := range docs {
		if d.Collection != CollNaps {
			continue
		}
		var n Nap
		if err := json.Unmarshal(d.Raw, &n); err != nil || n.Day == "" {
			errs = append(errs, &provider.InputError{Collection: d.Collection, ID: d.ID, Reason: "no day"})
			continue
		}
		s := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: opt.ClientUUID, UserID: opt.UserID, Day: n.Day}}
		dt := n.Day + "T12:00:00.000000Z"
		secs := n.Minutes * 60
		s.Summary.Metadata.Datetime = &dt
		s.Summary.Metadata.SourcesOfData = []string{"FakeBand"}
		s.Summary.Duration.SleepDurationSeconds = &secs
		out = append(out, provider.Normalized{Key: DataSource + "/" + n.ID, Doc: s})
	}
	return out, errors.Join(errs...)
}
