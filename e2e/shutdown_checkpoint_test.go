package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/cairnhq/cairn/cmd/server"
	"github.com/cairnhq/cairn/events/datadir"
)

// A server that stops before its checkpoint interval ever ticks still
// leaves its log signed: the clean shutdown signs the newest event, so
// `cairn verify` finds a checkpoint covering every write.
func TestShutdown_SignsCheckpoint(t *testing.T) {
	t.Parallel()
	e := StartLocal(t, "reads its data directory after a stop", func(c *server.Config) {
		c.CheckpointInterval = server.Duration(time.Hour) // never ticks during the test
	})
	sid := e.WithService(t)
	e.Upload(t, e.AdminKey, sid, "first", []byte("written before the restart"), nil)
	e.Restart(t)
	e.Upload(t, e.AdminKey, sid, "second", []byte("written after the restart"), nil)
	last, _ := e.Settled(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := datadir.VerifyDir(ctx, e.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify: breaks %+v", rep.Breaks)
	}
	// one checkpoint per clean stop, each signing the event before it
	if rep.Checkpoints != 2 || rep.LastSeq != last+1 || rep.LastSigned != last {
		t.Fatalf("verify after two quick start/write/stop cycles: %d checkpoints, last signed %d, log ends at %d; want 2, %d, %d",
			rep.Checkpoints, rep.LastSigned, rep.LastSeq, last, last+1)
	}
}
