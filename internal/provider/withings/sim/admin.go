package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// AdminHelp describes the control routes, for the CLI's help text.
const AdminHelp = `Control routes (no authentication; loopback only):
  GET    /_sim/users                       users with their ready tokens
  POST   /_sim/weighin?user=0              a new weigh-in now (notifies appli 1)
  POST   /_sim/bloodpressure?user=0        a new blood pressure now (notifies appli 4)
  POST   /_sim/night?user=0                a night ending now (notifies appli 44)
  POST   /_sim/scan                        announce generated data that appeared since the last scan
  GET    /_sim/subscriptions               every notify subscription
  GET    /_sim/notifications               notifications sent and their attempts
  GET    /_sim/faults, PUT /_sim/faults    read or replace injected faults (JSON)
  POST   /_sim/tokens                      issue a token: {"user":0,"scopes":[...],"expires_in":"1h"}`

func (s *Server) adminRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/users", func(w http.ResponseWriter, r *http.Request) { _ = simkit.WriteJSON(w, 200, s.Info().Users) })
	user := func(r *http.Request) int { i, _ := strconv.Atoi(r.URL.Query().Get("user")); return i }
	m.HandleFunc("POST /_sim/weighin", func(w http.ResponseWriter, r *http.Request) {
		g, err := s.AddWeighIn(user(r), time.Time{})
		adminAnswer(w, g, err)
	})
	m.HandleFunc("POST /_sim/bloodpressure", func(w http.ResponseWriter, r *http.Request) {
		g, err := s.AddBloodPressure(user(r), time.Time{})
		adminAnswer(w, g, err)
	})
	m.HandleFunc("POST /_sim/night", func(w http.ResponseWriter, r *http.Request) {
		sum, err := s.AddNight(user(r), time.Time{})
		adminAnswer(w, sum, err)
	})
	m.HandleFunc("POST /_sim/scan", func(w http.ResponseWriter, r *http.Request) {
		adminAnswer(w, map[string]int{"notifications": s.Scan()}, nil)
	})
	m.HandleFunc("GET /_sim/subscriptions", func(w http.ResponseWriter, r *http.Request) { _ = simkit.WriteJSON(w, 200, s.Subscriptions()) })
	m.HandleFunc("GET /_sim/notifications", func(w http.ResponseWriter, r *http.Request) { _ = simkit.WriteJSON(w, 200, s.Notifications()) })
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) { _ = simkit.WriteJSON(w, 200, s.Faults()) })
	m.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := simkit.ReadJSON(r, &f); err != nil {
			adminAnswer(w, nil, err)
			return
		}
		adminAnswer(w, f, s.SetFaults(f))
	})
	m.HandleFunc("POST /_sim/tokens", func(w http.ResponseWriter, r *http.Request) {
		req, err := simkit.ReadTokenRequest(r)
		if err != nil {
			adminAnswer(w, nil, err)
			return
		}
		t, err := s.IssueToken(req.User, req.Scopes, req.ExpiresIn)
		adminAnswer(w, t, err)
	})
	return m
}

func adminAnswer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		_ = simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	_ = simkit.WriteJSON(w, http.StatusOK, v)
}

// Info is what a person or a test needs to use a running simulator.
type Info struct {
	BaseURL      string     `json:"base_url"` // the API's and the authorize page's
	AuthorizeURL string     `json:"authorize_url"`
	TokenURL     string     `json:"token_url"`
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret"`
	Users        []UserInfo `json:"users"`
}

// UserInfo is one simulated user with a ready token pair.
type UserInfo struct {
	Index        int    `json:"index"`
	UserID       int64  `json:"userid"`
	Timezone     string `json:"timezone"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// Info describes the server; the URLs are empty before Start.
func (s *Server) Info() Info {
	base := s.URL()
	in := Info{BaseURL: base, ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret}
	if base != "" {
		in.AuthorizeURL, in.TokenURL = base+PathAuthorize, base+PathOAuth2
	}
	for i, u := range s.world.users {
		t := s.auth.ready[i]
		in.Users = append(in.Users, UserInfo{Index: u.Index, UserID: u.UserID, Timezone: u.Timezone, AccessToken: t.AccessToken, RefreshToken: t.RefreshToken})
	}
	return in
}

// PrintBanner writes the base URL, the client credentials, a ready token
// per user and an example curl line.
func (s *Server) PrintBanner(out io.Writer) {
	in := s.Info()
	b := simkit.Banner{
		Title: "withingssim listening on " + in.BaseURL,
		Fields: [][2]string{
			{"API base URL", in.BaseURL},
			{"authorize URL", in.AuthorizeURL},
			{"token URL", in.TokenURL},
			{"client id", in.ClientID},
			{"client secret", in.ClientSecret},
			{"control API", in.BaseURL + "/_sim/"},
			{"simulated now", s.now().UTC().Format(time.RFC3339)},
		},
		TokensTitle: "Ready tokens (every scope):",
		Columns:     []string{"USER", "USERID", "TIMEZONE", "ACCESS TOKEN", "REFRESH TOKEN"},
	}
	for _, u := range in.Users {
		b.Rows = append(b.Rows, []string{strconv.Itoa(u.Index), strconv.FormatInt(u.UserID, 10), u.Timezone, u.AccessToken, u.RefreshToken})
	}
	if len(in.Users) > 0 {
		b.Example = fmt.Sprintf("curl -H 'Authorization: Bearer %s' --data 'action=getmeas&meastypes=1,6' '%s%s'", in.Users[0].AccessToken, in.BaseURL, PathMeasure)
	}
	b.Write(out)
}

// Run builds a server from cfg, serves it on addr (loopback only), prints
// the banner to out and serves until ctx is done: the body of "wearlink
// withingssim".
func Run(ctx context.Context, addr string, cfg Config, out io.Writer) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return simkit.Run(ctx, s, addr, out)
}
