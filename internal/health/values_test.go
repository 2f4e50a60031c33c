package health

import (
	"testing"
	"time"
)

func TestDatetime(t *testing.T) {
	paris := time.FixedZone("", 3600)
	tests := []struct {
		in   time.Time
		want *string
	}{
		{time.Time{}, nil},
		{time.Date(2023, 12, 29, 21, 7, 14, 402999000, time.UTC), String("2023-12-29T21:07:14.402999Z")},
		{time.Date(2024, 12, 1, 23, 18, 33, 0, paris), String("2024-12-01T23:18:33.000000+01:00")},
	}
	for _, tt := range tests {
		got := Datetime(tt.in)
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("Datetime(%v) = %v, want %v", tt.in, deref(got), deref(tt.want))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestPointerHelpers(t *testing.T) {
	if *Int(0) != 0 || *Float(36.6) != 36.6 || *String("") != "" || *Bool(false) {
		t.Error("helpers must keep the value, zero included")
	}
	if Int(1) == Int(1) {
		t.Error("helpers must return distinct pointers")
	}
}
