package stepup_test

import (
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stepup-mfa/stepup/plugins"
)

const module = "github.com/stepup-mfa/stepup"

// importRule says what some packages of the module may import.
type importRule struct {
	why  string   // what the rule keeps, printed with a failure
	pkgs []string // the packages, as paths below the module
	// reach lists the module's packages (with those below them) the
	// packages may import besides themselves and those below them; nil:
	// none.
	reach []string
	// reachAll: they may import any of the module's packages but those
	// never and neverPkg forbid (reach is then unused).
	reachAll bool
	stdOnly  bool     // nothing from outside the module but the standard library
	never    []string // packages (with those below them) they must not import
	// neverImports lists packages they must not import themselves, though
	// what they import may (grpc, below plugins/sdk, uses net/http).
	neverImports []string
	// neverPkg lists packages of the module (paths below it) they must
	// not import, those below them allowed: the registry plugins, whose
	// sdk and host the provider does import.
	neverPkg []string
}

var databases = []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lib/pq", "github.com/mattn/go-sqlite3"}

// notDatabases are packages under databases that open none: the
// interfaces database/sql/driver declares, which github.com/google/uuid
// (under go-webauthn) implements for its UUID type.
var notDatabases = []string{"database/sql/driver"}

// TestImportRules keeps the one-way flow honest (STYLE.md), as Kubernetes
// does with its import rules: a wrong import fails here rather than
// waiting for a reviewer. The built-in methods come from the registry, so
// a new one is held to its rule by its registry line alone.
func TestImportRules(t *testing.T) {
	handlers := []string{"provider/login", "provider/account", "provider/adminapi", "provider/adminpage"}
	rules := []importRule{
		{why: "authflow is pure decisions on values: the standard library only, no HTTP, no storage",
			pkgs: []string{"authflow"}, stdOnly: true, never: []string{"net/http"}},
		{why: "the username rule is shared by the command, the admin API and the login pages: nothing of stepup, no HTTP",
			pkgs: []string{"provider/username"}, never: []string{"net/http"}},
		{why: "stepauth is for any application's resource server: it depends on no other stepup package",
			pkgs: []string{"stepauth"}},
		{why: "the store and its backends know nothing of HTTP or of the provider",
			pkgs: []string{"provider/storage", "provider/storage/sqlite", "provider/storage/postgres"}, reach: []string{"provider/storage"}, never: []string{"net/http"}},
		{why: "sdk is what a plugin author imports: it reaches nothing else of stepup",
			pkgs: []string{"plugins/sdk"}},
		{why: "the plugin host and the conformance kit stand below the provider: they reach only sdk and host",
			pkgs: []string{"plugins/host", "plugins/conformance"}, reach: []string{"plugins/sdk", "plugins/host"}},
		{why: "request-scoped values are values only, below every other package of the provider",
			pkgs: []string{"provider/reqctx"}, stdOnly: true},
		{why: "the pages' look and words decide nothing: web reaches only the store's types and what methods declare",
			pkgs: []string{"provider/web"}, reach: []string{"provider/storage", "plugins/sdk"}, never: []string{"github.com/zitadel"}},
		{why: "the administration's operations serve the admin API, the admin page and the offline command alike: they speak no HTTP and reach nothing of the provider but the store, config, passwords and usernames",
			pkgs: []string{"provider/admin"}, reach: []string{"plugins/sdk", "provider/storage", "provider/config", "provider/password", "provider/username", "provider/reqctx"},
			neverImports: []string{"net/http"}, never: []string{"github.com/zitadel"}},
		{why: "the protocol is zitadel's side of the provider: it reaches the store, the config and the request-scoped values, never the pages, the login, the admin or the root that wires them",
			pkgs: []string{"provider/protocol"}, reach: []string{"provider/storage", "provider/config", "provider/password", "provider/reqctx", "plugins/sdk"}},
		{why: "the upstream identity provider's side (SPEC §11) is a client of it below the handlers: it reaches the store, the config (with what the config itself imports: passwords, the plugin sdk), the username rule, the audit log and the request-scoped values, no page and no handler",
			pkgs: []string{"provider/upstream"}, reach: []string{"provider/storage", "provider/config", "provider/password", "plugins/sdk", "provider/username", "provider/reqctx", "provider/audit"}},
		{why: "the signing keys and the access tokens stand below the protocol: they reach only the store",
			pkgs: []string{"provider/protocol/signing"}, reach: []string{"provider/storage"}},
		{why: "the guards in front of zitadel's endpoints reach the protocol's clients and the request-scoped values, and write pages only through their Pages",
			pkgs: []string{"provider/protocol/edge"}, reach: []string{"provider/protocol", "provider/reqctx", "provider/storage", "provider/config", "provider/password", "plugins/sdk"}},
		{why: "the services the handlers share stand below them and reach no handler: the browser, the methods, the audit log, the metrics, the secrets",
			pkgs:     []string{"provider/browser", "provider/methods", "provider/audit", "provider/metrics", "provider/secrets", "provider/admin/httperr"},
			reach:    []string{"authflow", "plugins/sdk", "plugins/host", "provider/storage", "provider/config", "provider/reqctx", "provider/protocol", "provider/secrets", "provider/web", "provider/metrics", "provider/admin", "provider/password", "provider/username"},
			neverPkg: []string{"provider/protocol/edge"}},
		{why: "each handler package serves one role and is wired by the root: none imports another handler or the root",
			pkgs: handlers, reachAll: true, neverPkg: append([]string{"provider", "plugins", "plugins/launch"}, handlers...)},
		{why: "launching the methods is for the composition roots: it reads a config and runs plugins, and reaches no other provider package",
			pkgs: []string{"plugins/launch"}, reach: []string{"plugins", "provider/config", "provider/password"}},
		{why: "the example relying party is written as any application outside stepup: it reaches only stepauth (stepup serve --demo serves it as a library)",
			pkgs: []string{"examples/relyingparty", "examples/relyingparty/bank"}, reach: []string{"stepauth", "examples/relyingparty"}},
		{why: "the example plugin is written as any plugin outside stepup: it reaches only plugins/sdk, and no database",
			pkgs: []string{"examples/customplugin", "examples/customplugin/cmd/stepup-pin"}, reach: []string{"plugins/sdk", "examples/customplugin"}, never: databases},
	}
	var methodPkgs []string
	for _, name := range plugins.BuiltinNames() {
		methodPkgs = append(methodPkgs, module+"/plugins/"+name)
	}
	rules = append(rules, importRule{why: "the provider names no method: it reaches no method and not the registry, which the composition root (cmd/stepup, testenv) hands to its config",
		pkgs: below(t, "provider"), reachAll: true, never: methodPkgs, neverPkg: []string{"plugins", "plugins/launch"}})
	for _, name := range plugins.BuiltinNames() {
		m, _ := plugins.NewBuiltin(name)
		typ := reflect.TypeOf(m)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		pkg := strings.TrimPrefix(typ.PkgPath(), module+"/")
		if pkg != "plugins/"+name {
			t.Errorf("the built-in %s is made in %s, want plugins/%s (beside its command %s)", name, typ.PkgPath(), name, plugins.BuiltinPackage(name))
		}
		rules = append(rules, importRule{why: "a method reaches nothing of stepup but plugins/sdk, and no database",
			pkgs: []string{pkg, strings.TrimPrefix(plugins.BuiltinPackage(name), module+"/")}, reach: []string{"plugins/sdk", pkg}, never: databases})
	}

	var paths []string
	for _, r := range rules {
		for _, p := range r.pkgs {
			paths = append(paths, module+"/"+p)
		}
	}
	listed := list(t, paths)

	for _, r := range rules {
		for _, p := range r.pkgs {
			path := module + "/" + p
			l, ok := listed[path]
			if !ok {
				t.Errorf("go list did not list %s", path)
				continue
			}
			for _, dep := range l.deps {
				if bad := r.breaks(path, dep); bad != "" {
					t.Errorf("%s imports %s (%s): %s", p, dep, bad, r.why)
				}
			}
			for _, imp := range l.imports {
				if slices.Contains(r.neverImports, imp) {
					t.Errorf("%s imports %s itself (forbidden): %s", p, imp, r.why)
				}
			}
		}
	}
	for _, name := range plugins.BuiltinNames() {
		if cmd := plugins.BuiltinPackage(name); listed[cmd].name != "main" {
			t.Errorf("%s, the command of the built-in %s, is not a main package", cmd, name)
		}
	}
}

