// Package schema is Cairn's vocabulary: identifiers and their validation, the
// event envelope and payload types with explicit versioned type names
// ("object.put.v1"), the typed domain error, the subject layout of the log and
// the key layout of the buntdb projections. It imports nothing of Cairn's
// own, so every other package can depend on it.
//
// It also publishes two machine-readable documents, embedded below: the JSON
// Schema of every event (events.schema.json) and the OpenAPI document of the
// native API (native.openapi.json). Tests keep them in step with the Go
// types here and with the native handler. The tests validate JSON with
// github.com/santhosh-tekuri/jsonschema/v6, a test-only dependency added
// because the standard library has no JSON Schema validator and checking
// real events against the published schema is the only proof it is right.
//
// Invariants: a type name once published never changes shape (add a new
// version instead); subjects never carry user-chosen strings, only hashes, so
// any object path is safe in a subject.
package schema

import _ "embed"

// EventsJSONSchema is the JSON Schema (draft 2020-12) of an event: the
// envelope, and the payload of each type in EventTypes. Read only.
//
//go:embed events.schema.json
var EventsJSONSchema []byte

// NativeOpenAPI is the OpenAPI 3.1 document of the native API, served at
// GET /openapi.json. Read only.
//
//go:embed native.openapi.json
var NativeOpenAPI []byte
