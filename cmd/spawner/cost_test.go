package main

import (
	"testing"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/cost"
)

// `spawner check` says what the cost is estimated with, and never counts
// it as a problem.
func TestCostCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  config.Config
		want string
	}{
		{"ecs, a region of the table", config.Config{Runtime: config.RuntimeECS, AWSRegion: "eu-west-3", CostRates: cost.DefaultRates()},
			"cost: rates of 2026-12-07 from https://aws.amazon.com/fargate/pricing/ (the repository's table); eu-west-3 priced for FARGATE and FARGATE_SPOT"},
		{"ecs, a region the table lacks", config.Config{Runtime: config.RuntimeECS, AWSRegion: "af-south-1", CostRates: cost.DefaultRates()},
			"cost: rates of 2026-12-07 from https://aws.amazon.com/fargate/pricing/ (the repository's table); they do not price AWS_REGION af-south-1: /server cost counts its servers in hours (COST_RATES_FILE can add it)"},
		{"ecs, the admin's file", config.Config{Runtime: config.RuntimeECS, AWSRegion: "eu-west-3", CostRates: cost.DefaultRates(), CostRatesFile: "/etc/spawner/rates.json"},
			"cost: rates of 2026-12-07 from https://aws.amazon.com/fargate/pricing/ (COST_RATES_FILE /etc/spawner/rates.json); eu-west-3 priced for FARGATE and FARGATE_SPOT"},
		{"docker without the host's price", config.Config{Runtime: config.RuntimeDocker, CostRates: cost.DefaultRates()},
			"cost: Docker servers counted in hours (set DOCKER_HOST_MONTHLY_PRICE to share out the host's price)"},
		{"docker with the host's price", config.Config{Runtime: config.RuntimeDocker, CostRates: cost.DefaultRates(), HostMonthlyPrice: 12.5},
			"cost: Docker servers counted in hours, the host's 12.5 USD a month (DOCKER_HOST_MONTHLY_PRICE) shared out by hours"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := costCheck(&c.cfg); got != c.want {
				t.Errorf("costCheck =\n %q\nwant\n %q", got, c.want)
			}
		})
	}
}
