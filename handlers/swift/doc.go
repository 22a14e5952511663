// Package swift serves the OpenStack Swift API in Selectel's dialect over
// the core: auth v1/v2/v3 with tokens the log records, accounts,
// containers (a container is a service) and objects, stored CDN headers,
// CORS, container ACLs and public containers.
//
// Invariants: every response carries X-Trans-Id; no request reaches data
// without a valid token, except object reads of a public container (and
// its listing when ".rlistings" allows it) and CORS preflights; errors are
// Swift's plain statuses with a short HTML body that never says which part
// of a credential was wrong. Where the Selectel seed is silent the handler
// does what OpenStack Swift does, and says so in a comment.
//
// The dialect decides nothing on its own about access, versions or
// conditions: which container a request reaches and whether it may is
// access.Lookup's answer (the URL's account scoping it, public ACLs
// opening reads), the version a read serves is projections.Choose's, and
// conditional headers are schema.Conditions'; the dialect translates
// their answers into Swift's statuses and bodies. It calls the core and
// the projections through the small interfaces of deps.go, so its
// handlers are tested against in-memory fakes.
package swift
