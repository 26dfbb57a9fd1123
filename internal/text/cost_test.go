package text

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
)

var november = spawner.Month{Year: 2026, Month: time.November}

func novemberAt(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, time.UTC) }

// sessions of November: alice 2 h on Fargate, bob 3 h on Fargate Spot,
// carol 1 h of unknown size, alice 1 h under Docker.
func costSessions() []spawner.Session {
	return []spawner.Session{
		{ID: "a", Owner: "111", Game: "minecraft", StartedAt: novemberAt(3, 20), EndedAt: novemberAt(3, 22), CPU: 1024, Memory: 2048,
			Capacity: spawner.CapacityFargate, Region: "eu-west-3", PublicIP: true},
		{ID: "b", Owner: "222", Game: "valheim", StartedAt: novemberAt(4, 20), EndedAt: novemberAt(4, 23), CPU: 2048, Memory: 4096,
			Capacity: spawner.CapacityFargateSpot, Region: "eu-west-3", PublicIP: true},
		{ID: "c", Owner: "333", Game: "minecraft", StartedAt: novemberAt(4, 21), EndedAt: novemberAt(4, 22),
			Capacity: spawner.CapacityFargate, Region: "eu-west-3"},
		{ID: "d", Owner: "111", Game: "minecraft", StartedAt: novemberAt(5, 21), EndedAt: novemberAt(5, 22), Capacity: spawner.CapacityDocker},
	}
}

// markup is Discord's: bold, code, mentions, timestamps. The adapter adds
// it; the cost's sentences carry none, and refer to members (Mention).
var markup = regexp.MustCompile("\\*\\*|`|<@|<#|<t:")

func TestCostEstimate(t *testing.T) {
	p := cost.Pricing{Rates: cost.DefaultRates(), HostMonthly: 12}
	e := cost.EstimateMonth(november, costSessions(), p, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	for _, c := range []struct {
		l    Lang
		want []string
	}{
		{En, []string{
			"Estimated cost of the servers, November 2026\n",
			"Total: 4 server(s), 7.0 h, 12.25 USD (1.0 h not priced",
			"- " + Mention("111") + ": 2 server(s), 3.0 h, 12.13 USD",
			"- " + Mention("222") + ": 1 server(s), 3.0 h, 0.12 USD",
			"- " + Mention("333") + ": 1 server(s), 1.0 h (1.0 h not priced",
			"- valheim: 1 server(s), 3.0 h, 0.12 USD",
			"Rates in eu-west-3: Fargate 0.0486 USD per vCPU-hour and 0.0053 USD per GB-hour; Fargate Spot 0.01458 USD and 0.00159 USD (typical, an estimate).",
			"Rates read 2026-12-07 from " + spawner.LinkRef("https://aws.amazon.com/fargate/pricing/") + ".",
			"Docker host: 12.00 USD for the period, shared out over 1.0 h of servers.",
			"not AWS's bill",
		}},
		{Fr, []string{
			"Coût estimé des serveurs, novembre 2026\n",
			"Total : 4 serveur(s), 7,0 h, 12,25 USD (1,0 h sans prix",
			"- " + Mention("111") + " : 2 serveur(s), 3,0 h, 12,13 USD",
			"Tarifs en eu-west-3 : Fargate 0,0486 USD par vCPU-heure et 0,0053 USD par Go-heure ; Fargate Spot 0,01458 USD et 0,00159 USD (valeurs typiques, une estimation).",
			"Tarifs relevés le 2026-12-07 sur " + spawner.LinkRef("https://aws.amazon.com/fargate/pricing/") + ".",
			"Hôte Docker : 12,00 USD pour la période, réparti sur 1,0 h de serveurs.",
			"pas la facture d'AWS",
		}},
	} {
		got := c.l.CostEstimate(e)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("estimate does not say %q:\n%s", w, got)
			}
		}
		if markup.MatchString(got) {
			t.Errorf("estimate carries Discord markup:\n%s", got)
		}
	}
	// By hand: alice's Fargate 2 × (0.0486 + 2×0.0053 + 0.005) = 0.1284 and
	// the whole host, 12, for the one Docker hour: 12.1284; bob's Spot
	// 3 × (2×0.01458 + 4×0.00159 + 0.005) = 0.12156; total 12.24996.
}

