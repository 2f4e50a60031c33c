package provider

import (
	"errors"
	"strconv"
	"time"
)

// Kind classifies a failed provider call so that generic code can decide
// what to do (retry, wait, stop, ask for a new consent) without knowing
// the provider's status codes: Withings answers 200 with a status in the
// body, Oura and WHOOP use HTTP statuses.
type Kind int

const (
	KindUnknown Kind = iota
	// KindInvalidToken: the token is expired, malformed or revoked; a
	// refresh may help.
	KindInvalidToken
	// KindMissingScope: the user did not grant what the call needs; only a
	// new consent helps.
	KindMissingScope
	// KindForbidden: the account may not read this (a lapsed membership).
	KindForbidden
	// KindNotFound: the document does not exist (any more).
	KindNotFound
	// KindInvalidRequest: the provider will never accept this request.
	KindInvalidRequest
	// KindRateLimited: come back after RetryAfter.
	KindRateLimited
	// KindServer: the provider failed; retry with backoff.
	KindServer
	// KindNetwork: the request did not complete.
	KindNetwork
	// KindUnauthorized: an incoming notification is not the provider's
	// (bad or missing signature, stale timestamp).
	KindUnauthorized
	// KindUpgradeRequired: the user's app is too old to share the data;
	// only an update of the app helps. Kept apart from KindForbidden
	// because the person must do something else.
	KindUpgradeRequired
)

var kindNames = [...]string{"unknown", "invalid_token", "missing_scope", "forbidden", "not_found",
	"invalid_request", "rate_limited", "server", "network", "unauthorized", "upgrade_required"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Classified is implemented by a provider's errors.
type Classified interface {
	error
	ProviderKind() Kind
}

// Delayed is implemented by errors that say when to try again.
type Delayed interface {
	error
	ProviderRetryAfter() time.Duration
}

// KindOf returns the kind of the first error in err's chain that has one,
// KindUnknown if none does.
func KindOf(err error) Kind {
	var c Classified
	if errors.As(err, &c) {
		return c.ProviderKind()
	}
	return KindUnknown
}

// RetryAfter returns how long the provider asked to wait, 0 if it did not.
func RetryAfter(err error) time.Duration {
	var d Delayed
	if errors.As(err, &d) {
		return d.ProviderRetryAfter()
	}
	return 0
}

// Tiered is implemented by rate-limit errors that name the layer of the
// provider's limits that refused (Oura: "token" or "application").
type Tiered interface {
	error
	RateLimitTier() string
}

// RateLimitTier returns the layer a rate limit came from, "" if err does
// not say.
func RateLimitTier(err error) string {
	var t Tiered
	if errors.As(err, &t) {
		return t.RateLimitTier()
	}
	return ""
}

// Error is a classified error a provider may return when it has no error
// type of its own.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ProviderKind implements Classified.
func (e *Error) ProviderKind() Kind { return e.Kind }
