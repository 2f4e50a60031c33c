package normalize

import (
	"math"

	"github.com/wearlink/wearlink/internal/health"
)

// Rounding rule for *_int fields filled from Oura floats (average heart
// rate, average breath, SpO2 average, 5-second session heart rate, height in
// metres): round half away from zero (math.Round), so 14.5 breaths becomes
// 15 and 71.25 bpm becomes 71. A value that is NaN, infinite or outside the
// int32 range the schema declares is unknown: null.

const maxInt32 = 1<<31 - 1

// roundInt rounds f half away from zero; nil when f is not a usable number.
func roundInt(f float64) *int {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	r := math.Round(f)
	if r > maxInt32 || r < -maxInt32 {
		return nil
	}
	return health.Int(int(r))
}

// positiveRound is roundInt for quantities that cannot be zero or negative
// (a heart rate, a breathing rate): anything else means "not measured".
func positiveRound(f *float64) *int {
	if f == nil || !(*f > 0) {
		return nil
	}
	return roundInt(*f)
}

// nonNeg keeps a duration or count that is not negative. Oura sends null
// for unknown; a negative value can only be corrupt input.
func nonNeg(v *int) *int {
	if v == nil || *v < 0 || *v > maxInt32 {
		return nil
	}
	return health.Int(*v)
}

// nonNegInt is nonNeg for fields the Oura models declare as plain ints.
func nonNegInt(v int) *int {
	if v < 0 || v > maxInt32 {
		return nil
	}
	return health.Int(v)
}

// positive keeps a value that is only meaningful above zero (a lowest heart
// rate, a VO2max, a weight): zero from a non-pointer model field means the
// value was missing, never a measurement.
func positive(v int) *int {
	if v <= 0 || v > maxInt32 {
		return nil
	}
	return health.Int(v)
}

// finite keeps a float that is a number.
func finite(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	return health.Float(*f)
}

// positiveFloat keeps a float that is a number above zero.
func positiveFloat(f *float64) *float64 {
	if f == nil || !(*f > 0) || math.IsInf(*f, 0) {
		return nil
	}
	return health.Float(*f)
}

// percentage rounds a percentage, keeping only values in [0, 100].
func percentage(f float64) *int {
	if !(f >= 0 && f <= 100) {
		return nil
	}
	return roundInt(f)
}

// score keeps an Oura 1-100 score (or efficiency) when it is in range.
func score(v *int) *int {
	if v == nil || *v < 0 || *v > 100 {
		return nil
	}
	return health.Int(*v)
}

// sumKnown adds values that are all known; any unknown makes the sum
// unknown, so a total is never smaller than the truth.
func sumKnown(vs ...*int) *int {
	t := 0
	for _, v := range vs {
		if v == nil {
			return nil
		}
		t += *v
	}
	if t > maxInt32 {
		return nil
	}
	return health.Int(t)
}
