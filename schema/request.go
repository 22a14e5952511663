package schema

import "time"

// Request is one entry of a service's request log (the native reqlist):
// an HTTP request as the access log records it, in any dialect's terms.
// It never holds a key value, only the key id. The dialects record it
// (handlers/httpx.RecordRequest); the log stores it apart from the events
// (events.JetStream.RecordRequest), capped and best-effort.
type Request struct {
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Function   string    `json:"function"`
	Path       string    `json:"path,omitempty"`
	Status     int       `json:"status"`
	Bytes      int64     `json:"bytes"`
	DurationMS float64   `json:"duration_ms"`
	ClientIP   string    `json:"client_ip"`
	KeyID      string    `json:"key_id,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	Dialect    string    `json:"dialect,omitempty"`
}
