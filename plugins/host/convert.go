package host

import (
	"time"

	"github.com/stepup-mfa/stepup/plugins/sdk"
	"github.com/stepup-mfa/stepup/plugins/sdk/pluginpb"
)

func descriptionFromPB(d *pluginpb.Description) sdk.Description {
	out := sdk.Description{
		Name: d.GetName(), DisplayName: d.GetDisplayName(), Levels: d.GetLevels(), AMR: d.GetAmr(),
		NeedsEnrolment: d.GetNeedsEnrolment(), Priority: int(d.GetPriority()), AdminActions: d.GetAdminActions(),
		Bypass: d.GetBypass(), UserRecords: d.GetUserRecords(), EnrolFields: fieldsFromPB(d.GetEnrolFields()),
		UsedEvent: d.GetUsedEvent(), Admin: adminActionsFromPB(d.GetAdmin()), Restricted: d.GetRestricted(),
		Managed: d.GetManaged(), ExceptWith: d.GetExceptWith(), SentEvent: d.GetSentEvent(), NamesCredentials: d.GetNamesCredentials(), Renamable: d.GetRenamable(),
		FirstFactor: d.GetFirstFactor(),
	}
	if r := d.GetRemoval(); r != nil {
		out.Removal = sdk.Removal{Label: r.GetLabel(), Event: r.GetEvent(), NoReverify: r.GetNoReverify()}
	}
	if d.GetDeclaresSettings() {
		out.Settings = []sdk.Setting{}
		for _, st := range d.GetSettings() {
			out.Settings = append(out.Settings, sdk.Setting{Name: st.GetName(), Type: st.GetType(), Min: st.GetMin(), Max: st.GetMax(),
				Choices: st.GetChoices(), Default: st.GetDefault()})
		}
	}
	for _, l := range d.GetLimits() {
		out.Limits = append(out.Limits, sdk.Limit{Operation: l.GetOperation(), Max: int(l.GetMax()), Window: time.Duration(l.GetWindowNanos()), Key: l.GetKey(),
			FailuresOnly: l.GetFailuresOnly()})
	}
	return out
}

func adminActionsFromPB(as []*pluginpb.AdminAction) []sdk.AdminAction {
	var out []sdk.AdminAction
	for _, a := range as {
		sa := sdk.AdminAction{
			Name: a.GetName(), Resource: a.GetResource(), Verb: a.GetVerb(), Label: a.GetLabel(), Event: a.GetEvent(),
			EventIf: a.GetEventIf(), RefusedEvent: a.GetRefusedEvent(), OfferedIf: a.GetOfferedIf(), Done: a.GetDone(),
			ActiveUserOnly: a.GetActiveUserOnly(), NotForSelf: a.GetNotForSelf(), BreakGlass: a.GetBreakGlass(),
			PatchField: a.GetPatchField(),
		}
		for _, p := range a.GetParams() {
			sa.Params = append(sa.Params, sdk.AdminParam{Name: p.GetName(), Label: p.GetLabel(), Type: p.GetType(), Default: p.GetDefault(), Choices: p.GetChoices()})
		}
		for _, r := range a.GetResults() {
			sa.Results = append(sa.Results, sdk.AdminResult{Name: r.GetName(), Label: r.GetLabel(), Type: r.GetType(), Secret: r.GetSecret()})
		}
		out = append(out, sa)
	}
	return out
}

func displaysFromPB(ds []*pluginpb.Display) []sdk.Display {
	var out []sdk.Display
	for _, d := range ds {
		out = append(out, sdk.Display{Kind: d.GetKind(), Label: d.GetLabel(), Value: d.GetValue(), Values: d.GetValues(), PNG: d.GetPng()})
	}
	return out
}

func userToPB(u sdk.User) *pluginpb.User {
	return &pluginpb.User{Id: u.ID, Username: u.Username, Email: u.Email, Phone: u.Phone}
}

func fieldsFromPB(fs []*pluginpb.Field) []sdk.Field {
	out := make([]sdk.Field, 0, len(fs))
	for _, f := range fs {
		out = append(out, sdk.Field{
			Name: f.GetName(), Label: f.GetLabel(), Type: f.GetType(), Autocomplete: f.GetAutocomplete(),
			InputMode: f.GetInputMode(), Pattern: f.GetPattern(), MaxLength: int(f.GetMaxLength()),
		})
	}
	return out
}

func challengeFromPB(c *pluginpb.Challenge) sdk.Challenge {
	return sdk.Challenge{
		ID: c.GetId(), Prompt: c.GetPrompt(), Fields: fieldsFromPB(c.GetFields()), Public: c.GetPublic(),
		ExpiresAt: timeFromPB(c.GetExpiresAtUnixNano()),
	}
}

func enrolmentFromPB(e *pluginpb.Enrolment) sdk.Enrolment {
	return sdk.Enrolment{
		ID: e.GetId(), Prompt: e.GetPrompt(), Fields: fieldsFromPB(e.GetFields()), Display: e.GetDisplay(),
		ImagePNG: e.GetImagePng(), ExpiresAt: timeFromPB(e.GetExpiresAtUnixNano()), Displays: displaysFromPB(e.GetDisplays()),
	}
}

func credentialFromPB(c *pluginpb.Credential) sdk.Credential {
	return sdk.Credential{ID: c.GetId(), Label: c.GetLabel(), CreatedAt: timeFromPB(c.GetCreatedAtUnixNano()), Warning: c.GetWarning(),
		Explicit: c.GetExplicit(), MaxLevel: c.GetMaxLevel(), LastUsedAt: timeFromPB(c.GetLastUsedAtUnixNano()), Note: c.GetNote()}
}

func timeFromPB(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
