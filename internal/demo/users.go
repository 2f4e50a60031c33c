package demo

import (
	"fmt"
	"slices"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/withings"
)

// roster is a demo's users by provider: the named ones of UserIDs and,
// with Config.Scale above one, as many more of each per step in the same
// proportions (the benchmark's load is a multiple of the demo's).
type roster struct {
	oura, whoop, withings []string
	// all are oura, whoop then withings: UserIDs at scale one.
	all []string
}

func newRoster(scale int) roster {
	r := roster{oura: slices.Clone(OuraUserIDs), whoop: []string{WhoopUserID}, withings: []string{WithingsUserID}}
	for i := 2; i <= scale; i++ {
		for range OuraUserIDs {
			r.oura = append(r.oura, fmt.Sprintf("ouraUser%d", len(r.oura)+1))
		}
		r.whoop = append(r.whoop, fmt.Sprintf("whoopUser%d", i))
		r.withings = append(r.withings, fmt.Sprintf("withingsUser%d", i))
	}
	r.all = slices.Concat(r.oura, r.whoop, r.withings)
	return r
}

// orDefault is r, or the demo's own users for a Summary built by hand.
func (r roster) orDefault() roster {
	if len(r.all) == 0 {
		return newRoster(1)
	}
	return r
}

// dataSource is the data source userID is linked to.
func (r roster) dataSource(userID string) string {
	switch {
	case slices.Contains(r.whoop, userID):
		return whoop.DataSource
	case slices.Contains(r.withings, userID):
		return withings.DataSource
	}
	return oura.DataSource
}

// providerName is how the output names userID's provider.
func (r roster) providerName(userID string) string {
	switch {
	case slices.Contains(r.whoop, userID):
		return "WHOOP"
	case slices.Contains(r.withings, userID):
		return withings.Name
	}
	return "Oura"
}
