package provider

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wearlink/wearlink/internal/health"
)

// Registry holds the providers a wearlink process serves, keyed by data
// source. The composition root builds it; everything else receives it.
type Registry struct {
	byDataSource map[string]Provider
	order        []Provider
}

var validDataSource = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)

// NewRegistry checks that every provider has a usable, distinct data
// source and a display name, and keeps them in the order given.
func NewRegistry(ps ...Provider) (*Registry, error) {
	r := &Registry{byDataSource: map[string]Provider{}}
	for _, p := range ps {
		info := p.Info()
		if !validDataSource.MatchString(info.DataSource) {
			return nil, fmt.Errorf("provider registry: data source %q is not a lower-case slug", info.DataSource)
		}
		if info.Name == "" {
			return nil, fmt.Errorf("provider registry: %s has no display name", info.DataSource)
		}
		if _, dup := r.byDataSource[info.DataSource]; dup {
			return nil, fmt.Errorf("provider registry: %s registered twice", info.DataSource)
		}
		r.byDataSource[info.DataSource] = p
		r.order = append(r.order, p)
	}
	return r, nil
}

// Lookup returns the provider of a data source.
func (r *Registry) Lookup(dataSource string) (Provider, bool) {
	p, ok := r.byDataSource[dataSource]
	return p, ok
}

// Get is Lookup for input from outside: an unknown data source is an
// EINVALID error that names the supported ones.
func (r *Registry) Get(dataSource string) (Provider, error) {
	if p, ok := r.byDataSource[dataSource]; ok {
		return p, nil
	}
	return nil, health.Errorf(health.EINVALID, "data source %q is not supported; supported: %s",
		dataSource, strings.Join(r.DataSources(), ", "))
}

// All returns the providers in registration order.
func (r *Registry) All() []Provider { return append([]Provider(nil), r.order...) }

// DataSources returns the data sources in registration order.
func (r *Registry) DataSources() []string {
	out := make([]string, len(r.order))
	for i, p := range r.order {
		out[i] = p.Info().DataSource
	}
	return out
}

// Name returns the display name of a data source, "" if none is
// registered.
func (r *Registry) Name(dataSource string) string {
	if p, ok := r.byDataSource[dataSource]; ok {
		return p.Info().Name
	}
	return ""
}

// Collection finds one collection of a data source.
func (r *Registry) Collection(dataSource, name string) (Collection, bool) {
	p, ok := r.byDataSource[dataSource]
	if !ok {
		return Collection{}, false
	}
	for _, c := range p.Collections() {
		if c.Name == name {
			return c, true
		}
	}
	return Collection{}, false
}
