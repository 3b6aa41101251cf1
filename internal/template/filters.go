package template

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/exec"
	"gopkg.in/yaml.v3"
)

// environment is gonja's default environment plus StackStorm's filters.
var environment = func() *exec.Environment {
	env := *gonja.DefaultEnvironment
	env.Filters = exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(gonja.DefaultEnvironment.Filters)
	for _, name := range boundedFilters {
		if fn, ok := env.Filters.Get(name); ok {
			if err := env.Filters.Replace(name, bounded(name, fn)); err != nil {
				panic(err)
			}
		}
	}
	env.Context = gonja.DefaultContext.Inherit()
	env.Context.Set("range", rangeFunction)
	for name, fn := range versionFilters {
		st2Filters[name] = fn
	}
	for name, fn := range st2Filters {
		if err := env.Filters.Replace(name, fn); err != nil {
			if err := env.Filters.Register(name, fn); err != nil {
				panic(err)
			}
		}
	}
	return &env
}()

var st2Filters = map[string]exec.FilterFunction{
	"to_json_string":   filterToJSON,
	"to_yaml_string":   filterToYAML,
	"to_complex":       filterFromJSON,
	"from_json_string": filterFromJSON,
	"from_yaml_string": filterFromYAML,
	"json_escape":      filterJSONEscape,
	"regex_match":      filterRegexMatch,
	"regex_search":     filterRegexSearch,
	"regex_replace":    filterRegexReplace,
	"regex_substring":  filterRegexSubstring,
	"use_none":         filterUseNone,
	"decrypt_kv":       filterDecryptKV,
}

// plain turns a gonja value into JSON-like Go values for encoding.
func plain(in *exec.Value) (any, error) { return native(in) }

func fail(name string, err error) *exec.Value {
	return exec.AsValue(fmt.Errorf("%s: %w", name, err))
}

func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	v, err := plain(in)
	if err != nil {
		return fail("to_json_string", err)
	}
	indent := params.GetKeywordArgument("indent", nil)
	var b []byte
	if !indent.IsNil() && indent.Integer() > 0 {
		b, err = json.MarshalIndent(v, "", strings.Repeat(" ", indent.Integer()))
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fail("to_json_string", err)
	}
	return exec.AsValue(string(b))
}

func filterToYAML(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	v, err := plain(in)
	if err != nil {
		return fail("to_yaml_string", err)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fail("to_yaml_string", err)
	}
	return exec.AsValue(string(b))
}

func filterFromJSON(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	var v any
	if err := json.Unmarshal([]byte(in.String()), &v); err != nil {
		return fail("from_json_string", err)
	}
	return exec.AsValue(v)
}

func filterFromYAML(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	var v any
	if err := yaml.Unmarshal([]byte(in.String()), &v); err != nil {
		return fail("from_yaml_string", err)
	}
	return exec.AsValue(v)
}

// json_escape escapes a string for embedding inside a JSON string literal.
func filterJSONEscape(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	b, _ := json.Marshal(in.String())
	return exec.AsValue(string(b[1 : len(b)-1]))
}

func regexArg(name string, params *exec.VarArgs) (*regexp.Regexp, error) {
	if len(params.Args) == 0 {
		return nil, fmt.Errorf("%s needs a regex argument", name)
	}
	re, err := regexp.Compile(params.Args[0].String())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return re, nil
}

// regex_match anchors at the start, like Python's re.match.
func filterRegexMatch(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	re, err := regexArg("regex_match", params)
	if err != nil {
		return exec.AsValue(err)
	}
	anchored := regexp.MustCompile(`^(?:` + re.String() + `)`) // re compiled, so this does too
	return exec.AsValue(anchored.MatchString(in.String()))
}

func filterRegexSearch(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	re, err := regexArg("regex_search", params)
	if err != nil {
		return exec.AsValue(err)
	}
	return exec.AsValue(re.MatchString(in.String()))
}

// regex_replace uses Python's \1 back-references; Go's are ${1}.
func filterRegexReplace(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	re, err := regexArg("regex_replace", params)
	if err != nil {
		return exec.AsValue(err)
	}
	if len(params.Args) < 2 {
		return exec.AsValue(fmt.Errorf("regex_replace needs a replacement argument"))
	}
	repl := pythonBackrefs.ReplaceAllString(params.Args[1].String(), `$${$1}`)
	return exec.AsValue(re.ReplaceAllString(in.String(), repl))
}

var pythonBackrefs = regexp.MustCompile(`\\(\d+)`)

// regex_substring returns the whole match number `result_index` (default 0).
func filterRegexSubstring(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	re, err := regexArg("regex_substring", params)
	if err != nil {
		return exec.AsValue(err)
	}
	idx := 0
	if len(params.Args) > 1 {
		idx = params.Args[1].Integer()
	}
	matches := re.FindAllString(in.String(), -1)
	if idx < 0 || idx >= len(matches) {
		return exec.AsValue(fmt.Errorf("regex_substring: no match %d for %q", idx, re.String()))
	}
	return exec.AsValue(matches[idx])
}

// use_none turns the rendered text "None"/empty into a real null, so an
// optional parameter can be left unset from a template.
func filterUseNone(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsNil() {
		return exec.AsValue(nil)
	}
	if in.IsString() && (in.String() == "" || in.String() == "None") {
		return exec.AsValue(nil)
	}
	return in
}

// decrypt_kv: the local datastore stores plain values; SSM SecureString
// decryption happens in its adapter. The filter exists so st2 templates
// render unchanged.
func filterDecryptKV(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	return exec.AsValue(in.String())
}
