package pack

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Lint of command text: a parameter used as the first word of a command's
// argument ("$path") with no "--" before it is read as an option when its
// value starts with "-" (du -sk "$path" with path=--files0-from=/proc/self/environ
// prints the environment). Lint finds such uses in the shell commands of
// actions: the defaults of cmd, diagnose, remediate and verify, and the
// entry_point script of remote-shell-script actions.
//
// It is a heuristic over the shell words of each line, not a shell parser.
// It understands quotes, ;, &&, ||, |, (), $(...) and backticks, comments,
// assignments, redirections, the keywords of if/while/for/case, "--", find's
// start paths and expression, and the options of common commands that take
// a value as the next word (-n 5, -s TERM). Its limits: it does not follow
// functions, aliases, eval, sh -c strings, xargs or find -exec; it does not
// know every command's options (an unknown option that takes a value makes
// the value look like an argument: write --opt=VALUE or add the option to
// valueOptions); it reads here-documents as commands; and it checks only
// words that begin with the parameter ("x$path" or "--opt=$path" cannot
// start an option, so they are fine).

// Warning is one lint finding.
type Warning struct {
	File   string
	Line   int
	Action string // the action's ref
	Field  string // parameters.NAME whose command text it is, or entry_point
	Param  string // the parameter used in argument position
	Reason string
}

func (w Warning) String() string {
	return fmt.Sprintf("%s:%d: %s %s: %s", w.File, w.Line, w.Action, w.Field, w.Reason)
}

// commandFields are the parameters whose default is shell command text.
var commandFields = []string{"cmd", "diagnose", "remediate", "verify"}

// Lint checks the command text of every action in the set.
func Lint(s *Set) []Warning {
	var out []Warning
	for _, a := range s.Actions() {
		out = append(out, LintAction(a)...)
	}
	return out
}

// LintAction checks one action's command text.
func LintAction(a *Action) []Warning {
	params := make([]string, 0, len(a.Parameters))
	positional := false
	for name, p := range a.Parameters {
		params = append(params, name)
		positional = positional || p.Position != nil
	}
	sort.Strings(params)
	var out []Warning
	for _, field := range commandFields {
		p, ok := a.Parameters[field]
		text, isText := p.defaultText()
		if !ok || !isText {
			continue
		}
		first := defaultLine(a.File, a.Lines["parameters."+field])
		for _, f := range lintShell(text, params) {
			out = append(out, Warning{File: a.File, Line: first + f.line, Action: a.Ref, Field: "parameters." + field, Param: f.param, Reason: f.reason})
		}
	}
	if a.RunnerType == "remote-shell-script" && a.EntryPoint != "" {
		script := filepath.Join(filepath.Dir(a.File), a.EntryPoint)
		if src, err := os.ReadFile(script); err == nil {
			names := params
			if positional {
				names = append(append([]string(nil), params...), "1", "2", "3", "4", "5", "6", "7", "8", "9", "@", "*")
			}
			for _, f := range lintShell(string(src), names) {
				out = append(out, Warning{File: script, Line: 1 + f.line, Action: a.Ref, Field: "entry_point", Param: f.param, Reason: f.reason})
			}
		}
	}
	return out
}

func (p *Param) defaultText() (string, bool) {
	if p == nil {
		return "", false
	}
	s, ok := p.Default.(string)
	return s, ok && s != ""
}

// defaultLine is the line where a parameter's default text starts: the line
// after `default: |` (or `>`), or the `default:` line itself for an inline
// value. keyLine is the parameter's own line; 0 when unknown.
func defaultLine(file string, keyLine int) int {
	raw, err := os.ReadFile(file)
	if err != nil || keyLine <= 0 {
		return keyLine
	}
	lines := strings.Split(string(raw), "\n")
	for i := keyLine; i < len(lines); i++ { // lines[keyLine] is the line after the key
		rest, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "default:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "|") || strings.HasPrefix(rest, ">") {
			return i + 2
		}
		return i + 1
	}
	return keyLine
}

// finding is a lint result within one text; line counts from 0.
type finding struct {
	line   int
	param  string
	reason string
}

