package text

// The sentences of /server cost and of the monthly report: plain text,
// each member a reference (Mention) that the chat adapter renders.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// maxCostLines is how many members or games a list shows; the rest is
// counted.
const maxCostLines = 15

// CostEstimate is the admins' answer to /server cost: the month's servers,
// time and estimated cost in all, by member and by game, the rates used
// with their date and source, and what the Docker host's price comes to.
func (l Lang) CostEstimate(e cost.Estimate) string {
	var b strings.Builder
	b.WriteString(l.costTitle(e))
	if e.Total.Servers == 0 {
		b.WriteString("\n" + l.pick("No server ran.", "Aucun serveur n'a tourné."))
	} else {
		fmt.Fprintf(&b, "\n%s %s", l.pick("Total:", "Total :"), l.costLine(e, e.Total))
		b.WriteString("\n" + l.pick("By member:", "Par membre :"))
		l.costLines(&b, e, e.Members, Mention)
		b.WriteString("\n" + l.pick("By game:", "Par jeu :"))
		l.costLines(&b, e, e.Games, func(game string) string { return game })
	}
	l.costFooter(&b, e, true)
	return b.String()
}

// CostOwn is a member's answer to /server cost: their own servers of the
// month, e being the month's estimate for them (cost.Estimate.ForMember).
func (l Lang) CostOwn(e cost.Estimate) string {
	var b strings.Builder
	if e.Total.Servers == 0 {
		fmt.Fprintf(&b, l.pick("You ran no server in %s.", "Tu n'as lancé aucun serveur en %s."), l.monthName(e.Month))
		return b.String()
	}
	fmt.Fprintf(&b, l.pick("Your servers in %s: %s", "Tes serveurs en %s : %s"), l.monthName(e.Month), l.costLine(e, e.Total))
	l.costLines(&b, e, e.Games, func(game string) string { return game })
	l.costFooter(&b, e, false)
	return b.String()
}

// CostReport is the monthly report posted to the log channel: servers
// created, who played most, the longest session, the most servers at
// once, and the month's estimated cost.
func (l Lang) CostReport(r cost.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, l.pick("Monthly report, %s", "Bilan du mois, %s"), l.monthName(r.Month))
	if r.Estimate.Total.Servers == 0 {
		b.WriteString("\n" + l.pick("No server ran.", "Aucun serveur n'a tourné."))
		l.costFooter(&b, r.Estimate, true)
		return b.String()
	}
	fmt.Fprintf(&b, "\n%s %d", l.pick("Servers created:", "Serveurs créés :"), r.Created)
	b.WriteString("\n" + l.pick("Most time on servers:", "Le plus de temps sur les serveurs :"))
	for i, m := range r.Top {
		fmt.Fprintf(&b, "\n%d. %s%s%s", i+1, Mention(m.Key), l.colon(), l.hours(m.Time))
	}
	if r.Longest.ID != "" {
		fmt.Fprintf(&b, l.pick("\nLongest session: %s, %s (%s), %s", "\nSession la plus longue : %s, %s (%s), %s"),
			l.hours(r.LongestTime), Mention(r.Longest.Owner), r.Longest.Game, l.day(r.Longest.StartedAt))
	}
	fmt.Fprintf(&b, l.pick("\nMost servers at once: %d (%s)", "\nLe plus de serveurs à la fois : %d (%s)"), r.Peak, l.dayTime(r.PeakAt))
	fmt.Fprintf(&b, "\n%s %s", l.pick("Estimated cost:", "Coût estimé :"), l.costLine(r.Estimate, r.Estimate.Total))
	l.costFooter(&b, r.Estimate, true)
	return b.String()
}

