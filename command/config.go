package command

import (
	"github.com/urfave/cli/v2"

	"certmaker/config"
)

// loadConfig reads the config file and applies the global flags over it.
func loadConfig(c *cli.Context) (config.Config, error) {
	// Flags win over the file, and the two together are checked.
	return config.LoadOverride(c.String("config"), func(cfg *config.Config) {
		if db := c.String("db"); db != "" {
			cfg.Store.Path = db
		}
		if kf := c.String("key-file"); kf != "" {
			cfg.Store.KeyFile = kf
		}
		// serve's own flags; other commands have none of these.
		if v := c.String("listen"); v != "" {
			cfg.Server.Listen = v
		}
		if v := c.String("public-url"); v != "" {
			cfg.Server.PublicURL = v
		}
		if v := c.String("http-listen"); v != "" {
			cfg.Server.HTTPListen = v
		}
	})
}
