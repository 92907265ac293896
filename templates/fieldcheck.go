package templates

import (
	"fmt"
	"reflect"
	"strings"
	"text/template/parse"

	"github.com/leadmailer/leadmailer"
)

// checkFields reports the first field a template names that does not exist, such as
// {{.Lead.Nmae}}, wherever it is: rendering the sample leads only reaches the branches of
// {{if}} they take, and a misspelt field in another branch would otherwise fail at send time.
// Fields are checked against the types templates see: of the data outside {{with}} and
// {{range}} and through $ everywhere, and of what {{with .Lead}} and the like set dot to;
// what {{range}} sets dot to is left to the sample render.
func checkFields(part, src string, tree *parse.Tree) error {
	if tree == nil {
		return nil
	}
	fc := fieldChecker{part: part, src: src}
	fc.list(tree.Root, dataType)
	return fc.err
}

type fieldChecker struct {
	part, src string
	err       error
	// ranges counts the {{range}}s around the node being checked.
	ranges int
}

// maxRangeDepth is how deeply {{range}}s may nest. The render limits stop a loop that
// writes too much or for too long, but they see only what a loop writes; this bounds the
// loops that write nothing.
const maxRangeDepth = 2

// rangeProblem says why {{range}} over p, with dot of type dot and inside the given number
// of other {{range}}s, is refused, or returns "". A {{range}} goes over a field: an integer
// ({{range 6000}}, or a number-valued field) repeats the body that many times, and a
// function's result is not known before a lead is rendered.
func rangeProblem(p *parse.PipeNode, dot reflect.Type, depth int) string {
	if depth >= maxRangeDepth {
		return fmt.Sprintf("{{range}} may be nested at most %d deep", maxRangeDepth)
	}
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "{{range}} may only go over a field (such as .Lead.FieldRuns), not over a function's result or a pipeline"
	}
	var t reflect.Type
	switch a := p.Cmds[0].Args[0].(type) {
	case *parse.NumberNode:
		return fmt.Sprintf("{{range}} over the number %s is not allowed: it repeats its content that many times", a.Text)
	case *parse.FieldNode:
		t = followFields(dot, a.Ident)
	case *parse.VariableNode:
		if len(a.Ident) > 1 && a.Ident[0] == "$" {
			t = followFields(dataType, a.Ident[1:])
		}
	case *parse.DotNode, *parse.ChainNode:
	default:
		return "{{range}} may only go over a field (such as .Lead.FieldRuns), not over a function's result or a pipeline"
	}
	if t != nil {
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			return "{{range}} over a number is not allowed: it repeats its content that many times"
		}
	}
	return ""
}

// followFields returns the type of the field path idents from t, or nil when unknown.
func followFields(t reflect.Type, idents []string) reflect.Type {
	for _, id := range idents {
		if t == nil {
			return nil
		}
		next, ok := fieldType(t, id)
		if !ok {
			return nil
		}
		t = next
	}
	return t
}

var dataType = reflect.TypeFor[data]()

// The dot argument is the type of dot, nil when unknown.

func (fc *fieldChecker) list(l *parse.ListNode, dot reflect.Type) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		fc.node(n, dot)
	}
}

func (fc *fieldChecker) node(n parse.Node, dot reflect.Type) {
	if fc.err != nil || n == nil {
		return
	}
	switch n := n.(type) {
	case *parse.ActionNode:
		fc.pipe(n.Pipe, dot)
	case *parse.IfNode:
		fc.pipe(n.Pipe, dot)
		fc.list(n.List, dot)
		fc.list(n.ElseList, dot)
	case *parse.WithNode:
		fc.pipe(n.Pipe, dot)
		fc.list(n.List, fc.pipeType(n.Pipe, dot))
		fc.list(n.ElseList, dot)
	case *parse.RangeNode:
		fc.pipe(n.Pipe, dot)
		if msg := rangeProblem(n.Pipe, dot, fc.ranges); msg != "" && fc.err == nil {
			// The parser places a {{range}} at its pipeline; people look for the "{{".
			off := int(n.Position())
			if i := strings.LastIndex(fc.src[:min(off, len(fc.src))], "{{"); i >= 0 {
				off = i
			}
			line, col := position(fc.src, off)
			fc.err = &Error{Part: fc.part, Line: line, Column: col, Msg: msg}
			return
		}
		fc.ranges++
		fc.list(n.List, nil)
		fc.ranges--
		fc.list(n.ElseList, dot)
	case *parse.PipeNode:
		fc.pipe(n, dot)
	case *parse.FieldNode:
		if dot != nil {
			fc.path(int(n.Pos), n.Ident, false, dot, dotOwner(dot))
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			fc.path(int(n.Pos), n.Ident[1:], true, dataType, "the template data")
		}
	case *parse.ChainNode:
		fc.node(n.Node, dot)
	}
}

