package projections

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnhq/cairn/schema"
)

// While the runner is failing, Wait answers at once with an error instead
// of hanging; once it runs again, Wait waits again.
func TestStore_Fail(t *testing.T) {
	st, err := Open(":memory:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	done := make(chan error, 1)
	go func() { done <- st.Wait(context.Background(), 1) }()
	cause := errors.New("consumer gone")
	st.Fail(cause)
	err = <-done
	if !schema.IsKind(err, schema.KindUnavailable) || !errors.Is(err, cause) {
		t.Fatalf("Wait while failing: %v", err)
	}
	st.Fail(nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- st.Wait(ctx, 1) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after recovery must wait again (until ctx ends): %v", err)
	}
	if err := st.Wait(context.Background(), 0); err != nil {
		t.Fatalf("an applied sequence never waits: %v", err)
	}
}
