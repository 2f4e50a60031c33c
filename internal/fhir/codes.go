package fhir

// metric is one kind of Observation: its code, its unit, whether it is a
// vital sign (filed under vital-signs and held to the R4 vital-signs
// profile) and its short name, which also keeps Observation ids apart.
type metric struct {
	name     string
	code     CodeableConcept
	unit     string // UCUM code
	display  string // the unit as people read it
	category string // "" for none
}

func loinc(code, display string, more ...Coding) CodeableConcept {
	return CodeableConcept{Coding: append([]Coding{{System: LOINC, Code: code, Display: display}}, more...), Text: display}
}

func own(code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: Metrics, Code: code, Display: display}}, Text: display}
}

// Codes of wearlink's metrics code system (Metrics).
const (
	MetricHRVRMSSD          = "hrv-rmssd"
	MetricTimeInBed         = "time-in-bed"
	MetricSleepEfficiency   = "sleep-efficiency"
	MetricSkinTemperature   = "skin-temperature"
	MetricSkinTempDeviation = "skin-temperature-deviation"
	MetricHeartRateSeries   = "heart-rate-series"
	MetricHRVRMSSDSeries    = "hrv-rmssd-series"
	MetricSpO2Series        = "oxygen-saturation-series"
	MetricBreathingSeries   = "respiratory-rate-series"
	MetricHypnogram         = "hypnogram"
)

// Every metric the mapping emits.
var (
	mHeartRate = metric{name: "hr", code: loinc("8867-4", "Heart rate"), unit: "/min", display: "beats/minute", category: CategoryVitalSigns}
	mRestingHR = metric{name: "hr-rest", code: loinc("40443-4", "Heart rate --resting"), unit: "/min", display: "beats/minute", category: CategoryVitalSigns}
	mRespRate  = metric{name: "rr", code: loinc("9279-1", "Respiratory rate"), unit: "/min", display: "breaths/minute", category: CategoryVitalSigns}
	mSpO2      = metric{name: "spo2", code: loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
		Coding{System: LOINC, Code: "2708-6", Display: "Oxygen saturation in Arterial blood"}), unit: "%", display: "%", category: CategoryVitalSigns}
	mBodyTemp = metric{name: "temp", code: loinc("8310-5", "Body temperature"), unit: "Cel", display: "°C", category: CategoryVitalSigns}
	mWeight   = metric{name: "weight", code: loinc("29463-7", "Body weight"), unit: "kg", display: "kg", category: CategoryVitalSigns}
	mHeight   = metric{name: "height", code: loinc("8302-2", "Body height"), unit: "cm", display: "cm", category: CategoryVitalSigns}
	mBMI      = metric{name: "bmi", code: loinc("39156-5", "Body mass index (BMI) [Ratio]"), unit: "kg/m2", display: "kg/m2", category: CategoryVitalSigns}
	mBP       = metric{name: "bp", code: loinc("85354-9", "Blood pressure panel with all children optional"), category: CategoryVitalSigns}
	mSystolic = metric{name: "bp-sys", code: loinc("8480-6", "Systolic blood pressure"), unit: "mm[Hg]", display: "mmHg"}
	mDiastol  = metric{name: "bp-dia", code: loinc("8462-4", "Diastolic blood pressure"), unit: "mm[Hg]", display: "mmHg"}

	mDailySteps   = metric{name: "steps", code: loinc("41950-7", "Number of steps in 24 hour Measured"), unit: "/d", display: "steps/day", category: CategoryActivity}
	mSteps        = metric{name: "steps-event", code: loinc("55423-8", "Number of steps in unspecified time Pedometer"), unit: "{steps}", display: "steps", category: CategoryActivity}
	mActiveEnergy = metric{name: "active-kcal", code: loinc("41981-2", "Calories burned"), unit: "kcal", display: "kcal", category: CategoryActivity}
	mSleep        = metric{name: "sleep", code: loinc("93832-4", "Sleep duration"), unit: "min", display: "min", category: CategoryActivity}
	mDeepSleep    = metric{name: "sleep-deep", code: loinc("93831-6", "Deep sleep duration"), unit: "min", display: "min", category: CategoryActivity}
	mLightSleep   = metric{name: "sleep-light", code: loinc("93830-8", "Light sleep duration"), unit: "min", display: "min", category: CategoryActivity}
	mREMSleep     = metric{name: "sleep-rem", code: loinc("93829-0", "REM sleep duration"), unit: "min", display: "min", category: CategoryActivity}
	mTimeInBed    = metric{name: "in-bed", code: own(MetricTimeInBed, "Time in bed"), unit: "min", display: "min", category: CategoryActivity}
	mEfficiency   = metric{name: "sleep-eff", code: own(MetricSleepEfficiency, "Sleep efficiency (time asleep over time in bed)"), unit: "%", display: "%", category: CategoryActivity}

	// Not vital signs: HRV and skin temperature have no code in the
	// vital-signs profile, and a skin temperature deviation is not a
	// temperature at all.
	mHRVRMSSD   = metric{name: "hrv-rmssd", code: own(MetricHRVRMSSD, "Heart rate variability, RMSSD"), unit: "ms", display: "ms"}
	mHRVSDNN    = metric{name: "hrv-sdnn", code: loinc("80404-7", "R-R interval.standard deviation (Heart rate variability)"), unit: "ms", display: "ms"}
	mSkinTemp   = metric{name: "skin-temp", code: own(MetricSkinTemperature, "Skin temperature"), unit: "Cel", display: "°C"}
	mSkinTempDv = metric{name: "skin-temp-dev", code: own(MetricSkinTempDeviation, "Skin temperature deviation from the person's baseline (not a temperature)"), unit: "Cel", display: "°C"}

	// Series: valueSampledData (see the package documentation for why).
	mHRSeries     = metric{name: "hr-series", code: own(MetricHeartRateSeries, "Heart rate series"), unit: "/min", display: "beats/minute"}
	mHRVSeries    = metric{name: "hrv-series", code: own(MetricHRVRMSSDSeries, "Heart rate variability (RMSSD) series"), unit: "ms", display: "ms"}
	mSpO2Series   = metric{name: "spo2-series", code: own(MetricSpO2Series, "Oxygen saturation series"), unit: "%", display: "%"}
	mBreathSeries = metric{name: "rr-series", code: own(MetricBreathingSeries, "Respiratory rate series"), unit: "/min", display: "breaths/minute"}
	mHypnogram    = metric{name: "hypnogram", code: own(MetricHypnogram, "Sleep stages (1 deep, 2 light, 3 REM, 4 awake)"), unit: "1", display: "stage"}
)

// Sleep stages as hypnogram values.
var stageValue = map[string]float64{"deep": 1, "light": 2, "rem": 3, "awake": 4}

// VitalSignCodes are the LOINC codes a vital-signs Observation may carry,
// with the UCUM unit its value must have ("" for the blood pressure
// panel, whose values are in its components).
func VitalSignCodes() map[string]string {
	out := map[string]string{}
	for _, m := range []metric{mHeartRate, mRestingHR, mRespRate, mSpO2, mBodyTemp, mWeight, mHeight, mBMI, mBP} {
		out[m.code.Coding[0].Code] = m.unit
	}
	return out
}
