// Package notify delivers the short plain-text messages stepup sends to
// users, such as "a verification method was added to your account".
//
// A Sender delivers one Message. Two senders live here: NewSMTP, which
// hands mail to the server named by the smtp section of the config, and
// NewOutbox, which writes each message to a file for development and
// tests. New picks between them from the config the way §3 of the
// specification says: an empty smtp.addr means the outbox.
//
// A notification that must follow a change is not sent by the request
// that made it: the request queues it (Queued, as storage.Event.Mail) in
// the store's outbox, in the change's own transaction, and a Worker
// delivers it after commit, at least once, retrying with backoff, also
// after a crash or on another replica.
//
// Message texts that several parts of the provider send (MethodAdded) are
// built here too, so their wording lives in one place.
//
// What does not belong here: deciding whether to notify (the caller reads
// notify.* from the config), rate limits, templates in HTML, and anything
// secret. Callers never put a password or a long-lived secret into a
// Message; the outbox stores messages in clear.
package notify