// breaks says why pkg may not import dep under r, or "".
func (r importRule) breaks(pkg, dep string) string {
	for _, n := range r.never {
		if under(dep, n) && !slices.Contains(notDatabases, dep) {
			return "forbidden"
		}
	}
	for _, n := range r.neverPkg {
		if dep == module+"/"+n {
			return "forbidden"
		}
	}
	if under(dep, module) {
		if r.reachAll || under(dep, pkg) || slices.ContainsFunc(r.reach, func(p string) bool { return under(dep, module+"/"+p) }) {
			return ""
		}
		return "a package of stepup it may not reach"
	}
	if r.stdOnly && !standard(dep) {
		return "outside the standard library"
	}
	return ""
}

func under(path, pkg string) bool { return path == pkg || strings.HasPrefix(path, pkg+"/") }

// standard reports whether path is in the standard library: its first
// element has no dot, as the go command decides.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// below returns the packages of the module at dir and below it, as paths
// below the module.
func below(t *testing.T, dir string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", module+"/"+dir+"/...").Output()
	if err != nil {
		t.Fatalf("go list %s/...: %v", dir, err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		pkgs = append(pkgs, strings.TrimPrefix(p, module+"/"))
	}
	return pkgs
}

// listedPackage is what go list says of one package.
type listedPackage struct {
	name    string   // the package clause: "main" for a command
	deps    []string // every package it imports, directly or not
	imports []string // the packages it imports itself
}

// list runs go list once for every path.
func list(t *testing.T, paths []string) map[string]listedPackage {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the import rules need the go command: %v", err)
	}
	args := append([]string{"list", "-f", `{{.ImportPath}} {{.Name}}|{{join .Deps " "}}|{{join .Imports " "}}`}, paths...)
	out, err := exec.Command(goTool, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	listed := map[string]listedPackage{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		f := strings.Fields(parts[0])
		if len(f) != 2 || len(parts) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		listed[f[0]] = listedPackage{name: f[1], deps: strings.Fields(parts[1]), imports: strings.Fields(parts[2])}
	}
	return listed
}
