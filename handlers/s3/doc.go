// Package s3 is Cairn's S3 dialect: path-style requests (/{bucket}/{key})
// signed with AWS Signature Version 4, answered in S3's XML. A bucket is a
// storage service; the access key id is a key's id and the secret its
// value; a key reads and writes exactly the buckets it may in the native
// API. Every operation calls the single core (events.Core) for writes
// and the projections for reads, so what S3 writes the other dialects read
// with the same bytes, ETag, content type and metadata.
//
// Invariants: no operation runs before the signature (and, for writes, the
// payload as it is read) has verified; every response carries
// x-amz-request-id; every error is S3's XML error document with the code
// from one table (errors.go); a failing request changes nothing stored.
package s3
