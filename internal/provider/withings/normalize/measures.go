package normalize

import (
	"strconv"
)

// Measure type codes (the spec's meastype table, and 197 and 198, which
// recorded Body Scan answers carry without the spec listing them). Every
// one has a row in MAPPING.md; mapping_test.go holds the two together.
// Types without a ROOK field, and codes not listed here, travel in the
// attached group.
const (
	typeWeight              = 1
	typeHeight              = 4
	typeFatFreeMass         = 5
	typeFatRatio            = 6
	typeFatMass             = 8
	typeDiastolic           = 9
	typeSystolic            = 10
	typeHeartPulse          = 11
	typeTemperature         = 12
	typeSpO2                = 54
	typeBodyTemperature     = 71
	typeSkinTemperature     = 73
	typeMuscleMass          = 76
	typeHydration           = 77
	typeBoneMass            = 88
	typePulseWaveVelocity   = 91
	typeVO2Max              = 123
	typeAFib                = 130
	typeQRS                 = 135
	typePR                  = 136
	typeQT                  = 137
	typeQTc                 = 138
	typeAFibPPG             = 139
	typeVascularAge         = 155
	typeNerveHealthFeet     = 167
	typeExtracellularWater  = 168
	typeIntracellularWater  = 169
	typeVisceralFat         = 170
	typeSegmentFatFreeMass  = 173
	typeSegmentFatMass      = 174
	typeSegmentMuscleMass   = 175
	typeElectrodermalFeet   = 196
	typeElectrodermalLeft   = 197
	typeElectrodermalRight  = 198
	typeBasalMetabolicRate  = 226
	typeMetabolicAge        = 227
	typeElectrochemicalSkin = 229
)

// maxUnit bounds the power of ten: SI values of body measures need a few
// digits at most, and a larger exponent can only be corrupt input.
const maxUnit = 30

// Decimal returns value * 10^unit. It is computed as the decimal literal
// "<value>e<unit>" and parsed once, so the result is the float64 nearest
// to the exact decimal (118003 and -3 give exactly the float of 118.003),
// where value * math.Pow10(unit) would round twice and drift. ok is false
// when the measure lacks a value, a type or a unit.
func (m Measure) Decimal() (float64, bool) {
	if !m.Value.OK || !m.Type.OK || !m.Unit.OK || m.Unit.V > maxUnit || m.Unit.V < -maxUnit {
		return 0, false
	}
	f, err := strconv.ParseFloat(strconv.FormatInt(m.Value.V, 10)+"e"+strconv.FormatInt(m.Unit.V, 10), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}