// CostMonthRefused is the answer at now to /server cost with a month it
// cannot tell (cost.AskedMonth): not YYYY-MM, to come, or older than the
// sessions kept.
func (l Lang) CostMonthRefused(why cost.MonthRefusal, option string, now time.Time) string {
	option = strings.TrimSpace(option)
	switch why {
	case cost.MonthAhead:
		return fmt.Sprintf(l.pick("%s has not come yet.", "%s n'est pas encore arrivé."), option)
	case cost.MonthForgotten:
		return fmt.Sprintf(l.pick("Servers are kept 13 months: ask for %s or later.",
			"Les serveurs sont gardés 13 mois : demande %s ou plus récent."), cost.OldestMonth(now))
	}
	if r := []rune(option); len(r) > 32 {
		option = string(r[:32]) + "…"
	}
	return fmt.Sprintf(l.pick("%q is not a month: write it YYYY-MM, like %s.", "%q n'est pas un mois : écris-le AAAA-MM, comme %s."),
		option, spawner.MonthOf(now))
}

// CostFailed is the answer to /server cost when the sessions could not be
// read.
func (l Lang) CostFailed() string {
	return l.pick("The servers of that month could not be read right now. Try again in a minute.",
		"Les serveurs de ce mois n'ont pas pu être lus pour l'instant. Réessaie dans une minute.")
}

// costTitle names the month, and the time it is counted to while it runs.
func (l Lang) costTitle(e cost.Estimate) string {
	title := fmt.Sprintf(l.pick("Estimated cost of the servers, %s", "Coût estimé des serveurs, %s"), l.monthName(e.Month))
	if e.Until.Before(e.Month.End()) {
		title += fmt.Sprintf(l.pick(" (so far, to %s)", " (jusqu'ici, au %s)"), l.dayTime(e.Until))
	}
	return title
}

// costLine is "6 server(s), 9.5 h, 0.35 USD", with the time not priced;
// a line with nothing priced (Docker without the host's price) gives no
// amount.
func (l Lang) costLine(e cost.Estimate, line cost.Line) string {
	s := fmt.Sprintf(l.pick("%d server(s), %s", "%d serveur(s), %s"), line.Servers, l.hours(line.Time))
	if line.Cost > 0 {
		s += ", " + l.money(line.Cost, e.Pricing.Rates.Currency)
	}
	if line.Unpriced > 0 {
		s += fmt.Sprintf(l.pick(" (%s not priced: size, region or capacity not in the rates table)",
			" (%s sans prix : taille, région ou capacité absente de la table des tarifs)"), l.hours(line.Unpriced))
	}
	return s
}

// costLines lists lines, each shown by name, at most maxCostLines.
func (l Lang) costLines(b *strings.Builder, e cost.Estimate, lines []cost.Line, name func(string) string) {
	for i, line := range lines {
		if i == maxCostLines {
			fmt.Fprintf(b, l.pick("\n- and %d more", "\n- et %d de plus"), len(lines)-i)
			return
		}
		key := line.Key
		if key == "" {
			key = l.pick("(no game named)", "(jeu sans nom)")
		} else {
			key = name(key)
		}
		fmt.Fprintf(b, "\n- %s%s%s", key, l.colon(), l.costLine(e, line))
	}
}

// costFooter tells the rates used, with their date and source (a link
// the chat shows without a preview of the page, which would dwarf the
// report), what the Docker host's price comes to (to admins), and that it
// is an estimate.
func (l Lang) costFooter(b *strings.Builder, e cost.Estimate, admin bool) {
	r := e.Pricing.Rates
	for _, region := range e.Regions {
		b.WriteString("\n" + l.regionRates(r, region))
	}
	if len(e.Regions) > 0 {
		fmt.Fprintf(b, l.pick("\nPublic IPv4: %s an hour. Rates read %s from %s.", "\nIPv4 publique : %s de l'heure. Tarifs relevés le %s sur %s."),
			l.rate(r.PublicIPv4PerHour, r.Currency), r.Date, spawner.LinkRef(r.Source))
	}
	switch {
	case admin && e.HostPrice > 0:
		fmt.Fprintf(b, l.pick("\nDocker host: %s for the period, shared out over %s of servers.",
			"\nHôte Docker : %s pour la période, réparti sur %s de serveurs."), l.money(e.HostPrice, r.Currency), l.hours(e.DockerTime))
	case admin && e.DockerTime > 0:
		fmt.Fprintf(b, l.pick("\nDocker: %s of servers; set DOCKER_HOST_MONTHLY_PRICE to share out the host's price.",
			"\nDocker : %s de serveurs ; règle DOCKER_HOST_MONTHLY_PRICE pour répartir le prix de l'hôte."), l.hours(e.DockerTime))
	}
	if e.Total.Servers > 0 || e.HostPrice > 0 {
		b.WriteString("\n" + l.pick("An estimate from each server's size and time at published rates, not AWS's bill.",
			"Une estimation d'après la taille et la durée de chaque serveur aux tarifs publiés, pas la facture d'AWS."))
	}
}

