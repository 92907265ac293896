package templates

import (
	"fmt"
	"strconv"
	"strings"
	"text/template/parse"
)

// checkBranches applies the body check to the HTML body template src itself, before any
// lead is rendered, so that markup only some leads would get is reported by Compile with its
// position instead of failing those leads' messages at send time. Each branch of {{if}},
// {{with}} and {{range}} is checked in the markup around it and must close what it opens
// and close nothing opened outside it. Actions count as text. A branch inside a tag (an
// attribute that only some leads get) is left to the check of each rendered message.
func checkBranches(src string, tree *parse.Tree) error {
	if tree == nil {
		return nil
	}
	b := branchChecker{src: src}
	stack, err := b.list(tree.Root, nil, "")
	if err != nil {
		return err
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return b.errorAt(top.pos, fmt.Sprintf("<%s> is never closed", top.name))
	}
	return nil
}

type branchChecker struct{ src string }

func (b *branchChecker) errorAt(off int, msg string) error {
	line, col := position(b.src, off)
	return &Error{Part: partHTML, Line: line, Column: col, Msg: msg}
}

// assembly is the markup of one list of template nodes: its text, actions as "x" and nested
// branches as placeholder elements, with where each piece comes from in the source.
type assembly struct {
	b    strings.Builder
	segs []segment
}

type segment struct {
	at, src int  // offsets in the assembly and the source
	text    bool // a text node, whose bytes map one to one
}

func (a *assembly) add(s string, src int, text bool) {
	a.segs = append(a.segs, segment{a.b.Len(), src, text})
	a.b.WriteString(s)
}

// source maps an offset of the assembly to one of the template source.
func (a *assembly) source(off int) int {
	for i := len(a.segs) - 1; i >= 0; i-- {
		if sg := a.segs[i]; sg.at <= off {
			if sg.text {
				return sg.src + off - sg.at
			}
			return sg.src
		}
	}
	return 0
}

const branchPrefix = "lm-branch-"

// branchPlaceholder reports whether a tag name is the placeholder of branch n.
func branchPlaceholder(name string) (int, bool) {
	if !strings.HasPrefix(name, branchPrefix) {
		return 0, false
	}
	n, err := strconv.Atoi(name[len(branchPrefix):])
	return n, err == nil
}

// list checks the markup of l with stack open around it (positions in the source) and
// returns the elements left open; inside is the keyword of the branch l belongs to.
func (b *branchChecker) list(l *parse.ListNode, stack []openElement, inside string) ([]openElement, error) {
	if l == nil {
		return stack, nil
	}
	var a assembly
	var branches []parse.Node
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			a.add(string(n.Text), int(n.Pos), true)
		case *parse.ActionNode:
			a.add("x", int(n.Pos), false)
		case *parse.IfNode, *parse.WithNode, *parse.RangeNode:
			a.add("<"+branchPrefix+strconv.Itoa(len(branches))+">", int(n.Position()), false)
			branches = append(branches, n)
		}
	}
	c := &markupChecker{
		s:      blankComments(a.b.String()),
		stack:  stack,
		floor:  len(stack),
		report: b.src,
		mapPos: a.source,
	}
	c.branch = func(i int) error {
		var lists []*parse.ListNode
		keyword := ""
		switch n := branches[i].(type) {
		case *parse.IfNode:
			lists, keyword = []*parse.ListNode{n.List, n.ElseList}, "{{if}}"
		case *parse.WithNode:
			lists, keyword = []*parse.ListNode{n.List, n.ElseList}, "{{with}}"
		case *parse.RangeNode:
			lists, keyword = []*parse.ListNode{n.List, n.ElseList}, "{{range}}"
		}
		for _, bl := range lists {
			start := c.stack[:len(c.stack):len(c.stack)]
			end, err := b.list(bl, start, keyword)
			if err != nil {
				return err
			}
			if len(end) > len(start) {
				e := end[len(start)]
				return b.errorAt(e.pos, fmt.Sprintf("<%s> is opened in a branch of %s but not closed in it", e.name, keyword))
			}
		}
		return nil
	}
	if err := c.run(); err != nil {
		if be, ok := err.(*bodyError); ok {
			msg := be.msg
			if inside != "" {
				msg = strings.Replace(msg, "{{if}}, {{with}} or {{range}}", inside, 1)
			}
			return nil, b.errorAt(a.source(be.pos), msg)
		}
		return nil, err
	}
	return c.stack, nil
}

// blankComments overwrites HTML comments with spaces: html/template removes them from the
// template's text.
func blankComments(s string) string {
	if !strings.Contains(s, "<!--") {
		return s
	}
	b := []byte(s)
	for i := 0; ; {
		j := strings.Index(s[i:], "<!--")
		if j < 0 {
			break
		}
		start := i + j
		k := strings.Index(s[start+4:], "-->")
		if k < 0 {
			break
		}
		end := start + 4 + k + 3
		for p := start; p < end; p++ {
			if b[p] != '\n' {
				b[p] = ' '
			}
		}
		i = end
	}
	return string(b)
}
