package schema

import "strings"

// Subject layout of the event stream. User-chosen names appear only as
// Hash(name), so any path is safe and consumers can still filter:
//
//	cairn.obj.<svc-hash>.<path-hash>.<op>   object events (put, delete, copy, meta, expire)
//	cairn.svc.<svc-hash>.<op>               service events (created, updated, deleted, quota,
//	                                        resynced; a cache's flushed; a blob repaired for
//	                                        one of the service's versions)
//	cairn.acct.<account-hash>.<op>          account events (created, deleted, quota)
//	cairn.upl.<svc-hash>.<upload-id>.<op>   multipart upload events (created, part, aborted);
//	                                        the completion is an object put
//	cairn.key.<key-id>.<op>                 key and token events: never exposed to feed consumers
//	cairn.key.<feed-user>.<op>              feed credential events (created, revoked): the same
//	cairn.log.checkpoint                    signed checkpoints of the hash chain
//	cairn.src.<source-hash>.<op>            replication sources (created, deleted): not for feed consumers
//
// The request log is a separate capped stream: cairnreq.<svc-hash>.
const (
	StreamName    = "CAIRN"
	SubjectRoot   = "cairn"
	ReqStreamName = "CAIRN_REQ"
	ReqSubjectPfx = "cairnreq"
)

// ObjectSubject is the subject of an object event.
func ObjectSubject(service, path, op string) string {
	return "cairn.obj." + Hash(service) + "." + Hash(path) + "." + op
}

// ObjectFilter matches every event of one object.
func ObjectFilter(service, path string) string {
	return "cairn.obj." + Hash(service) + "." + Hash(path) + ".*"
}

// ServiceObjectsFilter matches every object event of one service.
func ServiceObjectsFilter(service string) string { return "cairn.obj." + Hash(service) + ".>" }

// ServiceSubject is the subject of a service-level event.
func ServiceSubject(service, op string) string { return "cairn.svc." + Hash(service) + "." + op }

// AccountSubject is the subject of an account event.
func AccountSubject(account, op string) string { return "cairn.acct." + Hash(account) + "." + op }

// SourceSubject is the subject of a replication source event.
func SourceSubject(name, op string) string { return "cairn.src." + Hash(name) + "." + op }

// KeySubject is the subject of a key event.
func KeySubject(keyID, op string) string { return "cairn.key." + keyID + "." + op }

// UploadSubject is the subject of a multipart upload event. Upload ids are
// ULIDs, safe as a subject token.
func UploadSubject(service, upload, op string) string {
	return "cairn.upl." + Hash(service) + "." + upload + "." + op
}

// UploadFilter matches every event of one upload.
func UploadFilter(service, upload string) string {
	return "cairn.upl." + Hash(service) + "." + upload + ".*"
}

// ReqSubject is the request-log subject of a service.
func ReqSubject(service string) string { return ReqSubjectPfx + "." + Hash(service) }

// SubjectFor returns the subject an event is appended on.
func SubjectFor(e *Event) string {
	op := e.Type[strings.IndexByte(e.Type, '.')+1 : strings.LastIndexByte(e.Type, '.')]
	switch {
	case strings.HasPrefix(e.Type, "object."):
		return ObjectSubject(e.Service, e.Path, OpOf(e.Type))
	case strings.HasPrefix(e.Type, "service."), strings.HasPrefix(e.Type, "cache."), strings.HasPrefix(e.Type, "blob."):
		return ServiceSubject(e.Service, op)
	case e.Type == TypeQuotaSet && e.Service != "":
		return ServiceSubject(e.Service, "quota")
	case e.Type == TypeQuotaSet:
		return AccountSubject(e.Account, "quota")
	case strings.HasPrefix(e.Type, "account."):
		return AccountSubject(e.Account, op)
	case strings.HasPrefix(e.Type, "upload."):
		var u struct {
			Upload string `json:"upload"`
		}
		_ = e.Decode(&u)
		return UploadSubject(e.Service, u.Upload, op)
	case e.Type == TypeCheckpoint:
		return "cairn.log.checkpoint"
	case strings.HasPrefix(e.Type, "source."):
		var src struct {
			Name string `json:"name"`
		}
		_ = e.Decode(&src)
		return SourceSubject(src.Name, op)
	case strings.HasPrefix(e.Type, "feedcred."):
		var c struct {
			User string `json:"user"`
		}
		_ = e.Decode(&c)
		return KeySubject(c.User, op)
	case strings.HasPrefix(e.Type, "key."), strings.HasPrefix(e.Type, "token."):
		var k struct {
			ID string `json:"id"`
		}
		_ = e.Decode(&k)
		return KeySubject(k.ID, op)
	}
	return "cairn.other." + op
}
