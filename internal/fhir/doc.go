// Package fhir presents wearlink's health documents as FHIR R4 resources:
// a Patient per user, a Device per provider account, and Observations made
// from the ROOK documents. It works on the documents, not on provider
// data, so every provider's data goes through the same mapping. It is pure:
// the same document gives the same resources, ids included.
//
// # Codes
//
// Vital signs follow the R4 vital-signs profile: category vital-signs, a
// LOINC code, a UCUM unit, the subject and an effective time (heart rate
// 8867-4, resting heart rate 40443-4, respiratory rate 9279-1, oxygen
// saturation 59408-5 with 2708-6, body temperature 8310-5, weight 29463-7,
// height 8302-2, BMI 39156-5, and the blood pressure panel 85354-9 with
// systolic 8480-6 and diastolic 8462-4 components). Activity and sleep are
// filed under activity: daily steps 41950-7, steps of a workout 55423-8,
// active energy 41981-2, sleep duration 93832-4 with deep 93831-6, light
// 93830-8 and REM 93829-0.
//
// What LOINC has no fitting code for is coded in wearlink's code system
// https://wearlink.dev/fhir/CodeSystem/metrics (Metrics): hrv-rmssd
// (the providers' HRV is RMSSD, and LOINC 80404-7 is SDNN, used only for
// SDNN values), time-in-bed, sleep-efficiency, skin-temperature (a skin
// reading is not a body temperature) and skin-temperature-deviation (the
// night's difference from the person's baseline: not a temperature, so it
// has neither 8310-5 nor the vital-signs category), and the series below.
//
// # Series: valueSampledData
//
// Granular data (heart rate every five minutes of a night or every few
// seconds of a workout, HRV, SpO2, breathing rate, the hypnogram) becomes
// Observations with valueSampledData rather than one Observation per
// sample: a night is one resource instead of a hundred, each repeating
// subject, device and source; the values keep their exact timing on a
// regular grid (the greatest common divisor of the sample offsets, with
// "E" where nothing was measured); and a receiver gets the series whole.
// Because R4's vital-signs profiles allow only valueQuantity for their
// LOINC codes, series carry wearlink codes (heart-rate-series,
// hrv-rmssd-series, oxygen-saturation-series, respiratory-rate-series,
// hypnogram) and no vital-signs category, so that every vital-signs
// Observation stays valid. Hypnogram values are 1 deep, 2 light, 3 REM,
// 4 awake. An irregular series whose grid would be mostly empty is split
// into denser parts, each an Observation.
//
// # Source and version
//
// Every Observation carries meta.versionId (the document_version of its
// document), meta.source (urn:wearlink:<data_source>:<pillar>:
// <data_structure>:<key>, the health document), device (the provider
// account's Device) and derivedFrom: logical references to the provider's
// raw documents the record was made from, with the identifier system
// https://wearlink.dev/fhir/raw/<data_source>/<collection> and the
// document's id (or its day, for documents without one).
//
// # Ids
//
// An Observation id is <YYYYMMDD>-<structure>-<hash>: the document's day
// and the index of its structure, so that a read finds the document
// without an index of its own, then 128 bits of a hash of the user, the
// provider, the document's key, the record and the metric.
package fhir
