package verify

import (
	"encoding/json"
	"strconv"
)

// decodeObject decodes a JOSE header or a JWT claims set into a map,
// exactly as json.Unmarshal into a map[string]any would (last duplicate
// wins, numbers become float64, invalid JSON is an error). Almost every
// token's header and claims are flat objects of plain ASCII strings,
// numbers, booleans, nulls and arrays of strings; those are parsed here in
// one pass, several times faster than encoding/json. Anything else — an
// escape, a byte outside ASCII, a nested object, a malformed number — is
// left to encoding/json, so strictness is encoding/json's own, and
// FuzzDecodeObject checks that the two always agree.
func decodeObject(b []byte) (map[string]any, error) {
	if m, ok := parseFlatObject(b); ok {
		return m, nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// flatParser reads the flat subset of JSON that decodeObject handles
// itself; every method reports false for anything outside it.
type flatParser struct {
	b []byte
	i int
}

func parseFlatObject(b []byte) (map[string]any, bool) {
	p := flatParser{b: b}
	p.space()
	if !p.eat('{') {
		return nil, false
	}
	m := make(map[string]any, 12)
	p.space()
	if !p.eat('}') {
		for {
			p.space()
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			p.space()
			if !p.eat(':') {
				return nil, false
			}
			p.space()
			v, ok := p.value()
			if !ok {
				return nil, false
			}
			m[k] = v
			p.space()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return nil, false
		}
	}
	p.space()
	return m, p.i == len(p.b)
}

func (p *flatParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

func (p *flatParser) value() (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == '[':
		return p.strings()
	case p.literal("true"):
		return true, true
	case p.literal("false"):
		return false, true
	case p.literal("null"):
		return nil, true
	}
	return nil, false
}

// str reads a string without escapes, control characters or non-ASCII
// bytes (those go to encoding/json, which decodes escapes and replaces
// invalid UTF-8).
func (p *flatParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// number reads a number in RFC 8259 syntax and converts it as
// encoding/json does (strconv.ParseFloat of the literal).
func (p *flatParser) number() (any, bool) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.digits() == 0:
		return nil, false
	}
	if p.eat('.') && p.digits() == 0 {
		return nil, false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if p.digits() == 0 {
			return nil, false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil { // out of range: encoding/json reports it
		return nil, false
	}
	return f, true
}

func (p *flatParser) digits() int {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

// strings reads an array of strings.
func (p *flatParser) strings() (any, bool) {
	p.eat('[')
	arr := []any{}
	p.space()
	if p.eat(']') {
		return arr, true
	}
	for {
		p.space()
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		arr = append(arr, s)
		p.space()
		if p.eat(',') {
			continue
		}
		return arr, p.eat(']')
	}
}
