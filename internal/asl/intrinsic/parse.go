// Package intrinsic parses and evaluates Amazon States Language intrinsic
// functions (States.Format, States.Array, ...), as used in ".$" payload
// template fields. Parsing is complete at definition time, so a misspelt
// function or a bad argument count is reported before anything runs.
package intrinsic

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/medic-sre/medic/internal/asl/jsonpath"
)

// maxDepth is Step Functions' nesting limit for intrinsic calls in a field.
const maxDepth = 10

// Call is a parsed intrinsic function call.
type Call struct {
	Name string
	args []node
	fn   *function
}

// node is one argument: a literal, a path or a nested call.
type node interface{}

type literal struct {
	value any
	raw   string // for strings: the text between quotes, escapes kept
}

type pathArg struct {
	path     *jsonpath.Path
	context  bool   // $$ rather than $
	variable string // $name: a workflow variable
}

// IsCall reports whether s looks like an intrinsic call (starts "States.").
func IsCall(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "States.") }

// Parse parses a whole intrinsic expression such as
// "States.Format('x {}', $.a)". Unknown functions and wrong argument counts
// are errors.
func Parse(src string) (*Call, error) {
	p := &parser{src: src}
	p.skipSpace()
	c, err := p.call(1)
	if err != nil {
		return nil, fmt.Errorf("intrinsic %q: %w", src, err)
	}
	p.skipSpace()
	if !p.eof() {
		return nil, fmt.Errorf("intrinsic %q: unexpected %q after the call at offset %d", src, p.src[p.pos:], p.pos)
	}
	return c, nil
}

type parser struct {
	src string
	pos int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) skipSpace() {
	for !p.eof() && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) call(depth int) (*Call, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("more than %d nested intrinsic functions", maxDepth)
	}
	start := p.pos
	for !p.eof() && (isIdent(p.src[p.pos]) || p.src[p.pos] == '.') {
		p.pos++
	}
	name := p.src[start:p.pos]
	fn, ok := functions[name]
	if !ok {
		return nil, fmt.Errorf("unknown intrinsic function %q", name)
	}
	p.skipSpace()
	if p.eof() || p.src[p.pos] != '(' {
		return nil, fmt.Errorf("expected '(' after %s at offset %d", name, p.pos)
	}
	p.pos++
	c := &Call{Name: name, fn: fn}
	p.skipSpace()
	if !p.eof() && p.src[p.pos] == ')' {
		p.pos++
		return c, c.checkArity()
	}
	for {
		p.skipSpace()
		arg, err := p.arg(depth)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, arg)
		p.skipSpace()
		if p.eof() {
			return nil, fmt.Errorf("missing ')' to close %s", name)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return c, c.checkArity()
		default:
			return nil, fmt.Errorf("expected ',' or ')' at offset %d in %s", p.pos, name)
		}
	}
}

func (c *Call) checkArity() error {
	n := len(c.args)
	if n < c.fn.minArgs || (c.fn.maxArgs >= 0 && n > c.fn.maxArgs) {
		want := strconv.Itoa(c.fn.minArgs)
		switch {
		case c.fn.maxArgs < 0:
			want += " or more"
		case c.fn.maxArgs != c.fn.minArgs:
			want += " to " + strconv.Itoa(c.fn.maxArgs)
		}
		return fmt.Errorf("%s takes %s arguments, got %d", c.Name, want, n)
	}
	return nil
}

func isIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func (p *parser) arg(depth int) (node, error) {
	if p.eof() {
		return nil, fmt.Errorf("missing argument at end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '\'':
		return p.stringLit()
	case c == '$':
		return p.path()
	case strings.HasPrefix(p.src[p.pos:], "States."):
		return p.call(depth + 1)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, kw := range []struct {
		word string
		val  any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(p.src[p.pos:], kw.word) {
			p.pos += len(kw.word)
			return literal{value: kw.val}, nil
		}
	}
	return nil, fmt.Errorf("unexpected %q at offset %d: want 'string', number, true/false/null, $path or States.Fn(...)", p.src[p.pos:], p.pos)
}

// stringLit reads '...' where \' \{ \} \\ are escapes (the ASL reserved
// characters); raw keeps the escapes so States.Format can tell an escaped
// brace from a placeholder.
func (p *parser) stringLit() (node, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for !p.eof() {
		c := p.src[p.pos]
		switch c {
		case '\\':
			if p.pos+1 >= len(p.src) {
				return nil, fmt.Errorf("dangling backslash in string at offset %d", start)
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
			continue
		case '\'':
			p.pos++
			return literal{value: b.String(), raw: p.src[start+1 : p.pos-1]}, nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return nil, fmt.Errorf("unterminated string starting at offset %d", start)
}

func (p *parser) number() (node, error) {
	start := p.pos
	p.pos++
	for !p.eof() && strings.IndexByte("0123456789.eE+-", p.src[p.pos]) >= 0 {
		p.pos++
	}
	f, err := strconv.ParseFloat(p.src[start:p.pos], 64)
	if err != nil {
		return nil, fmt.Errorf("bad number %q at offset %d", p.src[start:p.pos], start)
	}
	return literal{value: f}, nil
}

// path reads a JSONPath argument up to the ',' or ')' that ends it,
// skipping brackets and quotes inside it.
func (p *parser) path() (node, error) {
	start := p.pos
	depth := 0
	var quote byte
scan:
	for ; !p.eof(); p.pos++ {
		c := p.src[p.pos]
		switch {
		case quote != 0 && c == '\\':
			p.pos++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '[' || c == '(':
			depth++
		case c == ']' || c == ')' && depth > 0:
			depth--
		case depth == 0 && (c == ',' || c == ')' || c == ' '):
			break scan
		}
	}
	p.pos = min(p.pos, len(p.src)) // a trailing backslash skips past the end
	text := p.src[start:p.pos]
	arg := pathArg{}
	if strings.HasPrefix(text, "$$") {
		arg.context = true
		text = text[1:]
	} else if name, rest, ok := jsonpath.SplitVariable(text); ok {
		arg.variable, text = name, rest
	}
	path, err := jsonpath.Parse(text)
	if err != nil {
		return nil, err
	}
	arg.path = path
	return arg, nil
}
