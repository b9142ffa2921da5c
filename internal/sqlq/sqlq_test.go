package sqlq

import "testing"

func TestQualify(t *testing.T) {
	for in, want := range map[string]string{
		"id":                  "t.id",
		"id, user_id,hash":    "t.id, t.user_id, t.hash",
		" id ,\n\tcreated_at": "t.id, t.created_at",
	} {
		if got := Qualify("t", in); got != want {
			t.Errorf("Qualify(%q) = %q, want %q", in, got, want)
		}
	}
}
