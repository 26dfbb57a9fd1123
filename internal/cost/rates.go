// Package cost tells what the game servers cost: an estimate of a month
// from its sessions (spawner.Session) at published rates, never a call to
// AWS Cost Explorer, and the monthly report the log channel receives on
// the first of each month. Everything but Monthly's loop is pure: time and
// the store come from the caller.
package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Rates are the prices the estimate uses: per region, Fargate's and
// Fargate Spot's per vCPU-hour and per GB-hour, and a public IPv4
// address's per hour, with the date they were read and where. The table
// in the repository (rates.json, DefaultRates) can be replaced by the
// admin's file of the same shape (COST_RATES_FILE, ParseRates).
type Rates struct {
	Date     string `json:"date"`   // YYYY-MM-DD: when the figures were read
	Source   string `json:"source"` // the page they come from
	Note     string `json:"note,omitempty"`
	Currency string `json:"currency"` // ISO 4217: USD for AWS's prices
	// PublicIPv4PerHour is what one public IPv4 address costs an hour.
	PublicIPv4PerHour float64 `json:"publicIPv4PerHour"`
	// Regions are the prices by AWS region ("eu-west-3"), then by capacity
	// provider (spawner.CapacityFargate, spawner.CapacityFargateSpot).
	Regions map[string]map[string]Price `json:"regions"`
}

// String names the table in a message or a log, briefly: "rates of
// 2026-12-07 from https://aws.amazon.com/fargate/pricing/, 17 regions".
func (r Rates) String() string {
	return fmt.Sprintf("rates of %s from %s, %d regions", r.Date, r.Source, len(r.Regions))
}

// Price is what a Fargate task pays an hour for each vCPU and each GB of
// memory it is given.
type Price struct {
	PerVCPUHour float64 `json:"perVCPUHour"`
	PerGBHour   float64 `json:"perGBHour"`
}

// Price is the price of capacity in region, if the table has one.
func (r Rates) Price(region, capacity string) (Price, bool) {
	p, ok := r.Regions[region][capacity]
	return p, ok
}

// SortedRegions are the table's regions in order.
func (r Rates) SortedRegions() []string { return slices.Sorted(maps.Keys(r.Regions)) }

//go:embed rates.json
var ratesJSON []byte

// defaultRates is the table in the repository, read once.
var defaultRates = mustParse(ratesJSON)

// DefaultRates is the table in the repository: Fargate and Fargate Spot,
// Linux/x86, in the regions most used, with the date and source of the
// published rates. The caller may change what it returns.
func DefaultRates() Rates { return defaultRates.clone() }

func mustParse(data []byte) Rates {
	r, err := ParseRates(data)
	if err != nil {
		panic("cost: the rates table in the repository: " + err.Error())
	}
	return r
}

func (r Rates) clone() Rates {
	c := r
	c.Regions = make(map[string]map[string]Price, len(r.Regions))
	for region, prices := range r.Regions {
		c.Regions[region] = make(map[string]Price, len(prices))
		for capacity, p := range prices {
			c.Regions[region][capacity] = p
		}
	}
	return c
}

// MaxRatesSize is the largest rates file ParseRates reads.
const MaxRatesSize = 1 << 20

// Bounds of the rates, far above any AWS price, to catch a price per
// second or per month given for one per hour.
const (
	maxPerVCPUHour = 10.0
	maxPerGBHour   = 1.0
	maxIPv4PerHour = 1.0
)

