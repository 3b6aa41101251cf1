package sensor

import (
	"regexp"
	"strings"
)

// regionCodes maps the display names CloudWatch writes into SNS alarm
// notifications ("Region": "US East (N. Virginia)") to region codes. Older
// notifications say "EU (Ireland)" where newer ones say "Europe (Ireland)",
// so both spellings are kept.
var regionCodes = map[string]string{
	"US East (N. Virginia)":      "us-east-1",
	"US East (Ohio)":             "us-east-2",
	"US West (N. California)":    "us-west-1",
	"US West (Oregon)":           "us-west-2",
	"Africa (Cape Town)":         "af-south-1",
	"Asia Pacific (Hong Kong)":   "ap-east-1",
	"Asia Pacific (Taipei)":      "ap-east-2",
	"Asia Pacific (Mumbai)":      "ap-south-1",
	"Asia Pacific (Hyderabad)":   "ap-south-2",
	"Asia Pacific (Singapore)":   "ap-southeast-1",
	"Asia Pacific (Sydney)":      "ap-southeast-2",
	"Asia Pacific (Jakarta)":     "ap-southeast-3",
	"Asia Pacific (Melbourne)":   "ap-southeast-4",
	"Asia Pacific (Malaysia)":    "ap-southeast-5",
	"Asia Pacific (New Zealand)": "ap-southeast-6",
	"Asia Pacific (Thailand)":    "ap-southeast-7",
	"Asia Pacific (Tokyo)":       "ap-northeast-1",
	"Asia Pacific (Seoul)":       "ap-northeast-2",
	"Asia Pacific (Osaka)":       "ap-northeast-3",
	"Canada (Central)":           "ca-central-1",
	"Canada West (Calgary)":      "ca-west-1",
	"Europe (Frankfurt)":         "eu-central-1",
	"Europe (Zurich)":            "eu-central-2",
	"Europe (Ireland)":           "eu-west-1",
	"Europe (London)":            "eu-west-2",
	"Europe (Paris)":             "eu-west-3",
	"Europe (Milan)":             "eu-south-1",
	"Europe (Spain)":             "eu-south-2",
	"Europe (Stockholm)":         "eu-north-1",
	"EU (Frankfurt)":             "eu-central-1",
	"EU (Zurich)":                "eu-central-2",
	"EU (Ireland)":               "eu-west-1",
	"EU (London)":                "eu-west-2",
	"EU (Paris)":                 "eu-west-3",
	"EU (Milan)":                 "eu-south-1",
	"EU (Spain)":                 "eu-south-2",
	"EU (Stockholm)":             "eu-north-1",
	"Israel (Tel Aviv)":          "il-central-1",
	"Mexico (Central)":           "mx-central-1",
	"Middle East (Bahrain)":      "me-south-1",
	"Middle East (UAE)":          "me-central-1",
	"South America (Sao Paulo)":  "sa-east-1",
	"South America (São Paulo)":  "sa-east-1",
	"AWS GovCloud (US-East)":     "us-gov-east-1",
	"AWS GovCloud (US-West)":     "us-gov-west-1",
	"AWS GovCloud (US)":          "us-gov-west-1",
	"China (Beijing)":            "cn-north-1",
	"China (Ningxia)":            "cn-northwest-1",
}

// oldRegionNames are the display names CloudWatch wrote into SNS alarm
// notifications until about 2017 ("Region": "US - N. Virginia"): the area,
// a dash, the place. They cover every region that existed while that
// spelling was in use; later regions only ever had the current names.
var oldRegionNames = map[string]string{
	"US - N. Virginia":          "us-east-1",
	"US - Ohio":                 "us-east-2",
	"US - N. California":        "us-west-1",
	"US - Oregon":               "us-west-2",
	"US - GovCloud":             "us-gov-west-1",
	"Canada - Central":          "ca-central-1",
	"EU - Ireland":              "eu-west-1",
	"EU - Frankfurt":            "eu-central-1",
	"EU - London":               "eu-west-2",
	"EU - Paris":                "eu-west-3",
	"Asia Pacific - Tokyo":      "ap-northeast-1",
	"Asia Pacific - Seoul":      "ap-northeast-2",
	"Asia Pacific - Singapore":  "ap-southeast-1",
	"Asia Pacific - Sydney":     "ap-southeast-2",
	"Asia Pacific - Mumbai":     "ap-south-1",
	"South America - Sao Paulo": "sa-east-1",
	"South America - São Paulo": "sa-east-1",
	"China - Beijing":           "cn-north-1",
	"China - Ningxia":           "cn-northwest-1",
}

var regionCodePattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// RegionCode returns the region code for a display name such as
// "US East (N. Virginia)" or its old spelling "US - N. Virginia", or the input itself when it already is a code.
// ok is false when the name is unknown.
func RegionCode(name string) (code string, ok bool) {
	name = strings.TrimSpace(name)
	if code, ok := regionCodes[name]; ok {
		return code, true
	}
	if code, ok := oldRegionNames[name]; ok {
		return code, true
	}
	if regionCodePattern.MatchString(name) {
		return name, true
	}
	return "", false
}

// regionFromARN reads the region out of an ARN (arn:PARTITION:SERVICE:
// REGION:ACCOUNT:RESOURCE), or "" when it has none that looks like a region
// code: sample payloads carry placeholders such as "REGION" or "EXAMPLE".
func regionFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || !regionCodePattern.MatchString(parts[3]) {
		return ""
	}
	return parts[3]
}
