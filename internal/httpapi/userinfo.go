package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// userInfoRequest is the body of POST /api/v2/user-information: ROOK's
// fields, plus the other user_demographics fields of its user_info
// structure so a client can send everything that structure carries.
type userInfoRequest struct {
	Datetime      *string  `json:"datetime"`
	UserID        *string  `json:"user_id"`
	DateOfBirth   *string  `json:"date_of_birth_string"`
	HeightCm      *int     `json:"height_cm_int"`
	WeightKg      *float64 `json:"weight_kg_float"`
	BMI           *float64 `json:"bmi_float"`
	Sex           *string  `json:"sex_string"`
	Gender        *string  `json:"gender_string"`
	Country       *string  `json:"country_string"`
	State         *string  `json:"state_string"`
	City          *string  `json:"city_string"`
	Ethnicity     *string  `json:"ethnicity_string"`
	Income        *string  `json:"income_string"`
	MaritalStatus *string  `json:"marital_status_string"`
	Education     *string  `json:"education_string"`
}

// postedInfo is what is kept of the latest user information a client
// posted (store.User.Info): the request's values, the instant and the
// user's local day they belong to.
type postedInfo struct {
	Datetime      time.Time `json:"datetime"`
	Day           string    `json:"day"`
	DateOfBirth   *string   `json:"date_of_birth_string,omitempty"`
	HeightCm      *int      `json:"height_cm_int,omitempty"`
	WeightKg      *float64  `json:"weight_kg_float,omitempty"`
	BMI           *float64  `json:"bmi_float,omitempty"`
	Sex           *string   `json:"sex_string,omitempty"`
	Gender        *string   `json:"gender_string,omitempty"`
	Country       *string   `json:"country_string,omitempty"`
	State         *string   `json:"state_string,omitempty"`
	City          *string   `json:"city_string,omitempty"`
	Ethnicity     *string   `json:"ethnicity_string,omitempty"`
	Income        *string   `json:"income_string,omitempty"`
	MaritalStatus *string   `json:"marital_status_string,omitempty"`
	Education     *string   `json:"education_string,omitempty"`
}

// sourceManual names client-posted information in sources_of_data_array.
const sourceManual = "Manual"

const maxInfoString = 100

// postUserInfo serves POST /api/v2/user-information. The values show in
// GET /v2/processed_data/user/info for the day of datetime, merged into
// what the provider reported that day; the user is created when new.
func (a *API) postUserInfo(w http.ResponseWriter, r *http.Request, c *store.Client) error {
	var req userInfoRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.UserID == nil {
		return invalid("user_id is required in the body.")
	}
	userID, err := userIDParam(*req.UserID)
	if err != nil {
		return err
	}
	p := postedInfo{DateOfBirth: req.DateOfBirth, HeightCm: req.HeightCm, WeightKg: req.WeightKg, BMI: req.BMI, Sex: req.Sex,
		Gender: req.Gender, Country: req.Country, State: req.State, City: req.City, Ethnicity: req.Ethnicity, Income: req.Income,
		MaritalStatus: req.MaritalStatus, Education: req.Education}
	now := a.now()
	p.Datetime = now.UTC()
	if req.Datetime != nil {
		t, err := time.Parse(time.RFC3339Nano, *req.Datetime)
		if err != nil {
			return invalid("datetime %s is not a date and time: use ISO 8601, such as 2023-12-29T21:07:14.402999Z.", quoteShort(*req.Datetime))
		}
		if t.After(now.Add(5 * time.Minute)) {
			return invalid("datetime %s is in the future.", *req.Datetime)
		}
		p.Datetime = t
	}
	if err := a.validInfo(&p); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := a.st.GetUser(ctx, c.UUID, userID)
	if err != nil && health.ErrorCode(err) != health.ENOTFOUND {
		return err
	}
	// The day is the user's local day when the zone is known, else the
	// date as written in datetime.
	at := p.Datetime
	if u.TimeZone != "" {
		if loc, err := time.LoadLocation(u.TimeZone); err == nil {
			at = at.In(loc)
		}
	}
	p.Day = at.Format(time.DateOnly)
	info, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := a.upsertUser(ctx, store.User{ClientUUID: c.UUID, UserID: userID, Info: info}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, message{"added"})
	return nil
}

