package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/pull"
)

// grantFileName is the file in pull's output directory that keeps the
// OAuth grant of a browser login, so that later runs need no login.
const grantFileName = ".wearlink-grant.json"

// savedGrant is what the grant file holds: the tokens and what they belong
// to. The client secret is not kept: it is given again on every run, so the
// file alone cannot refresh the grant.
type savedGrant struct {
	DataSource   string    `json:"data_source"`
	ClientID     string    `json:"client_id"`
	APIURL       string    `json:"api_url"`
	AuthURL      string    `json:"auth_url"`
	TokenURL     string    `json:"token_url"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry,omitzero"`
	Scopes       []string  `json:"scopes,omitempty"`
}

func (g *savedGrant) tokens() provider.Tokens {
	return provider.Tokens{AccessToken: g.AccessToken, RefreshToken: g.RefreshToken, Expiry: g.Expiry, Scopes: slices.Clone(g.Scopes)}
}

func (g *savedGrant) setTokens(t provider.Tokens) {
	g.AccessToken, g.RefreshToken, g.Expiry, g.Scopes = t.AccessToken, t.RefreshToken, t.Expiry, slices.Clone(t.Scopes)
}

// sameApplication says whether g was granted to the application and API of
// want: only then can this run's client secret refresh it.
func (g *savedGrant) sameApplication(want savedGrant) bool {
	return g.DataSource == want.DataSource && g.ClientID == want.ClientID && g.APIURL == want.APIURL &&
		g.AuthURL == want.AuthURL && g.TokenURL == want.TokenURL
}

func grantPath(dir string) string { return filepath.Join(dir, grantFileName) }

// loadGrant reads the grant file of dir; nil when there is none. A file
// that others may read is refused rather than fixed: its tokens may
// already have been read, which only the person can judge (and revoke).
func loadGrant(dir string) (*savedGrant, error) {
	path := grantPath(dir)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the saved login: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the saved login: %w", err)
	}
	// Windows has no such permission bits.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%s holds your login but others may read it (mode %04o, want 0600): "+
			"if they may have, revoke wearlink's access at the provider and delete the file; else run chmod 600 %s", path, perm, path)
	}
	var g savedGrant
	if err := json.NewDecoder(f).Decode(&g); err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to log in again)", path, err)
	}
	return &g, nil
}

// saveGrant writes g to dir's grant file atomically, mode 0600 from the
// start: the tokens are never on disk with a looser mode.
func saveGrant(dir string, g savedGrant) error {
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	err = pull.ReplaceFile(grantPath(dir), 0o600, func(f *os.File) error {
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
		// A refresh token that was spent but not saved is lost for good.
		return f.Sync()
	})
	if err != nil {
		return fmt.Errorf("save the login: %w", err)
	}
	return nil
}

// removeGrant deletes dir's grant file; none is not an error.
func removeGrant(dir string) error {
	if err := os.Remove(grantPath(dir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the saved login: %w", err)
	}
	return nil
}