// lintShell checks text line by line (continuation lines joined).
func lintShell(text string, params []string) []finding {
	known := map[string]bool{}
	for _, p := range params {
		known[p] = true
	}
	var out []finding
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		line, start := lines[i], i
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + " " + lines[i]
		}
		for _, cmd := range simpleCommands(line) {
			for _, f := range checkCommand(cmd, known) {
				f.line = start
				out = append(out, f)
			}
		}
	}
	return out
}

// simpleCommands splits one line into its simple commands, each a list of
// words (quotes kept): command substitutions become commands of their own
// and a placeholder word in the command that holds them.
func simpleCommands(line string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCommand := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	quote := byte(0) // ' or " while inside quotes
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			word.WriteByte(c)
			if c == '\'' {
				quote = 0
			}
			continue
		case c == '\\' && i+1 < len(line):
			word.WriteString(line[i : i+2])
			inWord = true
			i++
			continue
		case c == '$' && strings.HasPrefix(line[i:], "$(("):
			end := matchParen(line, i+1)
			word.WriteString("_")
			inWord = true
			i = end
			continue
		case c == '$' && strings.HasPrefix(line[i:], "$(") || c == '`':
			var inner string
			if c == '`' {
				end := strings.IndexByte(line[i+1:], '`')
				if end < 0 {
					end = len(line) - i - 1
				}
				inner, i = line[i+1:i+1+end], i+1+end
			} else {
				end := matchParen(line, i+1)
				inner, i = line[i+2:min(end, len(line))], end
			}
			cmds = append(cmds, simpleCommands(inner)...)
			word.WriteString("_") // the substitution's output: not a parameter
			inWord = true
			continue
		case quote == '"':
			word.WriteByte(c)
			if c == '"' {
				quote = 0
			}
			continue
		}
		switch c {
		case '\'', '"':
			quote = c
			word.WriteByte(c)
			inWord = true
		case ' ', '\t':
			endWord()
		case ';', '&', '|', '(', ')':
			endCommand()
		case '#':
			if !inWord {
				endCommand()
				return cmds
			}
			word.WriteByte(c)
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	endCommand()
	return cmds
}

// matchParen returns the index of the ")" closing the "(" at open (quotes
// respected), or len(s) when there is none.
func matchParen(s string, open int) int {
	depth := 0
	quote := byte(0)
	for i := open; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s)
}

var (
	assignment  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?=`)
	redirection = regexp.MustCompile(`^[0-9]*(>>|>&|<&|<>|>\||>|<<-|<<|<)`)
	paramStart  = regexp.MustCompile(`^"*\$\{?([A-Za-z_][A-Za-z0-9_]*|[0-9@*])`)
)

// keywords start or join compound commands; the word after them is a
// command (or the compound's own syntax).
var keywords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true,
	"done": true, "while": true, "until": true, "!": true, "{": true, "}": true, "time": true, "esac": true, "in": true}

// noOptions are commands whose arguments are never options: test
// expressions, and builtins taking only names or numbers.
var noOptions = map[string]bool{"[": true, "[[": true, "test": true, "exit": true, "return": true,
	"export": true, "local": true, "readonly": true, "shift": true, "unset": true, "eval": true, ":": true, "true": true, "false": true}

// valueOptions are options whose value is the next word, per command.
var valueOptions = map[string][]string{
	"head":       {"-n", "-c"},
	"tail":       {"-n", "-c"},
	"journalctl": {"-u", "-n", "-p", "-t", "-S", "-U", "-o", "--unit", "--lines", "--priority", "--since", "--until", "--output", "--identifier"},
	"kill":       {"-s", "-n"},
	"ps":         {"-p", "-o", "-O", "-u", "-U", "-C", "-q", "-t", "-g", "-G", "--sort", "--pid", "--ppid"},
	"awk":        {"-v", "-f", "-F"},
	"grep":       {"-e", "-f", "-m", "-A", "-B", "-C", "--regexp"},
	"cut":        {"-f", "-d", "-c", "-b"},
	"sort":       {"-k", "-t", "-S", "-o"},
	"systemctl":  {"-p", "-t", "-n", "-s", "--property", "--type", "--lines", "--signal", "--state"},
	"df":         {"-t", "-x", "-B", "--output"},
	"du":         {"-d", "-B", "--max-depth", "--exclude"},
	"date":       {"-d", "+"},
	"timeout":    {"-s", "-k"},
}