func (a *API) validInfo(p *postedInfo) error {
	strs := map[string]*string{"sex_string": p.Sex, "gender_string": p.Gender, "country_string": p.Country, "state_string": p.State,
		"city_string": p.City, "ethnicity_string": p.Ethnicity, "income_string": p.Income, "marital_status_string": p.MaritalStatus,
		"education_string": p.Education, "date_of_birth_string": p.DateOfBirth}
	given := p.HeightCm != nil || p.WeightKg != nil || p.BMI != nil
	for name, v := range strs {
		if v == nil {
			continue
		}
		given = true
		if strings.TrimSpace(*v) == "" || len(*v) > maxInfoString {
			return invalid("%s must be 1 to %d characters.", name, maxInfoString)
		}
	}
	if !given {
		return invalid("The body holds no user information: give at least one of date_of_birth_string, height_cm_int, weight_kg_float, bmi_float, sex_string.")
	}
	if p.DateOfBirth != nil {
		if _, err := time.Parse(time.DateOnly, *p.DateOfBirth); err != nil {
			return invalid("date_of_birth_string %s is not a date: use YYYY-MM-DD.", quoteShort(*p.DateOfBirth))
		}
		if *p.DateOfBirth > a.latestDay() || *p.DateOfBirth < "1900-01-01" {
			return invalid("date_of_birth_string %s is not a plausible date of birth.", *p.DateOfBirth)
		}
	}
	if p.HeightCm != nil && (*p.HeightCm < 30 || *p.HeightCm > 300) {
		return invalid("height_cm_int %d is outside 30 to 300 cm.", *p.HeightCm)
	}
	if p.WeightKg != nil && (*p.WeightKg <= 0 || *p.WeightKg > 700) {
		return invalid("weight_kg_float %g is outside 0 to 700 kg.", *p.WeightKg)
	}
	if p.BMI != nil && (*p.BMI <= 0 || *p.BMI > 200) {
		return invalid("bmi_float %g is outside 0 to 200.", *p.BMI)
	}
	return nil
}

// decodePosted reads the user's posted information; nil when there is none
// or it cannot be read.
func decodePosted(u store.User) *postedInfo {
	if len(u.Info) == 0 {
		return nil
	}
	var p postedInfo
	if err := json.Unmarshal(u.Info, &p); err != nil || p.Day == "" {
		return nil
	}
	return &p
}

// userInfoBody is the user_info document of a day: the stored one (from
// the provider), with the client's posted information of that day laid over it,
// or made from the posted information alone. BMI is not part of
// user_info (ROOK's user_body_metrics has none), so it is kept but not
// shown.
func userInfoBody(clientUUID, userID, day string, docs []store.HealthDocument, posted *postedInfo) ([]byte, error) {
	if posted == nil || posted.Day != day {
		return docs[0].Body, nil
	}
	var d health.UserInfoDocument
	if len(docs) > 0 {
		if err := json.Unmarshal(docs[0].Body, &d); err != nil {
			return nil, err
		}
	} else {
		d.Header = health.Header{ClientUUID: clientUUID, UserID: userID, DocumentVersion: 1, Day: day}
		d.Metadata = health.Metadata{Datetime: health.Datetime(posted.Datetime), UserID: health.String(userID)}
	}
	if !slices.Contains(d.Metadata.SourcesOfData, sourceManual) {
		d.Metadata.SourcesOfData = append(slices.Clone(d.Metadata.SourcesOfData), sourceManual)
	}
	m, dem := &d.UserInformation.UserBodyMetrics, &d.UserInformation.UserDemographics
	set := func(dst **string, v *string) {
		if v != nil {
			*dst = v
		}
	}
	if posted.HeightCm != nil {
		m.HeightCm = posted.HeightCm
	}
	if posted.WeightKg != nil {
		m.WeightKg = posted.WeightKg
	}
	set(&dem.DateOfBirth, posted.DateOfBirth)
	set(&dem.Sex, posted.Sex)
	set(&dem.Gender, posted.Gender)
	set(&dem.Country, posted.Country)
	set(&dem.State, posted.State)
	set(&dem.City, posted.City)
	set(&dem.Ethnicity, posted.Ethnicity)
	set(&dem.Income, posted.Income)
	set(&dem.MaritalStatus, posted.MaritalStatus)
	set(&dem.Education, posted.Education)
	return json.Marshal(&d)
}
