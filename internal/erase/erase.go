// Package erase erases a user: it revokes every connection at its data
// source, deletes everything wearlink holds of the user in bounded
// batches driven by a River job (so that a crash midway resumes where the
// last batch ended), tells the client with a user.deleted notification
// and keeps an audit record without health data. It also runs the
// clients' data retention settings.
package erase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// Store is what erasing needs (both store implementations).
type Store interface {
	store.EraseStore
	GetUser(ctx context.Context, clientUUID, userID string) (store.User, error)
	GetConnection(ctx context.Context, id int64) (store.Connection, error)
	SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error
	UpdateTokens(ctx context.Context, id int64, t store.Tokens) error
	ListClients(ctx context.Context) ([]store.Client, error)
}

// Revoker ends a connection's grant at one data source. It gets the whole
// grant, not only the access token: where revoking takes a live access
// token (WHOOP), an expired one is refreshed first.
type Revoker func(ctx context.Context, t provider.Tokens) error

// Events tells the client (*delivery.Service).
type Events interface {
	UserDeleted(ctx context.Context, e store.Erasure) error
}

// Inserter queues jobs (the River client).
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Config builds a Service. Store is required.
type Config struct {
	Store Store
	// Revokers revoke tokens per data source; a connection of a data
	// source without one is not revoked there (its tokens are deleted all
	// the same).
	Revokers map[string]Revoker
	Events   Events
	// BatchSize bounds the rows one transaction deletes (default 500).
	BatchSize int
	// BatchPause is waited between batches, to leave the database to
	// other work during a large erasure (default none).
	BatchPause time.Duration
	// RetentionInterval is how often retention runs (default 1 h).
	RetentionInterval time.Duration
	Logger            *slog.Logger
	Now               func() time.Time
}

// Service erases users and applies retention.
type Service struct {
	cfg  Config
	st   Store
	log  *slog.Logger
	now  func() time.Time
	jobs Inserter
}

// New fills defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("erase: Config.Store is required")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger, now: cfg.Now}, nil
}

// Attach gives the service the River client that queues its jobs.
func (s *Service) Attach(jobs Inserter) { s.jobs = jobs }

// Who asked for an erasure.
const (
	ByAPI = "api"
	ByCLI = "cli"
)

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "era_" + hex.EncodeToString(b)
}

func checkUserID(userID string) error {
	if !health.ValidUserID(userID) {
		return health.Errorf(health.EINVALID, "user_id %q must be 1 to 50 letters, digits or hyphens", userID)
	}
	return nil
}

// Request starts erasing a client's user and queues the job that does
// it. Asking again while it runs returns the same erasure; asking after
// it completed returns the completed one. A user the client does not
// have (and never had erased) is ENOTFOUND.
func (s *Service) Request(ctx context.Context, clientUUID, userID, by string) (store.Erasure, error) {
	if err := checkUserID(userID); err != nil {
		return store.Erasure{}, err
	}
	hash := store.ErasureUserHash(clientUUID, userID)
	if _, err := s.st.GetUser(ctx, clientUUID, userID); err != nil {
		if health.ErrorCode(err) != health.ENOTFOUND {
			return store.Erasure{}, err
		}
		e, lerr := s.st.LatestErasure(ctx, clientUUID, hash)
		if health.ErrorCode(lerr) == health.ENOTFOUND {
			return e, health.Errorf(health.ENOTFOUND, "user %s not found", userID)
		}
		if lerr != nil || e.State == store.ErasureCompleted {
			return e, lerr
		}
		// Running with the user row already gone: make sure a job runs.
		return e, s.enqueue(ctx, e)
	}
	e, err := s.st.StartErasure(ctx, store.Erasure{ID: newID(), ClientUUID: clientUUID, UserID: userID, UserHash: hash, RequestedBy: by})
	if err != nil {
		return e, err
	}
	s.log.InfoContext(ctx, "user erasure requested", "erasure", e.ID, "client_uuid", clientUUID, "by", by)
	// A failed queueing is retried by the resume job.
	if err := s.enqueue(ctx, e); err != nil {
		s.log.WarnContext(ctx, "queue erasure", "erasure", e.ID, "err", err)
	}
	return e, nil
}

// Status returns one of a client's erasures.
func (s *Service) Status(ctx context.Context, clientUUID, id string) (store.Erasure, error) {
	return s.st.GetErasure(ctx, clientUUID, id)
}

// UserStatus returns the newest erasure of a client's user.
func (s *Service) UserStatus(ctx context.Context, clientUUID, userID string) (store.Erasure, error) {
	if err := checkUserID(userID); err != nil {
		return store.Erasure{}, err
	}
	e, err := s.st.LatestErasure(ctx, clientUUID, store.ErasureUserHash(clientUUID, userID))
	if health.ErrorCode(err) == health.ENOTFOUND {
		return e, health.Errorf(health.ENOTFOUND, "user %s has no erasure", userID)
	}
	return e, err
}

