package app

import (
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// newEraser builds the service that erases users (revoking their tokens
// at Oura when the application's credentials are set) and applies the
// clients' retention settings.
func (a *App) newEraser(cfg config.Config, st *OpenedStore, dsvc *delivery.Service) (*erase.Service, error) {
	revokers, err := Revokers(cfg)
	if err != nil {
		return nil, err
	}
	return erase.New(erase.Config{Store: st.Store, Revokers: revokers, Events: dsvc, BatchSize: cfg.Erase.BatchSize,
		BatchPause: cfg.Erase.BatchPause, Logger: a.log, Now: a.opt.DeliveryNow})
}

// Revokers returns the erasure's token revokers per data source: Oura's
// when the application's client id and secret are set, none otherwise.
// wearlink users delete uses it too, so that an erasure run from the
// command line revokes exactly where the server's would.
func Revokers(cfg config.Config) (map[string]erase.Revoker, error) {
	revokers := map[string]erase.Revoker{}
	if cfg.Oura.ClientID != "" && cfg.Oura.ClientSecret != "" {
		oauth, err := oura.NewOAuth(oura.OAuthConfig{ClientID: cfg.Oura.ClientID, ClientSecret: cfg.Oura.ClientSecret,
			AuthURL: cfg.Oura.AuthURL, TokenURL: cfg.Oura.TokenURL, RevokeURL: cfg.Oura.RevokeURL})
		if err != nil {
			return nil, err
		}
		revokers[oura.DataSource] = oauth.Revoke
	}
	return revokers, nil
}

// Eraser erases users, for callers in process.
func (a *App) Eraser() *erase.Service { return a.eraser }
