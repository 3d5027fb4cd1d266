// Package identity turns the TLS peer certificates that dockerd forwards with
// every request into a verified Subject: who is calling, and in which groups.
//
// Contract:
//   - Only the first certificate (the leaf) is identity. It is verified against
//     the CAs of --client-ca and nothing else: certificates the client appended
//     after the leaf are never used, not even as intermediates, so every CA
//     that issues client certificates (intermediates included) must be in the
//     --client-ca bundle. The leaf must be in its validity window, must not be
//     a CA, and must name client authentication in its extended key usage.
//   - User is the leaf's subject CommonName; Groups are its O and OU values as
//     "group:<name>", sorted and unique. Names that could be mistaken for a
//     policy keyword are refused, never rewritten or dropped.
//   - Without a certificate the Subject is --local-user (AuthMethod "local"),
//     or Anonymous (AuthMethod "none"). A request that claims a user without a
//     certificate, or a certificate without --client-ca, is an error.
//   - Any error means the request must be denied; the error text is safe to
//     show to the caller and says what is wrong.
//
// A Verifier is safe for concurrent use. It caches successful verifications
// (never failures) in a bounded map and re-checks the validity window of the
// verified chain on every hit.
package identity
