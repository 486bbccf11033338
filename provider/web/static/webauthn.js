// stepup's one script: the browser side of a WebAuthn ceremony. A form
// with data-webauthn ("get" or "create") carries the options as JSON in
// data-webauthn-options; when it is submitted, the script asks the
// browser (navigator.credentials), puts the JSON answer in the form's
// hidden "credential" field, or the name of the browser's error in its
// "error" field, and submits the form as any other. A form with
// data-webauthn-conditional also offers passkeys in the autofill of the
// username field (conditional mediation).
(function () {
  "use strict";
  var PKC = window.PublicKeyCredential;

  function options(form, create) {
    var o = JSON.parse(form.getAttribute("data-webauthn-options"));
    return create ? PKC.parseCreationOptionsFromJSON(o.publicKey) : PKC.parseRequestOptionsFromJSON(o.publicKey);
  }

  function post(form, field, value) {
    form.elements.credential.value = "";
    form.elements.error.value = "";
    form.elements[field].value = value;
    form.submit();
  }

  function ceremony(form, mediation, signal) {
    var create = form.getAttribute("data-webauthn") === "create";
    if (!PKC || !PKC.parseRequestOptionsFromJSON || !navigator.credentials) {
      return Promise.resolve(post(form, "error", "Unsupported"));
    }
    var req = { publicKey: options(form, create) };
    if (mediation) { req.mediation = mediation; }
    if (signal) { req.signal = signal; }
    var p = create ? navigator.credentials.create(req) : navigator.credentials.get(req);
    return p.then(function (cred) {
      post(form, "credential", JSON.stringify(cred.toJSON()));
    }, function (err) {
      if (mediation === "conditional") { return; } // the user signs in another way
      post(form, "error", (err && err.name) || "UnknownError");
    });
  }

  var conditional = null;
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (conditional) { conditional.abort(); conditional = null; }
      ceremony(form);
    });
    if (form.hasAttribute("data-webauthn-conditional") && PKC && PKC.isConditionalMediationAvailable) {
      PKC.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) { return; }
        conditional = new AbortController();
        ceremony(form, "conditional", conditional.signal);
      });
    }
  });
})();
