package config

import (
	"maps"
	"slices"
	"strings"
)

// A secret pasted into the wrong variable (the AWS secret key as the
// cluster's name) would be valid there, reach AWS, and be echoed back in
// errors, logs and `spawner check`. Load refuses it instead, naming the
// variable and the secret it holds, never the value.

// misplacedSecrets fails every variable read that is not a secret's own
// and whose value contains a secret's value. secrets maps each secret's
// variable to its value (as loaded, or as the SDK will read it).
func (l *loader) misplacedSecrets(secrets map[string]Secret) {
	names := slices.Sorted(maps.Keys(l.read))
	secretNames := slices.Sorted(maps.Keys(secrets))
	for _, name := range names {
		if strings.HasSuffix(name, "_FILE") || slices.Contains(secretVars, name) {
			continue
		}
		v := l.get(name)
		for _, secret := range secretNames {
			s := secrets[secret].Value()
			if len(s) >= 8 && strings.Contains(v, s) {
				l.failf(name, "holds the value of %s, a secret: was it pasted in the wrong variable? (the value is not shown)", secret)
				break
			}
		}
	}
}
