package normalize

import (
	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/normkit"
	"github.com/wearlink/wearlink/internal/provider/whoop"
)

// buildBody files the body measurement under the as-of day: weight and
// height in body_summary and user_info. The profile's name and email are
// not copied into documents that are delivered to clients; the profile
// stays a raw document. WHOOP's computed maximum heart rate is not a
// measured one, so it only travels in the attached measurement.
func (r *run) buildBody() {
	if len(r.bodies) == 0 && len(r.profiles) == 0 {
		return
	}
	day := r.opt.AsOf
	if day == "" {
		day = r.newest
	}
	if day == "" {
		for _, b := range r.bodies {
			r.errs = append(r.errs, inputError(whoop.CollBodyMeasurement, b.id, "no day to file it under: give an as-of day"))
		}
		return
	}
	if len(r.bodies) == 0 {
		return
	}
	b := r.bodies[len(r.bodies)-1] // the newest read, as the store hands them over
	weight := normkit.PositiveFloat(&b.v.WeightKilogram)
	var height *int
	if b.v.HeightMeter > 0 {
		height = normkit.RoundInt(b.v.HeightMeter * 100)
	}
	at := midnight(day, "Z")

	bs := &health.BodySummaryDocument{Header: r.header(day)}
	bs.Summary.Metadata = r.metadata(at)
	bs.Summary.BodyMetrics.WeightKg = weight
	bs.Summary.BodyMetrics.HeightCm = height
	if weight != nil && height != nil && *height > 0 {
		m := float64(*height) / 100
		bs.Summary.BodyMetrics.BMI = health.Float(round3(*weight / (m * m)))
	}
	bs.Summary.NonStructuredData = health.NonStructuredData{wrap(whoop.CollBodyMeasurement, "", b.raw)}
	r.emit(day, bs)

	ui := &health.UserInfoDocument{Header: r.header(day), Metadata: r.metadata(at)}
	ui.UserInformation.UserBodyMetrics.WeightKg = weight
	ui.UserInformation.UserBodyMetrics.HeightCm = height
	if r.opt.Location != nil && r.opt.Location.String() != "" && r.opt.Location.String() != "Local" {
		ui.UserInformation.UserDemographics.TimeZone = health.String(r.opt.Location.String())
	}
	r.emit(day, ui)
}
