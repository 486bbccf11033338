package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"image/png"
	"slices"
	"strings"

	"github.com/stepup-mfa/stepup/plugins/sdk"
)

// displayLinkSchemes are the schemes a display may link to: a web page, an
// authenticator app.
var displayLinkSchemes = []string{"https://", "otpauth://"}

// EnrolmentDisplays is what an enrolment shows: its Displays, or what a
// method of an earlier sdk showed (a QR code, an otpauth:// link, a key).
func EnrolmentDisplays(e sdk.Enrolment) []sdk.Display {
	if len(e.Displays) > 0 {
		return e.Displays
	}
	var out []sdk.Display
	if len(e.ImagePNG) > 0 {
		out = append(out, sdk.Display{Kind: sdk.DisplayImage, Label: LegacyQRLabel, PNG: e.ImagePNG})
	}
	if uri := e.Display["otpauth_uri"]; uri != "" {
		out = append(out, sdk.Display{Kind: sdk.DisplayLink, Label: LegacyLinkLabel, Value: uri})
	}
	if key := e.Display["secret"]; key != "" {
		out = append(out, sdk.Display{Kind: sdk.DisplaySecret, Label: LegacySecretLabel, Value: key})
	}
	return out
}

// Displays prepares a method's displays for the template, leaving out
// (and logging) what a page cannot show safely: a link to another scheme,
// an image that is not a PNG.
func (ps Pages) Displays(method string, ds []sdk.Display) []Display {
	var out []Display
	for _, d := range ds {
		v := Display{Kind: d.Kind, Label: d.Label, Text: d.Value, Values: d.Values}
		ok := true
		switch d.Kind {
		case sdk.DisplayText, sdk.DisplaySecret, sdk.DisplayCodes:
		case sdk.DisplayLink:
			ok = slices.ContainsFunc(displayLinkSchemes, func(p string) bool { return strings.HasPrefix(d.Value, p) })
			v.URL = template.URL(d.Value) // a scheme html/template does not know; checked above
		case sdk.DisplayWebAuthnCreation:
			ok = json.Valid([]byte(d.Value))
		case sdk.DisplayImage:
			cfg, err := png.DecodeConfig(bytes.NewReader(d.PNG))
			ok = err == nil
			v.PNG, v.Width, v.Height = base64.StdEncoding.EncodeToString(d.PNG), cfg.Width, cfg.Height
		default:
			ok = false
		}
		if !ok {
			ps.Log.Warn("enrolment display not shown", "method", method, "kind", d.Kind)
			continue
		}
		out = append(out, v)
	}
	return out
}
