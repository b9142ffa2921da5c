package config

import "testing"

// TestTokenSealKey: openid_config.token_seal_key is a secret key like the
// others (file, _file, its own variable), and the older variable
// CRATED_TOKEN_SEAL_KEY still sets it, but only where OpenID is configured:
// it never creates [openid_config], which would then lack its required keys.
func TestTokenSealKey(t *testing.T) {
	const openid = "[openid_config]\nissuer_url = \"https://gitlab.com\"\nredirect_url = \"https://x.example.com\"\nclient_id = \"id\"\nclient_secret = \"s\"\n"
	withOpenID := writeFile(t, "crated.toml", openid)
	keyFile := writeFile(t, "seal.key", "from-the-key-file\n")

	c := mustLoad(t, withOpenID, []string{"CRATED_TOKEN_SEAL_KEY=legacy"}, nil)
	eq(t, "token_seal_key from CRATED_TOKEN_SEAL_KEY", c.OpenID.TokenSealKey, "legacy")
	c = mustLoad(t, withOpenID, []string{"CRATED_OPENID_CONFIG_TOKEN_SEAL_KEY=new"}, nil)
	eq(t, "token_seal_key from its own variable", c.OpenID.TokenSealKey, "new")
	c = mustLoad(t, writeFile(t, "crated.toml", openid+"token_seal_key_file = \""+keyFile+"\"\n"), nil, nil)
	eq(t, "token_seal_key from token_seal_key_file", c.OpenID.TokenSealKey, "from-the-key-file")
	// The environment beats the file, as before: the variable over the
	// file's token_seal_key_file.
	c = mustLoad(t, writeFile(t, "crated.toml", openid+"token_seal_key_file = \""+keyFile+"\"\n"), []string{"CRATED_TOKEN_SEAL_KEY=legacy"}, nil)
	eq(t, "CRATED_TOKEN_SEAL_KEY over the file's token_seal_key_file", c.OpenID.TokenSealKey, "legacy")

	c = mustLoad(t, writeFile(t, "crated.toml", "[server_config]\nport = 9000\n"), []string{"CRATED_TOKEN_SEAL_KEY=legacy"}, nil)
	if c.OpenID != nil {
		t.Errorf("CRATED_TOKEN_SEAL_KEY without OpenID created [openid_config]: %+v", c.OpenID)
	}

	c = mustLoad(t, withOpenID, []string{"CRATED_TOKEN_SEAL_KEY=legacy", "CRATED_OPENID_CONFIG_TOKEN_SEAL_KEY=new"}, nil)
	eq(t, "token_seal_key with both variables", c.OpenID.TokenSealKey, "new")
	c = mustLoad(t, withOpenID, []string{"CRATED_TOKEN_SEAL_KEY=legacy", "CRATED_OPENID_CONFIG_TOKEN_SEAL_KEY_FILE=" + keyFile}, nil)
	eq(t, "token_seal_key with the older variable and the _FILE one", c.OpenID.TokenSealKey, "from-the-key-file")
}
