package reqctx

import (
	"context"
	"testing"
)

// TestUpdateCopies: a value added by a handler is seen below it and not by
// its caller, and the values added before it are kept.
func TestUpdateCopies(t *testing.T) {
	outer := Update(context.Background(), func(v *Values) { v.RemoteAddr = "192.0.2.1" })
	inner := Update(outer, func(v *Values) { v.ClientID = "app" })
	if got := From(inner); got.RemoteAddr != "192.0.2.1" || got.ClientID != "app" {
		t.Errorf("inner values %+v, want the address and the client", got)
	}
	if got := From(outer); got.ClientID != "" {
		t.Errorf("outer values %+v: the inner update leaked", got)
	}
	if got := From(context.Background()); got != (Values{}) {
		t.Errorf("no values: %+v", got)
	}
}
