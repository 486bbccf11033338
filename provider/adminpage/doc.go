// Package adminpage is the help desk's page (/admin): find a user, see
// their methods and activity, run the actions the methods declare (a
// button per action, its params as form fields, a secret result shown
// once), and disconnect a method. The page asks for admin.required_acr
// within admin.max_auth_age, as a relying party would, and manage_mfa.
//
// What must not live here: the operations (package admin) and a method's
// name: sections and forms come from what the methods declare.
package adminpage
