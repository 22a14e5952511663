// Package native serves Cairn's native JSON API, compatible with OwnCDN's
// "standard mode": the function is the URL path, the key value travels in
// x-owncdn-key, the service in sid. It only translates HTTP to calls on the
// core (events.Core) and the projections, and their answers and errors
// back to JSON; it holds no state of its own. The events function serves
// the log itself (the change feed) as a JSON long poll or Server-Sent
// Events, through Deps.Feed.
package native