func (s *Service) enqueue(ctx context.Context, e store.Erasure) error {
	if s.jobs == nil {
		return nil
	}
	_, err := s.jobs.Insert(ctx, EraseArgs{ErasureID: e.ID, ClientUUID: e.ClientUUID}, nil)
	return err
}

// Run carries an erasure to its end: revoke, delete batch after batch,
// notify, complete. Every part is idempotent, so running it again after
// a crash at any point finishes the erasure (the user.deleted
// notification may then be sent twice).
func (s *Service) Run(ctx context.Context, clientUUID, id string) (store.Erasure, error) {
	e, err := s.st.GetErasure(ctx, clientUUID, id)
	if err != nil || e.State == store.ErasureCompleted {
		return e, err
	}
	if e.UserID != "" {
		if err := s.revoke(ctx, e); err != nil {
			return e, err
		}
	}
	for e.Step != "" {
		if err := ctx.Err(); err != nil {
			return e, err
		}
		if e, err = s.st.EraseBatch(ctx, id, s.cfg.BatchSize); err != nil {
			return e, err
		}
		if s.cfg.BatchPause > 0 && e.Step != "" {
			select {
			case <-ctx.Done():
				return e, ctx.Err()
			case <-time.After(s.cfg.BatchPause):
			}
		}
	}
	if s.cfg.Events != nil {
		if err := s.cfg.Events.UserDeleted(ctx, e); err != nil {
			return e, fmt.Errorf("notify user deleted: %w", err)
		}
	}
	if e, err = s.st.CompleteErasure(ctx, id); err != nil {
		return e, err
	}
	s.log.InfoContext(ctx, "user erased", "erasure", e.ID, "client_uuid", e.ClientUUID, "counts", e.Counts)
	return e, nil
}

// revoke stops syncing and revokes the user's tokens at their data
// sources before anything is deleted. A failed revocation is logged (not
// the token): the tokens are deleted here either way.
func (s *Service) revoke(ctx context.Context, e store.Erasure) error {
	ids, err := s.st.UserConnectionIDs(ctx, e.ClientUUID, e.UserID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := s.st.GetConnection(ctx, id)
		if health.ErrorCode(err) == health.ENOTFOUND {
			continue
		}
		if err != nil {
			return err
		}
		if c.Status != store.StatusRevoked {
			if err := s.st.SetConnectionStatus(ctx, id, store.StatusRevoked, "user erased"); err != nil {
				return err
			}
		}
		if c.Tokens.AccessToken == "" && c.Tokens.RefreshToken == "" {
			continue
		}
		switch r := s.cfg.Revokers[c.DataSource]; {
		case r == nil:
			// Said per connection, so that whoever erased knows which
			// grants stay open at which provider.
			s.log.WarnContext(ctx, "token deleted but not revoked at the data source: its application credentials are not set",
				"erasure", e.ID, "connection", id, "data_source", c.DataSource)
		default:
			t := provider.Tokens{AccessToken: c.Tokens.AccessToken, RefreshToken: c.Tokens.RefreshToken, Expiry: c.Tokens.Expiry, Scopes: c.Tokens.Scopes}
			if err := r(ctx, t); err != nil {
				s.log.WarnContext(ctx, "revoking a token at the data source failed", "erasure", e.ID, "connection", id,
					"data_source", c.DataSource, "err", err)
			}
		}
		if err := s.st.UpdateTokens(ctx, id, store.Tokens{}); err != nil {
			return err
		}
	}
	return nil
}

// Resume queues a job for every erasure still running (one whose job was
// lost between the request and its queueing).
func (s *Service) Resume(ctx context.Context) error {
	es, err := s.st.RunningErasures(ctx)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := s.enqueue(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// PurgeRetention applies every client's retention settings, in batches
// of BatchSize, and reports the rows deleted per client and step.
func (s *Service) PurgeRetention(ctx context.Context) (int, error) {
	clients, err := s.st.ListClients(ctx)
	if err != nil {
		return 0, err
	}
	now, total := s.now(), 0
	for _, c := range clients {
		r, err := store.ClientRetention(c.Settings)
		if err != nil {
			s.log.WarnContext(ctx, "retention settings unreadable", "client_uuid", c.UUID, "err", err)
			continue
		}
		for step, days := range map[string]int{store.RetainRaw: r.RawDays, store.RetainDeliveryBodies: r.DeliveryBodyDays} {
			if days <= 0 {
				continue
			}
			before := now.AddDate(0, 0, -days)
			n := 0
			for {
				k, err := s.st.PurgeRetention(ctx, step, c.UUID, before, s.cfg.BatchSize)
				if err != nil {
					return total, err
				}
				n += k
				if k < s.cfg.BatchSize {
					break
				}
			}
			if n > 0 {
				s.log.InfoContext(ctx, "retention purge", "client_uuid", c.UUID, "table", step, "rows", n)
			}
			total += n
		}
	}
	return total, nil
}
