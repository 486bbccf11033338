// Package username holds stepup's one rule for usernames, wherever they
// enter: the `stepup user add` command, the admin API, the sign-in form
// and (later) an upstream IdP's username_claim. Normalize turns what was
// typed into the form that is stored and compared, or says what is wrong;
// Skeleton tells two names that look alike.
//
// The rule is the PRECIS UsernameCaseMapped profile of RFC 8265 (width
// mapping, lower case, NFC, the bidi rule; no controls, spaces or
// invisible characters), narrowed to a documented set:
//
//   - letters of any script, combining marks after a letter, decimal
//     digits, and '.', '-', '_' and '@';
//   - beginning with a letter or digit and ending with a letter, mark or
//     digit (so never ".", ".." or "-name", which a shell reads as a flag);
//   - at most MaxLength characters;
//   - letters of one script, except that Latin may go with Han and the
//     Japanese kana, Bopomofo or Hangul (the "highly restrictive" level
//     of Unicode UTS #39), so that a Latin name cannot hide a Cyrillic
//     look-alike letter.
//
// Names of one script that look like another's ("соор" in Cyrillic for
// "coop") pass Normalize; a caller that creates users compares Skeleton
// values against the existing names to refuse them.
//
// This package knows nothing of storage, users or HTTP.
package username
