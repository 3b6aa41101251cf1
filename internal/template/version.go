package template

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// StackStorm's semver filters: version_compare, version_more_than,
// version_less_than, version_equal, version_match, version_bump_major,
// version_bump_minor, version_bump_patch, version_strip_patch.
var versionFilters = map[string]exec.FilterFunction{
	"version_compare":    versionCompareFilter(func(c int) any { return c }),
	"version_more_than":  versionCompareFilter(func(c int) any { return c > 0 }),
	"version_less_than":  versionCompareFilter(func(c int) any { return c < 0 }),
	"version_equal":      versionCompareFilter(func(c int) any { return c == 0 }),
	"version_match":      filterVersionMatch,
	"version_bump_major": versionBump(func(v semver) semver { return semver{major: v.major + 1} }),
	"version_bump_minor": versionBump(func(v semver) semver { return semver{major: v.major, minor: v.minor + 1} }),
	"version_bump_patch": versionBump(func(v semver) semver { return semver{major: v.major, minor: v.minor, patch: v.patch + 1} }),
	"version_strip_patch": func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		v, err := parseSemver(in.String())
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(fmt.Sprintf("%d.%d", v.major, v.minor))
	},
}

type semver struct {
	major, minor, patch int
	pre                 string
}

func (v semver) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
	if v.pre != "" {
		s += "-" + v.pre
	}
	return s
}

func parseSemver(s string) (semver, error) {
	core, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(s), "v"), "+")
	core, pre, _ := strings.Cut(core, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}, fmt.Errorf("%q is not a semantic version (MAJOR.MINOR.PATCH)", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return semver{}, fmt.Errorf("%q is not a semantic version (MAJOR.MINOR.PATCH)", s)
		}
		n[i] = v
	}
	return semver{major: n[0], minor: n[1], patch: n[2], pre: pre}, nil
}

// compare orders versions; a pre-release sorts before its release.
func (v semver) compare(o semver) int {
	for _, d := range [][2]int{{v.major, o.major}, {v.minor, o.minor}, {v.patch, o.patch}} {
		if d[0] != d[1] {
			return cmpInt(d[0], d[1])
		}
	}
	switch {
	case v.pre == o.pre:
		return 0
	case v.pre == "":
		return 1
	case o.pre == "":
		return -1
	}
	return strings.Compare(v.pre, o.pre)
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	return 1
}

func versionArgs(in *exec.Value, params *exec.VarArgs) (semver, semver, error) {
	a, err := parseSemver(in.String())
	if err != nil {
		return semver{}, semver{}, err
	}
	if len(params.Args) != 1 {
		return semver{}, semver{}, fmt.Errorf("needs one version to compare with")
	}
	b, err := parseSemver(params.Args[0].String())
	return a, b, err
}

func versionCompareFilter(result func(int) any) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		a, b, err := versionArgs(in, params)
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(result(a.compare(b)))
	}
}

// version_match: "1.2.3" | version_match(">=1.2.0"); operators <, <=, >,
// >=, ==, !=.
func filterVersionMatch(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return exec.AsValue(fmt.Errorf("version_match needs an expression such as >=1.2.0"))
	}
	expr := strings.TrimSpace(params.Args[0].String())
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if rest, ok := strings.CutPrefix(expr, op); ok {
			a, err := parseSemver(in.String())
			if err != nil {
				return exec.AsValue(err)
			}
			b, err := parseSemver(rest)
			if err != nil {
				return exec.AsValue(err)
			}
			c := a.compare(b)
			return exec.AsValue(map[string]bool{"<=": c <= 0, ">=": c >= 0, "==": c == 0, "!=": c != 0, "<": c < 0, ">": c > 0}[op])
		}
	}
	return exec.AsValue(fmt.Errorf("version_match: %q needs an operator (<, <=, >, >=, ==, !=)", expr))
}

func versionBump(bump func(semver) semver) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		v, err := parseSemver(in.String())
		if err != nil {
			return exec.AsValue(err)
		}
		return exec.AsValue(bump(v).String())
	}
}
