package config

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

const parisRates = `{"date": "2026-12-01", "source": "https://example.org/rates", "currency": "EUR",
  "publicIPv4PerHour": 0.0046, "regions": {"eu-west-3": {"FARGATE": {"perVCPUHour": 0.045, "perGBHour": 0.005}}}}`

// The admin's rates file replaces the repository's table.
func TestLoadCostRatesFile(t *testing.T) {
	path := writeFile(t, t.TempDir(), "rates.json", parisRates)
	c := mustLoad(t, with(requiredEnv(), map[string]string{"COST_RATES_FILE": path, "DOCKER_HOST_MONTHLY_PRICE": "12.50"}))
	equal(t, c.CostRatesFile, path)
	equal(t, c.CostRates.Currency, "EUR")
	p, ok := c.CostRates.Price("eu-west-3", spawner.CapacityFargate)
	equal(t, ok, true)
	equal(t, p.PerVCPUHour, 0.045)
	equal(t, c.HostMonthlyPrice, 12.5)
}

// A bad rates file or host price stops the start with a problem naming the
// variable, and the key of the file that is wrong.
func TestLoadCostProblems(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		env  map[string]string
		says string
	}{
		{"no such file", map[string]string{"COST_RATES_FILE": dir + "/none.json"}, "COST_RATES_FILE: cannot read"},
		{"a bad price", map[string]string{"COST_RATES_FILE": writeFile(t, dir, "bad.json", strings.Replace(parisRates, "0.045", "45", 1))},
			"COST_RATES_FILE: " + `"` + dir + `/bad.json": regions.eu-west-3.FARGATE.perVCPUHour: must be a number above 0 and at most 10`},
		{"not the region", map[string]string{"COST_RATES_FILE": writeFile(t, dir, "paris.json", parisRates), "AWS_REGION": "us-east-1"},
			"has no rates for us-east-1, the region of AWS_REGION"},
		{"a price in cents", map[string]string{"DOCKER_HOST_MONTHLY_PRICE": "1250000"}, "DOCKER_HOST_MONTHLY_PRICE: must be an amount from 0 to 100000, like 12.50, got \"1250000\""},
		{"a price with its currency", map[string]string{"DOCKER_HOST_MONTHLY_PRICE": "12€"}, "DOCKER_HOST_MONTHLY_PRICE: must be an amount"},
		{"a negative price", map[string]string{"DOCKER_HOST_MONTHLY_PRICE": "-1"}, "DOCKER_HOST_MONTHLY_PRICE: must be an amount"},
		{"not a number", map[string]string{"DOCKER_HOST_MONTHLY_PRICE": "NaN"}, "DOCKER_HOST_MONTHLY_PRICE: must be an amount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), c.env))
			if len(errs) != 1 || !strings.Contains(errs.Error(), c.says) {
				t.Errorf("Load = %v, want one problem saying %q", errs, c.says)
			}
		})
	}
	// Under Docker the region is not the file's business.
	c := mustLoad(t, with(dockerEnv(), map[string]string{"COST_RATES_FILE": writeFile(t, dir, "any.json", parisRates)}))
	equal(t, c.CostRates.Currency, "EUR")
}
