package cost_test

import (
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// The table in the repository reads, says when and where its figures come
// from, and holds the published us-east-1 Fargate rates.
func TestDefaultRates(t *testing.T) {
	r := cost.DefaultRates()
	if r.Date != "2026-12-07" || r.Source != "https://aws.amazon.com/fargate/pricing/" || r.Currency != "USD" {
		t.Errorf("date %q, source %q, currency %q", r.Date, r.Source, r.Currency)
	}
	if !strings.Contains(r.Note, "estimate") {
		t.Errorf("the note does not say Spot's figures are an estimate: %q", r.Note)
	}
	p, ok := r.Price("us-east-1", spawner.CapacityFargate)
	if !ok || p.PerVCPUHour != 0.04048 || p.PerGBHour != 0.004445 {
		t.Errorf("us-east-1 FARGATE = %+v, %v; want $0.04048 per vCPU-hour and $0.004445 per GB-hour", p, ok)
	}
	if r.PublicIPv4PerHour != 0.005 {
		t.Errorf("public IPv4 = %v an hour, want 0.005", r.PublicIPv4PerHour)
	}
	for _, region := range r.SortedRegions() {
		od, ok1 := r.Price(region, spawner.CapacityFargate)
		spot, ok2 := r.Price(region, spawner.CapacityFargateSpot)
		if !ok1 || !ok2 || spot.PerVCPUHour >= od.PerVCPUHour || spot.PerGBHour >= od.PerGBHour {
			t.Errorf("%s: FARGATE %+v, FARGATE_SPOT %+v: want both, Spot the cheaper", region, od, spot)
		}
	}
	r.Regions["us-east-1"]["FARGATE"] = cost.Price{}
	if again, _ := cost.DefaultRates().Price("us-east-1", spawner.CapacityFargate); again.PerVCPUHour == 0 {
		t.Error("changing what DefaultRates returned changed the table")
	}
}

const goodRates = `{
  "date": "2026-12-01", "source": "https://example.org/rates", "currency": "EUR", "publicIPv4PerHour": 0.0046,
  "regions": {"eu-west-3": {"FARGATE": {"perVCPUHour": 0.045, "perGBHour": 0.005}}}
}`

func TestParseRates(t *testing.T) {
	r, err := cost.ParseRates([]byte(goodRates))
	if err != nil {
		t.Fatalf("ParseRates: %v", err)
	}
	if p, ok := r.Price("eu-west-3", spawner.CapacityFargate); !ok || p.PerVCPUHour != 0.045 || r.Currency != "EUR" {
		t.Errorf("read %+v", r)
	}
	if _, ok := r.Price("eu-west-3", spawner.CapacityFargateSpot); ok {
		t.Error("a Spot price that is not in the file")
	}
}

// Every problem of an admin's rates file is told at once, naming its key.
func TestParseRatesProblems(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		says      []string
	}{
		{"every field wrong", `{
			"date": "1 December", "source": "aws.amazon.com", "currency": "usd", "publicIPv4PerHour": -1,
			"regions": {
				"Paris": {"FARGATE": {"perVCPUHour": 0.04, "perGBHour": 0.004}},
				"eu-west-3": {"EC2": {"perVCPUHour": 0.04, "perGBHour": 0.004}, "FARGATE": {"perVCPUHour": 0, "perGBHour": 4}},
				"us-east-1": {}
			}}`, []string{
			"date: want the day the rates were read, YYYY-MM-DD",
			"source: want the http(s) address of the page the rates come from",
			"currency: want a currency code of three capital letters, like USD",
			"publicIPv4PerHour: must be a number from 0 to 1",
			"regions.Paris: not an AWS region name, like eu-west-3",
			"regions.eu-west-3.EC2: not a capacity provider, want FARGATE or FARGATE_SPOT",
			"regions.eu-west-3.FARGATE.perVCPUHour: must be a number above 0 and at most 10",
			"regions.eu-west-3.FARGATE.perGBHour: must be a number above 0 and at most 1",
			"regions.us-east-1: want the prices of FARGATE, FARGATE_SPOT or both",
		}},
		{"no region", `{"date": "2026-12-01", "source": "https://example.org", "currency": "USD", "regions": {}}`,
			[]string{"regions: want at least one region"}},
		{"a price missing", `{"date": "2026-12-01", "source": "https://example.org", "currency": "USD",
			"regions": {"eu-west-3": {"FARGATE_SPOT": {"perVCPUHour": 0.01}}}}`,
			[]string{"regions.eu-west-3.FARGATE_SPOT.perGBHour: must be a number above 0 and at most 1"}},
		{"an unknown key", `{"date": "2026-12-01", "source": "https://example.org", "currency": "USD",
			"regions": {"eu-west-3": {"FARGATE": {"perCPUHour": 0.01, "perGBHour": 0.001}}}}`,
			[]string{`not a rates table: regions.eu-west-3.FARGATE: unknown field "perCPUHour"`}},
		{"an unknown top key", `{"date": "2026-12-01", "source": "https://example.org", "currency": "USD", "ipv4": 0.005,
			"regions": {"eu-west-3": {"FARGATE": {"perVCPUHour": 0.01, "perGBHour": 0.001}}}}`,
			[]string{`not a rates table: unknown field "ipv4"`}},
		{"a price as text", `{"date": "2026-12-01", "source": "https://example.org", "currency": "USD",
			"regions": {"eu-west-3": {"FARGATE": {"perVCPUHour": "0.01", "perGBHour": 0.001}}}}`,
			[]string{"not a rates table: regions.eu-west-3.FARGATE.perVCPUHour: is a JSON string, want a number"}},
		{"not JSON", `date: 2026`, []string{"not a rates table: "}},
		{"two documents", goodRates + goodRates, []string{"not a rates table: more than one JSON value"}},
		{"too large", strings.Repeat(" ", cost.MaxRatesSize+1), []string{"more than 1048576 bytes"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := cost.ParseRates([]byte(c.doc))
			if err == nil {
				t.Fatal("ParseRates succeeded")
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if c.name == "every field wrong" && strings.Count(err.Error(), "; ") != len(c.says)-1 {
				t.Errorf("error %q tells %d problems, want %d", err, strings.Count(err.Error(), "; ")+1, len(c.says))
			}
		})
	}
}
