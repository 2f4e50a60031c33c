package sim

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
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
	fmt.Fprintf(out, "whoopsim listening on %s\n\n", in.BaseURL)
	fmt.Fprintf(out, "  API base URL   %s\n", in.APIBaseURL)
	fmt.Fprintf(out, "  authorize URL  %s\n", in.AuthorizeURL)
	fmt.Fprintf(out, "  token URL      %s\n", in.TokenURL)
	fmt.Fprintf(out, "  client id      %s\n", in.ClientID)
	fmt.Fprintf(out, "  client secret  %s\n", in.ClientSecret)
	if in.WebhookURL != "" {
		fmt.Fprintf(out, "  webhook URL    %s\n", in.WebhookURL)
	}
	fmt.Fprintf(out, "  control API    %s/_sim/\n", in.BaseURL)
	fmt.Fprintf(out, "  simulated now  %s\n\n", fmtTime(s.clock.Now()))
	fmt.Fprintln(out, "Ready tokens (all scopes, offline included):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  USER\tUSER ID\tOFFSET\tACCESS TOKEN\tREFRESH TOKEN")
	for _, u := range in.Users {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\n", u.Index, u.UserID, u.TimezoneOffset, u.AccessToken, u.RefreshToken)
	}
	_ = tw.Flush()
	if len(in.Users) > 0 {
		fmt.Fprintf(out, "\nExample:\n  curl -H 'Authorization: Bearer %s' '%s/v2/cycle?limit=5'\n", in.Users[0].AccessToken, in.APIBaseURL)
	}
}

// Run builds a server from cfg, serves it on addr (loopback only), prints
// the banner to out and serves until ctx is done. It is the body of
// "wearlink whoopsim".
func Run(ctx context.Context, addr string, cfg Config, out io.Writer) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	if err := s.Start(addr); err != nil {
		_ = s.Close()
		return err
	}
	s.PrintBanner(out)
	<-ctx.Done()
	return s.Close()
}
