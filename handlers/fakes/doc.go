// Package fakes holds in-memory stand-ins for the projections, shared by
// the unit tests of the dialects (native, s3, swift): a Catalog of
// services, accounts and keys, the Histories of every object's versions
// (projections.VersionReader), a Reader over bytes and a request log.
// Each dialect's tests build their fake core on top of these, since each
// declares its own Core. Only tests import this package; everything in it
// is safe for concurrent use and holds no package-level state.
package fakes
