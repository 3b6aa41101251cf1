package pack

import (
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// format is one value of the `format` keyword: what a string must look
// like, and (for paths) the canonical form that is judged and passed on.
type format struct {
	// want says what the format accepts, for refusals.
	want  string
	valid func(string) bool
	// canonical, when set, rewrites an accepted value before any other
	// constraint judges it (absolute-path: //etc and /tmp/../etc are /etc).
	canonical func(string) string
}

// Formats a command can rely on. Medic's own formats are strict on purpose:
// none of them accepts a value that starts with "-" (an option to the
// program that receives it), contains whitespace, a control character, a
// quote or "$", or is longer than the thing it names can be.
var formats = map[string]format{
	"absolute-path": {
		want:      "an absolute path: starts with /, at most 4096 bytes, no control characters; judged after cleaning (//etc and /tmp/../etc are /etc)",
		valid:     isAbsolutePath,
		canonical: path.Clean,
	},
	"systemd-unit": {
		want:  "a systemd unit name: 1 to 255 of A-Z a-z 0-9 : _ . @ -, not starting with - or .",
		valid: regexp.MustCompile(`^[A-Za-z0-9:_@][A-Za-z0-9:_.@-]{0,254}$`).MatchString,
	},
	"process-name": {
		want:  "a process name as ps -o comm shows it: 1 to 15 of A-Z a-z 0-9 _ . + : @ -, not starting with - or .",
		valid: regexp.MustCompile(`^[A-Za-z0-9_+:@][A-Za-z0-9_.+:@-]{0,14}$`).MatchString,
	},
	"ec2-instance-id": {
		want:  "an EC2 instance id: i- then 1 to 17 lowercase letters or digits (AWS's are 8 or 17 hex digits)",
		valid: regexp.MustCompile(`^i-[0-9a-z]{1,17}$`).MatchString,
	},
	"signal": {
		want:  "a signal name without SIG (" + strings.Join(signalNames, ", ") + ")",
		valid: func(s string) bool { return slices.Contains(signalNames, s) },
	},
	"hostname": {
		want:  "a hostname (RFC 1123): dot-separated labels of A-Z a-z 0-9 -, each 1 to 63 long and not starting or ending with -, 253 at most",
		valid: isHostname,
	},
	"ipv4": {
		want:  "an IPv4 address",
		valid: func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is4() },
	},
	"ipv6": {
		want:  "an IPv6 address",
		valid: func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is6() && a.Zone() == "" },
	},
	"uri": {
		want:  "an absolute http or https URL with a host",
		valid: isHTTPURL,
	},
	"date-time": {
		want:  "an RFC 3339 date and time",
		valid: func(s string) bool { _, err := time.Parse(time.RFC3339, s); return err == nil },
	},
}

// signalNames are the signals `kill -s` takes by name in every POSIX shell.
var signalNames = []string{"ABRT", "ALRM", "CONT", "HUP", "INT", "KILL", "QUIT", "STOP", "TERM", "TSTP", "USR1", "USR2"}

// formatNames lists the known formats, for problems.
func formatNames() string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// maxPathBytes is Linux's PATH_MAX less its terminating NUL.
const maxPathBytes = 4095

func isAbsolutePath(s string) bool {
	return strings.HasPrefix(s, "/") && len(s) <= maxPathBytes && utf8.ValidString(s) && !hasControl(s)
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !hostLabel.MatchString(label) {
			return false
		}
	}
	return true
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !hasControl(s) &&
		!strings.ContainsAny(s, " \\")
}

// underAny reports the first of dirs that p (clean and absolute) is, or is
// below. "/" in dirs stands for the root directory itself only: "/ and
// everything below it" would refuse every path.
func underAny(p string, dirs []string) (string, bool) {
	for _, d := range dirs {
		if p == d || d != "/" && strings.HasPrefix(p, d+"/") {
			return d, true
		}
	}
	return "", false
}
