package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// Info is what a person or a test needs to use a running simulator.
type Info struct {
	BaseURL      string     `json:"base_url"`     // e.g. http://127.0.0.1:8082
	APIBaseURL   string     `json:"api_base_url"` // BaseURL + /developer
	AuthorizeURL string     `json:"authorize_url"`
	TokenURL     string     `json:"token_url"`
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret"`
	WebhookURL   string     `json:"webhook_url,omitempty"`
	Users        []UserInfo `json:"users"`
}

// UserInfo is one simulated member with a ready token pair.
type UserInfo struct {
	Index          int    `json:"index"`
	UserID         int64  `json:"user_id"`
	Email          string `json:"email"`
	TimezoneOffset string `json:"timezone_offset"`
	AccessToken    string `json:"access_token"`
	RefreshToken   string `json:"refresh_token"`
}

// Info describes the server; the URLs are empty before Start.
func (s *Server) Info() Info {
	base := s.URL()
	in := Info{BaseURL: base, ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, WebhookURL: s.cfg.WebhookURL}
	if base != "" {
		in.APIBaseURL, in.AuthorizeURL, in.TokenURL = base+APIPrefix, base+"/oauth/oauth2/auth", base+"/oauth/oauth2/token"
	}
	toks := s.Tokens()
	for i, u := range s.world.Users() {
		ui := UserInfo{Index: u.Index, UserID: u.UserID, Email: u.Email, TimezoneOffset: u.TimezoneOffset}
		if i < len(toks) {
			ui.AccessToken, ui.RefreshToken = toks[i].AccessToken, toks[i].RefreshToken
		}
		in.Users = append(in.Users, ui)
	}
	return in
}

// PrintBanner writes the base URLs, the client credentials, a ready token
// per user and an example curl line.
func (s *Server) PrintBanner(out io.Writer) {
	in := s.Info()
	b := simkit.Banner{
		Title: "whoopsim listening on " + in.BaseURL,
		Fields: [][2]string{
			{"API base URL", in.APIBaseURL},
			{"authorize URL", in.AuthorizeURL},
			{"token URL", in.TokenURL},
			{"client id", in.ClientID},
			{"client secret", in.ClientSecret},
		},
		TokensTitle: "Ready tokens (all scopes, offline included):",
		Columns:     []string{"USER", "USER ID", "OFFSET", "ACCESS TOKEN", "REFRESH TOKEN"},
	}
	if in.WebhookURL != "" {
		b.Fields = append(b.Fields, [2]string{"webhook URL", in.WebhookURL})
	}
	b.Fields = append(b.Fields, [2]string{"control API", in.BaseURL + "/_sim/"}, [2]string{"simulated now", fmtTime(s.clock.Now())})
	for _, u := range in.Users {
		b.Rows = append(b.Rows, []string{strconv.Itoa(u.Index), strconv.FormatInt(u.UserID, 10), u.TimezoneOffset, u.AccessToken, u.RefreshToken})
	}
	if len(in.Users) > 0 {
		b.Example = fmt.Sprintf("curl -H 'Authorization: Bearer %s' '%s/v2/cycle?limit=5'", in.Users[0].AccessToken, in.APIBaseURL)
	}
	b.Write(out)
}

// Run builds a server from cfg, serves it on addr (loopback only), prints
// the banner to out and serves until ctx is done. It is the body of
// "wearlink whoopsim".
func Run(ctx context.Context, addr string, cfg Config, out io.Writer) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return simkit.Run(ctx, s, addr, out)
}
