// stepup's form_post pages: post the authorization response to the
// client as soon as the page is read (the script is loaded with defer).
document.forms[0].submit();