func TestCostEstimateDockerWithoutPrice(t *testing.T) {
	sessions := costSessions()[3:]
	e := cost.EstimateMonth(november, sessions, cost.Pricing{Rates: cost.DefaultRates()}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	got := En.CostEstimate(e)
	for _, w := range []string{"Total: 1 server(s), 1.0 h\n", "- " + Mention("111") + ": 1 server(s), 1.0 h\n", "Docker: 1.0 h of servers; set DOCKER_HOST_MONTHLY_PRICE"} {
		if !strings.Contains(got, w) {
			t.Errorf("estimate does not say %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "USD") || strings.Contains(got, "Rates in") {
		t.Errorf("an estimate of Docker hours alone names a price:\n%s", got)
	}
}

func TestCostEstimateUnderWay(t *testing.T) {
	e := cost.EstimateMonth(november, nil, cost.Pricing{Rates: cost.DefaultRates()}, novemberAt(20, 9))
	got := Fr.CostEstimate(e)
	if want := "Coût estimé des serveurs, novembre 2026 (jusqu'ici, au 20 novembre, 09:00 UTC)\nAucun serveur n'a tourné."; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCostOwn(t *testing.T) {
	e := cost.EstimateMonth(november, costSessions(), cost.Pricing{Rates: cost.DefaultRates()}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	got := En.CostOwn(e.ForMember("222"))
	for _, w := range []string{"Your servers in November 2026: 1 server(s), 3.0 h, 0.12 USD", "- valheim: 1 server(s), 3.0 h, 0.12 USD", "Rates read 2026-12-07"} {
		if !strings.Contains(got, w) {
			t.Errorf("own estimate does not say %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "111") || strings.Contains(got, "333") || strings.Contains(got, "minecraft") {
		t.Errorf("a member sees others' servers:\n%s", got)
	}
	if got := Fr.CostOwn(e.ForMember("999")); got != "Tu n'as lancé aucun serveur en novembre 2026." {
		t.Errorf("no servers: %q", got)
	}
}

func TestCostReport(t *testing.T) {
	r := cost.MonthlyReport(november, costSessions(), cost.Pricing{Rates: cost.DefaultRates()}, time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	for _, c := range []struct {
		l    Lang
		want []string
	}{
		{En, []string{
			"Monthly report, November 2026\nServers created: 4\nMost time on servers:\n1. " + Mention("111") + ": 3.0 h\n2. " + Mention("222") + ": 3.0 h\n3. " + Mention("333") + ": 1.0 h\n",
			"Longest session: 3.0 h, " + Mention("222") + " (valheim), November 4\n",
			"Most servers at once: 2 (November 4, 21:00 UTC)\n",
			"Estimated cost: 4 server(s), 7.0 h, 0.25 USD (1.0 h not priced",
			"Docker: 1.0 h of servers",
		}},
		{Fr, []string{
			"Bilan du mois, novembre 2026\nServeurs créés : 4\nLe plus de temps sur les serveurs :\n1. " + Mention("111") + " : 3,0 h\n",
			"Session la plus longue : 3,0 h, " + Mention("222") + " (valheim), 4 novembre\n",
			"Le plus de serveurs à la fois : 2 (4 novembre, 21:00 UTC)\n",
			"Coût estimé : 4 serveur(s), 7,0 h, 0,25 USD",
		}},
	} {
		got := c.l.CostReport(r)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("report does not say %q:\n%s", w, got)
			}
		}
		if markup.MatchString(got) {
			t.Errorf("report carries Discord markup:\n%s", got)
		}
	}
	empty := cost.MonthlyReport(november, nil, cost.Pricing{Rates: cost.DefaultRates()}, time.Date(2026, 12, 1, 0, 0, 30, 0, time.UTC))
	if got := En.CostReport(empty); got != "Monthly report, November 2026\nNo server ran." {
		t.Errorf("empty month: %q", got)
	}
}

func TestCostMonthRefused(t *testing.T) {
	now := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		l      Lang
		why    cost.MonthRefusal
		option string
		want   string
	}{
		{En, cost.MonthMalformed, "nov", `"nov" is not a month: write it YYYY-MM, like 2026-12.`},
		{Fr, cost.MonthMalformed, "nov", `"nov" n'est pas un mois : écris-le AAAA-MM, comme 2026-12.`},
		{En, cost.MonthAhead, "2027-02", "2027-02 has not come yet."},
		{En, cost.MonthForgotten, "2024-01", "Servers are kept 13 months: ask for 2025-12 or later."},
		{Fr, cost.MonthForgotten, "2024-01", "Les serveurs sont gardés 13 mois : demande 2025-12 ou plus récent."},
		{En, cost.MonthMalformed, strings.Repeat("x", 100), `"` + strings.Repeat("x", 32) + `…" is not a month: write it YYYY-MM, like 2026-12.`},
	} {
		if got := c.l.CostMonthRefused(c.why, c.option, now); got != c.want {
			t.Errorf("CostMonthRefused(%v, %q) = %q, want %q", c.why, c.option, got, c.want)
		}
	}
}

func TestCostAmounts(t *testing.T) {
	for _, c := range []struct {
		l    Lang
		v    float64
		want string
	}{
		{En, 0, "0.00 USD"}, {En, 0.004, "< 0.01 USD"}, {En, 1234.5, "1234.50 USD"}, {Fr, 0.35, "0,35 USD"},
	} {
		if got := c.l.money(c.v, "USD"); got != c.want {
			t.Errorf("money(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	if got := Fr.hours(2 * time.Minute); got != "< 0,1 h" {
		t.Errorf("hours(2m) = %q", got)
	}
}
