package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/provider/all"
	ourasim "github.com/wearlink/wearlink/internal/provider/oura/sim"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	whoopsim "github.com/wearlink/wearlink/internal/provider/whoop/sim"
	withingssim "github.com/wearlink/wearlink/internal/provider/withings/sim"
)

// UsesBuiltinSimulator says whether a process with this configuration runs
// the built-in Oura simulator: nothing about an Oura application is
// configured (no client id, the live API's URLs) and the process is the
// only one (role all): a simulator's tokens mean nothing to the simulator
// of another process.
func UsesBuiltinSimulator(cfg config.Config) bool {
	o, live := cfg.Oura, all.LiveOura()
	return cfg.Role == config.RoleAll && o.ClientID == "" && o.ClientSecret == "" &&
		(o.APIBaseURL == "" || o.APIBaseURL == live.APIURL) &&
		(o.AuthURL == "" || o.AuthURL == live.AuthURL) &&
		(o.TokenURL == "" || o.TokenURL == live.TokenURL)
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

// UsesBuiltinWhoopSimulator says the same of WHOOP: no WHOOP application
// configured, the live URLs, role all.
func UsesBuiltinWhoopSimulator(cfg config.Config) bool {
	w, live := cfg.Whoop, all.LiveWhoop()
	return cfg.Role == config.RoleAll && w.ClientID == "" && w.ClientSecret == "" &&
		(w.APIBaseURL == "" || w.APIBaseURL == live.APIURL) &&
		(w.OAuthBaseURL == "" || w.OAuthBaseURL == live.OAuthURL)
}

// startWhoopSimulator runs the WHOOP simulator on a free loopback port and
// points the WHOOP application's settings at it. WHOOP posts its
// notifications to one URL set in its dashboard; the simulator's is this
// server's WHOOP webhook route.
func (a *App) startWhoopSimulator() error {
	sim, err := whoopsim.New(whoopsim.Config{Seed: 1, WebhookURL: a.cfg.PublicBase() + "/webhooks/" + whoop.DataSource})
	if err != nil {
		return fmt.Errorf("built-in WHOOP simulator: %w", err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		return fmt.Errorf("built-in WHOOP simulator: %w", err)
	}
	a.whoopSim = sim
	in := sim.Info()
	w := &a.cfg.Whoop
	w.APIBaseURL, w.OAuthBaseURL = in.APIBaseURL, in.BaseURL
	w.ClientID, w.ClientSecret = in.ClientID, in.ClientSecret
	a.log.Warn("no WHOOP application configured: using the built-in WHOOP simulator (simulated members and data, not real straps); set the WHOOP client id and secret to use WHOOP",
		"simulator_url", in.BaseURL)
	return nil
}

// UsesBuiltinWithingsSimulator says the same of Withings: no Withings
// application configured, the live URLs, role all.
func UsesBuiltinWithingsSimulator(cfg config.Config) bool {
	w, live := cfg.Withings, all.LiveWithings()
	return cfg.Role == config.RoleAll && w.ClientID == "" && w.ClientSecret == "" &&
		(w.APIBaseURL == "" || w.APIBaseURL == live.APIURL) &&
		(w.AuthURL == "" || w.AuthURL == live.AuthURL)
}

// startWithingsSimulator runs the Withings simulator on a free loopback
// port and points the Withings application's settings at it. Withings
// notifies the callback URLs wearlink subscribes per user after each
// link, so the simulator needs no URL of wearlink's.
func (a *App) startWithingsSimulator() error {
	// The scan announces the data that appears as time passes, as the
	// other built-in simulators do.
	sim, err := withingssim.New(withingssim.Config{Seed: 1, ScanInterval: 10 * time.Second})
	if err != nil {
		return fmt.Errorf("built-in Withings simulator: %w", err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		_ = sim.Close()
		return fmt.Errorf("built-in Withings simulator: %w", err)
	}
	a.withingsSim = sim
	in := sim.Info()
	w := &a.cfg.Withings
	w.APIBaseURL, w.AuthURL = in.BaseURL, in.AuthorizeURL
	w.ClientID, w.ClientSecret = in.ClientID, in.ClientSecret
	a.log.Warn("no Withings application configured: using the built-in Withings simulator (simulated users and data, not real devices); set the Withings client id and secret to use Withings",
		"simulator_url", in.BaseURL)
	return nil
}

// WithingsSimulator is the built-in Withings simulator (nil when it does
// not run): the demo adds measurements through it.
func (a *App) WithingsSimulator() *withingssim.Server { return a.withingsSim }

func (a *App) stopSimulator() {
	if a.withingsSim != nil {
		_ = a.withingsSim.Close()
		a.withingsSim = nil
	}
	if a.whoopSim != nil {
		_ = a.whoopSim.Close()
		a.whoopSim = nil
	}
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

// WhoopSimulatorURL is the built-in WHOOP simulator's base URL ("" when
// it does not run).
func (a *App) WhoopSimulatorURL() string {
	if a.whoopSim == nil {
		return ""
	}
	return a.whoopSim.URL()
}

// SimulatorURL is the built-in Oura simulator's base URL ("" when it does
// not run).
func (a *App) SimulatorURL() string {
	if a.sim == nil {
		return ""
	}
	return a.cfg.Oura.APIBaseURL
}