func (fc *fieldChecker) pipe(p *parse.PipeNode, dot reflect.Type) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			fc.node(a, dot)
		}
	}
}

// pipeType returns the type of a pipeline that is just a field of dot ({{with .Lead}}), or
// nil.
func (fc *fieldChecker) pipeType(p *parse.PipeNode, dot reflect.Type) reflect.Type {
	if dot == nil || p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		return nil
	}
	t := dot
	for _, id := range f.Ident {
		next, ok := fieldType(t, id)
		if !ok || next == nil {
			return nil
		}
		t = next
	}
	return t
}

// dotOwner names a type for messages about its fields.
func dotOwner(t reflect.Type) string {
	switch t {
	case dataType:
		return "the template data"
	case reflect.TypeFor[*leadmailer.Lead]():
		return "Lead"
	case reflect.TypeFor[Sender]():
		return "Sender"
	}
	return t.String()
}

// path checks the field names idents from the data type. pos is where the parser put the
// node: at the first name when there is one, at the second when there are several (and at
// the first after "$" for a variable).
func (fc *fieldChecker) path(pos int, idents []string, variable bool, t reflect.Type, owner string) {
	// Offsets of each name's leading dot, for the error's column.
	offs := make([]int, len(idents))
	at := pos
	if !variable && len(idents) > 1 {
		at = pos - len(idents[0]) - 1
	}
	for i, id := range idents {
		offs[i] = at
		at += len(id) + 1
	}
	for i, id := range idents {
		next, ok := fieldType(t, id)
		if !ok {
			line, col := position(fc.src, offs[i])
			fc.err = &Error{Part: fc.part, Line: line, Column: col, Msg: unknownFieldMsg(id, owner)}
			return
		}
		if next == nil {
			return // a method with arguments, or an interface: not followed further
		}
		t, owner = next, id
	}
}

// fieldType returns the type of t's field or method name as text/template evaluates it, nil
// when evaluation cannot be followed statically, and false when t has no such field.
func fieldType(t reflect.Type, name string) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer {
		if m, ok := t.MethodByName(name); ok {
			return methodResult(m)
		}
		t = t.Elem()
	}
	if m, ok := reflect.PointerTo(t).MethodByName(name); ok {
		return methodResult(m)
	}
	switch t.Kind() {
	case reflect.Struct:
		if f, ok := t.FieldByName(name); ok && f.IsExported() {
			return f.Type, true
		}
	case reflect.Interface, reflect.Map:
		return nil, true
	}
	return nil, false
}

func methodResult(m reflect.Method) (reflect.Type, bool) {
	if m.Type.NumIn() > 1 || m.Type.NumOut() == 0 {
		return nil, true // called with arguments, or refused by text/template itself
	}
	return m.Type.Out(0), true
}

func unknownFieldMsg(name, owner string) string {
	switch owner {
	case "the template data":
		return fmt.Sprintf("unknown field %q: templates see .Lead, .Sender and .UnsubscribeURL (did you mean .Lead.%s?)", name, name)
	case "Lead":
		return fmt.Sprintf("unknown field %q of the lead: a lead has Name, FirstName, Email, Company, Country, BusinessID, JobTitle, Website, Phone and City", name)
	case "Sender":
		return fmt.Sprintf("unknown field %q of the sender: a sender has Company, PostalAddress, PrivacyPolicyURL, From and ReplyTo", name)
	}
	return fmt.Sprintf("unknown field %q of %s", name, owner)
}
