package linkage

import (
	_ "embed"
	"strings"
)

// nicknameData is the table of given names and their familiar forms; see
// the file for its format.
//
//go:embed nicknames.txt
var nicknameData string

// nicknames maps a given name to the groups it belongs to.
type nicknames map[string][]int32

func parseNicknames(data string) nicknames {
	n := nicknames{}
	group := int32(0)
	for line := range strings.Lines(data) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, name := range strings.Fields(line) {
			gs := n[name]
			if len(gs) == 0 || gs[len(gs)-1] != group {
				n[name] = append(gs, group)
			}
		}
		group++
	}
	return n
}

// related reports whether two groups lists share a group.
func relatedGroups(a, b []int32) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
