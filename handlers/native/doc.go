// Package native serves Cairn's native JSON API, compatible with OwnCDN's
// "standard mode": the function is the URL path, the key value travels in
// x-owncdn-key, the service in sid. It only translates HTTP to calls on the
// core and the projections, and their answers and errors back to JSON; it
// holds no state of its own. It takes them as the small interfaces of
// deps.go (the server passes *events.Core and *projections.Store), and
// makes no decision of its own on access (access.Lookup), on the version a
// read serves (projections.Choose) or on conditional headers
// (schema.Conditions): it keeps only their translation to its statuses and
// wire codes. The events function serves the log itself (the change feed)
// as a JSON long poll or Server-Sent Events, through Deps.Feed.
package native
