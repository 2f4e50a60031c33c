package sim

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// PrintBanner writes the base URL, the OAuth endpoints, the client
// credentials, a ready token per user and an example curl line.
func (s *Server) PrintBanner(out io.Writer) {
	base := s.URL()
	b := simkit.Banner{
		Title: "ourasim listening on " + base,
		Fields: [][2]string{
			{"API base URL", base},
			{"authorize URL", base + "/oauth/authorize"},
			{"token URL", base + "/oauth/token"},
			{"revoke URL", base + "/oauth/revoke"},
			{"client id", s.ClientID()},
			{"client secret", s.ClientSecret()},
			{"control API", base + "/_sim/"},
			{"simulated now", fmt.Sprintf("%s (x%g)", s.clock.Now().Format(time.RFC3339), s.clock.Factor())},
		},
		TokensTitle: "Ready tokens (all scopes):",
		Columns:     []string{"USER", "OURA ID", "TIME ZONE", "ACCESS TOKEN", "REFRESH TOKEN"},
	}
	first := "<token>"
	for i, t := range s.Tokens() {
		if i == 0 {
			first = t.AccessToken
		}
		b.Rows = append(b.Rows, []string{strconv.Itoa(t.UserIndex), t.OuraID, t.TimeZone, t.AccessToken, t.RefreshToken})
	}
	b.Example = fmt.Sprintf("curl -H 'Authorization: Bearer %s' '%s/v2/usercollection/daily_sleep'", first, base)
	b.Write(out)
	fmt.Fprintln(out, strings.Repeat("-", 40))
}

// Run builds a server from cfg, serves it on addr, prints the banner to out
// and serves until ctx is done. It is the body of "wearlink ourasim".
func Run(ctx context.Context, addr string, cfg Config, out io.Writer) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return simkit.Run(ctx, s, addr, out)
}
