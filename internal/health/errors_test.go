package health

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"nil", nil, "", ""},
		{"domain", Errorf(ENOTFOUND, "no sleep for %s", "2024-12-01"), ENOTFOUND, "no sleep for 2024-12-01"},
		{"wrapped", fmt.Errorf("fetch: %w", Errorf(ERATELIMITED, "slow down")), ERATELIMITED, "slow down"},
		{"other", errors.New("disk on fire"), EINTERNAL, "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.code {
				t.Errorf("ErrorCode = %q, want %q", got, tt.code)
			}
			if got := ErrorMessage(tt.err); got != tt.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.message)
			}
		})
	}
	if got := Errorf(EFORBIDDEN, "no").Error(); got != "forbidden: no" {
		t.Errorf("Error() = %q", got)
	}
	codes := []string{ENOTFOUND, EINVALID, ECONFLICT, EUNAUTHORIZED, EFORBIDDEN, ERATELIMITED, EINTERNAL}
	seen := map[string]bool{}
	for _, c := range codes {
		if c == "" || seen[c] {
			t.Errorf("code %q empty or duplicated", c)
		}
		seen[c] = true
	}
}