var (
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	currency   = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ParseRates reads a rates table in rates.json's shape. Every problem is
// told at once, each naming its key ("regions.eu-west-3.FARGATE.perGBHour:
// must be a number above 0 and at most 1"): a key the shape does not have,
// a date that is not YYYY-MM-DD, a source that is not an http(s) URL, a
// currency that is not three capital letters, no region, a region name
// that is not AWS's, a capacity other than FARGATE and FARGATE_SPOT, a
// price missing, not above 0, or above its bound.
func ParseRates(data []byte) (Rates, error) {
	if len(data) > MaxRatesSize {
		return Rates{}, fmt.Errorf("more than %d bytes: not a rates table", MaxRatesSize)
	}
	var doc struct {
		Rates
		Regions map[string]map[string]json.RawMessage `json:"regions"`
	}
	if err := strictJSON(data, &doc); err != nil {
		return Rates{}, fmt.Errorf("not a rates table: %s", jsonProblem("", err))
	}
	r := doc.Rates
	r.Regions = make(map[string]map[string]Price, len(doc.Regions))
	for region, prices := range doc.Regions {
		r.Regions[region] = make(map[string]Price, len(prices))
		for capacity, raw := range prices {
			var p Price
			if err := strictJSON(raw, &p); err != nil {
				return Rates{}, fmt.Errorf("not a rates table: %s", jsonProblem("regions."+region+"."+capacity, err))
			}
			r.Regions[region][capacity] = p
		}
	}
	if problems := r.problems(); len(problems) > 0 {
		return Rates{}, errors.New(strings.Join(problems, "; "))
	}
	return r, nil
}

// strictJSON decodes the one JSON value of data into v, refusing a key v
// does not have.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value")
	}
	return nil
}

// jsonProblem says what encoding/json found wrong in the value at path
// ("" for the document), naming the key.
func jsonProblem(path string, err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		key := typ.Field
		if path != "" {
			key = path + "." + key
		}
		return fmt.Sprintf("%s: is a JSON %s, want a %s", key, typ.Value, jsonKind(typ.Type.Kind().String()))
	}
	if path != "" {
		return path + ": " + strings.TrimPrefix(err.Error(), "json: ")
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "float64":
		return "number"
	case "map", "struct":
		return "JSON object"
	}
	return goKind
}

// problems are what is wrong in r, each naming its key.
func (r Rates) problems() []string {
	var out []string
	fail := func(key, format string, args ...any) { out = append(out, key+": "+fmt.Sprintf(format, args...)) }
	if _, err := time.Parse(time.DateOnly, r.Date); err != nil {
		fail("date", "want the day the rates were read, YYYY-MM-DD")
	}
	if u, err := url.Parse(r.Source); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		fail("source", "want the http(s) address of the page the rates come from")
	}
	if !currency.MatchString(r.Currency) {
		fail("currency", "want a currency code of three capital letters, like USD")
	}
	if r.PublicIPv4PerHour < 0 || r.PublicIPv4PerHour > maxIPv4PerHour {
		fail("publicIPv4PerHour", "must be a number from 0 to %g", maxIPv4PerHour)
	}
	if len(r.Regions) == 0 {
		fail("regions", "want at least one region")
	}
	for _, region := range r.SortedRegions() {
		out = append(out, regionProblems(region, r.Regions[region])...)
	}
	return out
}

// regionProblems are what is wrong in the prices of region.
func regionProblems(region string, prices map[string]Price) []string {
	key := "regions." + region
	if !regionName.MatchString(region) {
		return []string{key + ": not an AWS region name, like eu-west-3"}
	}
	if len(prices) == 0 {
		return []string{key + ": want the prices of FARGATE, FARGATE_SPOT or both"}
	}
	var out []string
	for _, capacity := range slices.Sorted(maps.Keys(prices)) {
		p, at := prices[capacity], key+"."+capacity
		switch {
		case capacity != spawner.CapacityFargate && capacity != spawner.CapacityFargateSpot:
			out = append(out, at+": not a capacity provider, want FARGATE or FARGATE_SPOT")
		default:
			if !(p.PerVCPUHour > 0 && p.PerVCPUHour <= maxPerVCPUHour) {
				out = append(out, fmt.Sprintf("%s.perVCPUHour: must be a number above 0 and at most %g", at, maxPerVCPUHour))
			}
			if !(p.PerGBHour > 0 && p.PerGBHour <= maxPerGBHour) {
				out = append(out, fmt.Sprintf("%s.perGBHour: must be a number above 0 and at most %g", at, maxPerGBHour))
			}
		}
	}
	return out
}
