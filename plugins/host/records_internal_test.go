package host

import "testing"

func TestCheckUserRecords(t *testing.T) {
	for _, ok := range [][]string{nil, {"account/{user}"}, {"a/{user}", "{user}/b"}} {
		if err := checkUserRecords(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"account"}, {"{user}/{user}"}, make([]string, 9)} {
		if err := checkUserRecords(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
