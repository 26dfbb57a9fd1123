package config

import (
	"errors"
	"io/fs"
	"strconv"

	"github.com/mineral-contest/spawner/internal/cost"
)

// MaxHostMonthlyPrice is the most DOCKER_HOST_MONTHLY_PRICE may be: far
// above any single host's price, to catch a price typed in cents.
const MaxHostMonthlyPrice = 100_000

// loadCost reads the rates the cost estimate uses and the Docker host's
// monthly price. An admin's rates file must price the region the ECS
// tasks run in.
func (l *loader) loadCost(c *Config, ecs bool) {
	c.CostRatesFile = l.get("COST_RATES_FILE")
	c.CostRates = l.rates("COST_RATES_FILE", c.CostRatesFile, ecs, c.AWSRegion)
	c.HostMonthlyPrice = l.price("DOCKER_HOST_MONTHLY_PRICE", MaxHostMonthlyPrice)
}

// rates reads the rates file at path (name's value), or the repository's
// table when path is empty. Under ecs the file must have rates for region.
func (l *loader) rates(name, path string, ecs bool, region string) cost.Rates {
	if path == "" {
		return cost.DefaultRates()
	}
	b, err := l.readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		l.failf(name, "cannot read %s: %v", quote(path), err)
		return cost.DefaultRates()
	}
	r, err := cost.ParseRates(b)
	switch {
	case err != nil:
		l.failf(name, "%s: %v (the shape is that of internal/cost/rates.json)", quote(path), err)
		return cost.DefaultRates()
	case ecs && region != "" && r.Regions[region] == nil:
		l.failf(name, "%s has no rates for %s, the region of AWS_REGION", quote(path), region)
	}
	return r
}

// price reads a decimal amount from 0 to ceiling, 0 when unset.
func (l *loader) price(name string, ceiling float64) float64 {
	v := l.get(name)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0 && f <= ceiling) {
		l.failf(name, "must be an amount from 0 to %s, like 12.50, got %s", strconv.FormatFloat(ceiling, 'f', -1, 64), quote(v))
		return 0
	}
	return f
}
