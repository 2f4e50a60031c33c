// Package childenv builds the environment of a wearlink process a test
// starts. The resolver guard of package loopback holds in the test's own
// process only; a child process reads its provider URLs from the
// environment, and every one left unset is the live provider's.
package childenv

import (
	"os"
	"sort"
	"strings"

	"github.com/wearlink/wearlink/internal/config"
)

// Closed is where a provider URL the test does not set points: a
// loopback port nothing listens on, so a request fails at once and never
// leaves the machine.
const Closed = "http://127.0.0.1:1"

// ProviderURLs are the environment variables of every setting whose
// default is a live provider's URL.
func ProviderURLs() []string {
	var names []string
	for _, s := range config.Settings() {
		if strings.HasPrefix(s.Default, "http://") || strings.HasPrefix(s.Default, "https://") {
			names = append(names, s.Env)
		}
	}
	sort.Strings(names)
	return names
}

// Env is the test process's environment with every provider URL set to
// Closed, then the test's settings (NAME=VALUE) on top: a provider the
// test points at a simulator is reached there, any other is unreachable.
func Env(settings ...string) []string {
	vals := map[string]string{}
	var order []string
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = kv
	}
	for _, kv := range os.Environ() {
		set(kv)
	}
	for _, name := range ProviderURLs() {
		set(name + "=" + Closed)
	}
	for _, kv := range settings {
		set(kv)
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, vals[k])
	}
	return env
}
