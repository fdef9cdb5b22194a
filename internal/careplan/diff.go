package careplan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/wholecare/wholecare/internal/apperr"
)

// Op is what happened to a part of the plan between two versions.
type Op string

const (
	Added   Op = "added"
	Removed Op = "removed"
	Changed Op = "changed"
)

// FieldChange is one field's value before and after.
type FieldChange struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// SectionChange is one change to a section, or to one item of a section
// (a goal, need, action or action plan, named by ID).
type SectionChange struct {
	Section string        `json:"section"`
	ID      string        `json:"id,omitempty"`
	Op      Op            `json:"op"`
	Fields  []FieldChange `json:"fields,omitempty"` // for changed
	Item    any           `json:"item,omitempty"`   // the whole item, for added and removed
}

// Diff is what changed from one version to another.
type Diff struct {
	PlanID  int64           `json:"plan_id"`
	From    int             `json:"from"`
	To      int             `json:"to"`
	Changes []SectionChange `json:"changes"`
}

// sections in the order a diff lists them, each with how its items are
// matched: by a key field, by position (append-only lists), or as one
// object compared field by field ("").
var sections = []struct{ name, key string }{
	{"plan", ""}, // the top-level scalars: title, status, what matters most, …
	{"about_me", ""},
	{"strengths", "#"},
	{"needs", "id"},
	{"goals", "id"},
	{"actions", "id"},
	{"action_plans", "condition"},
	{"contingency", ""},
	{"review", ""},
	{"coordinator", ""},
	{"representative", ""},
	{"agreements", "#"},
	{"reviews", "#"},
}

// bookkeeping fields are not shown in a diff.
var bookkeeping = map[string]bool{"content_version": true, "next_id": true}

// Compare lists what changed from version a to version b of the same plan.
func Compare(a, b Version) (Diff, error) {
	if a.PlanID != b.PlanID {
		return Diff{}, apperr.E(apperr.Invalid, "careplan: versions of two different plans cannot be compared")
	}
	d := Diff{PlanID: a.PlanID, From: a.Number, To: b.Number, Changes: []SectionChange{}}
	ma, err := asMap(a.Plan)
	if err != nil {
		return d, err
	}
	mb, err := asMap(b.Plan)
	if err != nil {
		return d, err
	}
	known := map[string]bool{}
	for _, s := range sections {
		known[s.name] = true
	}
	top := SectionChange{Section: "plan", Op: Changed}
	keys := unionKeys(ma, mb)
	for _, k := range keys {
		if known[k] || bookkeeping[k] {
			continue
		}
		if !reflect.DeepEqual(ma[k], mb[k]) {
			top.Fields = append(top.Fields, FieldChange{Field: k, Before: ma[k], After: mb[k]})
		}
	}
	if len(top.Fields) > 0 {
		d.Changes = append(d.Changes, top)
	}
	for _, s := range sections[1:] {
		va, vb := ma[s.name], mb[s.name]
		if reflect.DeepEqual(va, vb) {
			continue
		}
		if s.key == "" {
			oa, _ := va.(map[string]any)
			ob, _ := vb.(map[string]any)
			switch {
			case oa == nil && ob != nil:
				d.Changes = append(d.Changes, SectionChange{Section: s.name, Op: Added, Item: ob})
			case oa != nil && ob == nil:
				d.Changes = append(d.Changes, SectionChange{Section: s.name, Op: Removed, Item: oa})
			default:
				d.Changes = append(d.Changes, SectionChange{Section: s.name, Op: Changed, Fields: fieldChanges(oa, ob)})
			}
			continue
		}
		la, _ := va.([]any)
		lb, _ := vb.([]any)
		d.Changes = append(d.Changes, listChanges(s.name, s.key, la, lb)...)
	}
	return d, nil
}

func asMap(p Plan) (map[string]any, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "careplan: encoding a plan")
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "careplan: encoding a plan")
	}
	return m, nil
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func fieldChanges(a, b map[string]any) []FieldChange {
	var out []FieldChange
	for _, k := range unionKeys(a, b) {
		if !reflect.DeepEqual(a[k], b[k]) {
			out = append(out, FieldChange{Field: k, Before: a[k], After: b[k]})
		}
	}
	return out
}

// listChanges matches the items of two lists by key ("#": by position) and
// reports each added, removed or changed item, in the order of b then the
// removed ones in the order of a.
func listChanges(section, key string, a, b []any) []SectionChange {
	id := func(i int, v any) string {
		if key == "#" {
			return fmt.Sprint(i + 1)
		}
		if m, ok := v.(map[string]any); ok {
			return fmt.Sprint(m[key])
		}
		return fmt.Sprint(i + 1)
	}
	inA := map[string]any{}
	var orderA []string
	for i, v := range a {
		k := id(i, v)
		inA[k] = v
		orderA = append(orderA, k)
	}
	var out []SectionChange
	inB := map[string]bool{}
	for i, v := range b {
		k := id(i, v)
		inB[k] = true
		old, ok := inA[k]
		switch {
		case !ok:
			out = append(out, SectionChange{Section: section, ID: k, Op: Added, Item: v})
		case !reflect.DeepEqual(old, v):
			oa, okA := old.(map[string]any)
			ob, okB := v.(map[string]any)
			if okA && okB {
				out = append(out, SectionChange{Section: section, ID: k, Op: Changed, Fields: fieldChanges(oa, ob)})
			} else {
				out = append(out, SectionChange{Section: section, ID: k, Op: Changed, Fields: []FieldChange{{Field: "value", Before: old, After: v}}})
			}
		}
	}
	for _, k := range orderA {
		if !inB[k] {
			out = append(out, SectionChange{Section: section, ID: k, Op: Removed, Item: inA[k]})
		}
	}
	return out
}
