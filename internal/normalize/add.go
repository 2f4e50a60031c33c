package normalize

import (
	"encoding/json"
	"fmt"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// Add decodes one raw document of an Oura collection into its slice of in
// and keeps its bytes in in.Raw under RawKey(collection, key), key being the
// document's id, or the timestamp of a time-series row.
func (in *Input) Add(collection string, raw json.RawMessage) error {
	var err error
	switch collection {
	case oura.CollDailyActivity:
		err = decodeAppend(&in.DailyActivity, raw)
	case oura.CollDailyCardiovascularAge:
		err = decodeAppend(&in.DailyCardiovascularAge, raw)
	case oura.CollDailyReadiness:
		err = decodeAppend(&in.DailyReadiness, raw)
	case oura.CollDailyResilience:
		err = decodeAppend(&in.DailyResilience, raw)
	case oura.CollDailySleep:
		err = decodeAppend(&in.DailySleep, raw)
	case oura.CollDailySpO2:
		err = decodeAppend(&in.DailySpO2, raw)
	case oura.CollDailyStress:
		err = decodeAppend(&in.DailyStress, raw)
	case oura.CollEnhancedTag:
		err = decodeAppend(&in.EnhancedTag, raw)
	case oura.CollHeartRate:
		err = decodeAppend(&in.HeartRate, raw)
	case oura.CollPersonalInfo:
		err = decodeAppend(&in.PersonalInfo, raw)
	case oura.CollRestModePeriod:
		err = decodeAppend(&in.RestModePeriod, raw)
	case oura.CollRingBatteryLevel:
		err = decodeAppend(&in.RingBatteryLevel, raw)
	case oura.CollRingConfiguration:
		err = decodeAppend(&in.RingConfiguration, raw)
	case oura.CollSession:
		err = decodeAppend(&in.Session, raw)
	case oura.CollSleep:
		err = decodeAppend(&in.Sleep, raw)
	case oura.CollSleepTime:
		err = decodeAppend(&in.SleepTime, raw)
	case oura.CollTag:
		err = decodeAppend(&in.Tag, raw)
	case oura.CollVO2Max:
		err = decodeAppend(&in.VO2Max, raw)
	case oura.CollWorkout:
		err = decodeAppend(&in.Workout, raw)
	default:
		return fmt.Errorf("normalize: unknown collection %q", collection)
	}
	if err != nil {
		return fmt.Errorf("normalize: decode %s document: %w", collection, err)
	}
	in.KeepRaw(collection, raw)
	return nil
}

// KeepRaw keeps the bytes of one raw document of an Oura collection in
// in.Raw under RawKey(collection, key), key being the document's id, or the
// timestamp of a time-series row. A document without that key is not kept.
func (in *Input) KeepRaw(collection string, raw json.RawMessage) {
	var key struct {
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
	}
	_ = json.Unmarshal(raw, &key)
	k := key.ID
	if collection == oura.CollHeartRate || collection == oura.CollRingBatteryLevel {
		k = key.Timestamp
	}
	if k == "" {
		return
	}
	if in.Raw == nil {
		in.Raw = map[string]json.RawMessage{}
	}
	in.Raw[RawKey(collection, k)] = raw
}

func decodeAppend[T any](dst *[]T, raw []byte) error {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	*dst = append(*dst, v)
	return nil
}
