// Package s3 is Cairn's S3 dialect: path-style requests (/{bucket}/{key})
// signed with AWS Signature Version 4, answered in S3's XML. A bucket is a
// storage service; the access key id is a key's id and the secret its
// value; a key reads and writes exactly the buckets it may in the native
// API. Every operation calls the single core for writes and the
// projections for reads, through the small interfaces of deps.go (Core,
// State), so what S3 writes the other dialects read with the same bytes,
// ETag, content type and metadata.
//
// The dialect owns only the translation: routing, parsing, header names
// and error shapes. Which bucket a key may reach is access.Lookup's
// decision, which version a read serves is projections.Choose's, and
// every conditional header is evaluated by schema.Conditions (reads and
// copy sources here, writes in the core); this package turns their
// answers into S3's codes.
//
// Invariants: no operation runs before the signature (and, for writes, the
// payload as it is read) has verified; a bucket a key cannot see answers
// exactly as a missing one; every response carries x-amz-request-id;
// every error is S3's XML error document with the code from one table
// (errors.go); a failing request changes nothing stored.
package s3
