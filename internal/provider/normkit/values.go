package normkit

import (
	"math"

	"github.com/wearlink/wearlink/internal/health"
)

// Rounding rule for *_int fields filled from provider floats (an average
// heart rate, a breathing rate, an SpO2 average, a height in metres): round
// half away from zero (math.Round), so 14.5 breaths becomes 15 and
// 71.25 bpm becomes 71. A value that is NaN, infinite or outside the int32
// range the schema declares is unknown: null.

// MaxInt32 is the largest value ROOK's *_int fields declare.
const MaxInt32 = 1<<31 - 1

// RoundInt rounds f half away from zero; nil when f is not a usable number.
func RoundInt(f float64) *int {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	r := math.Round(f)
	if r > MaxInt32 || r < -MaxInt32 {
		return nil
	}
	return health.Int(int(r))
}

// PositiveRound is RoundInt for quantities that cannot be zero or negative
// (a heart rate, a breathing rate): anything else means "not measured".
func PositiveRound(f *float64) *int {
	if f == nil || !(*f > 0) {
		return nil
	}
	return RoundInt(*f)
}

// NonNeg keeps a duration or count that is not negative. Providers send
// null for unknown; a negative value can only be corrupt input.
func NonNeg(v *int) *int {
	if v == nil || *v < 0 || *v > MaxInt32 {
		return nil
	}
	return health.Int(*v)
}

// NonNegInt is NonNeg for fields a model declares as plain ints.
func NonNegInt(v int) *int {
	if v < 0 || v > MaxInt32 {
		return nil
	}
	return health.Int(v)
}

// NonNegFloatInt is a non-negative plain int as a *_float value.
func NonNegFloatInt(v int) *float64 {
	if v < 0 {
		return nil
	}
	return health.Float(float64(v))
}

// Positive keeps a value that is only meaningful above zero (a lowest heart
// rate, a VO2max, a weight): zero from a non-pointer model field means the
// value was missing, never a measurement.
func Positive(v int) *int {
	if v <= 0 || v > MaxInt32 {
		return nil
	}
	return health.Int(v)
}

// Finite keeps a float that is a number.
func Finite(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	return health.Float(*f)
}

// NonNegFloat keeps a float that is a non-negative number.
func NonNegFloat(f *float64) *float64 {
	if f == nil || !(*f >= 0) || math.IsInf(*f, 0) {
		return nil
	}
	return health.Float(*f)
}

// PositiveFloat keeps a float that is a number above zero.
func PositiveFloat(f *float64) *float64 {
	if f == nil || !(*f > 0) || math.IsInf(*f, 0) {
		return nil
	}
	return health.Float(*f)
}

// Percentage rounds a percentage, keeping only values in [0, 100].
func Percentage(f float64) *int {
	if !(f >= 0 && f <= 100) {
		return nil
	}
	return RoundInt(f)
}

// Score keeps a 0-100 score (or efficiency) when it is in range.
func Score(v *int) *int {
	if v == nil || *v < 0 || *v > 100 {
		return nil
	}
	return health.Int(*v)
}

// SumKnown adds values that are all known; any unknown makes the sum
// unknown, so a total is never smaller than the truth.
func SumKnown(vs ...*int) *int {
	t := 0
	for _, v := range vs {
		if v == nil {
			return nil
		}
		t += *v
	}
	if t > MaxInt32 {
		return nil
	}
	return health.Int(t)
}
