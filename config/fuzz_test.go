package config

import (
	"os"
	"strings"
	"testing"

	"github.com/crated/crated"
)

// FuzzLoad feeds arbitrary files and one environment variable to the loader:
// it must never panic, and every failure must be an EINVALID message.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/ktra.toml", "../crated.example.toml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data), "CRATED_SERVER_CONFIG_PORT=9000")
	}
	f.Add("[server_config]\naddress = [0, 0, 0, 0, 0, 0, 0, 1]\nmax_crate_size = \"1.5GiB\"\n", "CRATED_MIRROR_CONFIG_MIN_AGE=7d")
	f.Add("[index_config]\ngit_name = \"x\"\n[server_config.port]\n", "CRATED_X=1")
	f.Fuzz(func(t *testing.T, file, env string) {
		path := writeFile(t, "fuzz.toml", file)
		// Keep secret files out of reach: a fuzzed _file key would read
		// whatever path it names.
		if strings.Contains(file, "_file") || strings.Contains(env, "_FILE") {
			t.Skip()
		}
		c, err := Load(path, []string{env}, nil)
		if err != nil {
			if crated.ErrorCode(err) != crated.EINVALID {
				t.Fatalf("error without EINVALID: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Load returned a config that fails Validate: %v", err)
		}
	})
}
