// Package conformance is the test kit every method plugin runs:
// RunMethodTests launches the plugin as a real subprocess through
// plugins/host (with an in-memory backend and a settable clock) and checks
// what stepup relies on, whatever the method:
//
//   - Describe is complete (name, levels, amr, well-formed limits), and
//     what it declares for the host's pages and admin API is well formed
//     (sdk.CheckAdminActions, named enrol fields);
//   - enrolment, challenge and verification work, and Verify's amr are
//     among the declared ones; an enrolment's displays can be shown (a
//     PNG image, an https: or otpauth: link, ...);
//   - a response is accepted once: replayed, and raced by concurrent
//     verifications, exactly one wins (a method that declares
//     Properties.MultiUse, such as a temporary code, is checked for the
//     opposite: accepted again, and by every concurrent verification);
//   - an expired challenge is refused;
//   - a wrong response, an unknown user, another user's challenge and an
//     unknown challenge get the same error, ErrInvalidResponse;
//   - every declared Limit is enforced (ErrRateLimited with a RetryAfter),
//     even for a correct response, and lifts when the window has passed;
//     of concurrent wrong responses, at most a verify limit's Max are
//     judged; a verify limit that counts failures only is not used up by
//     successes;
//   - credentials are listed and removed; errors keep their sentinel
//     (errors.Is) across the process boundary;
//   - nothing the enrolment (or an administrator's issue) displayed is
//     readable in the backend.
//
// The method-specific part, how to start the plugin and how to answer,
// comes from a Harness that the method's test supplies. A Harness may also
// implement Issuer, when the method's credentials are issued by an
// administrator instead of enrolled, EnrolInput, when the method asks for
// enrol fields (a phone number) before Enrol, and Declarer, to declare
// Properties.
package conformance
