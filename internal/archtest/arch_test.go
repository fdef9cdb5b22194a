// Package archtest enforces the import rules of DESIGN.md: domain packages
// stay free of storage, HTTP and UI, and the command never links testing.
package archtest

import (
	"os/exec"
	"path"
	"strings"
	"testing"
)

const module = "github.com/wholecare/wholecare"

// edges are the packages that may depend on domains but never the reverse.
var edges = map[string]bool{
	"sqlstore": true, "httpapi": true, "web": true, "fhir": true, "hl7v2": true, "archtest": true, "metrics": true,
	"auth/oidc": true, // the OpenID Connect client speaks HTTP to identity providers
}

// isEdge reports whether a package (a path under internal/) is an edge or
// inside one.
func isEdge(name string) bool {
	for p := name; p != "."; p = path.Dir(p) {
		if edges[p] {
			return true
		}
	}
	return false
}

// forbiddenForDomains are imports no domain package may reach, directly or not.
var forbiddenForDomains = []string{
	"net/http",
	"database/sql",
	module + "/internal/sqlstore",
	module + "/internal/httpapi",
	module + "/internal/web",
	module + "/internal/fhir",
	module + "/internal/hl7v2",
	"github.com/jackc/pgx",
	"modernc.org/sqlite",
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

func TestDomainPackagesStayPure(t *testing.T) {
	pkgs := goList(t, module+"/internal/...")
	checked := 0
	for _, pkg := range pkgs {
		name := strings.TrimPrefix(pkg, module+"/internal/")
		if isEdge(name) {
			continue
		}
		checked++
		for _, dep := range goList(t, "-deps", pkg) {
			for _, bad := range forbiddenForDomains {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("domain package %s depends on %s", name, dep)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d domain packages checked: is the module path right?", checked)
	}
}

func TestCommandDoesNotLinkTesting(t *testing.T) {
	for _, dep := range goList(t, "-deps", module+"/cmd/wholecare") {
		if dep == "testing" || strings.HasPrefix(dep, "testing/") {
			t.Errorf("cmd/wholecare links %s", dep)
		}
	}
}

func TestRuleCatchesAViolation(t *testing.T) {
	// httpapi imports net/http: the same check applied to it must complain,
	// or the rule above could pass vacuously.
	found := false
	for _, dep := range goList(t, "-deps", module+"/internal/httpapi") {
		if dep == "net/http" {
			found = true
		}
	}
	if !found {
		t.Fatal("the dependency check does not see net/http in httpapi")
	}
}
