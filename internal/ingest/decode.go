package ingest

import (
	"encoding/json"
	"fmt"

	"github.com/wearlink/wearlink/internal/normalize"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
)

// decodeInto appends one document to its Input slice.
func decodeInto[T any](dst *[]T, body []byte) error {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}

// addRaw decodes a stored raw document into in. A document that does not
// decode is reported and left out; the rest of the batch goes on.
func addRaw(in *normalize.Input, d store.RawDocument) error {
	var err error
	switch d.Collection {
	case oura.CollDailyActivity:
		err = decodeInto(&in.DailyActivity, d.Body)
	case oura.CollDailyCardiovascularAge:
		err = decodeInto(&in.DailyCardiovascularAge, d.Body)
	case oura.CollDailyReadiness:
		err = decodeInto(&in.DailyReadiness, d.Body)
	case oura.CollDailyResilience:
		err = decodeInto(&in.DailyResilience, d.Body)
	case oura.CollDailySleep:
		err = decodeInto(&in.DailySleep, d.Body)
	case oura.CollDailySpO2:
		err = decodeInto(&in.DailySpO2, d.Body)
	case oura.CollDailyStress:
		err = decodeInto(&in.DailyStress, d.Body)
	case oura.CollEnhancedTag:
		err = decodeInto(&in.EnhancedTag, d.Body)
	case oura.CollHeartRate:
		err = decodeInto(&in.HeartRate, d.Body)
	case oura.CollPersonalInfo:
		err = decodeInto(&in.PersonalInfo, d.Body)
	case oura.CollRestModePeriod:
		err = decodeInto(&in.RestModePeriod, d.Body)
	case oura.CollRingBatteryLevel:
		err = decodeInto(&in.RingBatteryLevel, d.Body)
	case oura.CollRingConfiguration:
		err = decodeInto(&in.RingConfiguration, d.Body)
	case oura.CollSession:
		err = decodeInto(&in.Session, d.Body)
	case oura.CollSleep:
		err = decodeInto(&in.Sleep, d.Body)
	case oura.CollSleepTime:
		err = decodeInto(&in.SleepTime, d.Body)
	case oura.CollTag:
		err = decodeInto(&in.Tag, d.Body)
	case oura.CollVO2Max:
		err = decodeInto(&in.VO2Max, d.Body)
	case oura.CollWorkout:
		err = decodeInto(&in.Workout, d.Body)
	default:
		return fmt.Errorf("unknown collection %q", d.Collection)
	}
	if err != nil {
		return err
	}
	if in.Raw == nil {
		in.Raw = map[string]json.RawMessage{}
	}
	// The store keys documents as the normalizer does: the Oura id, or the
	// timestamp of a time-series row.
	in.Raw[normalize.RawKey(d.Collection, d.ExternalID)] = d.Body
	return nil
}
