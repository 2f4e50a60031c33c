package pull

import (
	"fmt"

	"github.com/wearlink/wearlink/internal/provider"
)

// skipReason says why a collection was left out and, where the person
// ends the refusal at the provider, what to do: a lapsed membership (403)
// and an app too old (426) need different things.
func skipReason(opt *Options, err error) string {
	name := opt.Provider.Info().Name
	switch provider.KindOf(err) {
	case provider.KindForbidden:
		return fmt.Sprintf("%s refuses this account's data, usually because the %s membership has lapsed: renew it, then pull again (%v)", name, name, err)
	case provider.KindUpgradeRequired:
		return fmt.Sprintf("the %s app on the phone is too old to share this data: update it, open it once so it syncs, then pull again (%v)", name, err)
	}
	return err.Error()
}
