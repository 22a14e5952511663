// Package schematest is test support shared by the tests of several
// packages (test files cannot import each other across packages): a clock
// a test moves by hand, and a check that a JSON Schema object describes the
// JSON encoding of a Go struct. Only tests import it.
package schematest
