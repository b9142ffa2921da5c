package config

import (
	"flag"
	"os"
	"testing"
)

// TestLocate: --config, then CRATED_CONFIG, then ./crated.toml, then no
// file; the rule serve and the admin commands share.
func TestLocate(t *testing.T) {
	t.Chdir(t.TempDir())
	flags := func(args ...string) *Flags {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := RegisterFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	env := []string{"CRATED_CONFIG=/etc/env.toml"}
	cases := []struct {
		name      string
		flags     *Flags
		env       []string
		local     bool // ./crated.toml exists
		want, how string
	}{
		{"nothing", flags(), nil, false, "", ""},
		{"local file", flags(), nil, true, "crated.toml", "found in the current directory"},
		{"env over local", flags(), env, true, "/etc/env.toml", "from CRATED_CONFIG"},
		{"flag over env", flags("-c", "/etc/flag.toml"), env, true, "/etc/flag.toml", "from flag --config"},
	}
	for _, tc := range cases {
		os.Remove(DefaultFile)
		if tc.local {
			os.WriteFile(DefaultFile, nil, 0o644)
		}
		got, how, err := Locate(tc.flags, tc.env)
		if err != nil || got != tc.want || how != tc.how {
			t.Errorf("%s: Locate = %q, %q, %v; want %q, %q", tc.name, got, how, err, tc.want, tc.how)
		}
	}
	os.Remove(DefaultFile)
	os.Mkdir(DefaultFile, 0o755)
	if _, _, err := Locate(flags(), nil); err == nil {
		t.Errorf("Locate with a directory named %s: no error", DefaultFile)
	}
}