// findValuePrimaries are find's expression primaries that take a value.
var findValuePrimaries = map[string]bool{"-name": true, "-iname": true, "-path": true, "-ipath": true,
	"-wholename": true, "-iwholename": true, "-regex": true, "-iregex": true, "-lname": true, "-ilname": true,
	"-mmin": true, "-mtime": true, "-amin": true, "-atime": true, "-cmin": true, "-ctime": true, "-newer": true,
	"-user": true, "-group": true, "-perm": true, "-size": true, "-type": true, "-xtype": true, "-maxdepth": true,
	"-mindepth": true, "-uid": true, "-gid": true, "-links": true, "-inum": true, "-samefile": true,
	"-fstype": true, "-printf": true, "-fprint": true, "-fprintf": true, "-fls": true, "-used": true, "-context": true}

// checkCommand reports the parameters one simple command takes as an
// argument that an option could be read from.
func checkCommand(words []string, params map[string]bool) []finding {
	i := 0
	for i < len(words) && (keywords[words[i]] || assignment.MatchString(words[i]) || redirection.MatchString(words[i])) {
		if redirection.MatchString(words[i]) && redirection.FindString(words[i]) == words[i] {
			i++ // "> file": the file is the redirection's, not an argument
		}
		i++
	}
	if i >= len(words) {
		return nil
	}
	name := unquote(words[i])
	args := words[i+1:]
	switch {
	case name == "case" || name == "for" || noOptions[name]:
		return nil
	case name == "find":
		return checkFind(args, params)
	case name == "printf":
		return checkArgs(name, args[:min(1, len(args))], params, "a value used as printf's format is read as a format (write printf '%s' \"$x\")")
	}
	return checkArgs(name, args, params, "")
}

func checkArgs(name string, args []string, params map[string]bool, why string) []finding {
	var out []finding
	takesValue := map[string]bool{}
	for _, o := range valueOptions[name] {
		takesValue[o] = true
	}
	for j := 0; j < len(args); j++ {
		w := args[j]
		switch {
		case w == "--":
			return out
		case redirection.MatchString(w):
			if redirection.FindString(w) == w {
				j++
			}
			continue
		case takesValue[unquote(w)]:
			j++ // the option's value, whatever it looks like
			continue
		}
		if p, ok := startsWithParam(w, params); ok {
			reason := why
			if reason == "" {
				reason = fmt.Sprintf("\"$%s\" is an argument of %s with no \"--\" before it: a value starting with \"-\" would be read as an option (write %s ... -- \"$%s\", or pass it as --option=\"$%s\")", p, name, name, p, p)
				if name == "echo" {
					reason = fmt.Sprintf("\"$%s\" is an argument of echo, which reads -n and -e from it: write printf '%%s\\n' \"$%s\"", p, p)
				}
			}
			out = append(out, finding{param: p, reason: reason})
		}
	}
	return out
}

// checkFind: find's start paths come before its expression and find has no
// portable "--", so a start path must not begin with a parameter.
func checkFind(args []string, params map[string]bool) []finding {
	var out []finding
	for _, w := range args {
		u := unquote(w)
		if strings.HasPrefix(u, "-") || u == "(" || u == "!" || u == "\\(" || u == "\\!" {
			break // the expression: primaries parse their own values
		}
		if p, ok := startsWithParam(w, params); ok {
			out = append(out, finding{param: p, reason: fmt.Sprintf("\"$%s\" is a start path of find, which has no portable \"--\": a value starting with \"-\" would be read as an expression; resolve it first (dir=$(realpath -m -- \"$%s\")) and check it starts with /, or write find \"./$%s\"", p, p, p)})
		}
	}
	return out
}

// startsWithParam reports whether word's value begins with the expansion
// of a known parameter ("$p", $p, "${p}", ${p:-x}); a single-quoted word
// expands nothing.
func startsWithParam(word string, params map[string]bool) (string, bool) {
	m := paramStart.FindStringSubmatch(word)
	if m == nil || !params[m[1]] {
		return "", false
	}
	return m[1], true
}

func unquote(w string) string {
	if len(w) >= 2 && (w[0] == '"' || w[0] == '\'') && w[len(w)-1] == w[0] {
		return w[1 : len(w)-1]
	}
	return w
}