// regionRates is one region's line of rates.
func (l Lang) regionRates(r cost.Rates, region string) string {
	od, hasOD := r.Price(region, spawner.CapacityFargate)
	spot, hasSpot := r.Price(region, spawner.CapacityFargateSpot)
	var parts []string
	if hasOD {
		parts = append(parts, fmt.Sprintf(l.pick("Fargate %s per vCPU-hour and %s per GB-hour", "Fargate %s par vCPU-heure et %s par Go-heure"),
			l.rate(od.PerVCPUHour, r.Currency), l.rate(od.PerGBHour, r.Currency)))
	}
	if hasSpot {
		parts = append(parts, fmt.Sprintf(l.pick("Fargate Spot %s and %s (typical, an estimate)", "Fargate Spot %s et %s (valeurs typiques, une estimation)"),
			l.rate(spot.PerVCPUHour, r.Currency), l.rate(spot.PerGBHour, r.Currency)))
	}
	if len(parts) == 0 {
		return fmt.Sprintf(l.pick("Rates in %s: none in the table (COST_RATES_FILE can add them).",
			"Tarifs en %s : absents de la table (COST_RATES_FILE peut les ajouter)."), region)
	}
	return fmt.Sprintf(l.pick("Rates in %s: %s.", "Tarifs en %s : %s."), region, strings.Join(parts, l.pick("; ", " ; ")))
}

// hours is a time in hours, one decimal: "9.5 h", "9,5 h".
func (l Lang) hours(d time.Duration) string {
	if d > 0 && d < 3*time.Minute {
		return l.pick("< 0.1 h", "< 0,1 h")
	}
	return l.decimal(strconv.FormatFloat(d.Hours(), 'f', 1, 64)) + " h"
}

// money is an amount to the cent: "0.35 USD", "0,35 USD".
func (l Lang) money(v float64, currency string) string {
	if v > 0 && v < 0.005 {
		return l.pick("< 0.01 ", "< 0,01 ") + currency
	}
	return l.decimal(strconv.FormatFloat(v, 'f', 2, 64)) + " " + currency
}

// rate is a price as published: "0.04048 USD".
func (l Lang) rate(v float64, currency string) string {
	return l.decimal(strconv.FormatFloat(v, 'f', -1, 64)) + " " + currency
}

// colon is ": ", or " : " in French.
func (l Lang) colon() string { return l.pick(": ", " : ") }

// decimal writes a number's decimal point as the language does.
func (l Lang) decimal(s string) string { return l.pick(s, strings.Replace(s, ".", ",", 1)) }

var monthsFr = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}

// monthName is "November 2026", "novembre 2026".
func (l Lang) monthName(m spawner.Month) string {
	if l == Fr {
		return fmt.Sprintf("%s %d", monthsFr[m.Month-1], m.Year)
	}
	return fmt.Sprintf("%s %d", m.Month, m.Year)
}

// day is "November 20", "20 novembre", in UTC.
func (l Lang) day(t time.Time) string {
	t = t.UTC()
	if l == Fr {
		return fmt.Sprintf("%d %s", t.Day(), monthsFr[t.Month()-1])
	}
	return fmt.Sprintf("%s %d", t.Month(), t.Day())
}

// dayTime is "November 10, 21:00 UTC", "10 novembre, 21:00 UTC".
func (l Lang) dayTime(t time.Time) string {
	return fmt.Sprintf("%s, %s UTC", l.day(t), t.UTC().Format("15:04"))
}
