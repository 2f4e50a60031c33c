package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/provider/oura"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
)

// UsesBuiltinSimulator says whether a process with this configuration runs
// the built-in Oura simulator: nothing about an Oura application is
// configured (no client id, the live API's URLs) and the process is the
// only one (role all): a simulator's tokens mean nothing to the simulator
// of another process.
func UsesBuiltinSimulator(cfg config.Config) bool {
	o := cfg.Oura
	return cfg.Role == config.RoleAll && o.ClientID == "" && o.ClientSecret == "" &&
		(o.APIBaseURL == "" || o.APIBaseURL == oura.DefaultBaseURL) &&
		(o.AuthURL == "" || o.AuthURL == oura.DefaultAuthURL) &&
		(o.TokenURL == "" || o.TokenURL == oura.DefaultTokenURL)
}

// startSimulator runs an ourasim server on a free loopback port and points
// the Oura application's settings at it, so that wearlink serve without
// credentials links, syncs and serves simulated data end to end.
func (a *App) startSimulator() error {
	sim, err := ourasim.New(ourasim.Config{Seed: 1})
	if err != nil {
		return fmt.Errorf("built-in Oura simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = sim.Close()
		return fmt.Errorf("built-in Oura simulator: %w", err)
	}
	a.sim = sim
	a.simSrv = &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.simSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("built-in Oura simulator stopped", "err", err)
		}
	}()
	u := "http://" + ln.Addr().String()
	o := &a.cfg.Oura
	o.APIBaseURL = u
	o.AuthURL = u + "/oauth/authorize"
	o.TokenURL = u + "/oauth/token"
	o.RevokeURL = u + "/oauth/revoke"
	o.ClientID, o.ClientSecret = sim.ClientID(), sim.ClientSecret()
	a.log.Warn("no Oura application configured: using the built-in Oura simulator (simulated users and data, not real rings); set the Oura client id and secret to use Oura",
		"simulator_url", u)
	return nil
}

func (a *App) stopSimulator() {
	if a.simSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.simSrv.Shutdown(ctx)
		cancel()
		a.simSrv = nil
	}
	if a.sim != nil {
		_ = a.sim.Close()
		a.sim = nil
	}
}

// SimulatorURL is the built-in simulator's base URL ("" when it does not
// run).
func (a *App) SimulatorURL() string {
	if a.sim == nil {
		return ""
	}
	return a.cfg.Oura.APIBaseURL
}
