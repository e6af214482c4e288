package web

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"certmaker/storage"
)

// The expiry timeline: certificates expiring per week over the next 26
// weeks, drawn on the server as SVG, with the expired, the later and the
// revoked apart. Weeks start at midnight UTC so that each bar is a range
// of whole days the list can filter by.

const (
	timelineWeeks = 26
	// The store reads at most this many expiry index keys (everyone's)
	// or records (one owner's) per chart; the rest are counted as such.
	timelineMaxKeys    = 200000
	timelineMaxRecords = 5000
)

// bar is one column of the chart and one row of its table.
type bar struct {
	Label string // under the bar
	Long  string // for the table and screen readers
	Count int
	Words string // "3 certificates"
	Href  string // "" when there is nothing to list
	Kind  string // past, week, later, revoked: a CSS class
	// Geometry in the wide SVG's user units: columns.
	X, Y, W, H, Mid float64
	NumY            float64 // of the count above the bar
	Tick            bool    // the week's date is written under it
	// In the narrow SVG (phones): a row, its label before it, its
	// count after it.
	RY, RW, RText, RNumX float64
}

type timeline struct {
	Bars      []bar
	Total     int
	Uncounted int
	Caption   string
	Width     int
	Height    int
	Base      float64 // y of the axis
	LabelY    float64 // of the labels under it
	// The narrow chart, bars as rows: what a phone shows, since 29
	// columns cannot be read at its width nor scroll sideways.
	NarrowWidth, NarrowHeight int
	RowH, RowX, RowLabelX     float64 // a row's bar height, its start, its label's end
}

// chart geometry
const (
	tlSlot   = 22.0
	tlBar    = 16.0
	tlGap    = 30.0
	tlPad    = 30.0
	tlTop    = 18.0
	tlPlot   = 120.0
	tlLabels = 34.0

	// The narrow chart: rows of tlRowPitch, labels right-aligned at
	// tlRowLabel, bars from tlRowX up to tlRowPlot long, the count
	// after the bar, in tlNarrow units across.
	tlNarrow   = 280.0
	tlRowPitch = 14.0
	tlRowH     = 10.0
	tlRowGap   = 8.0
	tlRowLabel = 54.0
	tlRowX     = 60.0
	tlRowPlot  = tlNarrow - tlRowX - 32
)

// timeline counts owner's certificates ("" everyone's) by when they end
// and lays them out; ownerParam is the list's owner parameter for the
// bars' links.
func (d *Dashboard) timeline(ctx context.Context, v *viewer, owner, ownerParam string, now time.Time) (*timeline, error) {
	day0 := now.UTC().Truncate(24 * time.Hour)
	bounds := make([]time.Time, timelineWeeks)
	for i := range bounds {
		bounds[i] = day0.AddDate(0, 0, 7*(i+1))
	}
	limit := timelineMaxKeys
	if owner != "" {
		limit = timelineMaxRecords
	}
	c, err := d.core.CountExpiry(ctx, v.actor(), storage.ExpiryQuery{Owner: owner, Now: now, Bounds: bounds, Max: limit})
	if err != nil {
		return nil, err
	}
	link := func(status string, from, to time.Time) string {
		v := url.Values{}
		v.Set("status", status)
		if !from.IsZero() {
			v.Set("expires_from", from.Format(time.DateOnly))
		}
		if !to.IsZero() {
			v.Set("expires_to", to.Format(time.DateOnly))
		}
		if ownerParam != "" {
			v.Set("owner", ownerParam)
		}
		return "/certificates?" + v.Encode()
	}
	var bars []bar
	bars = append(bars, bar{Label: "Expired", Long: "Already expired", Count: c.Expired, Kind: "past", Href: link("expired", time.Time{}, time.Time{})})
	for i, n := range c.Periods {
		from, to := day0.AddDate(0, 0, 7*i), bounds[i]
		long := fmt.Sprintf("Week of %s to %s", from.Format("Jan 2"), to.AddDate(0, 0, -1).Format("Jan 2, 2006"))
		if i == 0 {
			long = "This week, to " + to.AddDate(0, 0, -1).Format("Jan 2, 2006")
		}
		bars = append(bars, bar{Label: from.Format("Jan 2"), Long: long, Count: n, Kind: "week", Href: link("valid", from, to), Tick: i%4 == 0})
	}
	last := bounds[len(bounds)-1]
	bars = append(bars,
		bar{Label: "Later", Long: "From " + last.Format("Jan 2, 2006") + " on", Count: c.Later, Kind: "later", Href: link("valid", last, time.Time{})},
		bar{Label: "Revoked", Long: "Revoked", Count: c.Revoked, Kind: "revoked", Href: link("revoked", time.Time{}, time.Time{})})

	t := &timeline{Uncounted: c.Uncounted, Base: tlTop + tlPlot, LabelY: tlTop + tlPlot + 15, Height: int(tlTop + tlPlot + tlLabels)}
	top := 1
	for _, b := range bars {
		t.Total += b.Count
		top = max(top, b.Count)
	}
	t.Total += c.Uncounted
	x := tlPad
	for i := range bars {
		b := &bars[i]
		// Gaps set the expired before, and later and revoked after, the weeks.
		if i == 1 || i == len(bars)-2 || i == len(bars)-1 {
			x += tlGap
		}
		b.X, b.W, b.Mid = x+(tlSlot-tlBar)/2, tlBar, x+tlSlot/2
		b.H = tlPlot * float64(b.Count) / float64(top)
		if b.Count > 0 {
			b.H = max(b.H, 2) // a single certificate among thousands still shows
		} else {
			b.Href = ""
		}
		b.Y, b.NumY = t.Base-b.H, t.Base-b.H-4
		b.Words = countWords(b.Count)
		x += tlSlot
	}
	t.Width = int(x + tlPad)
	t.RowH, t.RowX, t.RowLabelX = tlRowH, tlRowX, tlRowLabel
	y := 4.0
	for i := range bars {
		b := &bars[i]
		if i == 1 || i == len(bars)-2 || i == len(bars)-1 {
			y += tlRowGap
		}
		b.RY, b.RText = y, y+tlRowH-1
		b.RW = tlRowPlot * float64(b.Count) / float64(top)
		if b.Count > 0 {
			b.RW = max(b.RW, 2)
		}
		b.RNumX = tlRowX + b.RW + 4
		y += tlRowPitch
	}
	t.NarrowWidth, t.NarrowHeight = int(tlNarrow), int(y+4)
	t.Bars = bars
	t.Caption = fmt.Sprintf("Certificates by expiry: %d in all, per week for the next %d weeks", t.Total, timelineWeeks)
	return t, nil
}

// countWords words a number of certificates.
func countWords(n int) string {
	if n == 1 {
		return "1 certificate"
	}
	return strconv.Itoa(n) + " certificates"
}

// expiryRange reads the list's expires_from and expires_to: dates
// (YYYY-MM-DD, UTC), either may be empty.
func expiryRange(fromParam, toParam string) (from, to time.Time, err error) {
	parse := func(name, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s must be a date such as 2026-05-04, not %.20q", name, s)
		}
		return t, nil
	}
	if from, err = parse("expires_from", fromParam); err != nil {
		return
	}
	if to, err = parse("expires_to", toParam); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		err = fmt.Errorf("expires_to must be after expires_from")
	}
	return
}

func dateParam(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}
