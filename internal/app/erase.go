package app

import (
	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/provider/all"
)

// newEraser builds the service that erases users (revoking their tokens
// at each provider whose application credentials are set) and applies the
// clients' retention settings.
func (a *App) newEraser(cfg config.Config, st *OpenedStore, dsvc *delivery.Service, built all.Built) (*erase.Service, error) {
	return erase.New(erase.Config{Store: st.Store, Revokers: revokersOf(built), Events: dsvc, BatchSize: cfg.Erase.BatchSize,
		BatchPause: cfg.Erase.BatchPause, Logger: a.log, Now: a.opt.DeliveryNow})
}

// Eraser erases users, for callers in process.
func (a *App) Eraser() *erase.Service { return a.eraser }
