package config

import _ "embed"

// Example is a configuration file with every setting explained, as "leadmailer config
// example" prints it.
//
//go:embed example.toml
var Example string

// Starter is the configuration file "leadmailer init" writes: placeholders for what only the
// user knows, so that sending refuses to start until they are filled in.
//
//go:embed starter.toml
var Starter string
