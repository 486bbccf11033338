package sdk

import (
	"strings"
	"testing"
)

func TestCheckAdminActions(t *testing.T) {
	status := AdminAction{Name: "status", Resource: "thing", Verb: VerbGet, Label: "Thing",
		Results: []AdminResult{{Name: "active", Type: ResultBool}, {Name: "summary", Type: ResultSummary}}}
	issue := AdminAction{Name: "issue", Resource: "thing", Verb: VerbPost, Label: "Make", OfferedIf: "!active",
		Params:  []AdminParam{{Name: "ttl", Type: ParamDuration, Default: "2h", Choices: []string{"1h", "2h"}}},
		Results: []AdminResult{{Name: "code", Secret: true}, {Name: "made", Type: ResultBool}}, EventIf: "made", BreakGlass: true}
	names := []string{"status", "issue"}
	if valid, problems := CheckAdminActions(Description{AdminActions: names, Admin: []AdminAction{status, issue}}); len(valid) != 2 || len(problems) != 0 {
		t.Fatalf("well-formed actions: %d valid, problems %v", len(valid), problems)
	}
	with := func(f func(a *AdminAction)) AdminAction {
		a := issue
		a.Params = append([]AdminParam(nil), issue.Params...)
		a.Results = append([]AdminResult(nil), issue.Results...)
		f(&a)
		return a
	}
	for _, tc := range []struct {
		name string
		bad  AdminAction
		want string
	}{
		{"undeclared name", with(func(a *AdminAction) { a.Name = "other" }), "not one of AdminActions"},
		{"resource with a slash", with(func(a *AdminAction) { a.Resource = "a/b" }), "resource"},
		{"resource methods", with(func(a *AdminAction) { a.Resource = "methods" }), `not "methods"`},
		{"verb", with(func(a *AdminAction) { a.Verb = "PATCH" }), "use GET, POST or DELETE"},
		{"break-glass GET", with(func(a *AdminAction) { a.Verb, a.Resource = VerbGet, "other" }), "must be a POST"},
		{"param name", with(func(a *AdminAction) { a.Params[0].Name = "TTL" }), "param"},
		{"param type", with(func(a *AdminAction) { a.Params[0].Type = "number" }), "use text or duration"},
		{"param reserved", with(func(a *AdminAction) { a.Params[0].Name = "reason" }), "audit events use that name"},
		{"result reserved", with(func(a *AdminAction) { a.Results[1].Name = "break_glass"; a.EventIf = "" }), "audit events use that name"},
		{"default not a choice", with(func(a *AdminAction) { a.Params[0].Default = "3h" }), "not one of its choices"},
		{"result type", with(func(a *AdminAction) { a.Results[1].Type = "int" }), "use text, bool, time or summary"},
		{"event_if not bool", with(func(a *AdminAction) { a.EventIf = "code" }), "event_if"},
		{"offered_if unknown", with(func(a *AdminAction) { a.OfferedIf = "!gone" }), "offered_if"},
		{"patch field on a GET", with(func(a *AdminAction) { a.Verb, a.Resource, a.BreakGlass, a.PatchField = VerbGet, "other", false, "x" }),
			"only a POST"},
		{"patch field name", with(func(a *AdminAction) { a.PatchField = "Email-Codes" }), "patch field"},
		{"patch field of the user", with(func(a *AdminAction) { a.PatchField = "active" }), "patch field"},
	} {
		d := Description{AdminActions: names, Admin: []AdminAction{status, tc.bad}}
		valid, problems := CheckAdminActions(d)
		if len(valid) != 1 || len(problems) != 1 || !strings.Contains(problems[0].Error(), tc.want) {
			t.Errorf("%s: %d valid, problems %v; want one saying %q", tc.name, len(valid), problems, tc.want)
		}
	}
	// A GET never shows a secret, and one verb per resource.
	secretGet := status
	secretGet.Results = []AdminResult{{Name: "code", Secret: true}}
	if _, problems := CheckAdminActions(Description{AdminActions: names, Admin: []AdminAction{secretGet}}); len(problems) != 1 || !strings.Contains(problems[0].Error(), "shows no secret") {
		t.Errorf("a secret in a GET: %v", problems)
	}
	// One patch field runs the actions of one resource.
	on, off := issue, issue
	on.PatchField = "thing_on"
	off.Name, off.Verb, off.Resource, off.BreakGlass, off.PatchField, off.OfferedIf = "off", VerbDelete, "other", false, "thing_on", ""
	both := []string{"status", "issue", "off"}
	if valid, problems := CheckAdminActions(Description{AdminActions: both, Admin: []AdminAction{status, on, off}}); len(valid) != 2 ||
		len(problems) != 1 || !strings.Contains(problems[0].Error(), `already runs the actions on "thing"`) {
		t.Errorf("one patch field on two resources: %d valid, %v", len(valid), problems)
	}
	off.Resource = "thing"
	if valid, problems := CheckAdminActions(Description{AdminActions: both, Admin: []AdminAction{status, on, off}}); len(valid) != 3 || len(problems) != 0 {
		t.Errorf("a patch field on a POST and a DELETE: %d valid, %v", len(valid), problems)
	}
	again := issue
	again.Name = "status"
	if valid, problems := CheckAdminActions(Description{AdminActions: names, Admin: []AdminAction{status, issue, again}}); len(valid) != 2 || len(problems) != 1 {
		t.Errorf("two POSTs on one resource: %d valid, %v", len(valid), problems)
	}
}
