package health

// UserInfoDocument is a user_info document. Unlike the other structures it
// has no pillar nesting: metadata and user_information sit at the top level.
type UserInfoDocument struct {
	Header
	Metadata        Metadata
	UserInformation UserInformation
}

// UserInformation is the user_information object of user_info.
type UserInformation struct {
	UserBodyMetrics  UserBodyMetrics  `json:"user_body_metrics"`
	UserDemographics UserDemographics `json:"user_demographics"`
}

// UserBodyMetrics is user_information.user_body_metrics. The published
// schema has no bmi_float here (body_metrics has one), so neither do we.
type UserBodyMetrics struct {
	HeightCm *int     `json:"height_cm_int"`
	WeightKg *float64 `json:"weight_kg_float"`
}

// UserDemographics is user_information.user_demographics.
type UserDemographics struct {
	Sex           *string `json:"sex_string"`
	Gender        *string `json:"gender_string"`
	DateOfBirth   *string `json:"date_of_birth_string"`
	Country       *string `json:"country_string"`
	State         *string `json:"state_string"`
	City          *string `json:"city_string"`
	Ethnicity     *string `json:"ethnicity_string"`
	Income        *string `json:"income_string"`
	MaritalStatus *string `json:"marital_status_string"`
	TimeZone      *string `json:"time_zone_string"`
	Education     *string `json:"education_string"`
}
